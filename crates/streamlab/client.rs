//! `streamlab client`: connect to a server and play, from the menu or a
//! script.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use streamlab_audio::sink::{Paced, Sink, SinkSpec};
use streamlab_client::{menu, ClientError, ClientOptions};
use streamlab_proto::Dialect;

use crate::address::resolve;
use crate::values::{parse_pause, parse_size, ClientDialect};

#[derive(Debug, Args)]
#[command(after_help = streamlab_client::commands::HELP)]
// A negative number is a value out of range, not an unknown flag.
#[command(allow_negative_numbers = true)]
pub struct ClientArgs {
    /// Server address: HOST:PORT, or HOST for port 2635.
    #[arg(default_value = "127.0.0.1:2635")]
    pub addr: String,
    /// Which protocol to speak.
    #[arg(long, value_enum, default_value_t = ClientDialect::Framed)]
    pub dialect: ClientDialect,
    /// Where audio goes: speaker, speaker:NAME, wav:PATH (a file, or a folder
    /// for one file per song) or null [default: speaker, else a WAV file].
    #[arg(long)]
    pub output: Option<String>,
    /// Play a file or null output at the audio's own speed, as a speaker
    /// would (they otherwise take the audio as fast as it arrives).
    #[arg(long)]
    pub realtime: bool,
    /// Run these commands instead of the menu, e.g. "list; play ode_to_joy; wait; quit".
    #[arg(long)]
    pub script: Option<String>,
    /// Original dialect: milliseconds to wait after a command with no reply.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(0..=10_000))]
    pub pause_ms: u64,
    /// Original dialect: milliseconds of silence that end a list reply.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(10..=10_000))]
    pub settle_ms: u64,
    /// The most one song may hold: bytes, or with K, M or G (KiB, MiB, GiB).
    /// A server that announces or sends more is cut off.
    #[arg(long, value_name = "SIZE", default_value_t = streamlab_client::DEFAULT_MAX_TRACK_BYTES, value_parser = parse_size)]
    pub max_track_bytes: u64,
    /// Seconds a download may go without a byte before it fails, and with it
    /// the connection.
    #[arg(long, value_name = "SECS", default_value_t = streamlab_client::DEFAULT_TRACK_STALL.as_secs(), value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub stall_timeout: u64,
    /// Stop reading the socket AT after connecting, for LEN (e.g.
    /// 50ms,1.45s): a slow reader, to watch the receive window close and
    /// the server probe it in Wireshark.
    #[arg(long, value_name = "AT,LEN", value_parser = parse_pause)]
    pub stop_reading: Option<(Duration, Duration)>,
}

/// Connects to the first of `addrs` that accepts, in order: `localhost`
/// may name `::1` first while the server listens on `127.0.0.1` only.
/// Only a failure to connect moves on to the next address; a server that
/// answers and refuses us (busy, say) is the answer. With none left, the
/// last failure is the error.
fn connect_any(
    opts: &mut ClientOptions,
    addrs: &[SocketAddr],
) -> Result<streamlab_client::Connection> {
    let mut last = None;
    for &addr in addrs {
        opts.addr = addr;
        match streamlab_client::open_connection(opts) {
            Err(e @ ClientError::Connect { .. }) => {
                tracing::debug!("{e}");
                last = Some(e);
            }
            result => return Ok(result?),
        }
    }
    Err(last.map_or_else(|| anyhow!("no server address to connect to"), Into::into))
}

/// Opens the requested output. With no request: the speaker if it works,
/// else a WAV file, saying so once.
fn open_output(spec: Option<&SinkSpec>) -> Result<Box<dyn Sink>> {
    let speaker = match spec {
        None => SinkSpec::Speaker(None),
        Some(s @ SinkSpec::Speaker(_)) => s.clone(),
        Some(other) => {
            return other
                .open()
                .with_context(|| format!("opening output '{other}'"))
        }
    };
    match speaker.open() {
        Ok(sink) => Ok(sink),
        Err(e) => {
            let path = std::env::temp_dir().join(format!("streamlab-{}.wav", std::process::id()));
            eprintln!(
                "streamlab: no speaker ({e}); writing the audio to {} instead",
                path.display()
            );
            // It stands in for the speaker, so it keeps the speaker's pace.
            let file = SinkSpec::Wav(path.clone())
                .open()
                .with_context(|| format!("opening {}", path.display()))?;
            Ok(Box::new(Paced::new(file)))
        }
    }
}

pub fn run(args: ClientArgs) -> Result<()> {
    // Check the script and the output before connecting: a typo fails fast.
    if let Some(script) = &args.script {
        menu::parse_script(script)?;
    }
    let output = match &args.output {
        Some(text) => Some(text.parse::<SinkSpec>().map_err(|e| anyhow!("{e}"))?),
        None => None,
    };
    let addrs = resolve(&args.addr)?;
    let mut opts = ClientOptions::new(addrs[0]);
    opts.dialect = match args.dialect {
        ClientDialect::Original => Dialect::Original,
        ClientDialect::Framed => Dialect::Framed,
    };
    opts.pause = Duration::from_millis(args.pause_ms);
    opts.settle = Duration::from_millis(args.settle_ms);
    opts.max_track_bytes = args.max_track_bytes;
    opts.track_stall = Duration::from_secs(args.stall_timeout);
    opts.stop_reading = args.stop_reading;
    // Connect first, so a missing server is the one error shown.
    let conn = connect_any(&mut opts, &addrs)?;
    let mut sink = open_output(output.as_ref())?;
    if args.realtime && !sink.realtime() {
        sink = Box::new(Paced::new(sink));
    }
    let stdout = std::io::stdout();
    // A person at a terminal gets a status line redrawn in place; output
    // to a file or a pipe gets plain lines only.
    let live = stdout.is_terminal();
    let mut app = streamlab_client::start(conn, sink, stdout.lock())?;
    let stdin = std::io::stdin();
    match &args.script {
        Some(script) => menu::run_script(&mut app, script)?,
        None if stdin.is_terminal() && live => {
            let mut keyboard = menu::Keyboard::spawn(std::io::BufReader::new(stdin));
            menu::run_live(&mut app, &mut keyboard)?
        }
        None if stdin.is_terminal() => menu::run_interactive(&mut app, stdin.lock())?,
        None => menu::run_lines(&mut app, stdin.lock())?,
    }
    if let Some(e) = app.player().status().last_error {
        bail!("playback stopped: {e}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use streamlab_proto::{PcmFormat, Track};
    use streamlab_server::{Server, ServerOptions};

    #[test]
    fn the_client_tries_each_address_until_one_connects() {
        let track = Track {
            name: "tone".into(),
            format: PcmFormat::CD,
            pcm: vec![0u8; 4].into(),
        };
        let bind = "127.0.0.1:0".parse().unwrap();
        let server = Server::bind(bind, vec![track], ServerOptions::default())
            .unwrap()
            .spawn();
        // A port nobody listens on (any more): what `::1` is to a server
        // on 127.0.0.1 when `localhost` names `::1` first.
        let dead = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let mut opts = ClientOptions::new(dead);
        let conn = connect_any(&mut opts, &[dead, server.addr]);
        assert!(conn.is_ok(), "{:#}", conn.err().unwrap());
        assert_eq!(opts.addr, server.addr, "the second address served");
        let conn = connect_any(&mut opts, &[server.addr, dead]);
        assert!(conn.is_ok());
        assert_eq!(opts.addr, server.addr, "the first that works is taken");
        let err = connect_any(&mut opts, &[dead, dead]).err().unwrap();
        assert!(
            err.to_string()
                .starts_with(&format!("cannot connect to {dead}: ")),
            "{err}"
        );
    }
}
