//! Server addresses as users type them.

use std::net::{SocketAddr, ToSocketAddrs};

use anyhow::{bail, Context, Result};

/// `HOST:PORT`, `[V6]:PORT`, or a bare `HOST` meaning port 2635, resolved
/// to every address the name has, in the resolver's order (never empty).
pub fn resolve(addr: &str) -> Result<Vec<SocketAddr>> {
    let with_port = if addr.parse::<std::net::IpAddr>().is_ok() || !addr.contains(':') {
        format!("{addr}:{}", streamlab_proto::original::PORT)
    } else {
        addr.to_string()
    };
    let bracketed = match addr.parse::<std::net::Ipv6Addr>() {
        Ok(v6) => format!("[{v6}]:{}", streamlab_proto::original::PORT),
        Err(_) => with_port,
    };
    let well_formed = bracketed
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if !well_formed {
        bail!("invalid server address '{addr}' (expected HOST:PORT, or HOST for port 2635)");
    }
    let addrs: Vec<SocketAddr> = bracketed
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve the server address '{addr}'"))?
        .collect();
    if addrs.is_empty() {
        bail!("server address '{addr}' resolves to nothing");
    }
    Ok(addrs)
}
