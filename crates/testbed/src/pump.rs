//! The emulator's driver: one thread that moves packets between the two
//! TUN devices through the [`Emulator`], on real time.
//!
//! ```text
//! loop {
//!     write every packet that is due          (and note how late it is)
//!     stop if asked
//!     sleep until the next due time, or until a device has a packet
//!     read what the devices have, hand it to the emulator
//! }
//! ```
//!
//! The client's side of the link is where the [`Watch`] and the
//! [`Capture`] look: packets read from the client's device are leaving it,
//! packets written to it are arriving.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use streamlab_netsim::link::DropReason;
use streamlab_netsim::time::SimTime;

use crate::capture::Capture;
use crate::emulator::{Dir, Emulator, Lateness, PacketFate};
use crate::tun::{self, Tun};
use crate::watch::{Watch, Watched};
use crate::TestbedError;

/// The longest the driver sleeps before looking at its stop flag.
const NAP: Duration = Duration::from_millis(20);
/// Packets read from one device before the driver looks at due ones again.
const READ_BURST: usize = 32;

/// What the driver saw, once stopped.
#[derive(Debug)]
pub struct PumpReport {
    pub dropped_to_server: u64,
    pub dropped_to_client: u64,
    pub lateness: Lateness,
    pub watched: Watched,
    pub captured: u64,
    /// Packets the kernel refused when written to a device.
    pub write_errors: u64,
}

/// The running driver. Dropping it stops it.
pub struct Pump {
    stop: Arc<AtomicBool>,
    last_packet: Arc<AtomicU64>,
    start: Instant,
    handle: Option<JoinHandle<Result<PumpReport, TestbedError>>>,
}

struct State {
    server: Tun,
    client: Tun,
    emu: Emulator,
    watch: Watch,
    capture: Option<Capture>,
    lateness: Lateness,
    write_errors: u64,
    start: Instant,
    last_packet: Arc<AtomicU64>,
}

impl Pump {
    /// Starts the driver thread. Time 0 of the run is `start`.
    pub fn start(
        server: Tun,
        client: Tun,
        emu: Emulator,
        watch: Watch,
        capture: Option<PathBuf>,
        start: Instant,
    ) -> Result<Pump, TestbedError> {
        let capture = capture.as_deref().map(Capture::create).transpose()?;
        let stop = Arc::new(AtomicBool::new(false));
        let last_packet = Arc::new(AtomicU64::new(0));
        let state = State {
            server,
            client,
            emu,
            watch,
            capture,
            lateness: Lateness::default(),
            write_errors: 0,
            start,
            last_packet: last_packet.clone(),
        };
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("testbed-link".into())
            .spawn(move || state.run(&flag))
            .map_err(|e| TestbedError::io("starting the link emulator thread", e))?;
        Ok(Pump {
            stop,
            last_packet,
            start,
            handle: Some(handle),
        })
    }

    /// How long ago the last packet entered the link.
    pub fn quiet_for(&self) -> Duration {
        let last = Duration::from_nanos(self.last_packet.load(Ordering::Relaxed));
        self.start.elapsed().saturating_sub(last)
    }

    /// Stops the driver and returns what it saw.
    pub fn finish(mut self) -> Result<PumpReport, TestbedError> {
        self.stop.store(true, Ordering::Relaxed);
        match self.handle.take().map(JoinHandle::join) {
            Some(Ok(report)) => report,
            Some(Err(_)) | None => Err(TestbedError::io(
                "the link emulator thread",
                std::io::Error::other("it panicked"),
            )),
        }
    }
}

impl Drop for Pump {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl State {
    fn now(&self) -> SimTime {
        SimTime::from_nanos(u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX))
    }

    fn run(mut self, stop: &AtomicBool) -> Result<PumpReport, TestbedError> {
        tun::tighten_timer_slack();
        let mut buf = vec![0u8; 65_536];
        loop {
            self.release()?;
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let now = self.now();
            let wait = self
                .emu
                .poll_timeout()
                .map_or(NAP, |due| due.since(now).min(NAP));
            let ready = tun::wait_readable([&self.server, &self.client], wait)
                .map_err(|e| TestbedError::io("waiting on the TUN devices", e))?;
            for (dir, is_ready) in [(Dir::ToClient, ready[0]), (Dir::ToServer, ready[1])] {
                if is_ready {
                    self.read_from(dir, &mut buf)?;
                }
            }
        }
        let captured = match self.capture {
            Some(c) => c.finish()?,
            None => 0,
        };
        Ok(PumpReport {
            dropped_to_server: self.emu.dropped(Dir::ToServer),
            dropped_to_client: self.emu.dropped(Dir::ToClient),
            lateness: self.lateness,
            watched: self.watch.finish(),
            captured,
            write_errors: self.write_errors,
        })
    }

    /// Writes every packet that is due, and notes how late each one is.
    fn release(&mut self) -> Result<(), TestbedError> {
        while let Some(r) = self.emu.poll_release(self.now()) {
            let at = self.now();
            self.lateness.record(at.since(r.due));
            let written = match r.dir {
                Dir::ToServer => self.server.write_packet(&r.packet),
                Dir::ToClient => self.client.write_packet(&r.packet),
            };
            if written.is_err() {
                self.write_errors += 1;
                continue;
            }
            if r.dir == Dir::ToClient {
                self.watch.arrives_at_client(at, &r.packet);
                if let Some(c) = &mut self.capture {
                    c.packet(at, &r.packet, None)?;
                }
            }
        }
        Ok(())
    }

    /// Reads up to a burst of packets sent `dir` (the server's device
    /// gives packets going to the client, and the other way round).
    fn read_from(&mut self, dir: Dir, buf: &mut [u8]) -> Result<(), TestbedError> {
        for _ in 0..READ_BURST {
            let tun = match dir {
                Dir::ToClient => &mut self.server,
                Dir::ToServer => &mut self.client,
            };
            let n = match tun.read_packet(buf) {
                Ok(Some(n)) => n,
                Ok(None) => return Ok(()),
                Err(e) => return Err(TestbedError::io(format!("reading {}", tun.name()), e)),
            };
            let now = self.now();
            self.last_packet.store(now.as_nanos(), Ordering::Relaxed);
            let packet = &buf[..n];
            let verdict = self.emu.handle_packet(now, dir, packet.to_vec());
            let comment = match &verdict {
                PacketFate::Dropped(reason) => Some(drop_comment(dir, reason)),
                PacketFate::Queued(_) => None,
            };
            if dir == Dir::ToServer {
                self.watch.leaves_client(now, packet);
            }
            // Leaving the client: always seen there, a dropped one with its
            // comment. Going to it: written when it arrives; one the link
            // drops never reaches the client, and a Wireshark there never
            // sees it (as the simulator's capture at the client).
            if dir == Dir::ToServer {
                if let Some(c) = &mut self.capture {
                    c.packet(now, packet, comment)?;
                }
            }
        }
        Ok(())
    }
}

/// The packet comment on a dropped frame.
fn drop_comment(dir: Dir, reason: &DropReason) -> String {
    let why = match reason {
        DropReason::Lost => "lost".to_string(),
        DropReason::QueueFull => "router queue full".to_string(),
        DropReason::Rule(r) => r.clone(),
    };
    match dir {
        Dir::ToServer => format!(
            "dropped by the link ({}): {why}; the server never received it",
            dir.arrow()
        ),
        // Not written (see above); named for the trace all the same.
        Dir::ToClient => format!("dropped by the link ({}): {why}", dir.arrow()),
    }
}
