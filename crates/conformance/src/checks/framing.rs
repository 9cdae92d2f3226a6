//! Checks of what TCP may do to the bytes: `split-command`,
//! `coalesced-commands`, `over-long-input`.
//!
//! The framed dialect must not care how the bytes were cut. The original
//! dialect cares by design (one `recv` is one command, docs/protocol.md
//! 2.2), so its checks expect the original's documented behaviour.

use std::time::Duration;

use streamlab_proto::framed::{self, code};
use streamlab_proto::{original, Dialect};

use super::replies::{expect_error, expect_text};
use crate::connection::ReadEnd;
use crate::diagnosis::show;
use crate::exchanges::{framed_counted, framed_line, original_list};
use crate::{CheckContext, Diagnosis};

/// The pause between the two halves of a split command: long enough that
/// the server reads the first half alone.
pub const SPLIT_PAUSE: Duration = Duration::from_millis(300);
/// How many bytes `over-long-input` sends: twice the original's
/// `recv(1024)` and twice the framed line bound.
pub const LONG_INPUT: usize = 2 * framed::MAX_LINE;

const ONE_RECV_HINT: &str = "the original server reads each recv() as one whole command \
                             (docs/protocol.md 2.2); this check expects exactly that";

/// The one-recv hint, for a failure that looks like a server that reads
/// commands its own way (silence, or a reply other than the unknown one),
/// not for one that merely words its unknown-command reply differently.
fn one_recv(d: Diagnosis) -> Diagnosis {
    let silent = d.got.starts_with("nothing within");
    let glued = d.got.contains(original::UNKNOWN_COMMAND) || d.got.contains("goodbye");
    match (silent || glued) && d.hint.is_none() {
        true => d.hint(ONE_RECV_HINT),
        false => d,
    }
}

/// `split-command`: one command in two writes, a pause between.
pub fn split_command(ctx: &CheckContext) -> Result<(), Diagnosis> {
    let mut conn = ctx.connect()?;
    match ctx.dialect() {
        Dialect::Original => {
            let unknown = original::UNKNOWN_COMMAND.as_bytes();
            conn.send(b"lis")?;
            conn.pause(SPLIT_PAUSE);
            expect_text(&mut conn, unknown).map_err(one_recv)?;
            conn.send(b"ta")?;
            expect_text(&mut conn, unknown).map_err(one_recv)
        }
        Dialect::Framed => {
            conn.send(b"li")?;
            let early = conn.extra(SPLIT_PAUSE);
            if !early.bytes.is_empty() || early.end != ReadEnd::Quiet {
                let hint = "a command ends at its \\n: keep the bytes of an unfinished line \
                            and wait for the rest";
                let got = early.describe(conn.limits());
                return Err(conn.fail("nothing until the line ends", got).hint(hint));
            }
            conn.send(b"st\n")?;
            framed_counted(&mut conn, "songs").map(drop).map_err(|d| {
                d.hint("the two writes make one line, \"list\": TCP does not keep write boundaries")
            })
        }
    }
}

/// `coalesced-commands`: two commands in one write.
pub fn coalesced_commands(ctx: &CheckContext) -> Result<(), Diagnosis> {
    let mut conn = ctx.connect()?;
    match ctx.dialect() {
        Dialect::Original => {
            conn.send(b"listaquit")?;
            let unknown = original::UNKNOWN_COMMAND.as_bytes();
            expect_text(&mut conn, unknown).map_err(one_recv)?;
            let after = conn.extra(ctx.limits().settle);
            if !after.bytes.is_empty() || after.end != ReadEnd::Quiet {
                let expected = "nothing more, and the connection open";
                let got = after.describe(conn.limits());
                return Err(conn.fail(expected, got).hint(ONE_RECV_HINT));
            }
            conn.send(b"quit")?;
            expect_text(&mut conn, original::GOODBYE)
        }
        Dialect::Framed => {
            conn.send(b"list\nquit\n")?;
            framed_counted(&mut conn, "songs")
                .map_err(|d| d.hint("read commands line by line: one read may hold several"))?;
            let hint = "every line of a read is a command: answer the second one too";
            let goodbye = framed_line(&mut conn, "\"OK goodbye\" after the list")
                .map_err(|d| d.hint(hint))?;
            if goodbye != "OK goodbye" {
                return Err(conn
                    .fail("\"OK goodbye\" after the list", show(goodbye.as_bytes()))
                    .hint(hint));
            }
            expect_close(&mut conn)
        }
    }
}

/// `over-long-input`: far more bytes than a command may hold.
pub fn over_long_input(ctx: &CheckContext) -> Result<(), Diagnosis> {
    let mut conn = ctx.connect()?;
    match ctx.dialect() {
        Dialect::Original => {
            conn.send(&[b'a'; LONG_INPUT])?;
            let unknown = original::UNKNOWN_COMMAND.as_bytes();
            let r = conn.reply(None);
            let whole = !r.bytes.is_empty()
                && r.bytes.len() % unknown.len() == 0
                && r.bytes.chunks(unknown.len()).all(|c| c == unknown);
            if !whole || r.end != ReadEnd::Quiet {
                let expected = "\"Comando Inexistente.\", once per recv(1024) of the input";
                return Err(conn.fail(expected, r.describe(conn.limits())));
            }
            conn.send(b"lista")?;
            original_list(&mut conn)
                .map(drop)
                .map_err(|d| d.hint("long input must not break the connection"))
        }
        Dialect::Framed => {
            let mut line = vec![b'a'; LONG_INPUT];
            line.push(b'\n');
            conn.send(&line)?;
            expect_error(&mut conn, code::TOO_LONG).map_err(|d| {
                d.hint("a line longer than 1024 bytes gets ERR 413: never buffer without a bound")
            })?;
            expect_close(&mut conn)
        }
    }
}

/// Nothing more, and the server's close.
fn expect_close(conn: &mut crate::connection::Conn) -> Result<(), Diagnosis> {
    let r = conn.until_close();
    match (&r.end, r.bytes.is_empty()) {
        (ReadEnd::Closed | ReadEnd::Failed(_), true) => Ok(()),
        _ => {
            let got = r.describe(conn.limits());
            Err(conn.fail("the server closes the connection", got))
        }
    }
}
