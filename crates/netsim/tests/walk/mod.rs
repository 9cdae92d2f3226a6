//! A minimal pcapng reader for the tests, written from the specification
//! apart from the crate's writer. It checks the structure as it goes —
//! block framing, zero padding, option lists ending in `opt_endofopt`, one
//! Ethernet interface with nanosecond timestamps — and returns the packets.
//!
//! It is not a general reader: it refuses anything the simulator's writer
//! would not produce.

/// What a capture holds: who wrote it, and its packets in order.
pub struct Capture {
    pub app_name: String,
    pub packets: Vec<Packet>,
}

/// One Enhanced Packet Block.
pub struct Packet {
    pub timestamp_ns: u64,
    pub frame: Vec<u8>,
    pub comment: Option<String>,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Splits the file into (block type, body) after checking each block's
/// framing: both lengths equal, a multiple of 4, within the file.
fn blocks(mut file: &[u8]) -> Result<Vec<(u32, &[u8])>, String> {
    let mut blocks = Vec::new();
    while !file.is_empty() {
        if file.len() < 12 {
            return Err(format!("{} stray bytes at the end", file.len()));
        }
        let len = u32_at(file, 4) as usize;
        if len < 12 || len % 4 != 0 || len > file.len() {
            return Err(format!("block of bad length {len}"));
        }
        if u32_at(file, len - 4) as usize != len {
            return Err(format!(
                "block lengths differ: {len} and {}",
                u32_at(file, len - 4)
            ));
        }
        blocks.push((u32_at(file, 0), &file[8..len - 4]));
        file = &file[len..];
    }
    Ok(blocks)
}

/// Reads an option list to its end marker; values must be zero-padded.
fn options(mut b: &[u8]) -> Result<Vec<(u16, &[u8])>, String> {
    let mut options = Vec::new();
    loop {
        if b.len() < 4 {
            return Err("options without opt_endofopt".into());
        }
        let (code, len) = (u16_at(b, 0), usize::from(u16_at(b, 2)));
        if code == 0 {
            return match (len, b.len()) {
                (0, 4) => Ok(options),
                _ => Err("bytes after opt_endofopt".into()),
            };
        }
        let padded = len.next_multiple_of(4);
        if b.len() < 4 + padded || b[4 + len..4 + padded].iter().any(|&x| x != 0) {
            return Err(format!("option {code} overruns or is badly padded"));
        }
        options.push((code, &b[4..4 + len]));
        b = &b[4 + padded..];
    }
}

/// Reads a whole file: section header, interface, then packets only.
pub fn read(file: &[u8]) -> Result<Capture, String> {
    let blocks = blocks(file)?;
    let [(0x0a0d_0d0a, shb), (1, idb), epbs @ ..] = &blocks[..] else {
        return Err("no section header and interface at the start".into());
    };
    if shb.len() < 16
        || u32_at(shb, 0) != 0x1a2b_3c4d
        || shb[4..16] != [1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
    {
        return Err("bad section header".into());
    }
    let [(4, app_name)] = options(&shb[16..])?[..] else {
        return Err("section header options other than shb_userappl alone".into());
    };
    if idb.len() < 8 || u16_at(idb, 0) != 1 || u32_at(idb, 4) != 262_144 {
        return Err("bad interface description".into());
    }
    if options(&idb[8..])? != [(2, &b"sim0"[..]), (9, &[9][..])] {
        return Err("unexpected interface options".into());
    }
    Ok(Capture {
        app_name: String::from_utf8(app_name.to_vec()).map_err(|e| e.to_string())?,
        packets: epbs
            .iter()
            .map(|&(kind, body)| packet(kind, body))
            .collect::<Result<_, _>>()?,
    })
}

fn packet(kind: u32, body: &[u8]) -> Result<Packet, String> {
    if kind != 6 || body.len() < 20 || u32_at(body, 0) != 0 {
        return Err(format!(
            "block type {kind} is not an enhanced packet on interface 0"
        ));
    }
    let (captured, original) = (u32_at(body, 12) as usize, u32_at(body, 16) as usize);
    let padded = captured.next_multiple_of(4);
    if captured != original
        || body.len() < 20 + padded
        || body[20 + captured..20 + padded].iter().any(|&x| x != 0)
    {
        return Err(format!("bad packet lengths {captured}/{original}"));
    }
    let rest = &body[20 + padded..];
    let comment = match rest.is_empty() {
        true => None,
        false => match &options(rest)?[..] {
            [(1, text)] => Some(String::from_utf8(text.to_vec()).map_err(|e| e.to_string())?),
            _ => return Err("unexpected packet options".into()),
        },
    };
    Ok(Packet {
        timestamp_ns: u64::from(u32_at(body, 4)) << 32 | u64::from(u32_at(body, 8)),
        frame: body[20..20 + captured].to_vec(),
        comment,
    })
}
