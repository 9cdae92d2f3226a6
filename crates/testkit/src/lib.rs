//! What the kit's tests share across crates, so each helper exists once.
//!
//! * [`tshark`]: Wireshark's command-line reader as a cross-check — whether
//!   it is there (CI requires it), and running it so that any complaint
//!   fails the test;
//! * [`captures`]: packets built layer by layer, and pcap and pcapng files
//!   in either byte order, to feed the analyzer;
//! * [`svg`]: the kit's SVG pictures read back by structure (texts, axes,
//!   shapes of a colour), never compared byte for byte.
//!
//! Seeded randomness for tests is netsim's `SimRng`; two sessions in
//! memory are proto's `pair::Pair`.
#![forbid(unsafe_code)]

pub mod captures;
pub mod svg;
pub mod tshark;
