//! Who gets a place on the server, and who must make room.
//!
//! Every connection costs a thread and a socket, so the server holds at
//! most `max_clients` of them (`--max-clients`, default 64). Without more
//! rules, one peer that opens 64 sockets and sends nothing locks every
//! real client out, and so do 500 that send a byte every few seconds (a
//! *slowloris*). The rules below keep a real client served however many
//! sockets any one peer holds, and never drop a client that has spoken and
//! then waits, such as an original-dialect client playing a song for
//! minutes without sending a byte.
//!
//! A connection is a **stranger** until it *greets*: until it sends one
//! valid command (a framed client's `hello`, an original client's first
//! `lista` or `download …`; see `ServerSession::greeted`). Then it is a
//! **client**.
//!
//! | rule | default | flag | when it bites |
//! |---|---|---|---|
//! | greeting timeout | [`GREETING_TIMEOUT`], 300 s | `--greeting-timeout` | a stranger that has not greeted this long after connecting is closed |
//! | command timeout | [`COMMAND_TIMEOUT`], 10 s | `--command-timeout` | a command (a framed line, or the start of a greeting) still incomplete this long after its first byte: the connection is closed |
//! | per-address cap | [`REMOTE_PER_ADDRESS`], 16, for remote peers; none on loopback | `--max-per-address` | a connection from an address that already holds that many gets `ERR 503 busy: your address …` and is closed |
//! | room for newcomers | always on | — | at `max_clients`, a newcomer takes the place of a stranger, the oldest of the address holding the most connections; with no stranger left, it gets `ERR 503 busy` |
//!
//! Between complete commands a client has no timeout at all: reading
//! nothing for an hour is its right. Only strangers and half-sent commands
//! are on the clock, and strangers only lose their place to a newcomer
//! when the server is full.
//!
//! Why evict rather than not count strangers: a stranger still holds a
//! thread and a socket, so uncounted strangers would need a bound of
//! their own. Evicting keeps one bound, `max_clients`, on everything, and
//! puts the peer that has not said a word at the back of the queue. It is
//! the oldest stranger of the most crowded address that goes, so a flood
//! from one address mostly evicts itself, not the real client that
//! connected a millisecond ago and is sending its `hello`.
//!
//! What counts as one address: an IPv4 address; an IPv6 /64 (one host is
//! usually handed a whole /64, and may pick any address in it); an
//! IPv4-mapped IPv6 address as its IPv4. Loopback is not capped by
//! default: tests, benchmarks and labs open hundreds of clients from
//! 127.0.0.1, and whoever runs on this machine could as well stop the
//! server. An explicit `--max-per-address` applies to every address,
//! loopback included, where each 127.0.0.x counts as its own address.

use std::collections::BTreeMap;
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long a new connection has to send its first valid command.
///
/// The original client (and ours, in that dialect) connects when it
/// starts and sends nothing until its user picks from the menu, which a
/// person may take minutes over; a framed program greets within
/// milliseconds. Five minutes leaves the person their time. It is not
/// what keeps a full server open to newcomers (eviction does that, at
/// once); it only bounds how long a silent socket holds a thread on a
/// server that is not full.
pub const GREETING_TIMEOUT: Duration = Duration::from_secs(300);

/// How long a command may stay incomplete after its first byte arrives.
/// A client writes each command whole, so this only meets a peer that
/// dribbles bytes: `nc` and `telnet` send a typed line at its Enter.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// The default per-address cap for peers not on loopback: a quarter of
/// the default `max_clients`, so no one remote address takes most of the
/// server. A class behind one NAT shares one address: raise it for them
/// with `--max-per-address`.
pub const REMOTE_PER_ADDRESS: usize = 16;

/// What [`Admission::admit`] decided about a new connection.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Serve it; `evicted` made room for it.
    Admit { evicted: Option<Evicted> },
    /// The server is full of clients that have all greeted.
    Full,
    /// The peer's address already holds this many connections.
    AddressFull(usize),
}

/// A stranger let go to make room, for the log.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Evicted {
    pub(crate) id: u64,
    pub(crate) peer: SocketAddr,
    pub(crate) waited: Duration,
}

/// The places on the server: one entry per open connection.
#[derive(Debug)]
pub(crate) struct Admission {
    max_clients: usize,
    max_per_address: Option<usize>,
    table: Mutex<Table>,
}

#[derive(Debug, Default)]
struct Table {
    /// By id, so in order of arrival.
    conns: BTreeMap<u64, Entry>,
    /// Connections holding a place (not evicted), per address.
    per_address: BTreeMap<IpAddr, usize>,
    /// Their total.
    placed: usize,
}

#[derive(Debug)]
struct Entry {
    peer: SocketAddr,
    since: Instant,
    /// Shared with the connection thread, so eviction can wake it.
    stream: Arc<TcpStream>,
    greeted: bool,
    /// Shut down to make room; no longer counted, gone when its thread ends.
    evicted: bool,
}

/// The address a peer is counted under (see the module docs).
fn address_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None if v6.is_loopback() => IpAddr::V6(v6),
            None => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        },
    }
}

impl Admission {
    pub(crate) fn new(max_clients: usize, max_per_address: Option<usize>) -> Self {
        Admission {
            max_clients,
            max_per_address,
            table: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        // Every change below keeps the table consistent at each step, so
        // a panic elsewhere while it is held leaves nothing half done.
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cap for `address`, if it has one.
    fn cap(&self, address: IpAddr) -> Option<usize> {
        match self.max_per_address {
            Some(n) => Some(n),
            None if address.is_loopback() => None,
            None => Some(REMOTE_PER_ADDRESS),
        }
    }

    /// Decides about connection `id` from `peer`; an admitted one holds a
    /// place until [`leave`](Self::leave).
    pub(crate) fn admit(&self, id: u64, peer: SocketAddr, stream: &Arc<TcpStream>) -> Decision {
        let address = address_of(peer.ip());
        let mut table = self.lock();
        let held = table.per_address.get(&address).copied().unwrap_or(0);
        if let Some(cap) = self.cap(address).filter(|&cap| held >= cap) {
            return Decision::AddressFull(cap);
        }
        let evicted = match table.placed >= self.max_clients {
            true => match table.evict_a_stranger() {
                Some(e) => Some(e),
                None => return Decision::Full,
            },
            false => None,
        };
        let entry = Entry {
            peer,
            since: Instant::now(),
            stream: Arc::clone(stream),
            greeted: false,
            evicted: false,
        };
        table.conns.insert(id, entry);
        *table.per_address.entry(address).or_default() += 1;
        table.placed += 1;
        Decision::Admit { evicted }
    }

    /// Connections holding a place (those let go to make room, whose
    /// threads may not have ended yet, hold none).
    pub(crate) fn placed(&self) -> usize {
        self.lock().placed
    }

    /// Connection `id` sent its first valid command: no longer evictable.
    pub(crate) fn greeted(&self, id: u64) {
        if let Some(entry) = self.lock().conns.get_mut(&id) {
            entry.greeted = true;
        }
    }

    /// Connection `id` ended: its place, if it still held one, is free.
    pub(crate) fn leave(&self, id: u64) {
        let mut table = self.lock();
        if let Some(entry) = table.conns.remove(&id) {
            if !entry.evicted {
                table.release(entry.peer);
            }
        }
    }
}

impl Table {
    /// Lets go of the oldest stranger of the address holding the most
    /// places: shuts its socket down (its thread wakes and ends) and frees
    /// its place at once. `None` if every connection has greeted.
    fn evict_a_stranger(&mut self) -> Option<Evicted> {
        let per_address = &self.per_address;
        let crowd = |e: &Entry| per_address.get(&address_of(e.peer.ip())).copied();
        let (&id, entry) = self
            .conns
            .iter()
            .filter(|(_, e)| !e.greeted && !e.evicted)
            // The most crowded address; among its strangers the oldest
            // (`max_by_key` keeps the last of equals, so ids count down).
            .max_by_key(|(&id, e)| (crowd(e), std::cmp::Reverse(id)))?;
        let evicted = Evicted {
            id,
            peer: entry.peer,
            waited: entry.since.elapsed(),
        };
        let _ = entry.stream.shutdown(Shutdown::Both);
        if let Some(e) = self.conns.get_mut(&id) {
            e.evicted = true;
        }
        self.release(evicted.peer);
        Some(evicted)
    }

    /// One place of `peer`'s address is free.
    fn release(&mut self, peer: SocketAddr) {
        let address = address_of(peer.ip());
        if let Some(n) = self.per_address.get_mut(&address) {
            *n -= 1;
            if *n == 0 {
                self.per_address.remove(&address);
            }
        }
        self.placed -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpListener;

    /// A connected pair on loopback: the server's end, and the client's.
    fn pair(listener: &TcpListener) -> (Arc<TcpStream>, TcpStream) {
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (Arc::new(server), client)
    }

    fn peer(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    fn admitted(v: Decision) -> bool {
        matches!(v, Decision::Admit { evicted: None })
    }

    #[test]
    fn one_address_is_an_ipv4_address_or_an_ipv6_slash_64() {
        let of = |text: &str| address_of(text.parse().unwrap()).to_string();
        assert_eq!(of("10.0.0.7"), "10.0.0.7");
        assert_eq!(of("::ffff:10.0.0.7"), "10.0.0.7");
        assert_eq!(of("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::");
        assert_eq!(of("::1"), "::1", "loopback stays loopback");
    }

    #[test]
    fn remote_addresses_are_capped_by_default_and_loopback_is_not() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let (stream, _client) = pair(&listener);
        let gate = Admission::new(1000, None);
        for id in 0..REMOTE_PER_ADDRESS as u64 {
            assert!(admitted(gate.admit(id, peer("10.0.0.7:4000"), &stream)));
        }
        let over = gate.admit(99, peer("10.0.0.7:4001"), &stream);
        assert_eq!(over, Decision::AddressFull(REMOTE_PER_ADDRESS));
        assert!(admitted(gate.admit(100, peer("10.0.0.8:4000"), &stream)));
        for id in 200..300 {
            assert!(admitted(gate.admit(id, peer("127.0.0.1:4000"), &stream)));
        }
        // A place given back can be taken again.
        gate.leave(0);
        assert!(admitted(gate.admit(101, peer("10.0.0.7:4002"), &stream)));
        // An explicit cap holds for loopback too, each 127.0.0.x apart.
        let gate = Admission::new(1000, Some(2));
        for id in 0..2 {
            assert!(admitted(gate.admit(id, peer("127.0.0.1:4000"), &stream)));
        }
        let over = gate.admit(2, peer("127.0.0.1:4000"), &stream);
        assert_eq!(over, Decision::AddressFull(2));
        assert!(admitted(gate.admit(3, peer("127.0.0.2:4000"), &stream)));
    }

    #[test]
    fn a_full_server_lets_the_oldest_stranger_of_the_biggest_crowd_go() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let gate = Admission::new(4, None);
        let mut clients = Vec::new();
        let peers = ["10.0.0.1:1", "10.0.0.2:1", "10.0.0.2:2", "10.0.0.2:3"];
        for (id, p) in peers.iter().enumerate() {
            let (stream, client) = pair(&listener);
            assert!(admitted(gate.admit(id as u64, peer(p), &stream)));
            clients.push(client);
        }
        gate.greeted(2);
        let (stream, _newcomer) = pair(&listener);
        // 10.0.0.2 holds three places; its oldest stranger is 1.
        let Decision::Admit { evicted: Some(e) } = gate.admit(10, peer("10.0.0.3:1"), &stream)
        else {
            panic!("someone makes room");
        };
        assert_eq!((e.id, e.peer), (1, peer("10.0.0.2:1")));
        assert_eq!(gate.placed(), 4, "its place is the newcomer's");
        let mut byte = [0u8; 1];
        assert_eq!(clients[1].read(&mut byte).unwrap(), 0, "it sees the close");
        // Then 3 (10.0.0.2 still holds the most), then 0; 2 has greeted.
        let (stream, _c) = pair(&listener);
        let v = gate.admit(11, peer("10.0.0.4:1"), &stream);
        assert!(matches!(
            v,
            Decision::Admit {
                evicted: Some(Evicted { id: 3, .. })
            }
        ));
        gate.greeted(10);
        gate.greeted(11);
        let v = gate.admit(12, peer("10.0.0.5:1"), &stream);
        assert!(matches!(
            v,
            Decision::Admit {
                evicted: Some(Evicted { id: 0, .. })
            }
        ));
        gate.greeted(12);
        assert_eq!(gate.admit(13, peer("10.0.0.6:1"), &stream), Decision::Full);
        // An evicted connection that ends frees nothing twice.
        gate.leave(1);
        assert_eq!(gate.admit(14, peer("10.0.0.6:1"), &stream), Decision::Full);
        gate.leave(2);
        assert!(admitted(gate.admit(15, peer("10.0.0.6:1"), &stream)));
    }
}
