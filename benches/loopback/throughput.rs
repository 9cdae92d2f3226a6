//! Aggregate download throughput of N clients at once, beside plain TCP.
//!
//! **streamlab**: a server in this process serves one synthesised 20 MB
//! CD-format song. Each client is a real [`Connection`], greeted before the
//! clock starts, that downloads the song `rounds` times. Each round sends
//! `download` and then `list` as a fence: framed replies come in order, so
//! the song list arrives after the song's last byte. The bytes take the
//! client's whole download path: socket → reader thread (64 KiB reads) →
//! `ClientSession` → the song's `TrackBuffer` in the cache. No player
//! drains the buffer: that would measure the player, not the download.
//!
//! **plain TCP**: a `std::net` server with a thread per connection that
//! `write_all`s the same buffer `rounds` times once its client sends one
//! byte; the client reads into a 64 KiB buffer and throws the bytes away.
//!
//! **plain TCP, kept**: the same, but the client also appends every song
//! to a `Vec` sized for it, as a client that keeps what it downloads must.
//! The streamlab client keeps every song (to restart or loop it), and
//! fresh memory has a price of its own: this column shows how much of the
//! gap to plain TCP is that price.
//!
//! Each kind starts its clients together (a barrier) and stops when the
//! last one has everything: aggregate = all bytes / that time. `rounds`
//! keeps every run near 2 GB, so 100 clients download the song once each.
//! Every figure is the median of [`REPEATS`] runs.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context, Result};
use streamlab_client::Connection;
use streamlab_proto::{
    ClientConfig, ClientEvent, ClientSession, Dialect, PcmFormat, Request, Track,
};
use streamlab_server::{Server, ServerOptions};

use crate::Summary;

const SONG: &str = "big";
/// About two minutes of CD audio.
const SONG_BYTES: usize = 20_000_000;
/// Bytes each run moves, all clients together.
const RUN_BYTES: usize = 2_000_000_000;
const CLIENTS: [usize; 3] = [1, 10, 100];
/// Runs of each kind per client count; the median is printed.
const REPEATS: usize = 5;
/// The longest any one reply or read may take.
const TIMEOUT: Duration = Duration::from_secs(60);
/// What plain TCP readers read into (the client's reader uses the same).
const READ_BUF: usize = 64 * 1024;

pub fn run() -> Result<()> {
    let song: Arc<[u8]> = (0..SONG_BYTES)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[0])
        .collect();
    let track = Track {
        name: SONG.into(),
        format: PcmFormat::CD,
        pcm: Arc::clone(&song),
    };
    let options = ServerOptions {
        max_clients: 2 * CLIENTS[2],
        ..ServerOptions::default()
    };
    let server = Server::bind(loopback(), vec![track], options)?.spawn();
    let (mb, gb) = (SONG_BYTES / 1_000_000, RUN_BYTES / 1_000_000_000);
    println!("2. download throughput: a {mb} MB song, ~{gb} GB per run, all clients at once");
    println!("   MB/s, aggregate over all clients; median of {REPEATS} runs");
    println!();
    println!(
        "{:>7} {:>6} {:>10} {:>10} {:>6} {:>10} {:>6}",
        "clients", "rounds", "streamlab", "plain TCP", "ratio", "kept", "ratio"
    );
    for n in CLIENTS {
        let rounds = (RUN_BYTES / (n * SONG_BYTES)).max(1);
        let [ours, plain, kept] = medians(server.addr, &song, n, rounds)?;
        println!(
            "{n:>7} {rounds:>6} {ours:>10.0} {plain:>10.0} {:>5.0}% {kept:>10.0} {:>5.0}%",
            100.0 * ours / plain,
            100.0 * ours / kept
        );
    }
    server.shutdown();
    println!();
    println!("plain TCP: the client discards what it reads. kept: it appends each song to");
    println!("a Vec sized for it; the second ratio is streamlab / kept. The gap between the");
    println!("two plain columns is the price of keeping songs in fresh memory (page faults).");
    println!("goal: streamlab at least 70% of plain TCP.");
    Ok(())
}

/// The median MB/s of streamlab, plain TCP and plain TCP kept. Each
/// repeat runs the three in another order: a run can leave memory mapped
/// in this process that the next one reuses without faulting it in.
fn medians(addr: SocketAddr, song: &Arc<[u8]>, n: usize, rounds: usize) -> Result<[f64; 3]> {
    let mut rates: [Vec<f64>; 3] = Default::default();
    for repeat in 0..REPEATS {
        for turn in 0..3 {
            let kind = (repeat + turn) % 3;
            let measured = match kind {
                0 => streamlab_run(addr, n, rounds).context("streamlab")?,
                1 => plain_run(song, n, rounds, false).context("plain TCP")?,
                _ => plain_run(song, n, rounds, true).context("plain TCP, kept")?,
            };
            rates[kind].push(rate(measured));
        }
    }
    let median = |v: Vec<f64>| Summary::of(v).map_or(0.0, |s| s.median);
    Ok(rates.map(median))
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// MB/s of a (bytes, time) measurement.
fn rate((bytes, time): (u64, Duration)) -> f64 {
    bytes as f64 / 1e6 / time.as_secs_f64()
}

/// `n` greeted clients download the song `rounds` times each.
fn streamlab_run(addr: SocketAddr, n: usize, rounds: usize) -> Result<(u64, Duration)> {
    let conns = (0..n).map(|_| greeted(addr)).collect::<Result<Vec<_>>>()?;
    timed(conns, move |conn| download(conn, rounds))
}

fn greeted(addr: SocketAddr) -> Result<Connection> {
    let conn = Connection::connect(addr, ClientConfig::new(Dialect::Framed))?;
    match conn.answer(ClientSession::HELLO_ID, TIMEOUT)? {
        ClientEvent::Ready(_) => Ok(conn),
        other => bail!("greeting answered with {other:?}"),
    }
}

/// Downloads the song `rounds` times; returns the bytes that reached the
/// cache.
fn download(conn: &Connection, rounds: usize) -> Result<u64> {
    let mut bytes = 0;
    for _ in 0..rounds {
        let download = conn.send(Request::Download { name: SONG.into() })?;
        let list = conn.send(Request::List)?;
        match conn.answer(download, TIMEOUT)? {
            ClientEvent::TrackStart { .. } => {}
            other => bail!("download answered with {other:?}"),
        }
        match conn.answer(list, TIMEOUT)? {
            ClientEvent::Songs(_) => {}
            other => bail!("list answered with {other:?}"),
        }
        let cache = conn.cache().lock().map_err(|_| anyhow!("cache poisoned"))?;
        let buffer = cache.get(SONG).context("the song is not in the cache")?;
        ensure!(buffer.is_complete(), "the download did not complete");
        bytes += buffer.len();
    }
    Ok(bytes)
}

/// The same bytes over plain TCP: `n` readers, a writer thread each.
/// The readers keep each song (`keep`) or throw it away.
fn plain_run(song: &Arc<[u8]>, n: usize, rounds: usize, keep: bool) -> Result<(u64, Duration)> {
    let listener = TcpListener::bind(loopback())?;
    let addr = listener.local_addr()?;
    let song = Arc::clone(song);
    let server = thread::spawn(move || plain_server(listener, n, rounds, song));
    let readers = (0..n)
        .map(|_| TcpStream::connect(addr))
        .collect::<std::io::Result<Vec<_>>>()?;
    let measured = timed(readers, move |stream| plain_read(stream, keep));
    let served = server.join().map_err(|_| anyhow!("the writer panicked"))?;
    let measured = measured?;
    served?;
    Ok(measured)
}

/// Accepts `n` readers; each gets `rounds` copies of `song` once it asks.
fn plain_server(listener: TcpListener, n: usize, rounds: usize, song: Arc<[u8]>) -> Result<()> {
    let mut writers = Vec::new();
    for _ in 0..n {
        let (mut stream, _) = listener.accept()?;
        let song = Arc::clone(&song);
        writers.push(thread::spawn(move || -> std::io::Result<()> {
            stream.set_nodelay(true)?;
            stream.set_write_timeout(Some(TIMEOUT))?;
            stream.read_exact(&mut [0u8; 1])?;
            for _ in 0..rounds {
                stream.write_all(&song)?;
            }
            Ok(())
        }));
    }
    for w in writers {
        w.join().map_err(|_| anyhow!("a writer panicked"))??;
    }
    Ok(())
}

/// Asks for the bytes, then reads them to the end, keeping each song in a
/// `Vec` of its own or throwing it away.
fn plain_read(mut stream: &TcpStream, keep: bool) -> Result<u64> {
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.write_all(b"g")?;
    let mut buf = vec![0u8; READ_BUF];
    let mut song = Vec::new();
    let mut total = 0u64;
    loop {
        match stream.read(&mut buf)? {
            0 => return Ok(total),
            n if keep => {
                total += n as u64;
                store(&mut song, &buf[..n]);
            }
            n => total += n as u64,
        }
    }
}

/// Appends `bytes` to `song`, starting a new song when one is complete
/// (the old one is dropped, as the client's cache drops a replaced song).
fn store(song: &mut Vec<u8>, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        if song.len() == song.capacity() {
            *song = Vec::with_capacity(SONG_BYTES);
        }
        let take = bytes.len().min(song.capacity() - song.len());
        song.extend_from_slice(&bytes[..take]);
        bytes = &bytes[take..];
    }
}

/// Runs `work` on every client at once, each on its own thread, released
/// together. Returns the bytes they report and the time from the first
/// start to the last end (closing the clients is not counted). Each thread
/// clocks itself: with 100 threads on 2 CPUs, the thread that releases
/// them may not run again until they are well under way.
fn timed<T, F>(clients: Vec<T>, work: F) -> Result<(u64, Duration)>
where
    T: Send + 'static,
    F: Fn(&T) -> Result<u64> + Clone + Send + 'static,
{
    let go = Arc::new(Barrier::new(clients.len()));
    let threads: Vec<_> = clients
        .into_iter()
        .map(|client| {
            let (go, work) = (Arc::clone(&go), work.clone());
            thread::spawn(move || {
                go.wait();
                let start = Instant::now();
                let got = work(&client);
                (got, start, Instant::now())
            })
        })
        .collect();
    // Join every thread before looking at any result.
    let results: Vec<_> = threads.into_iter().map(|t| t.join()).collect();
    let (mut bytes, mut first, mut last) = (0, None::<Instant>, None::<Instant>);
    for result in results {
        let (got, start, end) = result.map_err(|_| anyhow!("a client panicked"))?;
        bytes += got?;
        first = Some(first.map_or(start, |f| f.min(start)));
        last = Some(last.map_or(end, |l| l.max(end)));
    }
    match (first, last) {
        (Some(first), Some(last)) => Ok((bytes, last - first)),
        _ => bail!("no clients"),
    }
}
