//! The player's side of an item: waiting for its moment, decoding it block by block into
//! the sink with its fades, and telling the engine how it ended. With `[monitor]`, what
//! each block sends is also drawn into a `proof::Sent`, judged against what the monitor
//! heard when the item's `end` record is written (SPEC §14 `heard`).

use chrono::TimeDelta;

use super::{Current, Player};
use crate::audio::decode::{AudioStream, CHANNELS};
use crate::audio::output;
use crate::audio::proof::Sent;
use crate::core::engine::{CUT_FADE, Ending, Event, Play};
use crate::core::plan::Kind;
use crate::core::units::{frames_in, span_of};

impl Player {
    pub(super) fn begin(&mut self, play: Play) {
        self.current = Some(Current {
            heard: play.at,
            play,
            stream: None,
            written: 0,
            limit_frames: None,
            fade_frames: frames_in(CUT_FADE, self.rate()).max(1),
            stopping: false,
            sent: None,
        });
    }

    pub(super) fn stop(&mut self, fade: TimeDelta) {
        let rate = self.rate();
        match &mut self.current {
            Some(c) if c.written > 0 => {
                c.stopping = true;
                // Fade out quickly (no click), then stop.
                c.fade_frames = frames_in(fade, rate).max(1);
                let until = c.written + c.fade_frames;
                c.limit_frames = Some(c.limit_frames.map_or(until, |l| l.min(until)));
            }
            Some(_) => {
                self.current = None;
                self.events.push_back(Event::Ended {
                    at: self.audible_now(),
                    how: Ending::Stopped,
                });
            }
            None => {}
        }
    }

    /// One step of the item asked for: silence until it is due, then one block of it.
    pub(super) fn step(&mut self) {
        let rate = self.rate();
        let Some(c) = &self.current else { return };
        if c.stream.is_none() {
            let chained = c.play.chain && self.tail.is_some();
            let left = c.play.at - self.audible_now();
            if !chained && left > TimeDelta::zero() {
                if self.output_open {
                    self.write_silence(left);
                } else {
                    // The engine asked to play on an output that is not open: it will
                    // hear of it; meanwhile commands are taken in.
                    let at = c.play.at;
                    self.wait_closed(at);
                }
                return;
            }
            let item = &c.play.item;
            let opened = match item.kind {
                Kind::Relay => {
                    crate::audio::relay::open(&item.path, rate).map_err(|e| e.to_string())
                }
                _ => self
                    .open_measured(std::path::Path::new(&item.path))
                    .map_err(|e| e.to_string()),
            };
            match opened {
                Ok(stream) => {
                    if let Some(c) = &mut self.current {
                        c.stream = Some(stream);
                    }
                }
                Err(why) => {
                    self.current = None;
                    self.tail = None;
                    self.events.push_back(Event::Ended {
                        at: self.audible_now(),
                        how: Ending::Failed(why),
                    });
                    return;
                }
            }
        }
        self.write_block(rate);
    }

    fn write_block(&mut self, rate: u32) {
        let block = (rate / 50) as usize;
        let heard_now = self.audible_now();
        let tail = self.tail;
        let volume = self.config.station.audio.volume as f32;
        let Some(c) = &mut self.current else { return };
        let Some(stream) = &mut c.stream else { return };
        let mut want = block;
        if let Some(l) = c.limit_frames {
            want = want.min(l.saturating_sub(c.written) as usize);
        }
        self.buf.clear();
        self.buf.resize(block * CHANNELS, 0.0);
        let n = if want == 0 {
            0
        } else {
            stream.read(&mut self.buf[..want * CHANNELS])
        };
        if n == 0 {
            return self.finish(rate);
        }
        if c.written == 0 {
            c.heard = match (c.play.chain, tail) {
                (true, Some(t)) => t,
                _ => heard_now,
            };
            c.limit_frames = c.play.limit.map(|l| frames_in(l - c.heard, rate));
            let at = c.heard;
            if self.proof.is_some() {
                c.sent = Some(Sent::new(rate, at.timestamp_millis()));
            }
            self.events.push_back(Event::Started { at });
            if c.limit_frames == Some(0) {
                return self.finish(rate);
            }
        }
        for (i, frame) in self.buf[..n * CHANNELS].chunks_mut(CHANNELS).enumerate() {
            let mut gain = volume;
            if let Some(l) = c.limit_frames {
                let left = l.saturating_sub(c.written + i as u64);
                if left < c.fade_frames {
                    gain *= left as f32 / c.fade_frames as f32;
                }
            }
            for s in frame {
                *s *= gain;
            }
        }
        let result = match &mut self.sink {
            Some((_, sink)) => sink.write(&self.buf[..n * CHANNELS]),
            None => Err(output::OutputError::Unavailable("no output".into())),
        };
        match result {
            Ok(()) => {
                c.written += n as u64;
                if let Some(sent) = &mut c.sent {
                    sent.feed(&self.buf[..n * CHANNELS], CHANNELS);
                }
            }
            Err(e) => {
                self.current = None;
                self.output_lost();
                self.events.push_back(Event::Ended {
                    at: self.now(),
                    how: Ending::OutputLost(e.to_string()),
                });
            }
        }
    }

    /// The item asked for has no more to write: tell the engine how it ended.
    fn finish(&mut self, rate: u32) {
        let Some(c) = self.current.take() else { return };
        if c.written == 0 {
            self.tail = None;
            self.events.push_back(Event::Ended {
                at: self.audible_now(),
                how: if c.stopping {
                    Ending::Stopped
                } else {
                    Ending::Finished
                },
            });
            return;
        }
        let end = c.heard + span_of(c.written, rate);
        if let (Some(proof), Some(sent)) = (&mut self.proof, c.sent) {
            proof.ended = Some((c.play.item.clone(), sent));
        }
        let failure = c
            .stream
            .as_ref()
            .and_then(|s| s.failure().map(str::to_string));
        let how = match failure {
            _ if c.stopping => Ending::Stopped,
            Some(why) => Ending::BrokeOff(why),
            None => Ending::Finished,
        };
        self.tail = (how == Ending::Finished).then_some(end);
        self.events.push_back(Event::Ended { at: end, how });
    }

    /// Opens a file as measured at ingest: its silence trimmed, brought to
    /// `loudness_target` with its peaks limited (as it is without a target or a measurement).
    fn open_measured(
        &self,
        path: &std::path::Path,
    ) -> Result<AudioStream, crate::audio::decode::DecodeError> {
        let info = self.media.cached(path);
        let gapless = info.as_ref().is_none_or(|i| i.gapless_trusted);
        let mut stream = AudioStream::open_file(path, self.rate(), gapless)?;
        let audio = &self.config.station.audio;
        if let Some(info) = info {
            let span = info.span(audio.trim_silence_below);
            stream.trim(span.skip, span.len);
            if let Some(target) = audio.loudness_target {
                stream.gain(info.gain_to(target), crate::core::media::PEAK_CEILING_DB);
            }
        }
        Ok(stream)
    }
}
