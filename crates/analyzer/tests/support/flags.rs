//! Wireshark's `tcp.analysis.*` flags, counted by tshark and by the
//! analyzer on the same capture, and compared (the analyzer's
//! tcp_analysis test, and the testbed's on real Linux TCP).

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use streamlab_analyzer::report::{self, Filter};
use streamlab_analyzer::tcp_analysis::Flags;

use super::tshark;

/// (stream, sender, flag name) → how many frames carry it.
pub type Counts = BTreeMap<(u64, SocketAddr, &'static str), u64>;

pub fn tshark_counts(path: &Path) -> Counts {
    let mut args = vec!["-T", "fields"];
    let mut fields = vec![
        "tcp.stream".to_string(),
        "ip.src".into(),
        "ipv6.src".into(),
        "tcp.srcport".into(),
    ];
    fields.extend(Flags::ALL.iter().map(|(_, n)| format!("tcp.analysis.{n}")));
    for f in &fields {
        args.extend(["-e", f.as_str()]);
    }
    let text = tshark(path, &args);
    let mut counts = Counts::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if f[0].is_empty() {
            continue;
        }
        let stream = f[0].parse().expect("a stream number");
        let ip: IpAddr = if f[1].is_empty() { f[2] } else { f[1] }
            .parse()
            .expect("an address");
        let src = SocketAddr::new(ip, f[3].parse().expect("a port"));
        for (i, (_, name)) in Flags::ALL.iter().enumerate() {
            if !f[4 + i].is_empty() {
                *counts.entry((stream, src, name)).or_default() += 1;
            }
        }
    }
    counts
}

pub fn our_counts(path: &Path) -> Counts {
    let file = std::fs::File::open(path).expect("open the capture");
    let name = path.display().to_string();
    let analysis = report::analyze(&name, file, &Filter::default(), &mut |_| None)
        .expect("a capture the analyzer reads");
    let mut counts = Counts::new();
    for conn in &analysis.connections {
        let info = &conn.info;
        for (sender, dir) in [(info.client, 0), (info.server, 1)] {
            for (name, n) in info.dirs[dir].tcp_analysis.named() {
                if n > 0 {
                    counts.insert((info.stream, sender, name), n);
                }
            }
        }
    }
    counts
}

/// Where ours and tshark's differ, one line each; and tshark's counts.
pub fn compare(path: &Path) -> (Vec<String>, Counts) {
    let (ours, theirs) = (our_counts(path), tshark_counts(path));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let keys: BTreeSet<_> = ours.keys().chain(theirs.keys()).collect();
    let differ = keys
        .into_iter()
        .filter(|key| ours.get(key) != theirs.get(key))
        .map(|key| {
            let (a, b) = (ours.get(key), theirs.get(key));
            format!("{name} {key:?}: ours {a:?}, tshark {b:?}")
        })
        .collect();
    (differ, theirs)
}

/// Ours and tshark's agree on every file; returns how many frames carried
/// each flag in all.
pub fn assert_agree(paths: &[PathBuf]) -> BTreeMap<&'static str, u64> {
    let mut differ = Vec::new();
    let mut totals = BTreeMap::new();
    for path in paths {
        let (d, counts) = compare(path);
        differ.extend(d);
        for ((_, _, name), n) in counts {
            *totals.entry(name).or_default() += n;
        }
    }
    assert!(
        differ.is_empty(),
        "(stream, sender, tcp.analysis flag) → frames:\n{}",
        differ.join("\n")
    );
    totals
}
