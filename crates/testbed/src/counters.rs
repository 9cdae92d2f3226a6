//! TCP counters of one network namespace, as `/proc/net/snmp` and
//! `/proc/net/netstat` give them: pairs of lines, names then values.
//!
//! ```text
//! Tcp: RtoAlgorithm RtoMin ... RetransSegs InErrs ...
//! Tcp: 1 200 ... 17 0 ...
//! TcpExt: SyncookiesSent ... TCPFastRetrans ... TCPTimeouts ...
//! TcpExt: 0 ... 12 ... 3 ...
//! ```
//!
//! A fresh namespace starts every counter at zero, so what is read after
//! the run is what the run did.

use std::collections::BTreeMap;

use serde::Serialize;

/// Every counter, named `Group:Name` (`Tcp:RetransSegs`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    values: BTreeMap<String, u64>,
}

impl Counters {
    /// Reads the text of `/proc/net/snmp` and `/proc/net/netstat` (one
    /// after the other is fine). Lines that do not pair up are skipped.
    pub fn parse(text: &str) -> Counters {
        let mut values = BTreeMap::new();
        let mut lines = text.lines().peekable();
        while let Some(names) = lines.next() {
            let Some((group, names)) = names.split_once(':') else {
                continue;
            };
            let Some(next) = lines.peek() else { break };
            let Some((group2, numbers)) = next.split_once(':') else {
                continue;
            };
            // A header whose next line is not its values is not a pair.
            if group2 != group
                || numbers
                    .split_whitespace()
                    .any(|n| n.parse::<i64>().is_err())
            {
                continue;
            }
            lines.next();
            for (name, value) in names.split_whitespace().zip(numbers.split_whitespace()) {
                // Negative values (`Tcp: MaxConn -1`) are not counters.
                if let Ok(v) = value.parse::<u64>() {
                    values.insert(format!("{group}:{name}"), v);
                }
            }
        }
        Counters { values }
    }

    /// One counter; zero if the kernel does not have it.
    pub fn get(&self, key: &str) -> u64 {
        self.values.get(key).copied().unwrap_or(0)
    }

    /// The counters the figures use.
    pub fn tcp(&self) -> TcpCounters {
        TcpCounters {
            retransmitted: self.get("Tcp:RetransSegs"),
            fast_retransmits: self.get("TcpExt:TCPFastRetrans"),
            timeouts: self.get("TcpExt:TCPTimeouts"),
            loss_probes: self.get("TcpExt:TCPLossProbes"),
            zero_window_probes: self.get("TcpExt:TCPWinProbe"),
        }
    }
}

/// The counters a run reports, for one namespace or both summed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TcpCounters {
    /// `Tcp:RetransSegs`: segments sent again, for any reason.
    pub retransmitted: u64,
    /// `TcpExt:TCPFastRetrans`: resent on duplicate ACKs or SACK.
    pub fast_retransmits: u64,
    /// `TcpExt:TCPTimeouts`: retransmission timer expiries.
    pub timeouts: u64,
    /// `TcpExt:TCPLossProbes`: tail-loss probes sent.
    pub loss_probes: u64,
    /// `TcpExt:TCPWinProbe`: zero-window probes sent.
    pub zero_window_probes: u64,
}

impl std::ops::Add for TcpCounters {
    type Output = TcpCounters;
    fn add(self, o: TcpCounters) -> TcpCounters {
        TcpCounters {
            retransmitted: self.retransmitted + o.retransmitted,
            fast_retransmits: self.fast_retransmits + o.fast_retransmits,
            timeouts: self.timeouts + o.timeouts,
            loss_probes: self.loss_probes + o.loss_probes,
            zero_window_probes: self.zero_window_probes + o.zero_window_probes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SNMP: &str = "Ip: Forwarding DefaultTTL\nIp: 1 64\n\
Tcp: RtoAlgorithm RtoMin MaxConn RetransSegs\nTcp: 1 200 -1 17\n\
TcpExt: TCPLossProbes TCPFastRetrans TCPTimeouts TCPWinProbe\nTcpExt: 4 9 3 2\n";

    #[test]
    fn names_pair_with_the_values_below_them() {
        let c = Counters::parse(SNMP);
        assert_eq!(c.get("Ip:DefaultTTL"), 64);
        assert_eq!(c.get("Tcp:MaxConn"), 0, "negative: not a counter");
        assert_eq!(
            c.tcp(),
            TcpCounters {
                retransmitted: 17,
                fast_retransmits: 9,
                timeouts: 3,
                loss_probes: 4,
                zero_window_probes: 2,
            }
        );
        assert_eq!((c.tcp() + c.tcp()).retransmitted, 34);
    }

    #[test]
    fn text_that_does_not_pair_up_is_skipped() {
        let c = Counters::parse("Tcp: A B\nnonsense\nTcpExt: X\nTcpExt: 5\nTcp: C\n");
        assert_eq!(c.get("Tcp:A"), 0);
        assert_eq!(c.get("TcpExt:X"), 5);
        assert_eq!(Counters::parse(""), Counters::default());
    }
}
