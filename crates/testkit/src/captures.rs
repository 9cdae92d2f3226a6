//! Test-side builders: packets layer by layer, and pcap and pcapng files
//! in either byte order, written here from the format descriptions so the
//! analyzer's reader is checked against an independent writer (not the
//! simulator's, not a library's). Used by the analyzer's unit and
//! integration tests and by the `streamlab` binary's.

/// A TCP header without options and with a deliberately wrong checksum
/// (0xdead): the analyzer must not care.
pub fn tcp(src_port: u16, dst_port: u16, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    tcp_with_options(src_port, dst_port, seq, ack, flags, &[], payload)
}

/// A TCP header with `options` (padded to 32 bits with NOPs).
pub fn tcp_with_options(
    src_port: u16,
    dst_port: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    options: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    let mut options = options.to_vec();
    options.resize(options.len().next_multiple_of(4), 1);
    let words = (20 + options.len()) / 4;
    let mut out = Vec::new();
    out.extend_from_slice(&src_port.to_be_bytes());
    out.extend_from_slice(&dst_port.to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&ack.to_be_bytes());
    out.extend_from_slice(&[(words as u8) << 4, flags]);
    out.extend_from_slice(&64_240u16.to_be_bytes()); // window
    out.extend_from_slice(&[0xde, 0xad, 0, 0]); // checksum, urgent pointer
    out.extend_from_slice(&options);
    out.extend_from_slice(payload);
    out
}

/// An IPv4 header (with a wrong checksum) around `payload`.
pub fn ipv4(src: [u8; 4], dst: [u8; 4], protocol: u8, payload: &[u8]) -> Vec<u8> {
    ipv4_with(src, dst, protocol, (20 + payload.len()) as u16, 0, payload)
}

/// An IPv4 header with a given total length and flags/fragment word.
pub fn ipv4_with(
    src: [u8; 4],
    dst: [u8; 4],
    protocol: u8,
    total_len: u16,
    flags_frag: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut out = vec![0x45, 0];
    out.extend_from_slice(&total_len.to_be_bytes());
    out.extend_from_slice(&[0x12, 0x34]);
    out.extend_from_slice(&flags_frag.to_be_bytes());
    out.extend_from_slice(&[64, protocol, 0xbe, 0xef]);
    out.extend_from_slice(&src);
    out.extend_from_slice(&dst);
    out.extend_from_slice(payload);
    out
}

/// An IPv6 header; `extensions` (already framed) go between it and `payload`.
pub fn ipv6(src: [u8; 16], dst: [u8; 16], next: u8, extensions: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0x60, 0, 0, 0];
    out.extend_from_slice(&((extensions.len() + payload.len()) as u16).to_be_bytes());
    out.extend_from_slice(&[next, 64]);
    out.extend_from_slice(&src);
    out.extend_from_slice(&dst);
    out.extend_from_slice(extensions);
    out.extend_from_slice(payload);
    out
}

/// An Ethernet II frame with `tags` VLAN tags (each TPID given) before the
/// ethertype.
pub fn ethernet(tags: &[u16], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
    for (i, tpid) in tags.iter().enumerate() {
        out.extend_from_slice(&tpid.to_be_bytes());
        out.extend_from_slice(&(100 + i as u16).to_be_bytes());
    }
    out.extend_from_slice(&ethertype.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// A Linux cooked (SLL) header: packet type 0, the hardware type, a
/// 6-byte address, the protocol.
pub fn sll(hardware: u16, protocol: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0];
    out.extend_from_slice(&hardware.to_be_bytes());
    out.extend_from_slice(&[0, 6, 0, 0, 0, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&protocol.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// A Linux cooked v2 (SLL2) header.
pub fn sll2(hardware: u16, protocol: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = protocol.to_be_bytes().to_vec();
    out.extend_from_slice(&[0, 0, 0, 0, 0, 1]); // reserved, ifindex 1
    out.extend_from_slice(&hardware.to_be_bytes());
    out.extend_from_slice(&[4, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // outgoing, no address
    out.extend_from_slice(payload);
    out
}

/// A 4-byte address family header (NULL or LOOP).
pub fn family(family: u32, big_endian: bool, payload: &[u8]) -> Vec<u8> {
    let mut out = if big_endian {
        family.to_be_bytes().to_vec()
    } else {
        family.to_le_bytes().to_vec()
    };
    out.extend_from_slice(payload);
    out
}

/// Writes integers in one byte order.
#[derive(Debug, Clone, Copy)]
pub struct Order {
    pub big: bool,
}

impl Order {
    pub fn u16(self, v: u16) -> [u8; 2] {
        if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    pub fn u32(self, v: u32) -> [u8; 4] {
        if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }
}

/// A classic pcap file, built in memory.
pub struct PcapFile {
    order: Order,
    nanos: bool,
    pub bytes: Vec<u8>,
}

impl PcapFile {
    pub fn new(big: bool, nanos: bool, link_type: u32, snaplen: u32) -> Self {
        let order = Order { big };
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&order.u32(if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }));
        bytes.extend_from_slice(&order.u16(2));
        bytes.extend_from_slice(&order.u16(4));
        bytes.extend_from_slice(&[0; 8]);
        bytes.extend_from_slice(&order.u32(snaplen));
        bytes.extend_from_slice(&order.u32(link_type));
        PcapFile {
            order,
            nanos,
            bytes,
        }
    }

    /// Adds a record at `ns` nanoseconds (rounded down to µs in a µs file).
    pub fn packet(&mut self, ns: u64, data: &[u8], original_len: u32) -> &mut Self {
        let o = self.order;
        let fraction = if self.nanos {
            ns % 1_000_000_000
        } else {
            ns % 1_000_000_000 / 1_000
        };
        self.bytes
            .extend_from_slice(&o.u32((ns / 1_000_000_000) as u32));
        self.bytes.extend_from_slice(&o.u32(fraction as u32));
        self.bytes.extend_from_slice(&o.u32(data.len() as u32));
        self.bytes.extend_from_slice(&o.u32(original_len));
        self.bytes.extend_from_slice(data);
        self
    }
}

/// A pcapng file, built in memory block by block.
#[derive(Default)]
pub struct PcapngFile {
    order: Option<Order>,
    pub bytes: Vec<u8>,
}

impl PcapngFile {
    fn order(&self) -> Order {
        self.order.unwrap_or(Order { big: false })
    }

    /// Adds a block of any type; `body` is padded to 32 bits.
    pub fn block(&mut self, block_type: u32, body: &[u8]) -> &mut Self {
        let o = self.order();
        let padded = body.len().next_multiple_of(4);
        let total = (12 + padded) as u32;
        self.bytes.extend_from_slice(&o.u32(block_type));
        self.bytes.extend_from_slice(&o.u32(total));
        self.bytes.extend_from_slice(body);
        self.bytes.resize(self.bytes.len() + padded - body.len(), 0);
        self.bytes.extend_from_slice(&o.u32(total));
        self
    }

    /// Starts a section in the given byte order.
    pub fn section(&mut self, big: bool) -> &mut Self {
        self.order = Some(Order { big });
        let o = self.order();
        let mut body = o.u32(0x1a2b_3c4d).to_vec();
        body.extend_from_slice(&o.u16(1));
        body.extend_from_slice(&o.u16(0));
        body.extend_from_slice(&[0xff; 8]);
        self.block(0x0a0d_0d0a, &body)
    }

    /// Describes an interface; `options` are (code, value) pairs, written
    /// without an end marker unless given.
    pub fn interface(
        &mut self,
        link_type: u16,
        snaplen: u32,
        options: &[(u16, &[u8])],
    ) -> &mut Self {
        let o = self.order();
        let mut body = o.u16(link_type).to_vec();
        body.extend_from_slice(&[0, 0]);
        body.extend_from_slice(&o.u32(snaplen));
        for (code, value) in options {
            body.extend_from_slice(&o.u16(*code));
            body.extend_from_slice(&o.u16(value.len() as u16));
            body.extend_from_slice(value);
            body.resize(body.len().next_multiple_of(4), 0);
        }
        self.block(1, &body)
    }

    /// An enhanced packet block with a raw timestamp in interface units.
    pub fn enhanced(
        &mut self,
        interface: u32,
        raw_ts: u64,
        data: &[u8],
        original_len: u32,
    ) -> &mut Self {
        let o = self.order();
        let mut body = o.u32(interface).to_vec();
        body.extend_from_slice(&o.u32((raw_ts >> 32) as u32));
        body.extend_from_slice(&o.u32(raw_ts as u32));
        body.extend_from_slice(&o.u32(data.len() as u32));
        body.extend_from_slice(&o.u32(original_len));
        body.extend_from_slice(data);
        self.block(6, &body)
    }

    /// A simple packet block (interface 0, no timestamp).
    pub fn simple(&mut self, data: &[u8], original_len: u32) -> &mut Self {
        let mut body = self.order().u32(original_len).to_vec();
        body.extend_from_slice(data);
        self.block(3, &body)
    }

    /// An obsolete packet block.
    pub fn obsolete(&mut self, interface: u16, raw_ts: u64, data: &[u8]) -> &mut Self {
        let o = self.order();
        let mut body = o.u16(interface).to_vec();
        body.extend_from_slice(&o.u16(0)); // drops
        body.extend_from_slice(&o.u32((raw_ts >> 32) as u32));
        body.extend_from_slice(&o.u32(raw_ts as u32));
        body.extend_from_slice(&o.u32(data.len() as u32));
        body.extend_from_slice(&o.u32(data.len() as u32));
        body.extend_from_slice(data);
        self.block(2, &body)
    }
}
