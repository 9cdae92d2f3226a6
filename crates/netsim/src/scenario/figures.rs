//! A run's figures ([`RunFigures`]) from what the simulator saw.

use super::Run;
use crate::apps::ClientApp;
use crate::figures::{seconds, Engine, Network, RunFigures, SCHEMA};
use crate::player::{replay, PlayerConfig};
use crate::sim::Side;
use crate::tcp::{TcpEndpoint, TcpStats};

impl Run {
    /// Whether the client got the whole served song, byte for byte: `None`
    /// when the run has no song or no protocol client to compare.
    pub fn bit_exact(&self) -> Option<bool> {
        let client = self.sim.app::<ClientApp>(Side::Client)?;
        let song = self.song.as_ref()?;
        Some(client.arrivals().end.is_some() && client.audio()[..] == song.pcm[..])
    }

    /// The run's figures, as `streamlab sim --json` prints them. The
    /// player figures come from replaying the track's arrivals through a
    /// player with the default 200 ms prebuffer, as the kernel testbed
    /// does with a capture, so the two are computed alike.
    pub fn figures(&self) -> RunFigures {
        let sim = &self.sim;
        let config = sim.config();
        let link = &config.downlink;
        let stats = [Side::Client, Side::Server]
            .into_iter()
            .filter_map(|side| sim.tcp(side).map(TcpEndpoint::stats))
            .fold(TcpStats::default(), |a, b| a + b);
        let client = sim.app::<ClientApp>(Side::Client);
        let playback = client.and_then(|c| replay(PlayerConfig::default(), c.arrivals()));
        let bit_exact = self.bit_exact();
        RunFigures {
            schema: SCHEMA.to_string(),
            engine: Engine::Sim,
            tcp: config.server_tcp.flavor.name().to_string(),
            scenario: self.scenario.name().to_string(),
            dialect: self.dialect.to_string(),
            seed: sim.seed(),
            song: self.song.as_ref().map(|s| s.name.clone()),
            song_bytes: self.song.as_ref().map(|s| s.pcm.len() as u64),
            network: Network {
                latency_s: seconds(link.latency),
                jitter_s: seconds(link.jitter),
                bandwidth_bps: link.bandwidth,
                loss: link.loss,
                queue_s: seconds(link.queue_limit),
                mss: config.server_tcp.mss.min(config.client_tcp.mss),
            },
            download_s: client.and_then(ClientApp::download_time).map(seconds),
            first_audio_s: playback.as_ref().and_then(|p| p.first_audio).map(seconds),
            stalls: playback.as_ref().map(|p| p.stalls.len() as u32),
            stalled_s: playback.as_ref().map(|p| seconds(p.stalled)),
            dropped: sim.frames().iter().filter(|(_, _, d)| d.is_some()).count() as u64,
            retransmitted: stats.retransmitted,
            fast_retransmits: stats.fast_retransmits,
            timeouts: stats.timeouts,
            loss_probes: stats.tail_loss_probes,
            zero_window_probes: stats.zero_window_probes,
            bit_exact,
        }
    }
}
