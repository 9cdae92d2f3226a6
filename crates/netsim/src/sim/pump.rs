//! Moving bytes on one host: between the application and its TCP
//! endpoint, and from the endpoint onto the wire (fault rules, then the
//! link, then the capture). The order of each step is the run loop in the
//! [module documentation](super).

use std::time::Duration;

use super::capture::Sighting;
use super::{Event, Side, Sim, DROPPED};
use crate::link::{DropReason, Fate};
use crate::rules::{Action, Segment};
use crate::tcp::{TcpEvent, TcpState};
use crate::trace::describe_segment;
use crate::wire::{emit_frame, EthernetRepr, Ipv4Repr, TcpRepr};

/// The most pump rounds in one step; each round moves bytes or stops.
const MAX_PUMP_ROUNDS: usize = 1_000;

impl Sim {
    pub(super) fn pump(&mut self, side: Side) {
        if self.hosts[side.index()].tcp.is_none() {
            return;
        }
        self.flush(side);
        for _ in 0..MAX_PUMP_ROUNDS {
            if !self.exchange(side) {
                break;
            }
        }
        self.flush(side);
    }

    /// One round of app ↔ TCP; true if anything moved.
    fn exchange(&mut self, side: Side) -> bool {
        let now = self.now;
        let host = &mut self.hosts[side.index()];
        let tcp = host.tcp.as_mut().expect("pump checked the endpoint");
        if !host.connected {
            if !matches!(tcp.state(), TcpState::SynSent | TcpState::SynReceived) {
                host.connected = true;
                host.app.on_connected(now);
            }
            if !host.connected {
                return false;
            }
        }
        let mut moved = false;
        // A drain barrier passes when the peer holds every byte written,
        // as the real server learns from SIOCOUTQ.
        if host.app.wants_drain() && tcp.send_queue() == 0 {
            host.app.handle_drained(now);
            moved = true;
        }
        let data = host.app.pending(now);
        if !data.is_empty() {
            let n = tcp.send(data);
            if n > 0 {
                host.app.consume(now, n);
                moved = true;
            }
        }
        let size = host.app.read_size(now);
        if size > 0 && tcp.recv_available() > 0 {
            let mut buf = vec![0; size];
            let n = tcp.recv(&mut buf);
            host.app.handle_read(now, &buf[..n]);
            moved = true;
        }
        // The end of stream comes after every byte was read and after the
        // app wrote what it had to say, as a blocking driver would: a
        // reply to the last command (`goodbye`) goes out before the app
        // hears that the peer closed.
        let drained = tcp.recv_available() == 0 && host.app.pending(now).is_empty();
        if tcp.peer_closed() && !host.eof_given && drained {
            host.eof_given = true;
            host.app.handle_eof(now);
            moved = true;
        }
        if !host.close_called && host.app.wants_close(now) {
            host.close_called = true;
            tcp.close();
            moved = true;
        }
        while let Some(note) = host.app.poll_note() {
            self.trace.push(now, host.addr.to_string(), note);
        }
        moved
    }

    /// Puts on the wire what the endpoint has to send; traces its events
    /// and state changes.
    fn flush(&mut self, side: Side) {
        let now = self.now;
        self.note_tcp(side);
        loop {
            let host = &mut self.hosts[side.index()];
            let tcp = host.tcp.as_mut().expect("pump checked the endpoint");
            let Some(seg) = tcp.poll_segment(now) else {
                break;
            };
            self.transmit(side, seg);
        }
        self.note_tcp(side);
    }

    /// Traces the endpoint's events and its state, if it changed.
    fn note_tcp(&mut self, side: Side) {
        let now = self.now;
        let host = &mut self.hosts[side.index()];
        let tcp = host.tcp.as_mut().expect("pump checked the endpoint");
        while let Some(e) = tcp.poll_event() {
            // The state row that follows says it better.
            if e != TcpEvent::Connected {
                // Sequence numbers as Wireshark shows them: from the ISN.
                let e = e.relative_to(tcp.iss());
                self.trace
                    .push(now, host.addr.to_string(), format!("tcp {e}"));
            }
        }
        if host.state != Some(tcp.state()) {
            host.state = Some(tcp.state());
            self.trace
                .push(now, host.addr.to_string(), format!("tcp {}", tcp.state()));
        }
    }

    /// Rules, then the link: schedules the arrivals, captures the frame.
    fn transmit(&mut self, side: Side, seg: TcpRepr) {
        let now = self.now;
        let (from, to) = (
            self.hosts[side.index()].addr,
            self.hosts[side.peer().index()].addr,
        );
        let host = &mut self.hosts[side.index()];
        let ip = Ipv4Repr {
            src: *from.ip(),
            dst: *to.ip(),
            ttl: 64,
            ident: host.ident,
        };
        host.ident = host.ident.wrapping_add(1);
        let eth = EthernetRepr::between(*from.ip(), *to.ip());
        // The endpoint never sends more than one MSS (a u16) of payload.
        let frame = emit_frame(&eth, &ip, &seg).expect("a TCP segment fits an IPv4 packet");

        let verdict = self.rules.judge(&Segment {
            now,
            from: *from.ip(),
            payload: &seg.payload,
        });
        let link = &mut self.links[side.index()];
        let rng = &mut self.link_rngs[side.index()];
        let fate = match verdict {
            Action::Drop(why) => Fate::Dropped(DropReason::Rule(why)),
            Action::Pass => link.transmit(now, frame.len(), rng),
            Action::Delay(d) => match link.transmit(now, frame.len(), rng) {
                Fate::Arrives(ts) => Fate::Arrives(ts.into_iter().map(|t| t + d).collect()),
                dropped => dropped,
            },
            Action::Duplicate => match link.transmit(now, frame.len(), rng) {
                Fate::Arrives(mut ts) => {
                    ts.push(ts[0] + Duration::from_micros(1));
                    Fate::Arrives(ts)
                }
                dropped => dropped,
            },
        };

        let who = format!("{from} → {to}");
        let index = self.frames.len();
        self.trace
            .push_frame(now, who.clone(), describe_segment(&seg), index);
        self.sightings.push(Sighting {
            at: now,
            side,
            frame: index,
            sent: true,
        });
        let comment = match fate {
            Fate::Arrives(times) => {
                for at in times {
                    let seg = seg.clone();
                    self.queue.push(
                        at,
                        Event::Arrive {
                            to: side.peer(),
                            seg,
                            frame: index,
                        },
                    );
                }
                None
            }
            Fate::Dropped(reason) => {
                let why = match reason {
                    DropReason::Lost => "lost".to_string(),
                    DropReason::QueueFull => "queue full".to_string(),
                    DropReason::Rule(r) => r,
                };
                self.trace
                    .push_frame(now, who, format!("drop ({why})"), index);
                Some(format!("{DROPPED}: {why}"))
            }
        };
        self.frames.push((now, frame, comment));
    }
}
