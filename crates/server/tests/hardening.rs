//! The server under pressure: stuck readers, idle and slow sockets by the
//! hundred, and the client that must be served through it all.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use streamlab_proto::{Dialect, DialectChoice, ServerConfig};
use streamlab_server::conn::WRITE_POLL;
use streamlab_server::{RunningServer, ServerOptions};
use support::{connect, eventually, options, read_lines, read_to_close, start_with};

/// A normal client's visit: it connects, asks for the songs, reads them,
/// and leaves. Returns how long that took; panics if it was not served.
fn visit(server: &RunningServer, dialect: Dialect) -> Duration {
    let began = Instant::now();
    let mut s = connect(server);
    match dialect {
        Dialect::Framed => {
            s.write_all(b"hello visitor\nlist\nquit\n").unwrap();
            let all = String::from_utf8_lossy(&read_to_close(&mut s)).into_owned();
            let want = "OK streamlab/1 ready\nOK 3 songs\nRV\nVL\nbig\nOK goodbye\n";
            assert_eq!(all, want, "a framed visitor");
        }
        Dialect::Original => {
            s.write_all(b"lista").unwrap();
            let mut buf = [0u8; 1024];
            let n = s.read(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"RV\nVL\nbig\n", "an original visitor");
        }
    }
    began.elapsed()
}

/// A client that downloads a song in `dialect`, then says nothing.
fn player(server: &RunningServer, dialect: Dialect) -> TcpStream {
    let mut s = connect(server);
    let end: &[u8] = match dialect {
        Dialect::Framed => {
            s.write_all(b"hello player\ndownload RV\n").unwrap();
            b"track_data_end RV\n"
        }
        Dialect::Original => {
            s.write_all(b"download RV").unwrap();
            b"track_data_end"
        }
    };
    let mut got = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    while !got.ends_with(end) {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "the server closed on the player mid-song");
        got.extend_from_slice(&buf[..n]);
    }
    s
}

/// The player speaks again after its silence: is it still served?
fn still_served(player: &mut TcpStream, dialect: Dialect) {
    let (ask, want): (&[u8], &str) = match dialect {
        Dialect::Framed => (b"list\n", "OK 3 songs\nRV\nVL\nbig\n"),
        Dialect::Original => (b"lista", "RV\nVL\nbig\n"),
    };
    player.write_all(ask).expect("the player's socket is open");
    let lines = read_lines(player, 3 + usize::from(dialect == Dialect::Framed));
    assert_eq!(lines, want, "the player was dropped");
}

/// Waits until the server has taken `s` in (its port is in the device
/// list), so what the test measures next is not the accept queue.
fn until_registered(server: &RunningServer, s: &TcpStream) {
    let port = s.local_addr().unwrap().port();
    eventually("the last socket is registered", || {
        server
            .shared
            .registry
            .devices()
            .iter()
            .any(|d| d.port == port)
    });
}

/// Seconds from "download big" to the server dropping a client that
/// never reads, with `--write-timeout secs`.
fn time_to_drop_a_stuck_reader(server: &RunningServer) -> Duration {
    let mut sleeper = connect(server);
    eventually("the sleeper is registered", || {
        server.shared.registry.len() == 1
    });
    sleeper.write_all(b"download big\n").unwrap();
    let asked = Instant::now();
    eventually("the sleeper is dropped", || {
        server.shared.registry.is_empty()
    });
    asked.elapsed()
}

#[test]
fn a_client_that_never_reads_is_dropped_after_the_write_timeout_not_three() {
    for secs in [1, 2] {
        let window = Duration::from_secs(secs);
        let server = start_with(ServerOptions {
            write_timeout: window,
            ..options(DialectChoice::Framed, 0, 8)
        });
        let took = time_to_drop_a_stuck_reader(&server);
        eprintln!("--write-timeout {secs}: dropped after {took:.2?}");
        // Never before the window. After it: the kernel's last gulps as
        // it grows the buffers (tens of ms), a poll to see them, a poll to
        // notice the silence, and slack for a busy machine.
        assert!(took >= window, "{secs} s: dropped early, after {took:?}");
        let late = window + 2 * WRITE_POLL + Duration::from_millis(500);
        assert!(took < late, "{secs} s: dropped after {took:?}");
    }
}

#[test]
fn idle_and_slowloris_sockets_never_lock_a_client_out() {
    // 564 sockets on this side, and as many on the server's.
    let _ = streamlab_server::raise_fd_limit();
    let cases = [
        (
            DialectChoice::Auto,
            &[Dialect::Framed, Dialect::Original][..],
        ),
        (DialectChoice::Original, &[Dialect::Original]),
        (DialectChoice::Framed, &[Dialect::Framed]),
    ];
    for (choice, dialects) in cases {
        // The defaults (64 clients, loopback not capped per address), so
        // the crowd and the visitors share 127.0.0.1: only the room made
        // for newcomers lets them in, not a timeout nor a cap.
        let server = start_with(ServerOptions {
            session: ServerConfig {
                dialect: choice,
                ..ServerConfig::default()
            },
            ..ServerOptions::default()
        });
        let served = |when: &str| {
            for &d in dialects {
                let took = visit(&server, d);
                eprintln!("{choice:?} server, {d} visitor, {when}: served in {took:.0?}");
                assert!(
                    took < Duration::from_secs(1),
                    "{choice:?}, {d}, {when}: {took:?}"
                );
            }
        };
        let mut player = player(&server, dialects[0]);
        let idle: Vec<TcpStream> = (0..64).map(|_| connect(&server)).collect();
        until_registered(&server, &idle[63]);
        served("after 64 idle sockets");
        // Slowloris: a byte of `hello slowloris` every 3 s.
        let began = Instant::now();
        let mut loris: Vec<TcpStream> = (0..500).map(|_| connect(&server)).collect();
        for s in &mut loris {
            let _ = s.write_all(b"h");
        }
        until_registered(&server, &loris[499]);
        served("after 500 slowloris sockets");
        std::thread::sleep(Duration::from_secs(3).saturating_sub(began.elapsed()));
        for s in &mut loris {
            // The ones that made room for others are closed by now.
            let _ = s.write_all(b"e");
        }
        served("3 s into the slowloris");
        still_served(&mut player, dialects[0]);
        drop((idle, loris));
    }
}

/// How long after `began` the server closes `s`, which sends `drip` one
/// byte at a time every 300 ms (nothing if empty). `None`: still open 5 s
/// after `began`.
fn closed_after(mut s: TcpStream, drip: &'static [u8], began: Instant) -> Option<Duration> {
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut bytes = drip.iter();
    let mut buf = [0u8; 1024];
    while began.elapsed() < Duration::from_secs(5) {
        if let Some(&b) = bytes.next() {
            let _ = s.write_all(&[b]);
        }
        match s.read(&mut buf) {
            Ok(0) => return Some(began.elapsed()),
            Ok(_) => {} // a reply to junk, in the original dialect
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => return Some(began.elapsed()), // reset
        }
    }
    None
}

#[test]
fn strangers_and_half_sent_commands_are_closed_on_time_and_a_quiet_player_never() {
    let server = start_with(ServerOptions {
        greeting_timeout: Duration::from_secs(2),
        command_timeout: Duration::from_secs(1),
        write_timeout: Duration::from_secs(1),
        ..options(DialectChoice::Auto, 50, 64)
    });
    let mut framed = player(&server, Dialect::Framed);
    let mut original = player(&server, Dialect::Original);
    let mut greeted = connect(&server);
    greeted.write_all(b"hello half\n").unwrap();
    assert_eq!(read_lines(&mut greeted, 1), "OK streamlab/1 ready\n");
    // Each case on a thread of its own, so they share the clock, which
    // starts before they connect or send a byte: never after the server's.
    let began = Instant::now();
    let cases: [(&str, &'static [u8], TcpStream); 4] = [
        ("silent", b"", connect(&server)),
        ("slow hello", b"hello slowloris\n", connect(&server)),
        ("original junk", b"xxxxxxxxxxxxxxxx", connect(&server)),
        ("half a command", b"lis", greeted),
    ];
    let timings: Vec<(&str, Option<Duration>)> = cases
        .map(|(name, drip, s)| {
            (
                name,
                std::thread::spawn(move || closed_after(s, drip, began)),
            )
        })
        .into_iter()
        .map(|(name, t)| (name, t.join().unwrap()))
        .collect();
    eprintln!("{timings:?}");
    let within = |name: &str, secs: f64| {
        let (_, took) = timings.iter().find(|(n, _)| *n == name).unwrap();
        let took = took.unwrap_or_else(|| panic!("{name}: still open after 5 s"));
        let secs = Duration::from_secs_f64(secs);
        assert!(
            took >= secs && took < secs + Duration::from_millis(700),
            "{name}: {took:?}"
        );
    };
    within("silent", 2.0); // the greeting timeout
    within("slow hello", 1.0); // its first byte started a command
    within("original junk", 2.0); // junk is no greeting
    within("half a command", 1.0);
    // The players have said nothing for longer than every timeout.
    std::thread::sleep(Duration::from_millis(500));
    still_served(&mut framed, Dialect::Framed);
    still_served(&mut original, Dialect::Original);
}

/// A connection to `server` from `local` (another loopback address, on
/// Linux every 127.x.y.z is one), which `std` cannot choose.
#[cfg(target_os = "linux")]
fn connect_from(local: std::net::Ipv4Addr, server: std::net::SocketAddr) -> TcpStream {
    use std::os::fd::FromRawFd;
    let std::net::SocketAddr::V4(server) = server else {
        panic!("the test server listens on 127.0.0.1");
    };
    let sockaddr = |ip: std::net::Ipv4Addr, port: u16| libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(ip).to_be(),
        },
        sin_zero: [0; 8],
    };
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    let (here, there) = (sockaddr(local, 0), sockaddr(*server.ip(), server.port()));
    // SAFETY: a new socket, owned by the TcpStream at once (which closes
    // it on every path); bind and connect only read the sockaddr_in they
    // are given, with its true length.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let stream = TcpStream::from_raw_fd(fd);
        let bound = libc::bind(fd, (&here as *const libc::sockaddr_in).cast(), len);
        assert_eq!(bound, 0, "bind: {}", std::io::Error::last_os_error());
        let connected = libc::connect(fd, (&there as *const libc::sockaddr_in).cast(), len);
        assert_eq!(connected, 0, "connect: {}", std::io::Error::last_os_error());
        stream
    }
}

#[cfg(target_os = "linux")]
#[test]
fn one_address_holds_at_most_its_cap_even_when_its_clients_greet() {
    let server = start_with(ServerOptions {
        max_per_address: Some(4),
        ..options(DialectChoice::Framed, 0, 64)
    });
    // Greeted clients cannot be made to leave for newcomers: only the cap
    // keeps one address from taking every place.
    let crowd = "127.0.0.2".parse().unwrap();
    let mut replies = Vec::new();
    let mut held = Vec::new();
    for _ in 0..10 {
        let mut s = connect_from(crowd, server.addr);
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(b"hello crowd\n").unwrap();
        replies.push(read_lines(&mut s, 1));
        held.push(s);
    }
    let ready = replies.iter().filter(|r| *r == "OK streamlab/1 ready\n");
    assert_eq!(ready.count(), 4, "{replies:#?}");
    let busy = "ERR 503 busy: your address already holds 4 connections; try again later\n";
    assert_eq!(replies[4..], [busy; 6], "{replies:#?}");
    // Another address is served; one of the crowd's places, once given
    // back, is the crowd's again.
    assert!(visit(&server, Dialect::Framed) < Duration::from_secs(1));
    drop(held.swap_remove(0));
    eventually("the place is given back", || {
        let devices = server.shared.registry.devices();
        devices.iter().filter(|d| d.ip == "127.0.0.2").count() == 3
    });
    let mut again = connect_from(crowd, server.addr);
    again
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    again.write_all(b"hello again\n").unwrap();
    assert_eq!(read_lines(&mut again, 1), "OK streamlab/1 ready\n");
}
