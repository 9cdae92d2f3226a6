//! Congestion control: how many segments may be in flight (`cwnd`), and
//! how that changes as ACKs come and segments are lost.
//!
//! ```text
//! slow start      cwnd < ssthresh: +1 segment per segment ACKed
//!                 (doubles every round trip), from the initial window
//! avoidance       Reno: +1 segment per round trip
//!                 CUBIC: W(t) = C (t − K)³ + W_max, t since the last loss
//! loss (3 dup     ssthresh = cwnd × β (Reno ½, CUBIC 0.7), cwnd = ssthresh
//!   ACKs, SACK)
//! timeout         ssthresh as above, cwnd = 1 (the "loss window")
//! ```
//!
//! Windows are counted in segments, as Linux counts them (`snd_cwnd`).
//! CUBIC follows RFC 9438 and Linux's `tcp_cubic.c`: C = 0.4, β = 0.7,
//! fast convergence, the Reno-friendly region, and at most a 1.5× growth
//! per round trip. It computes as Linux does, in integers: time in whole
//! clock ticks counted in 1/1024 s, W_max and ssthresh rounded down, and
//! the cubic term rounded down, so that just below the plateau the target
//! rounds *up* (a window of 2 under W_max = 4 aims at 3 and grows at
//! once, as a kernel's `tcp_probe` trace shows). Integers also make a run
//! the same on every platform.
//!
//! **HyStart** (CUBIC's, on by default in Linux) ends slow start before a
//! loss does, once the window is 16 segments or more. Each round trip it
//! watches the ACKs:
//!
//! ```text
//! delay   the smallest of the round's first 8 RTT samples exceeds the
//!         smallest RTT ever seen by 1/8 of it (at least 4 ms, at most
//!         16 ms): a queue is building, so the pipe is full
//! train   ACKs 2 ms apart or closer keep coming for longer than half the
//!         smallest RTT (plus 1 ms, as Linux's pacing allowance gives):
//!         the window already fills half the pipe
//! ```
//!
//! Either sets ssthresh to cwnd, and growth goes on in avoidance.

use std::time::Duration;

use super::config::Congestion;
use super::seq::SeqNum;
use crate::time::SimTime;

/// CUBIC's multiplicative decrease, in Linux's 1/1024ths (`beta`, 0.7).
const CUBIC_BETA: u32 = 717;
/// Linux's `cube_rtt_scale`: C = 0.4 segments per second³ as
/// `bic_scale × 10` (41 × 10), over 2^40 (time in 1/1024 s, cubed).
const CUBIC_RTT_SCALE: u64 = 410;
/// Linux's `cube_factor`: 2^40 / `cube_rtt_scale`, so that
/// K = cbrt(cube_factor × (W_max − cwnd)) comes out in 1/1024 s.
const CUBIC_CUBE_FACTOR: u64 = (1 << 40) / CUBIC_RTT_SCALE;
/// Linux's `beta_scale`, 8 × (1024 + 717) / 3 / (1024 − 717) in integers:
/// the Reno-friendly estimate grows one segment per `cwnd × 15 / 8` ACKed.
const CUBIC_BETA_SCALE: u32 = 15;
/// No slow-start threshold yet: "infinite".
const NO_SSTHRESH: u32 = u32::MAX / 2;
/// HyStart watches slow start from this window on (`hystart_low_window`).
const HYSTART_LOW_WINDOW: u32 = 16;
/// RTT samples per round before the delay test (`HYSTART_MIN_SAMPLES`).
const HYSTART_MIN_SAMPLES: u32 = 8;
/// ACKs at most this far apart make a train (`hystart_ack_delta_us`).
const HYSTART_ACK_DELTA: Duration = Duration::from_millis(2);
/// Linux's pacing allowance added to the train's threshold (at most 1 ms,
/// which it is at these rates: `hystart_ack_delay`).
const HYSTART_ACK_DELAY: Duration = Duration::from_millis(1);

#[derive(Debug, Clone)]
pub(super) struct CongestionControl {
    algo: Congestion,
    /// The congestion window, in segments.
    pub cwnd: u32,
    /// The slow-start threshold, in segments.
    pub ssthresh: u32,
    /// ACKed segments not yet turned into window growth.
    cnt_acked: u32,
    cubic: Cubic,
    hystart: HyStart,
    /// The kernel's clock tick (zero: exact time); see `TcpConfig::timer_tick`.
    tick: Duration,
}

/// HyStart's state: the current round and the RTTs seen.
#[derive(Debug, Clone, Default)]
struct HyStart {
    /// Slow start's end was found.
    found: bool,
    /// The round ends when this is acknowledged (Linux's `end_seq`).
    round_end: Option<SeqNum>,
    round_start: SimTime,
    last_ack: SimTime,
    /// The smallest RTT sample of this round so far, and how many.
    round_rtt: Option<Duration>,
    samples: u32,
    /// The smallest RTT sample ever (Linux's `delay_min`).
    delay_min: Option<Duration>,
}

/// CUBIC's state since the last loss.
#[derive(Debug, Clone, Default)]
struct Cubic {
    /// The window before the last reduction (Linux's `last_max_cwnd`).
    w_max: u32,
    /// When the current avoidance epoch started.
    epoch: Option<SimTime>,
    /// Time from the epoch to the plateau at `origin`, in 1/1024 s
    /// (Linux's `bic_K`).
    k: u64,
    origin: u32,
    /// The Reno-friendly estimate (Linux's `tcp_cwnd`), grown by one for
    /// every `ack_cnt` past `cwnd × 15 / 8` segments ACKed.
    tcp_cwnd: u32,
    ack_cnt: u32,
    /// The last answer, with the window and the time it was worked out
    /// for: Linux keeps it for HZ/32 while the window stays the same.
    cnt: u32,
    last_cwnd: u32,
    last_time: Option<SimTime>,
}

/// How long since `earlier`, as a kernel with this clock tick sees it: a
/// whole number of ticks (exact when `tick` is zero).
fn clock_since(earlier: SimTime, now: SimTime, tick: Duration) -> Duration {
    let tick_ns = u64::try_from(tick.as_nanos()).unwrap_or(u64::MAX);
    if tick_ns == 0 {
        return now.since(earlier);
    }
    let ticks = (now.as_nanos() / tick_ns).saturating_sub(earlier.as_nanos() / tick_ns);
    Duration::from_nanos(ticks.saturating_mul(tick_ns))
}

/// How long Linux's CUBIC keeps its growth step while the window stays
/// the same: `HZ / 32` ticks (7 at HZ=250), or 1/32 s with exact timers.
fn cubic_hold(tick: Duration) -> Duration {
    match 1_000_000_000u128.checked_div(tick.as_nanos()) {
        Some(hz) => tick * u32::try_from(hz / 32).unwrap_or(u32::MAX),
        None => Duration::from_secs(1) / 32,
    }
}

/// `d` in whole ticks, rounded up (`usecs_to_jiffies`).
fn round_up(d: Duration, tick: Duration) -> Duration {
    let tick_ns = tick.as_nanos();
    if tick_ns == 0 {
        return d;
    }
    let ns = d.as_nanos().div_ceil(tick_ns) * tick_ns;
    Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
}

/// The integer cube root of `x`, rounded down (Linux's `cubic_root`
/// comes within 0.2% of it by a table and one Newton step).
fn icbrt(x: u64) -> u64 {
    let mut y: u64 = 0;
    // Bit by bit, from the top: the largest y with y³ ≤ x.
    for shift in (0..22).rev() {
        let candidate = y | (1 << shift);
        if candidate.checked_pow(3).is_some_and(|cube| cube <= x) {
            y = candidate;
        }
    }
    y
}

/// `x × num / den`, rounded down, without overflow.
fn scale(x: u32, num: u32, den: u32) -> u32 {
    u32::try_from(u64::from(x) * u64::from(num) / u64::from(den)).unwrap_or(u32::MAX)
}

/// Time in Linux's CUBIC units, 1/1024 s, rounded down (`(t << 10) / HZ`
/// for `t` in ticks: `d` is already whole ticks, from `clock_since` and
/// `round_up`).
fn in_1024ths(d: Duration) -> u64 {
    u64::try_from(d.as_nanos() * 1024 / 1_000_000_000).unwrap_or(u64::MAX)
}

impl CongestionControl {
    pub fn new(algo: Congestion, initial_window: u32, tick: Duration) -> Self {
        let cwnd = match algo {
            Congestion::None => u32::MAX,
            _ => initial_window.max(1),
        };
        CongestionControl {
            algo,
            cwnd,
            ssthresh: NO_SSTHRESH,
            cnt_acked: 0,
            cubic: Cubic::default(),
            hystart: HyStart::default(),
            tick,
        }
    }

    /// HyStart's look at an ACK (CUBIC only; Linux's `bictcp_acked`), before
    /// [`on_ack`](Self::on_ack) grows the window. `una` is the new
    /// cumulative ACK, `nxt` the next number to send, `rtt` the sample from
    /// the newest segment acknowledged (none if it was sent twice).
    pub fn hystart_on_ack(
        &mut self,
        now: SimTime,
        una: SeqNum,
        nxt: SeqNum,
        rtt: Option<Duration>,
    ) {
        let Some(rtt) = rtt.filter(|_| self.algo == Congestion::Cubic) else {
            return;
        };
        // No samples in the first second after a reduction.
        if self
            .cubic
            .epoch
            .is_some_and(|e| now.since(e) < Duration::from_secs(1))
        {
            return;
        }
        let h = &mut self.hystart;
        let delay_min = *h.delay_min.insert(h.delay_min.map_or(rtt, |d| d.min(rtt)));
        if h.found || self.cwnd >= self.ssthresh || self.cwnd < HYSTART_LOW_WINDOW {
            return;
        }
        if h.round_end.is_none_or(|end| una > end) {
            h.round_end = Some(nxt);
            h.round_start = now;
            h.last_ack = now;
            h.round_rtt = None;
            h.samples = 0;
        }
        if now.since(h.last_ack) <= HYSTART_ACK_DELTA {
            h.last_ack = now;
            if now.since(h.round_start) > (delay_min + HYSTART_ACK_DELAY) / 2 {
                h.found = true;
            }
        }
        if !h.found {
            let round_rtt = *h.round_rtt.insert(h.round_rtt.map_or(rtt, |r| r.min(rtt)));
            if h.samples < HYSTART_MIN_SAMPLES {
                h.samples += 1;
            } else {
                let thresh =
                    (delay_min / 8).clamp(Duration::from_millis(4), Duration::from_millis(16));
                h.found = round_rtt > delay_min + thresh;
            }
        }
        if h.found {
            self.ssthresh = self.cwnd;
        }
    }

    pub fn in_slow_start(&self) -> bool {
        self.cwnd < self.ssthresh
    }

    /// `acked` segments were newly acknowledged at `now`, outside loss
    /// recovery. `limited`: the sender was using its window, so growth
    /// means something (RFC 7661; Linux's `tcp_is_cwnd_limited`).
    pub fn on_ack(&mut self, now: SimTime, acked: u32, min_rtt: Option<Duration>, limited: bool) {
        if self.algo == Congestion::None || !limited || acked == 0 {
            return;
        }
        let mut acked = acked;
        if self.in_slow_start() {
            let room = self.ssthresh - self.cwnd;
            let grow = acked.min(room);
            self.cwnd += grow;
            acked -= grow;
            if acked == 0 {
                return;
            }
        }
        let per = match self.algo {
            Congestion::Cubic => self.cubic_cnt(now, acked, min_rtt.unwrap_or_default()),
            _ => self.cwnd,
        };
        // Linux's `tcp_cong_avoid_ai`: credit earned at a larger `per`
        // gives one segment first, then the rest.
        if self.cnt_acked >= per {
            self.cnt_acked = 0;
            self.cwnd += 1;
        }
        self.cnt_acked += acked;
        if self.cnt_acked >= per {
            self.cwnd += self.cnt_acked / per;
            self.cnt_acked %= per;
        }
    }

    /// How many ACKed segments make one more segment of window, now
    /// (Linux's `bictcp_update`, in whole ticks of time). As Linux does,
    /// the answer is kept for HZ/32 while cwnd stays the same: after a
    /// recovery the window holds still that long before it grows again.
    fn cubic_cnt(&mut self, now: SimTime, acked: u32, min_rtt: Duration) -> u32 {
        let cwnd = self.cwnd;
        let tick = self.tick;
        let c = &mut self.cubic;
        c.ack_cnt = c.ack_cnt.saturating_add(acked);
        if let Some(last) = c.last_time {
            if c.last_cwnd == cwnd && clock_since(last, now, tick) <= cubic_hold(tick) {
                return c.cnt;
            }
        }
        c.last_cwnd = cwnd;
        c.last_time = Some(now);
        let epoch = *c.epoch.get_or_insert_with(|| {
            c.ack_cnt = acked;
            c.tcp_cwnd = cwnd;
            if cwnd < c.w_max {
                c.k = icbrt(CUBIC_CUBE_FACTOR.saturating_mul(u64::from(c.w_max - cwnd)));
                c.origin = c.w_max;
            } else {
                c.k = 0;
                c.origin = cwnd;
            }
            now
        });
        // Where the curve will be one round trip from now, in Linux's
        // integers: whole ticks, 1/1024 s, and the cubic term rounded
        // down (so below the plateau the target rounds up).
        let t = in_1024ths(clock_since(epoch, now, tick) + round_up(min_rtt, tick));
        let offs = t.abs_diff(c.k);
        let delta = CUBIC_RTT_SCALE.saturating_mul(offs.saturating_pow(3)) >> 40;
        let delta = u32::try_from(delta).unwrap_or(u32::MAX);
        let target = if t < c.k {
            c.origin.saturating_sub(delta)
        } else {
            c.origin.saturating_add(delta)
        };
        let mut cnt = if target > cwnd {
            cwnd / (target - cwnd)
        } else {
            cwnd.saturating_mul(100)
        };
        if c.w_max == 0 {
            // Before the first loss: at least 5% growth per round trip.
            cnt = cnt.min(20);
        }
        let delta = ((cwnd.saturating_mul(CUBIC_BETA_SCALE)) >> 3).max(1);
        if c.ack_cnt > delta {
            let steps = (c.ack_cnt - 1) / delta;
            c.ack_cnt -= steps * delta;
            c.tcp_cwnd = c.tcp_cwnd.saturating_add(steps);
        }
        if c.tcp_cwnd > cwnd {
            cnt = cnt.min(cwnd / (c.tcp_cwnd - cwnd));
        }
        // At most 1.5× per round trip.
        c.cnt = cnt.max(2);
        c.cnt
    }

    /// A loss was detected (fast retransmit): the new ssthresh, which is
    /// also the new cwnd.
    pub fn on_loss(&mut self) -> u32 {
        let cwnd = self.cwnd;
        self.ssthresh = match self.algo {
            Congestion::None => return cwnd,
            Congestion::Reno => (cwnd / 2).max(2),
            Congestion::Cubic => {
                let c = &mut self.cubic;
                // Fast convergence: give way to newer flows. Linux's
                // integers, rounded down.
                c.w_max = if cwnd < c.w_max {
                    scale(cwnd, 1024 + CUBIC_BETA, 2048)
                } else {
                    cwnd
                };
                c.epoch = None;
                scale(cwnd, CUBIC_BETA, 1024).max(2)
            }
        };
        self.cwnd = self.ssthresh;
        self.cnt_acked = 0;
        self.ssthresh
    }

    /// The retransmission timer fired: ssthresh as for a loss, cwnd 1.
    pub fn on_rto(&mut self, already_reduced: bool) {
        if self.algo == Congestion::None {
            return;
        }
        if !already_reduced {
            self.on_loss();
        }
        self.cwnd = 1;
        self.cnt_acked = 0;
        // Linux's `bictcp_reset`: the curve forgets W_max, and slow start
        // is watched afresh.
        self.cubic = Cubic::default();
        self.hystart = HyStart::default();
    }

    /// Recovery ended: continue from ssthresh.
    pub fn end_recovery(&mut self) {
        if self.algo != Congestion::None {
            self.cwnd = self.ssthresh.max(1);
            self.cubic.epoch = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: SimTime = SimTime::ZERO;

    #[test]
    fn hystart_ends_slow_start_when_round_trips_grow() {
        let ms = SimTime::from_millis;
        let mut cc = CongestionControl::new(Congestion::Cubic, 16, Duration::ZERO);
        let rtt = Duration::from_millis(20);
        // Round 1: eight samples of 20 ms, ACKs 10 ms apart (no train).
        for i in 0..9u32 {
            cc.hystart_on_ack(
                ms(100 + 10 * u64::from(i)),
                SeqNum(1 + i),
                SeqNum(100),
                Some(rtt),
            );
        }
        assert!(cc.in_slow_start(), "steady round trips: go on");
        // Round 2 (una passed 100): the queue adds 5 ms, over 20/8 and 4 ms.
        for i in 0..9u32 {
            let late = Duration::from_millis(25);
            cc.hystart_on_ack(
                ms(300 + 10 * u64::from(i)),
                SeqNum(101 + i),
                SeqNum(200),
                Some(late),
            );
        }
        assert!(!cc.in_slow_start(), "growing round trips end slow start");
        assert_eq!(cc.ssthresh, 16);
    }

    #[test]
    fn hystart_ends_slow_start_on_a_long_ack_train() {
        let mut cc = CongestionControl::new(Congestion::Cubic, 20, Duration::ZERO);
        let rtt = Some(Duration::from_millis(20));
        // ACKs 1 ms apart for longer than (20 + 1) / 2 ms.
        for i in 0..12u32 {
            cc.hystart_on_ack(
                SimTime::from_millis(u64::from(i)),
                SeqNum(1 + i),
                SeqNum(500),
                rtt,
            );
        }
        assert!(!cc.in_slow_start());
        let mut small = CongestionControl::new(Congestion::Cubic, 10, Duration::ZERO);
        for i in 0..12u32 {
            small.hystart_on_ack(
                SimTime::from_millis(u64::from(i)),
                SeqNum(1 + i),
                SeqNum(500),
                rtt,
            );
        }
        assert!(
            small.in_slow_start(),
            "below 16 segments HyStart does not look"
        );
    }

    #[test]
    fn slow_start_adds_one_segment_per_segment_acked() {
        let mut cc = CongestionControl::new(Congestion::Reno, 10, Duration::ZERO);
        for _ in 0..10 {
            cc.on_ack(T0, 1, None, true);
        }
        assert_eq!(cc.cwnd, 20, "one round trip of ACKs doubles IW10");
        cc.on_ack(T0, 20, None, true);
        assert_eq!(cc.cwnd, 40);
        cc.on_ack(T0, 5, None, false);
        assert_eq!(cc.cwnd, 40, "no growth when the window was not used");
    }

    #[test]
    fn reno_halves_on_loss_and_then_grows_one_per_window() {
        let mut cc = CongestionControl::new(Congestion::Reno, 10, Duration::ZERO);
        cc.cwnd = 40;
        assert_eq!(cc.on_loss(), 20);
        assert!(!cc.in_slow_start());
        cc.on_ack(T0, 19, None, true);
        assert_eq!(cc.cwnd, 20);
        cc.on_ack(T0, 1, None, true);
        assert_eq!(cc.cwnd, 21);
    }

    #[test]
    fn cubic_keeps_seventy_percent_and_a_timeout_leaves_one() {
        let mut cc = CongestionControl::new(Congestion::Cubic, 10, Duration::ZERO);
        cc.cwnd = 100;
        assert_eq!(cc.on_loss(), 70);
        cc.cwnd = 100;
        cc.on_rto(false);
        assert_eq!((cc.cwnd, cc.ssthresh), (1, 70));
        assert!(cc.in_slow_start());
    }

    #[test]
    fn cubic_climbs_back_to_w_max_in_k_seconds() {
        let mut cc = CongestionControl::new(Congestion::Cubic, 10, Duration::ZERO);
        cc.cwnd = 100;
        cc.on_loss();
        // K = cbrt(30 / 0.4) = 4.2 s. Feed a window of ACKs every 100 ms.
        let mut t = T0;
        let rtt = Duration::from_millis(100);
        while t < SimTime::from_millis(4_200) {
            let w = cc.cwnd;
            cc.on_ack(t, w, Some(rtt), true);
            t = t.after(rtt);
        }
        assert!((97..=103).contains(&cc.cwnd), "cwnd {} near W_max", cc.cwnd);
    }

    #[test]
    fn before_any_loss_cubic_grows_a_segment_per_twenty_acks_at_least() {
        let mut cc = CongestionControl::new(Congestion::Cubic, 10, Duration::from_millis(4));
        cc.ssthresh = 40;
        cc.cwnd = 40;
        // Far below the curve's plateau at W_max = 0 the cubic term asks
        // for nothing; Linux's cap (cnt ≤ 20 while W_max is 0) still grows.
        let rtt = Some(Duration::from_millis(2));
        for i in 0..40u64 {
            cc.on_ack(SimTime::from_millis(i), 1, rtt, true);
        }
        assert!(cc.cwnd >= 42, "cwnd {}", cc.cwnd);
    }

    #[test]
    fn after_a_loss_cubic_holds_its_window_for_hz_over_32() {
        for tick in [Duration::from_millis(4), Duration::ZERO] {
            let mut cc = CongestionControl::new(Congestion::Cubic, 10, tick);
            cc.cwnd = 4;
            assert_eq!(cc.on_loss(), 2);
            // Two segments ACKed every 2 ms, as on a 1 ms link. The first
            // ACK reaches the curve's target of 3 (see the test below);
            // then the curve asks for nothing, and that answer is kept.
            let rtt = Some(Duration::from_millis(2));
            let mut t = 0;
            while t <= 28 {
                cc.on_ack(SimTime::from_millis(t), 2, rtt, true);
                assert_eq!(cc.cwnd, 3, "held at {t} ms (tick {tick:?})");
                t += 2;
            }
            while t <= 40 {
                cc.on_ack(SimTime::from_millis(t), 2, rtt, true);
                t += 2;
            }
            // Then the Reno-friendly estimate, fed all along, takes over.
            assert!(
                cc.cwnd > 3,
                "grows once the hold ends (tick {tick:?}): {}",
                cc.cwnd
            );
        }
        assert_eq!(
            cubic_hold(Duration::from_millis(4)),
            Duration::from_millis(28)
        );
        assert_eq!(
            cubic_hold(Duration::from_millis(1)),
            Duration::from_millis(31)
        );
    }

    #[test]
    fn a_timeout_makes_cubic_forget_its_plateau() {
        let mut cc = CongestionControl::new(Congestion::Cubic, 10, Duration::ZERO);
        cc.cwnd = 100;
        cc.on_loss();
        assert_eq!(cc.cubic.w_max, 100);
        cc.on_rto(true);
        assert_eq!(cc.cubic.w_max, 0, "bictcp_reset clears last_max_cwnd");
        assert_eq!(cc.cwnd, 1);
    }

    #[test]
    fn the_cube_root_rounds_down() {
        assert_eq!(icbrt(27), 3);
        assert_eq!(icbrt(26), 2);
        assert_eq!(icbrt(0), 0);
        assert_eq!(icbrt(u64::MAX), 2_642_245);
        // K for W_max − cwnd = 30: cbrt(30 / 0.4) = 4.217 s = 4318/1024,
        // a little less with Linux's cube_factor rounded down.
        assert_eq!(icbrt(CUBIC_CUBE_FACTOR * 30), 4316);
    }

    #[test]
    fn just_below_the_plateau_the_target_rounds_up() {
        // W_max 4, cwnd 2 after a loss: K = cbrt(2 / 0.4) = 1.71 s, and one
        // round trip in the cubic term is 0.4 × 1.708³ = 1.99, rounded down
        // to 1: the target is 3, so the window grows by one for two ACKed.
        let mut cc = CongestionControl::new(Congestion::Cubic, 10, Duration::from_millis(4));
        cc.cwnd = 4;
        cc.on_loss();
        assert_eq!((cc.cwnd, cc.cubic.w_max), (2, 4));
        cc.on_ack(T0, 2, Some(Duration::from_millis(2)), true);
        assert_eq!(cc.cwnd, 3);
    }

    #[test]
    fn no_congestion_control_means_no_limit() {
        let mut cc = CongestionControl::new(Congestion::None, 10, Duration::ZERO);
        assert_eq!(cc.cwnd, u32::MAX);
        cc.on_loss();
        cc.on_rto(false);
        assert_eq!(cc.cwnd, u32::MAX);
    }
}
