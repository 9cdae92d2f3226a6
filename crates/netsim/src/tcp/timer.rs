//! The endpoint's three timers, and what happens when each one fires.
//!
//! * **Retransmission** (RTO): runs while sent data is unacknowledged. When
//!   it fires, the oldest unacknowledged segment goes out again and the
//!   timeout doubles (exponential backoff, RFC 6298 5.5), up to `max_rto`.
//!   After `max_retries` retransmissions in a row without progress the
//!   connection is given up. Any new acknowledgment resets both the timeout
//!   and the count.
//! * **Persist**: runs while the peer's window is zero and data waits. A
//!   zero window is only lifted by a window-update ACK from the peer — and
//!   ACKs are never retransmitted, so if that one is lost both sides would
//!   wait forever. The persist timer prevents that deadlock: each time it
//!   fires, a one-byte *window probe* goes out, which the peer must answer
//!   with its current window. Its interval doubles like the RTO.
//! * **TIME-WAIT**: how long the side that closed first lingers, to
//!   acknowledge the peer's FIN again if the last ACK was lost.
//! * **Delayed ACK** (`delayed_ack`): an ACK owed for a lone segment goes
//!   out 40 ms later unless data or a second segment comes first.
//! * **Loss probe** (`tail_loss_probe`): 2 × SRTT after the last
//!   transmission with no ACK, probe instead of waiting for the RTO.
//!
//! Deadlines are absolute [`SimTime`]s. The endpoint reports the earliest
//! one through `poll_timeout`, and the driver calls `handle_timeout` when
//! that time comes.
//!
//! With a `timer_tick` (the linux model: 4 ms, a kernel built with
//! `HZ=250` as Debian's are), a deadline falls where Linux's timer wheel
//! puts it ([`wheel_expiry`]): the timeout is counted in whole ticks
//! (`usecs_to_jiffies` rounds up) from the current tick, and the timer
//! fires at the first tick after that, later still for long timeouts,
//! whose wheel slots are coarser. At 1 ms of latency this is most of a
//! loss probe's wait.

use std::time::Duration;

use super::config::Recovery;
use super::{TcpEndpoint, TcpError, TcpEvent, TcpState};
use crate::time::SimTime;

/// The smallest timeout the timers accept, so that a zero in the
/// configuration cannot make them fire at the same instant forever.
const MIN_RTO: Duration = Duration::from_millis(1);

/// When a timer armed at `now` for `timeout` fires on a kernel whose
/// clock ticks every `tick` (a jiffy). Zero `tick`: exactly `now + timeout`.
///
/// Linux counts `timeout` in whole ticks, rounded up, from the tick `now`
/// falls in (`expires = jiffies + n`). Its timer wheel never fires early:
/// the bucket for `expires` is the next multiple of the level's
/// granularity above it, so a timer fires one tick after `expires` at
/// level 0 (up to 62 ticks ahead), and up to 8 ticks after at level 1
/// (up to 503 ticks), 64 at level 2, and so on (kernel/time/timer.c,
/// `calc_wheel_index`).
pub(super) fn wheel_expiry(now: SimTime, timeout: Duration, tick: Duration) -> SimTime {
    let tick_ns = u64::try_from(tick.as_nanos()).unwrap_or(u64::MAX);
    if tick_ns == 0 {
        return now + timeout;
    }
    let timeout_ns = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
    let n = timeout_ns.div_ceil(tick_ns);
    let expires = (now.as_nanos() / tick_ns).saturating_add(n);
    // Levels of 64 slots, each 8 times coarser than the one below.
    let mut shift = 0;
    let mut level_end: u64 = 63;
    while n >= level_end && shift < 21 {
        shift += 3;
        level_end = level_end.saturating_mul(8);
    }
    let bucket = ((expires >> shift) + 1) << shift;
    SimTime::from_nanos(bucket.saturating_mul(tick_ns))
}

/// Which timer expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Timer {
    Retransmit,
    Persist,
    TimeWait,
    DelayedAck,
    LossProbe,
    Reorder,
}

#[derive(Debug)]
pub(super) struct Timers {
    /// The timeout to go back to on progress: `initial_rto`, or the one
    /// computed from the RTT estimate.
    base_rto: Duration,
    max_rto: Duration,
    /// The current retransmission timeout, after backoff.
    pub rto: Duration,
    /// Retransmission timeouts in a row without progress.
    pub retries: u32,
    persist_interval: Duration,
    retransmit: Option<SimTime>,
    persist: Option<SimTime>,
    time_wait: Option<SimTime>,
    delayed_ack: Option<SimTime>,
    loss_probe: Option<SimTime>,
    /// RACK's reordering timer: when a segment sent before a delivered one
    /// will have waited long enough to be called lost.
    reorder: Option<SimTime>,
    /// The kernel's clock tick (zero: exact deadlines); see [`wheel_expiry`].
    tick: Duration,
}

impl Timers {
    pub fn new(initial_rto: Duration, max_rto: Duration, tick: Duration) -> Self {
        let initial_rto = initial_rto.max(MIN_RTO);
        Timers {
            base_rto: initial_rto,
            max_rto: max_rto.max(initial_rto),
            rto: initial_rto,
            retries: 0,
            persist_interval: initial_rto,
            retransmit: None,
            persist: None,
            time_wait: None,
            delayed_ack: None,
            loss_probe: None,
            reorder: None,
            tick,
        }
    }

    /// When a timer armed now for `timeout` fires.
    pub fn expiry(&self, now: SimTime, timeout: Duration) -> SimTime {
        wheel_expiry(now, timeout, self.tick)
    }

    /// One clock tick (zero when deadlines are exact).
    pub fn tick(&self) -> Duration {
        self.tick
    }

    /// The earliest deadline, if any timer runs.
    pub fn next_deadline(&self) -> Option<SimTime> {
        [
            self.retransmit,
            self.persist,
            self.time_wait,
            self.delayed_ack,
            self.loss_probe,
            self.reorder,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Stops and returns the earliest timer due at `now`.
    pub fn pop_expired(&mut self, now: SimTime) -> Option<Timer> {
        let due = self.next_deadline().filter(|&t| t <= now)?;
        // A loss probe due with the RTO goes first: Linux arms it in the
        // RTO's place, and the RTO starts again after it.
        let (slot, timer) = if self.loss_probe == Some(due) {
            (&mut self.loss_probe, Timer::LossProbe)
        } else if self.retransmit == Some(due) {
            (&mut self.retransmit, Timer::Retransmit)
        } else if self.persist == Some(due) {
            (&mut self.persist, Timer::Persist)
        } else if self.time_wait == Some(due) {
            (&mut self.time_wait, Timer::TimeWait)
        } else if self.delayed_ack == Some(due) {
            (&mut self.delayed_ack, Timer::DelayedAck)
        } else {
            (&mut self.reorder, Timer::Reorder)
        };
        *slot = None;
        Some(timer)
    }

    /// Starts the retransmission timer unless it runs already.
    pub fn arm_retransmit(&mut self, now: SimTime) {
        let at = self.expiry(now, self.rto);
        self.retransmit.get_or_insert(at);
    }

    /// Starts the retransmission timer again from `now`.
    pub fn restart_retransmit(&mut self, now: SimTime) {
        self.retransmit = Some(self.expiry(now, self.rto));
    }

    pub fn stop_retransmit(&mut self) {
        self.retransmit = None;
    }

    pub fn retransmit_armed(&self) -> bool {
        self.retransmit.is_some()
    }

    pub fn retransmit_deadline(&self) -> Option<SimTime> {
        self.retransmit
    }

    /// New data was acknowledged: back to the base timeout and no retries.
    /// Without RTT measurement the base is `initial_rto` (see the module
    /// notes in `tcp/mod.rs`).
    pub fn on_progress(&mut self) {
        self.rto = self.base_rto;
        self.retries = 0;
    }

    /// A new RTO from the RTT estimate (kept within 1 ms and `max_rto`);
    /// it applies now unless a backoff is running.
    pub fn set_base_rto(&mut self, rto: Duration) {
        self.base_rto = rto.clamp(MIN_RTO, self.max_rto);
        if self.retries == 0 {
            self.rto = self.base_rto;
        }
    }

    /// Arms the delayed-ACK timer unless it runs already.
    pub fn arm_delayed_ack(&mut self, now: SimTime, delay: Duration) {
        let at = self.expiry(now, delay);
        self.delayed_ack.get_or_insert(at);
    }

    /// True if the delayed-ACK timer runs and fires before `at`.
    pub fn delayed_ack_before(&self, at: SimTime) -> bool {
        self.delayed_ack.is_some_and(|t| t <= at)
    }

    pub fn stop_delayed_ack(&mut self) {
        self.delayed_ack = None;
    }

    pub fn loss_probe_armed(&self) -> bool {
        self.loss_probe.is_some()
    }

    /// Arms the probe timer for `timeout` from now, or for `cap` if that
    /// comes first (the RTO's deadline, which it replaces).
    pub fn arm_loss_probe(&mut self, now: SimTime, timeout: Duration, cap: Option<SimTime>) {
        let at = self.expiry(now, timeout);
        self.loss_probe = Some(cap.map_or(at, |c| c.min(at)));
    }

    pub fn stop_loss_probe(&mut self) {
        self.loss_probe = None;
    }

    pub fn arm_reorder(&mut self, now: SimTime, wait: Duration) {
        self.reorder = Some(self.expiry(now, wait));
    }

    pub fn stop_reorder(&mut self) {
        self.reorder = None;
    }

    pub fn reorder_armed(&self) -> bool {
        self.reorder.is_some()
    }

    /// The retransmission timer fired: counts a retry, doubles the timeout
    /// and returns the one that just expired.
    pub fn back_off(&mut self) -> Duration {
        let expired = self.rto;
        self.retries += 1;
        self.rto = self.rto.saturating_mul(2).min(self.max_rto);
        expired
    }

    /// Starts the persist timer unless it runs already.
    pub fn arm_persist(&mut self, now: SimTime) {
        let at = self.expiry(now, self.persist_interval);
        self.persist.get_or_insert(at);
    }

    /// A probe is going out: the next one waits twice as long.
    pub fn persist_fired(&mut self) {
        self.persist_interval = self.persist_interval.saturating_mul(2).min(self.max_rto);
    }

    /// The window opened (or there is nothing to probe for): stop probing
    /// and start from the initial interval next time.
    pub fn stop_persist(&mut self) {
        self.persist = None;
        self.persist_interval = self.base_rto;
    }

    pub fn start_time_wait(&mut self, now: SimTime, linger: Duration) {
        self.time_wait = Some(now + linger);
    }

    /// Stops every timer (the connection is over, or in TIME-WAIT).
    pub fn clear(&mut self) {
        self.retransmit = None;
        self.stop_persist();
        self.time_wait = None;
        self.delayed_ack = None;
        self.loss_probe = None;
        self.reorder = None;
    }
}

impl TcpEndpoint {
    /// When [`handle_timeout`](Self::handle_timeout) must next be called,
    /// if ever. Ask again after every call into the endpoint.
    pub fn poll_timeout(&self) -> Option<SimTime> {
        self.timers.next_deadline()
    }

    /// Runs the timers due at `now`. Then drain
    /// [`poll_segment`](Self::poll_segment): a retransmission or a probe
    /// may be waiting.
    pub fn handle_timeout(&mut self, now: SimTime) {
        while let Some(timer) = self.timers.pop_expired(now) {
            match timer {
                Timer::Retransmit => self.on_retransmit_timeout(),
                Timer::Persist => {
                    self.probe_owed = true;
                    self.timers.persist_fired();
                }
                Timer::TimeWait => self.enter_closed(),
                Timer::DelayedAck => {
                    // Linux: a delayed ACK that had to fire ends pingpong.
                    self.acks.pingpong = false;
                    self.ack_owed = true;
                }
                Timer::LossProbe => self.on_loss_probe_timer(),
                Timer::Reorder => self.on_reorder_timer(now),
            }
        }
        self.refresh_timers(now);
    }

    /// Go-back-N: send again from the oldest unacknowledged byte, one
    /// segment until an ACK shows the path works, then as the window allows.
    fn on_retransmit_timeout(&mut self) {
        if self.timers.retries >= self.config.max_retries {
            let reason = TcpError::TimedOut {
                retries: self.timers.retries,
            };
            // A peer that never answered our SYN has nothing to reset.
            if self.state != TcpState::SynSent {
                self.rst_owed = Some(self.snd.max);
            }
            self.fail(reason.clone());
            self.events.push_back(TcpEvent::Aborted { reason });
            return;
        }
        let rto = self.timers.back_off();
        self.events.push_back(TcpEvent::RtoFired { rto });
        self.stats.timeouts += 1;
        let opening = matches!(self.state, TcpState::SynSent | TcpState::SynReceived);
        if self.config.recovery == Recovery::Selective && !opening && !self.loss.sb.is_empty() {
            self.enter_loss();
            return;
        }
        self.snd.nxt = self.snd.una;
        self.in_recovery = true;
    }

    /// Starts or stops the timers to match the state, after anything that
    /// may have changed it.
    pub(super) fn refresh_timers(&mut self, now: SimTime) {
        if self.state == TcpState::Closed {
            self.timers.clear();
            return;
        }
        if self.snd.nxt != self.snd.una {
            // Something is in flight: it must be timed.
            self.timers.arm_retransmit(now);
        }
        let probing = self.can_send_data()
            && self.snd.window_blocked(self.send_mss)
            && !self.timers.retransmit_armed();
        if probing {
            self.timers.arm_persist(now);
        } else {
            self.timers.stop_persist();
        }
        self.refresh_loss_probe(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let mut t = Timers::new(200 * MS, 1000 * MS, Duration::ZERO);
        let fired: Vec<_> = (0..5).map(|_| t.back_off()).collect();
        assert_eq!(fired, [200 * MS, 400 * MS, 800 * MS, 1000 * MS, 1000 * MS]);
        assert_eq!(t.retries, 5);
        t.on_progress();
        assert_eq!((t.rto, t.retries), (200 * MS, 0));
    }

    #[test]
    fn the_earliest_timer_fires_first() {
        let mut t = Timers::new(200 * MS, 1000 * MS, Duration::ZERO);
        t.arm_retransmit(SimTime::from_millis(10));
        t.arm_retransmit(SimTime::from_millis(50)); // already armed: kept
        t.start_time_wait(SimTime::ZERO, 100 * MS);
        assert_eq!(t.next_deadline(), Some(SimTime::from_millis(100)));
        assert_eq!(t.pop_expired(SimTime::from_millis(99)), None);
        let now = SimTime::from_millis(300);
        assert_eq!(t.pop_expired(now), Some(Timer::TimeWait));
        assert_eq!(t.pop_expired(now), Some(Timer::Retransmit));
        assert_eq!(t.pop_expired(now), None);
    }

    #[test]
    fn persist_interval_backs_off_and_resets() {
        let mut t = Timers::new(200 * MS, 500 * MS, Duration::ZERO);
        t.arm_persist(SimTime::ZERO);
        assert_eq!(t.next_deadline(), Some(SimTime::from_millis(200)));
        t.pop_expired(SimTime::from_millis(200));
        t.persist_fired();
        t.persist_fired();
        t.arm_persist(SimTime::from_millis(200));
        assert_eq!(t.next_deadline(), Some(SimTime::from_millis(700)));
        t.stop_persist();
        t.arm_persist(SimTime::ZERO);
        assert_eq!(t.next_deadline(), Some(SimTime::from_millis(200)));
    }

    #[test]
    fn a_huge_ceiling_does_not_overflow() {
        let mut t = Timers::new(Duration::MAX, Duration::MAX, Duration::ZERO);
        assert_eq!(t.back_off(), Duration::MAX);
        assert_eq!(t.rto, Duration::MAX);
        t.arm_retransmit(SimTime::from_millis(5));
        assert_eq!(t.next_deadline(), Some(SimTime::from_nanos(u64::MAX)));
    }

    #[test]
    fn with_a_tick_timers_fire_one_tick_after_expiry_coarser_when_long() {
        let tick = 4 * MS;
        let at = |now_ms: u64, after: Duration| {
            wheel_expiry(SimTime::from_millis(now_ms), after, tick).as_nanos() / 1_000_000
        };
        // At 5 ms (tick 1), 10 ms is 3 ticks: expires at tick 4, fires at 5.
        assert_eq!(at(5, 10 * MS), 20);
        // 40 ms from tick 0: 10 ticks, fires at tick 11.
        assert_eq!(at(0, 40 * MS), 44);
        // 300 ms is 75 ticks, past level 0 (63): slots of 8 ticks.
        assert_eq!(at(5, 300 * MS), 320);
        // No tick: exact.
        assert_eq!(
            wheel_expiry(SimTime::from_millis(5), 10 * MS, Duration::ZERO),
            SimTime::from_millis(15)
        );
    }

    #[test]
    fn a_zero_timeout_is_raised_to_a_millisecond() {
        let t = Timers::new(Duration::ZERO, Duration::ZERO, Duration::ZERO);
        assert_eq!(t.rto, MS);
    }
}
