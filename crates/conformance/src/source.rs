//! Connecting from a chosen loopback address, so that two of the checker's
//! clients do not share an IP address.
//!
//! The original Python server records `att_status` on every device whose IP
//! address is the sender's (docs/protocol.md 2.4, defect 5). Two clients of
//! one machine are one "device" to it. A check with two clients that come
//! from the same address would then judge the server's keying, not the
//! dialect, and fail the very program that defines the original dialect.
//!
//! Linux routes all of 127.0.0.0/8 to the loopback interface, so a client
//! bound to 127.0.0.2 reaches a server on 127.0.0.1 and is seen as another
//! machine. `std::net::TcpStream` cannot bind before it connects, so
//! [`connect_from`] does it with `libc` on Linux. Elsewhere (macOS has only
//! 127.0.0.1 configured) it reports `Unsupported`, and the check falls back
//! to one address and accepts either keying, saying which it saw.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::time::Duration;

/// The loopback addresses a second client may come from, in order of
/// preference: the first one that is not the first client's address.
pub const OTHER_LOOPBACK: [Ipv4Addr; 2] =
    [Ipv4Addr::new(127, 0, 0, 2), Ipv4Addr::new(127, 0, 0, 3)];

/// Where a second client should connect from so that the server sees an IP
/// address other than `first`'s: `None` when the server is not on IPv4
/// loopback (a real network: we cannot choose our address there) or the
/// platform cannot bind before connecting.
pub fn other_loopback(server: SocketAddr, first: IpAddr) -> Option<Ipv4Addr> {
    let IpAddr::V4(ip) = server.ip() else {
        return None; // IPv6 has one loopback address, ::1
    };
    if !ip.is_loopback() || !cfg!(target_os = "linux") {
        return None;
    }
    OTHER_LOOPBACK.into_iter().find(|a| IpAddr::V4(*a) != first)
}

/// A TCP connection to `server` whose local end is bound to `source` (any
/// port), waiting at most `timeout` for the handshake.
#[cfg(target_os = "linux")]
pub fn connect_from(
    source: Ipv4Addr,
    server: SocketAddrV4,
    timeout: Duration,
) -> io::Result<TcpStream> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    // SAFETY: socket(2) takes no pointers; a negative result is an error.
    let raw = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a new descriptor that nothing else owns; the OwnedFd
    // closes it on every path out of this function but the last.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let local = sockaddr(SocketAddrV4::new(source, 0));
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: `local` is a whole sockaddr_in that lives across the call, and
    // `len` is its size.
    let rc = unsafe { libc::bind(fd.as_raw_fd(), std::ptr::addr_of!(local).cast(), len) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // Linux bounds a blocking connect(2) by SO_SNDTIMEO (socket(7)): it
    // fails with EINPROGRESS when the handshake takes longer.
    // A zero timeval would mean "no bound": wait at least a microsecond.
    let timeout = timeout.max(Duration::from_micros(1));
    let wait = libc::timeval {
        tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
        // Below 1_000_000: fits suseconds_t (i32 or i64) on every target.
        tv_usec: timeout.subsec_micros() as libc::suseconds_t,
    };
    let wait_len = std::mem::size_of::<libc::timeval>() as libc::socklen_t;
    // SAFETY: `wait` is a whole timeval that lives across the call, and
    // `wait_len` is its size.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_SNDTIMEO,
            std::ptr::addr_of!(wait).cast(),
            wait_len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let remote = sockaddr(server);
    // SAFETY: as for bind: a whole sockaddr_in and its size.
    let rc = unsafe { libc::connect(fd.as_raw_fd(), std::ptr::addr_of!(remote).cast(), len) };
    if rc != 0 {
        let e = io::Error::last_os_error();
        return Err(match e.raw_os_error() {
            Some(libc::EINPROGRESS) => io::Error::from(io::ErrorKind::TimedOut),
            _ => e,
        });
    }
    Ok(TcpStream::from(fd))
}

/// Elsewhere the checker cannot choose its source address.
#[cfg(not(target_os = "linux"))]
pub fn connect_from(
    _source: Ipv4Addr,
    _server: SocketAddrV4,
    _timeout: Duration,
) -> io::Result<TcpStream> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

/// `addr` as the C structure, in network byte order.
#[cfg(target_os = "linux")]
fn sockaddr(addr: SocketAddrV4) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: addr.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*addr.ip()).to_be(),
        },
        sin_zero: [0; 8],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse().expect("a literal address")
    }

    #[test]
    fn a_second_client_comes_from_another_loopback_address_only_on_loopback() {
        let first = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let linux = cfg!(target_os = "linux");
        let expect = |ip: Ipv4Addr| linux.then_some(ip);
        assert_eq!(
            other_loopback(addr("127.0.0.1:2635"), first),
            expect(OTHER_LOOPBACK[0])
        );
        let second = IpAddr::V4(OTHER_LOOPBACK[0]);
        assert_eq!(
            other_loopback(addr("127.0.0.2:2635"), second),
            expect(OTHER_LOOPBACK[1])
        );
        assert_eq!(other_loopback(addr("10.0.0.7:2635"), first), None);
        assert_eq!(other_loopback(addr("[::1]:2635"), first), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_client_bound_to_127_0_0_2_is_seen_from_there() {
        use std::io::{Read, Write};
        use std::net::TcpListener;

        let listener = TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
        let SocketAddr::V4(server) = listener.local_addr().expect("a bound address") else {
            unreachable!("bound to an IPv4 address");
        };
        let source = OTHER_LOOPBACK[0];
        let mut client = connect_from(source, server, Duration::from_secs(5))
            .expect("connecting from 127.0.0.2");
        let (mut accepted, peer) = listener.accept().expect("the connection");
        assert_eq!(peer.ip(), IpAddr::V4(source));
        assert_eq!(client.local_addr().expect("bound").ip(), IpAddr::V4(source));
        client.write_all(b"lista").expect("writing");
        let mut got = [0u8; 5];
        accepted.read_exact(&mut got).expect("reading");
        assert_eq!(&got, b"lista");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn nobody_listening_is_refused_not_hung() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
        let SocketAddr::V4(server) = listener.local_addr().expect("a bound address") else {
            unreachable!("bound to an IPv4 address");
        };
        drop(listener);
        let e = connect_from(OTHER_LOOPBACK[0], server, Duration::from_secs(5))
            .expect_err("nobody listens");
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
    }
}
