//! What the conformance tests share: a small catalogue, fast limits, and
//! our reference server started on 127.0.0.1:0.

#![allow(dead_code)] // each test binary uses its own part of this module

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use streamlab_conformance::{Config, Dialect, Limits};
use streamlab_proto::{DialectChoice, PcmFormat, SampleFormat, ServerConfig, Track};
use streamlab_server::{RunningServer, Server, ServerOptions};

/// Three songs: CD audio, a mono float one with a space in its name, and a
/// small one (the one `concurrent-clients` picks).
pub fn catalogue() -> Vec<Track> {
    let song = |name: &str, format: PcmFormat, len: usize, seed: u8| Track {
        name: name.into(),
        format,
        pcm: (0..len)
            .map(|i| (i as u8).wrapping_mul(seed) ^ (i >> 8) as u8)
            .collect::<Arc<[u8]>>(),
    };
    let mono = PcmFormat {
        sample_rate: 48_000,
        channels: 1,
        sample: SampleFormat::F32,
    };
    vec![
        song("RV", PcmFormat::CD, 200_000, 3),
        song("Ode To Joy", mono, 96_000, 5),
        song("tiny", PcmFormat::CD, 4_000, 7),
    ]
}

/// Limits short enough for tests, long enough for a loaded machine.
pub fn limits() -> Limits {
    Limits {
        timeout: Duration::from_millis(1500),
        settle: Duration::from_millis(150),
    }
}

pub fn config(addr: SocketAddr, dialect: Dialect) -> Config {
    Config {
        addr,
        dialect,
        limits: limits(),
        reference: None,
        same_source: false,
    }
}

/// Our server, speaking `dialect`, on a free loopback port.
pub fn reference_server(dialect: DialectChoice, tracks: Vec<Track>) -> RunningServer {
    let options = ServerOptions {
        session: ServerConfig {
            dialect,
            ..ServerConfig::default()
        },
        max_clients: 16,
        write_timeout: Duration::from_secs(5),
        ..ServerOptions::default()
    };
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("a literal address");
    Server::bind(addr, tracks, options)
        .expect("binding 127.0.0.1:0")
        .spawn()
}

pub mod fake;
pub mod original_model;

/// A tiny XML well-formedness check: tags nest and close, attributes are
/// quoted, and text holds no raw `<` and only known entities.
pub fn assert_well_formed_xml(doc: &str) {
    let body = doc
        .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
        .expect("an XML declaration");
    let mut open: Vec<String> = Vec::new();
    let mut rest = body;
    for _ in 0..100_000 {
        let Some(lt) = rest.find('<') else {
            check_text(rest);
            break;
        };
        check_text(&rest[..lt]);
        let gt = rest[lt..].find('>').expect("every tag ends") + lt;
        let tag = &rest[lt + 1..gt];
        assert_eq!(
            tag.matches('"').count() % 2,
            0,
            "quoted attributes in <{tag}>"
        );
        let name = tag
            .trim_start_matches('/')
            .split([' ', '/'])
            .next()
            .unwrap_or("");
        if tag.starts_with('/') {
            assert_eq!(
                open.pop().as_deref(),
                Some(name),
                "</{name}> closes what is open"
            );
        } else if !tag.ends_with('/') {
            open.push(name.to_string());
        }
        for value in tag.split('"').skip(1).step_by(2) {
            assert!(!value.contains('<'), "no raw < in an attribute: {value}");
            check_text(value);
        }
        rest = &rest[gt + 1..];
    }
    assert!(open.is_empty(), "unclosed: {open:?}");
}

fn check_text(text: &str) {
    for (i, _) in text.match_indices('&') {
        let entity = &text[i..text[i..].find(';').map_or(text.len(), |j| i + j + 1)];
        let known = ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"].contains(&entity)
            || (entity.starts_with("&#") && entity.ends_with(';'));
        assert!(known, "a bare & or unknown entity: {entity}");
    }
}
