//! Relays: a live HTTP audio stream (MP3 or AAC, as Icecast serves it) played for the
//! relay item's slot. The engine falls back to filler when it fails or ends early.

use std::io::Read;
use std::time::Duration;

use crate::audio::decode::{AudioStream, DecodeError};

/// Why a relay cannot be played.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("{0}")]
    Connect(#[from] ureq::Error),
    #[error("{0}")]
    Decode(#[from] DecodeError),
}

/// Connects to a live stream (Icecast-style MP3 or AAC over HTTP).
pub fn open(url: &str, rate: u32) -> Result<AudioStream, RelayError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(5)))
        .timeout_recv_response(Some(Duration::from_secs(5)))
        .timeout_per_read(Some(Duration::from_secs(10)))
        .build()
        .into();
    let response = agent.get(url).call()?;
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let ext = if content_type.contains("aac") {
        Some("aac")
    } else if content_type.contains("ogg") {
        Some("ogg")
    } else if content_type.contains("mpeg") || content_type.contains("mp3") {
        Some("mp3")
    } else {
        url.rsplit('.').next().filter(|e| e.len() <= 4)
    };
    let body = SyncReader(std::sync::Mutex::new(Box::new(
        response.into_body().into_reader(),
    )));
    Ok(AudioStream::open_stream(Box::new(body), ext, rate)?)
}

/// Symphonia wants a `Sync` source; an HTTP body reader is only `Send`.
struct SyncReader(std::sync::Mutex<Box<dyn Read + Send>>);

impl Read for SyncReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .read(buf)
    }
}
