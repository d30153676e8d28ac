//! Sound: decoding, resampling, loudness and the limiter, the outputs, relays, the speech
//! engine, and the measuring done at ingest.

pub mod decode;
pub mod ingest;
pub mod limiter;
pub mod output;
pub mod proof;
pub mod relay;
pub mod speech;
pub mod validate;
