//! Fault rules: targeted faults that a test or a lab asks for by name,
//! on top of a link's random ones.
//!
//! Each rule looks at one segment as it enters the network and may drop,
//! delay or duplicate it. Rules compose: they are asked in order and the
//! first that acts decides. They read like the story of a test:
//!
//! ```text
//! Rule::drop_nth_data(3)                         the third data segment is lost
//! Rule::drop_containing(b"track_data_end")       the segment with the end marker is lost (once)
//! Rule::delay_containing(b"quit", 300 ms)        `quit` arrives late
//! Rule::partition(2 s, 5 s)                      nothing crosses between 2 s and 5 s
//! ```

use std::net::Ipv4Addr;
use std::time::Duration;

use crate::time::SimTime;

/// What a rule sees of a segment.
#[derive(Debug, Clone, Copy)]
pub struct Segment<'a> {
    pub now: SimTime,
    pub from: Ipv4Addr,
    pub payload: &'a [u8],
}

/// What a rule decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Not this rule's business: ask the next one.
    Pass,
    Drop(String),
    Delay(Duration),
    Duplicate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    DropNthData(u64),
    DropContaining(Vec<u8>),
    DelayContaining(Vec<u8>, Duration),
    DuplicateContaining(Vec<u8>),
    Partition(SimTime, SimTime),
}

/// One fault rule, optionally limited to segments from one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    kind: Kind,
    from: Option<Ipv4Addr>,
    /// How many more times the rule may act (`None`: always).
    times: Option<u32>,
    /// Data segments seen so far (for `drop_nth_data`).
    seen: u64,
}

impl Rule {
    fn new(kind: Kind, times: Option<u32>) -> Rule {
        Rule {
            kind,
            from: None,
            times,
            seen: 0,
        }
    }

    /// Drops the `n`th segment that carries data (counting from 1), once.
    pub fn drop_nth_data(n: u64) -> Rule {
        Rule::new(Kind::DropNthData(n), Some(1))
    }

    /// Drops the first segment whose payload contains `bytes` (its
    /// retransmission gets through).
    pub fn drop_containing(bytes: &[u8]) -> Rule {
        Rule::new(Kind::DropContaining(bytes.to_vec()), Some(1))
    }

    /// Delays every segment whose payload contains `bytes`.
    pub fn delay_containing(bytes: &[u8], by: Duration) -> Rule {
        Rule::new(Kind::DelayContaining(bytes.to_vec(), by), None)
    }

    /// Delivers the first segment containing `bytes` twice.
    pub fn duplicate_containing(bytes: &[u8]) -> Rule {
        Rule::new(Kind::DuplicateContaining(bytes.to_vec()), Some(1))
    }

    /// Drops everything sent from `start` until `end`.
    pub fn partition(start: SimTime, end: SimTime) -> Rule {
        Rule::new(Kind::Partition(start, end), None)
    }

    /// Limits the rule to segments sent by `host`.
    pub fn from(mut self, host: Ipv4Addr) -> Rule {
        self.from = Some(host);
        self
    }

    /// Lets the rule act `n` times instead of its default.
    pub fn times(mut self, n: u32) -> Rule {
        self.times = Some(n);
        self
    }

    /// Judges one segment, counting it.
    pub fn judge(&mut self, seg: &Segment<'_>) -> Action {
        if self.times == Some(0) || self.from.is_some_and(|h| h != seg.from) {
            return Action::Pass;
        }
        if !seg.payload.is_empty() {
            self.seen += 1;
        }
        let verdict = self.verdict(seg);
        if verdict != Action::Pass {
            self.times = self.times.map(|n| n - 1);
        }
        verdict
    }

    fn verdict(&self, seg: &Segment<'_>) -> Action {
        let has = |needle: &[u8]| contains(seg.payload, needle);
        match &self.kind {
            Kind::DropNthData(n) if !seg.payload.is_empty() && self.seen == *n => {
                Action::Drop(format!("rule: data segment #{n}"))
            }
            Kind::DropContaining(b) if has(b) => {
                Action::Drop(format!("rule: contains {:?}", String::from_utf8_lossy(b)))
            }
            Kind::DelayContaining(b, by) if has(b) => Action::Delay(*by),
            Kind::DuplicateContaining(b) if has(b) => Action::Duplicate,
            Kind::Partition(start, end) if (*start..*end).contains(&seg.now) => {
                Action::Drop("rule: partition".into())
            }
            _ => Action::Pass,
        }
    }
}

/// Rules asked in order; the first that acts decides.
#[derive(Debug, Clone, Default)]
pub struct Rules(Vec<Rule>);

impl Rules {
    pub fn push(&mut self, rule: Rule) {
        self.0.push(rule);
    }

    /// Every rule sees (and counts) every segment; the first verdict that
    /// is not `Pass` wins.
    pub fn judge(&mut self, seg: &Segment<'_>) -> Action {
        let mut decided = Action::Pass;
        for rule in &mut self.0 {
            let v = rule.judge(seg);
            if decided == Action::Pass {
                decided = v;
            }
        }
        decided
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 10);
    const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 7);

    fn seg(now_ms: u64, from: Ipv4Addr, payload: &[u8]) -> Segment<'_> {
        Segment {
            now: SimTime::from_millis(now_ms),
            from,
            payload,
        }
    }

    #[test]
    fn drop_nth_counts_only_data_and_acts_once() {
        let mut r = Rule::drop_nth_data(2);
        assert_eq!(r.judge(&seg(0, A, b"")), Action::Pass); // a pure ACK
        assert_eq!(r.judge(&seg(0, A, b"one")), Action::Pass);
        assert!(matches!(r.judge(&seg(0, A, b"two")), Action::Drop(_)));
        assert_eq!(
            r.judge(&seg(0, A, b"two")),
            Action::Pass,
            "the retransmission passes"
        );
    }

    #[test]
    fn content_rules_find_markers_anywhere_in_the_payload() {
        let mut r = Rule::drop_containing(b"track_data_end").from(B);
        assert_eq!(
            r.judge(&seg(0, A, b"xxtrack_data_end")),
            Action::Pass,
            "wrong host"
        );
        assert!(matches!(
            r.judge(&seg(0, B, b"PCMtrack_data_end")),
            Action::Drop(_)
        ));
        let mut d = Rule::delay_containing(b"quit", Duration::from_millis(300));
        assert_eq!(
            d.judge(&seg(0, A, b"quit")),
            Action::Delay(Duration::from_millis(300))
        );
        assert_eq!(d.judge(&seg(0, A, b"lista")), Action::Pass);
    }

    #[test]
    fn a_partition_drops_everything_inside_its_window() {
        let mut r = Rule::partition(SimTime::from_millis(10), SimTime::from_millis(20));
        assert_eq!(r.judge(&seg(9, A, b"x")), Action::Pass);
        assert!(matches!(r.judge(&seg(10, B, b"")), Action::Drop(_)));
        assert_eq!(r.judge(&seg(20, A, b"x")), Action::Pass);
    }

    #[test]
    fn the_first_rule_that_acts_decides_but_all_keep_count() {
        let mut rules = Rules::default();
        rules.push(Rule::duplicate_containing(b"RV"));
        rules.push(Rule::drop_nth_data(1));
        assert_eq!(rules.judge(&seg(0, B, b"RV\nVL\n")), Action::Duplicate);
        // The second rule counted that segment: the next data is not #1.
        assert_eq!(rules.judge(&seg(0, B, b"more")), Action::Pass);
    }
}
