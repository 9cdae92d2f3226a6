//! What the course crate's tests share: the repository, the context, a
//! student's variant, a simulated session on a student's port, and an
//! answers file made from the key.
#![allow(dead_code)]

use std::net::SocketAddrV4;
use std::path::{Path, PathBuf};

use streamlab_course::checks::Context;
use streamlab_course::{answers, Lab, Student, Variant};
use streamlab_netsim::apps::{Catalogue, ClientApp, ServerApp};
use streamlab_netsim::scenario::patterned_track;
use streamlab_netsim::sim::{CapturePoint, Sim, SimConfig};
use streamlab_proto::{Dialect, DialectChoice, Request, ServerConfig};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn cx() -> Context {
    Context {
        music: repo().join("music"),
    }
}

pub fn variant(id: &str) -> Variant {
    Variant::new(Student::new(id).expect("an ID"))
}

/// A session of `dialect` with a server on `port`: list, download `song`,
/// quit; its capture at the client.
pub fn session(port: u16, song: &str, dialect: Dialect) -> Vec<u8> {
    let mut config = SimConfig::new(3);
    config.server = SocketAddrV4::new([10, 0, 0, 7].into(), port);
    let songs = Catalogue::new(vec![patterned_track(song, 20_000)], Vec::new());
    let server = ServerApp::new(
        ServerConfig {
            dialect: DialectChoice::Auto,
            ..ServerConfig::default()
        },
        songs,
    );
    let requests = vec![
        Request::List,
        Request::Download { name: song.into() },
        Request::Quit,
    ];
    let client = ClientApp::new(dialect, requests);
    let mut sim = Sim::new(config, Box::new(client), Box::new(server));
    sim.run_until_idle(100_000).expect("a finished session");
    sim.write_pcapng_at(CapturePoint::Client, Vec::new())
        .expect("a capture in memory")
}

/// The key as the student's answers.txt.
pub fn answers_file(lab: Lab, id: &str) -> String {
    let key = answers::key(lab, &variant(id), &cx()).expect("a key");
    key.iter()
        .map(|a| format!("{}: {}\n", a.key, a.value.text()))
        .collect()
}
