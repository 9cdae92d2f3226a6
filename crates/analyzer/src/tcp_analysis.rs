//! What TCP did, segment by segment, labelled as Wireshark labels it: the
//! `tcp.analysis.*` flags a student filters on.
//!
//! Wireshark decides each flag from what it saw before in the same
//! connection, keeping for each direction the highest sequence number
//! sent (`nextseq`), the last ACK and window, and a count of duplicate
//! ACKs. [`TcpAnalysis`] keeps the same, and its rules are Wireshark's
//! (`tcp_analyze_sequence_number` in packet-tcp.c, 4.0), checked in the
//! same order, each one stopping the later ones where Wireshark's does:
//!
//! ```text
//! zero window probe   1 byte at nextseq while the peer's window is 0
//! zero window         window 0 (not on SYN, FIN, RST)
//! lost segment        seq beyond nextseq: the capture missed something
//! keep-alive          0 or 1 byte at nextseq − 1 (Linux's window probe,
//!                     0 bytes at SND.UNA − 1, is one of these)
//! window update       no data, same seq and ACK, a new non-zero window
//! window full         data that reaches the right edge the peer offered
//! keep-alive ACK      the answer to a keep-alive
//! zero window probe ACK  the answer to a zero window probe
//! duplicate ACK       no data, same seq, ACK and (non-zero) window
//! spurious retrans.   data the peer had already acknowledged
//! fast retrans.       data below nextseq, at the ACK the peer repeated
//!                     twice or more, within 20 ms of its last ACK
//! out of order        data below nextseq, within one handshake RTT
//!                     (3 ms if unknown) of the highest segment
//! retransmission      any other data below nextseq
//! ```
//!
//! Windows are compared raw; the right edge for "window full" is scaled by
//! the shift both SYNs agreed on, as Wireshark does once it saw them.

use crate::stream::Dir;
use crate::tcp::{TcpFlags, TcpSegment};

/// A set of Wireshark's TCP analysis flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(u16);

impl Flags {
    pub const RETRANSMISSION: Flags = Flags(1 << 0);
    pub const FAST_RETRANSMISSION: Flags = Flags(1 << 1);
    pub const SPURIOUS_RETRANSMISSION: Flags = Flags(1 << 2);
    pub const OUT_OF_ORDER: Flags = Flags(1 << 3);
    pub const LOST_SEGMENT: Flags = Flags(1 << 4);
    pub const DUPLICATE_ACK: Flags = Flags(1 << 5);
    pub const ZERO_WINDOW: Flags = Flags(1 << 6);
    pub const ZERO_WINDOW_PROBE: Flags = Flags(1 << 7);
    pub const ZERO_WINDOW_PROBE_ACK: Flags = Flags(1 << 8);
    pub const KEEP_ALIVE: Flags = Flags(1 << 9);
    pub const KEEP_ALIVE_ACK: Flags = Flags(1 << 10);
    pub const WINDOW_UPDATE: Flags = Flags(1 << 11);
    pub const WINDOW_FULL: Flags = Flags(1 << 12);

    /// Each flag with the name of its Wireshark field
    /// (`tcp.analysis.<name>`).
    pub const ALL: [(Flags, &'static str); 13] = [
        (Flags::RETRANSMISSION, "retransmission"),
        (Flags::FAST_RETRANSMISSION, "fast_retransmission"),
        (Flags::SPURIOUS_RETRANSMISSION, "spurious_retransmission"),
        (Flags::OUT_OF_ORDER, "out_of_order"),
        (Flags::LOST_SEGMENT, "lost_segment"),
        (Flags::DUPLICATE_ACK, "duplicate_ack"),
        (Flags::ZERO_WINDOW, "zero_window"),
        (Flags::ZERO_WINDOW_PROBE, "zero_window_probe"),
        (Flags::ZERO_WINDOW_PROBE_ACK, "zero_window_probe_ack"),
        (Flags::KEEP_ALIVE, "keep_alive"),
        (Flags::KEEP_ALIVE_ACK, "keep_alive_ack"),
        (Flags::WINDOW_UPDATE, "window_update"),
        (Flags::WINDOW_FULL, "window_full"),
    ];

    pub const fn empty() -> Flags {
        Flags(0)
    }

    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    fn insert(&mut self, other: Flags) {
        self.0 |= other.0;
    }

    /// The names of the flags set, in [`Flags::ALL`]'s order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Flags::ALL
            .into_iter()
            .filter(move |&(f, _)| self.contains(f))
            .map(|(_, name)| name)
    }
}

/// One segment as a graph of its connection draws it: where it lies in its
/// direction's stream, what it acknowledges and offers, and its labels.
/// [`crate::flows::Flows::labelled`] hands one out per segment of a wanted
/// connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentFacts {
    /// Wireshark's `tcp.stream`.
    pub stream: u64,
    pub dir: Dir,
    pub frame: u64,
    pub time_ns: u64,
    /// Where its first byte lies in its direction's stream, counted as
    /// [`crate::stream::Chunk::offset`] (Wireshark's relative sequence
    /// number minus one; a SYN is at `u64::MAX`, one before the first
    /// byte). Streams past 4 GiB wrap around here.
    pub offset: u64,
    /// Payload bytes (as on the wire, whatever the snapshot length kept).
    pub len: u32,
    /// What it acknowledges, as an offset in the other direction's stream;
    /// `None` without the ACK flag or before that stream's start is known.
    pub ack: Option<u64>,
    /// The window it offers, in bytes: scaled by the shift its SYN asked
    /// for once both SYNs were seen with the option, as Wireshark does;
    /// raw otherwise (a capture that starts mid-stream cannot know it).
    pub window: u64,
    /// Wireshark's `tcp.analysis` flags for it.
    pub labels: Flags,
    pub syn: bool,
    pub fin: bool,
    pub rst: bool,
}

/// How many segments of one direction carried each flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct EventCounts {
    /// Every kind of retransmission (Wireshark sets `retransmission` on
    /// fast and spurious ones too).
    pub retransmission: u64,
    pub fast_retransmission: u64,
    pub spurious_retransmission: u64,
    pub out_of_order: u64,
    pub lost_segment: u64,
    pub duplicate_ack: u64,
    pub zero_window: u64,
    pub zero_window_probe: u64,
    pub zero_window_probe_ack: u64,
    pub keep_alive: u64,
    pub keep_alive_ack: u64,
    pub window_update: u64,
    pub window_full: u64,
}

impl EventCounts {
    /// Counts one segment's flags.
    pub fn add(&mut self, flags: Flags) {
        for (flag, name) in Flags::ALL {
            if flags.contains(flag) {
                *self.field(name) += 1;
            }
        }
    }

    fn field(&mut self, name: &str) -> &mut u64 {
        match name {
            "retransmission" => &mut self.retransmission,
            "fast_retransmission" => &mut self.fast_retransmission,
            "spurious_retransmission" => &mut self.spurious_retransmission,
            "out_of_order" => &mut self.out_of_order,
            "lost_segment" => &mut self.lost_segment,
            "duplicate_ack" => &mut self.duplicate_ack,
            "zero_window" => &mut self.zero_window,
            "zero_window_probe" => &mut self.zero_window_probe,
            "zero_window_probe_ack" => &mut self.zero_window_probe_ack,
            "keep_alive" => &mut self.keep_alive,
            "keep_alive_ack" => &mut self.keep_alive_ack,
            "window_update" => &mut self.window_update,
            _ => &mut self.window_full,
        }
    }

    /// Each count with its Wireshark name, in [`Flags::ALL`]'s order.
    pub fn named(&self) -> [(&'static str, u64); 13] {
        let mut copy = *self;
        Flags::ALL.map(|(_, name)| (name, *copy.field(name)))
    }
}

/// Within this of the reverse direction's last ACK, a resend at the ACK
/// it repeated is a fast retransmission.
const FAST_RETRANSMISSION_NS: u64 = 20_000_000;
/// The out-of-order window before a handshake RTT is known.
const DEFAULT_OOO_NS: u64 = 3_000_000;

/// What Wireshark remembers of one direction.
#[derive(Debug, Clone, Copy, Default)]
struct Side {
    /// One past the highest sequence number sent, and when.
    nextseq: Option<u32>,
    nextseq_ns: u64,
    /// The last ACK number and window this direction sent, and when.
    lastack: Option<u32>,
    lastack_ns: u64,
    window: Option<u16>,
    /// The last window came on a SYN (never scaled).
    window_on_syn: bool,
    /// Duplicate ACKs in a row.
    dupacks: u32,
    /// The flags of this direction's previous segment.
    last_flags: Flags,
    /// The window-scale option of this direction's SYN, once seen.
    syn_seen: bool,
    syn_scale: Option<u8>,
}

/// Wireshark's TCP analysis of one connection. Feed it every segment in
/// capture order with its direction; it answers each with its flags.
#[derive(Debug, Clone, Default)]
pub struct TcpAnalysis {
    sides: [Side; 2],
    /// When the last SYN (not SYN-ACK) was seen, and the handshake's round
    /// trip (from it to the next ACK; Wireshark's iRTT).
    syn_ns: Option<u64>,
    first_rtt_ns: Option<u64>,
}

/// `a < b` in sequence space.
fn lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

fn gt(a: u32, b: u32) -> bool {
    lt(b, a)
}

impl TcpAnalysis {
    pub fn new() -> Self {
        TcpAnalysis::default()
    }

    /// The flags of `seg`, sent in direction `dir` at `time_ns`.
    pub fn segment(&mut self, dir: Dir, seg: &TcpSegment<'_>, time_ns: u64) -> Flags {
        let (f, r) = match dir {
            Dir::ToServer => (0, 1),
            Dir::ToClient => (1, 0),
        };
        let (fwd, rev) = (self.sides[f], self.sides[r]);
        let flags = seg.flags;
        let syn = flags.contains(TcpFlags::SYN);
        let fin = flags.contains(TcpFlags::FIN);
        let rst = flags.contains(TcpFlags::RST);
        let control = syn || fin || rst;
        let seq = seg.seq;
        let ack = seg.ack;
        let window = seg.window;
        let seglen = seg.wire_len;
        self.handshake(f, seg, time_ns);

        let mut out = Flags::empty();
        let mut checks = true;
        // Zero window probe.
        if seglen == 1 && fwd.nextseq == Some(seq) && rev.window == Some(0) {
            out.insert(Flags::ZERO_WINDOW_PROBE);
            checks = false;
        }
        if checks {
            if window == 0 && !control {
                out.insert(Flags::ZERO_WINDOW);
            }
            if fwd.nextseq.is_some_and(|n| gt(seq, n)) && !rst {
                out.insert(Flags::LOST_SEGMENT);
            }
            if seglen <= 1 && !control && fwd.nextseq.is_some_and(|n| seq == n.wrapping_sub(1)) {
                out.insert(Flags::KEEP_ALIVE);
            }
            let same_place = fwd.nextseq == Some(seq) && fwd.lastack == Some(ack);
            if seglen == 0 && window != 0 && fwd.window != Some(window) && same_place && !control {
                out.insert(Flags::WINDOW_UPDATE);
                checks = false;
            }
        }
        if checks {
            if let (true, Some(edge)) = (seglen > 0 && !control, self.right_edge(r)) {
                if seq.wrapping_add(seglen) == edge {
                    out.insert(Flags::WINDOW_FULL);
                }
            }
            let same = seglen == 0
                && fwd.window == Some(window)
                && fwd.nextseq == Some(seq)
                && fwd.lastack == Some(ack)
                && !control;
            if same && window != 0 && rev.last_flags.contains(Flags::KEEP_ALIVE) {
                out.insert(Flags::KEEP_ALIVE_ACK);
            } else if same && window == 0 && rev.last_flags.contains(Flags::ZERO_WINDOW_PROBE) {
                out.insert(Flags::ZERO_WINDOW_PROBE_ACK);
            } else if same && window != 0 {
                self.sides[f].dupacks += 1;
                out.insert(Flags::DUPLICATE_ACK);
            }
        }
        if fwd.lastack != Some(ack) {
            self.sides[f].dupacks = 0;
        }
        if (seglen > 0 || syn || fin) && !out.contains(Flags::KEEP_ALIVE) {
            self.retransmission(f, r, seq, seglen, time_ns, &mut out);
        }

        // Remember this segment. A direction's first segment sets where
        // its numbers stand, data or not (a capture that starts mid-stream).
        let side = &mut self.sides[f];
        let first = side.nextseq.is_none();
        if (seglen > 0 || syn || fin || first) && !out.contains(Flags::ZERO_WINDOW_PROBE) {
            let end = seq
                .wrapping_add(seglen)
                .wrapping_add(u32::from(syn) + u32::from(fin));
            if side.nextseq.is_none_or(|n| gt(end, n)) {
                side.nextseq = Some(end);
                side.nextseq_ns = time_ns;
            }
        }
        side.window = Some(window);
        side.window_on_syn = syn;
        side.lastack = Some(ack);
        side.lastack_ns = time_ns;
        side.last_flags = out;
        out
    }

    /// Retransmission, fast or spurious, or out of order.
    fn retransmission(
        &self,
        f: usize,
        r: usize,
        seq: u32,
        seglen: u32,
        time_ns: u64,
        out: &mut Flags,
    ) {
        let (fwd, rev) = (&self.sides[f], &self.sides[r]);
        let mut not_advanced = fwd.nextseq.is_some_and(|n| lt(seq, n));
        // One byte less than nextseq with new data after a probe's byte.
        if seglen > 1 && fwd.nextseq.is_some_and(|n| n.wrapping_sub(1) == seq) {
            not_advanced = false;
        }
        let end = seq.wrapping_add(seglen);
        if seglen > 0 && rev.lastack.is_some_and(|a| a != 0 && !gt(end, a)) {
            out.insert(Flags::SPURIOUS_RETRANSMISSION);
            out.insert(Flags::RETRANSMISSION);
            return;
        }
        if !not_advanced {
            return;
        }
        let since_ack = time_ns.saturating_sub(rev.lastack_ns);
        if since_ack < FAST_RETRANSMISSION_NS && rev.dupacks >= 2 && rev.lastack == Some(seq) {
            out.insert(Flags::FAST_RETRANSMISSION);
            out.insert(Flags::RETRANSMISSION);
            return;
        }
        let since_high = time_ns.saturating_sub(fwd.nextseq_ns);
        let threshold = self.first_rtt_ns.unwrap_or(DEFAULT_OOO_NS);
        if since_high < threshold && fwd.nextseq != Some(end) {
            out.insert(Flags::OUT_OF_ORDER);
            return;
        }
        out.insert(Flags::RETRANSMISSION);
    }

    /// Notes SYNs (their window-scale option) and the handshake's RTT.
    fn handshake(&mut self, f: usize, seg: &TcpSegment<'_>, time_ns: u64) {
        let syn = seg.flags.contains(TcpFlags::SYN);
        let ack = seg.flags.contains(TcpFlags::ACK);
        if syn {
            self.sides[f].syn_seen = true;
            self.sides[f].syn_scale = seg.window_scale;
            if !ack {
                // Wireshark takes a time of 0 for "not seen": a SYN stamped
                // at the epoch itself (as the simulator's first frame is)
                // gives no round trip.
                self.syn_ns = Some(time_ns).filter(|&ns| ns > 0);
            }
        } else if let (true, None, Some(syn_ns)) = (ack, self.first_rtt_ns, self.syn_ns) {
            // The first ACK after the SYN (and the next, while it is 0).
            self.first_rtt_ns = Some(time_ns.saturating_sub(syn_ns)).filter(|&ns| ns > 0);
        }
    }

    /// The window `seg`, sent in direction `dir`, offers in bytes: see
    /// [`SegmentFacts::window`]. Call it after [`TcpAnalysis::segment`].
    pub fn window_bytes(&self, dir: Dir, seg: &TcpSegment<'_>) -> u64 {
        let raw = u64::from(seg.window);
        if seg.flags.contains(TcpFlags::SYN) {
            return raw;
        }
        match (self.sides[0].syn_scale, self.sides[1].syn_scale) {
            (Some(_), Some(_)) => raw << self.sides[dir.index()].syn_scale.unwrap_or(0).min(14),
            _ => raw,
        }
    }

    /// The right edge direction `r` offered last, if its scale is known
    /// (both SYNs seen, or none scaled).
    fn right_edge(&self, r: usize) -> Option<u32> {
        let side = &self.sides[r];
        let (ack, window) = (side.lastack?, side.window?);
        let both = self.sides.iter().all(|s| s.syn_seen);
        if !both {
            return None;
        }
        let shift = match (self.sides[0].syn_scale, self.sides[1].syn_scale) {
            (Some(_), Some(_)) if !side.window_on_syn => side.syn_scale.unwrap_or(0).min(14),
            _ => 0,
        };
        Some(ack.wrapping_add(u32::from(window) << shift))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    /// A segment of `len` bytes at `seq`, acking `ack`, with `window`.
    fn seg(seq: u32, ack: u32, len: u32, window: u16, flags: TcpFlags) -> TcpSegment<'static> {
        TcpSegment {
            src: "10.0.0.7:2635".parse().expect("a literal"),
            dst: "10.0.0.10:45926".parse().expect("a literal"),
            seq,
            ack,
            flags,
            window,
            window_scale: None,
            payload: &[],
            truncated: len > 0,
            wire_len: len,
        }
    }

    const ACK: TcpFlags = TcpFlags::ACK;

    #[test]
    fn three_same_acks_are_two_duplicates_and_the_resend_after_them_is_fast() {
        let mut a = TcpAnalysis::new();
        let (up, down) = (Dir::ToServer, Dir::ToClient);
        a.segment(down, &seg(1000, 1, 100, 500, ACK), 0);
        a.segment(down, &seg(1100, 1, 100, 500, ACK), MS);
        a.segment(down, &seg(1200, 1, 100, 500, ACK), MS);
        assert!(a.segment(up, &seg(1, 1100, 0, 900, ACK), 2 * MS).is_empty());
        let dup = a.segment(up, &seg(1, 1100, 0, 900, ACK), 3 * MS);
        assert_eq!(dup, Flags::DUPLICATE_ACK);
        assert_eq!(
            a.segment(up, &seg(1, 1100, 0, 900, ACK), 3 * MS),
            Flags::DUPLICATE_ACK
        );
        let again = a.segment(down, &seg(1100, 1, 100, 500, ACK), 10 * MS);
        assert!(
            again.contains(Flags::FAST_RETRANSMISSION) && again.contains(Flags::RETRANSMISSION)
        );
    }

    #[test]
    fn linux_s_zero_byte_window_probe_is_a_keep_alive_and_its_answer_a_zero_window() {
        let mut a = TcpAnalysis::new();
        let (up, down) = (Dir::ToServer, Dir::ToClient);
        a.segment(down, &seg(1000, 1, 100, 500, ACK), 0);
        let zero = a.segment(up, &seg(1, 1100, 0, 0, ACK), MS);
        assert_eq!(zero, Flags::ZERO_WINDOW);
        let probe = a.segment(down, &seg(1099, 1, 0, 500, ACK), 200 * MS);
        assert_eq!(probe, Flags::KEEP_ALIVE);
        let answer = a.segment(up, &seg(1, 1100, 0, 0, ACK), 200 * MS);
        assert_eq!(
            answer,
            Flags::ZERO_WINDOW,
            "a zero window, not a keep-alive ACK"
        );
        let one_byte = a.segment(down, &seg(1100, 1, 1, 500, ACK), 400 * MS);
        assert_eq!(one_byte, Flags::ZERO_WINDOW_PROBE);
    }

    #[test]
    fn a_resend_soon_after_the_highest_is_out_of_order_later_a_retransmission() {
        let mut a = TcpAnalysis::new();
        let down = Dir::ToClient;
        a.segment(down, &seg(1000, 1, 100, 500, ACK), 0);
        a.segment(down, &seg(1200, 1, 100, 500, ACK), MS);
        let soon = a.segment(down, &seg(1100, 1, 100, 500, ACK), 2 * MS);
        assert_eq!(
            soon,
            Flags::OUT_OF_ORDER,
            "within 3 ms: no handshake RTT known"
        );
        let late = a.segment(down, &seg(1100, 1, 100, 500, ACK), 9 * MS);
        assert_eq!(late, Flags::RETRANSMISSION);
    }
}
