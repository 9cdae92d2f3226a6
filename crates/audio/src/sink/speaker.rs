//! `speaker[:NAME]`: playing through a sound card with cpal.
//!
//! ```text
//! player thread ──write(pcm)──> Converter ──f32──> Ring (~250 ms) ──> cpal callback ──> card
//!                  blocks while the ring is full         silence when empty
//! ```
//!
//! The card asks for samples at its own rate, in its own format (the
//! device's default configuration, often 48 kHz stereo f32). The sink
//! converts each track to that ([`Converter`]) and queues the samples in a
//! small ring buffer. `write` blocks while the ring is full, so the card's
//! clock paces the player, and through it the client's reads from TCP.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, SizedSample};
use streamlab_proto::PcmFormat;

use super::ring::{PushError, Ring};
use crate::convert::Converter;
use crate::sink::Sink;
use crate::AudioError;

/// How much audio the ring holds, in milliseconds.
const RING_MS: usize = 250;
/// How long `write` waits for a card that takes no samples at all.
const PATIENCE: Duration = Duration::from_secs(2);

/// The names of the sound cards that can play (for `speaker:NAME`).
pub fn output_devices() -> Result<Vec<String>, AudioError> {
    let host = cpal::default_host();
    let devices = host.output_devices().map_err(|e| device_error("*", e))?;
    Ok(devices.map(|d| device_name(&d)).collect())
}

/// A sink playing through a sound card, in real time.
pub struct SpeakerSink {
    device: String,
    rate: u32,
    channels: u16,
    ring: Arc<Ring>,
    /// The first fatal error the stream reported, if any.
    failed: Arc<Mutex<Option<String>>>,
    converter: Option<Converter>,
    samples: Vec<f32>,
    _stream: cpal::Stream,
}

impl SpeakerSink {
    /// Opens the default output device, or the first whose name contains
    /// `name` (ignoring case), and starts its stream (playing silence).
    pub fn open(name: Option<&str>) -> Result<Self, AudioError> {
        let device = find_device(name)?;
        let label = device_name(&device);
        let supported = device
            .default_output_config()
            .map_err(|e| device_error(&label, e))?;
        let config = supported.config();
        let capacity = config.sample_rate as usize * usize::from(config.channels) * RING_MS / 1000;
        let ring = Arc::new(Ring::new(capacity));
        let failed = Arc::new(Mutex::new(None));
        let stream = build_stream(&device, config, supported.sample_format(), &ring, &failed)
            .map_err(|e| device_error(&label, e))?;
        stream.play().map_err(|e| device_error(&label, e))?;
        tracing::info!(
            "playing on '{label}' at {} Hz, {} ch",
            config.sample_rate,
            config.channels
        );
        Ok(Self {
            device: label,
            rate: config.sample_rate,
            channels: config.channels,
            ring,
            failed,
            converter: None,
            samples: Vec::new(),
            _stream: stream,
        })
    }

    /// Times the card asked for samples the ring did not have.
    pub fn underruns(&self) -> u64 {
        self.ring.underruns()
    }

    fn check(&self) -> Result<(), AudioError> {
        let failed = self.failed.lock().unwrap_or_else(|p| p.into_inner());
        match failed.as_ref() {
            Some(reason) => Err(self.error(reason)),
            None => Ok(()),
        }
    }

    fn error(&self, reason: &str) -> AudioError {
        AudioError::Device {
            device: self.device.clone(),
            reason: reason.into(),
        }
    }
}

impl Sink for SpeakerSink {
    fn begin(&mut self, _name: &str, format: PcmFormat) -> Result<(), AudioError> {
        self.check()?;
        self.converter = Some(Converter::new(format, self.rate, self.channels));
        Ok(())
    }

    fn write(&mut self, pcm: &[u8]) -> Result<(), AudioError> {
        self.check()?;
        let Some(converter) = self.converter.as_mut() else {
            return Err(self.error("write before begin"));
        };
        self.samples.clear();
        converter.push(pcm, &mut self.samples);
        match self.ring.push(&self.samples, PATIENCE) {
            Ok(()) => Ok(()),
            Err(PushError::Stuck) => Err(self.error("the device stopped taking audio")),
            Err(PushError::Closed) => Err(self.error("the stream is closed")),
        }
    }

    fn end(&mut self) -> Result<(), AudioError> {
        self.converter = None;
        // Let the last ~250 ms play before saying the track is over.
        self.ring.drain(PATIENCE);
        self.check()
    }

    fn realtime(&self) -> bool {
        true
    }

    fn describe(&self) -> String {
        format!(
            "speaker '{}' ({} Hz, {} ch)",
            self.device, self.rate, self.channels
        )
    }
}

impl Drop for SpeakerSink {
    fn drop(&mut self) {
        self.ring.close();
    }
}

/// The default device, or the first output device whose name or driver
/// contains `name`, ignoring case.
fn find_device(name: Option<&str>) -> Result<cpal::Device, AudioError> {
    let host = cpal::default_host();
    let Some(wanted) = name else {
        return host
            .default_output_device()
            .ok_or_else(|| AudioError::Device {
                device: "default".into(),
                reason: "no default output device".into(),
            });
    };
    let wanted_lower = wanted.to_lowercase();
    let mut devices = host.output_devices().map_err(|e| device_error(wanted, e))?;
    devices
        .find(|d| search_text(d).to_lowercase().contains(&wanted_lower))
        .ok_or_else(|| AudioError::Device {
            device: wanted.into(),
            reason: "no output device has that name".into(),
        })
}

/// A device's name. (Its `Display` can fail, and `to_string` would then
/// panic: go through `description`.)
fn device_name(device: &cpal::Device) -> String {
    match device.description() {
        Ok(desc) => desc.name().to_string(),
        Err(_) => "unknown device".into(),
    }
}

/// Everything `speaker:NAME` is matched against: name, details, driver.
fn search_text(device: &cpal::Device) -> String {
    match device.description() {
        Ok(desc) => format!("{desc} {}", desc.driver().unwrap_or_default()),
        Err(_) => String::new(),
    }
}

/// cpal's error as a reason: its sentences, less the capital and the stop.
fn device_error(device: &str, e: cpal::Error) -> AudioError {
    let text = e.to_string();
    let mut chars = text.trim_end_matches('.').chars();
    let reason = match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => format!("{:?}", e.kind()),
    };
    AudioError::Device {
        device: device.into(),
        reason,
    }
}

/// Builds the output stream in the device's sample format.
fn build_stream(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    format: cpal::SampleFormat,
    ring: &Arc<Ring>,
    failed: &Arc<Mutex<Option<String>>>,
) -> Result<cpal::Stream, cpal::Error> {
    use cpal::SampleFormat as F;
    let (ring, failed) = (Arc::clone(ring), Arc::clone(failed));
    match format {
        F::F32 => build::<f32>(device, config, ring, failed),
        F::F64 => build::<f64>(device, config, ring, failed),
        F::I16 => build::<i16>(device, config, ring, failed),
        F::I32 => build::<i32>(device, config, ring, failed),
        F::I8 => build::<i8>(device, config, ring, failed),
        F::U8 => build::<u8>(device, config, ring, failed),
        F::U16 => build::<u16>(device, config, ring, failed),
        F::U32 => build::<u32>(device, config, ring, failed),
        other => Err(cpal::Error::with_message(
            cpal::ErrorKind::UnsupportedConfig,
            format!("sample format {other} is not supported"),
        )),
    }
}

fn build<T: SizedSample + FromSample<f32>>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    ring: Arc<Ring>,
    failed: Arc<Mutex<Option<String>>>,
) -> Result<cpal::Stream, cpal::Error> {
    let mut scratch: Vec<f32> = Vec::new();
    let data = move |out: &mut [T], _: &cpal::OutputCallbackInfo| {
        scratch.resize(out.len(), 0.0);
        ring.pull(&mut scratch);
        for (slot, sample) in out.iter_mut().zip(&scratch) {
            *slot = T::from_sample(*sample);
        }
    };
    let error = move |e: cpal::Error| match e.kind() {
        // Glitches and reroutes: the stream goes on.
        cpal::ErrorKind::Xrun
        | cpal::ErrorKind::DeviceChanged
        | cpal::ErrorKind::RealtimeDenied => {
            tracing::debug!("audio stream: {e}");
        }
        _ => {
            tracing::warn!("audio stream failed: {e}");
            let mut failed = failed.lock().unwrap_or_else(|p| p.into_inner());
            failed.get_or_insert_with(|| e.to_string());
        }
    };
    device.build_output_stream::<T, _, _>(config, data, error, None)
}
