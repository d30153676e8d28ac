//! A streaming `multipart/form-data` reader with hard bounds, for pushes (SPEC §8, §11).
//!
//! Why not `multer` (what axum's `Multipart` uses): it buffers a part's headers until it
//! finds their end, bounded only by the whole body's limit, so one 5 MB part name costs
//! 5 MB and is echoed back in the error. Here a part's headers are at most
//! `max_header_bytes`, the number of parts is capped, and part names must be known before
//! any of the part's data is handed on.
//!
//! No I/O: bytes go in with `feed` as they arrive, in pieces of any size, and the parts
//! come out through a `Parts` sink. That is also what the fuzz harness drives.

use memchr::memmem;

use crate::core::text::shorten;

/// The bounds of one body.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_parts: usize,
    /// One part's header block, up to and including its blank line.
    pub max_header_bytes: usize,
    /// Bytes before the first boundary (a preamble) and after the last (an epilogue).
    pub max_padding: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_parts: 4,
            max_header_bytes: 2048,
            max_padding: 1024,
        }
    }
}

/// Where the parts go. Each part is `begin`, any number of `data`, `end`.
pub trait Parts {
    type Error;
    fn begin(&mut self, name: &str, filename: Option<&str>) -> Result<(), Self::Error>;
    fn data(&mut self, bytes: &[u8]) -> Result<(), Self::Error>;
    fn end(&mut self) -> Result<(), Self::Error>;
}

/// What is wrong with a body. Client text in it is already cut short (see `shorten`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MultipartError<E> {
    #[error("malformed multipart body: {0}")]
    Malformed(String),
    #[error("{0}")]
    Refused(E),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Before the first boundary.
    Preamble,
    /// Just after a boundary: `\r\n` (a part follows) or `--` (the end).
    AfterBoundary,
    Headers,
    Body,
    /// After the closing boundary.
    Done,
}

pub struct Reader {
    /// `\r\n--` + boundary: what ends a part's data.
    delimiter: Vec<u8>,
    limits: Limits,
    stage: Stage,
    buf: Vec<u8>,
    parts: usize,
    padding: usize,
}

/// The boundary from a `Content-Type` header, if it is `multipart/form-data` with one.
pub fn boundary(content_type: &str) -> Option<String> {
    let mut params = content_type.split(';');
    let mime = params.next()?.trim();
    if !mime.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("boundary") {
            return None;
        }
        let v = v.trim().trim_matches('"');
        // RFC 2046: 1–70 characters.
        (!v.is_empty() && v.len() <= 70 && v.bytes().all(|b| (0x20..0x7f).contains(&b)))
            .then(|| v.to_string())
    })
}

impl Reader {
    pub fn new(boundary: &str, limits: Limits) -> Reader {
        let mut delimiter = b"\r\n--".to_vec();
        delimiter.extend_from_slice(boundary.as_bytes());
        Reader {
            delimiter,
            limits,
            stage: Stage::Preamble,
            // The body starts with `--boundary` (no CRLF before it): pretend one came.
            buf: b"\r\n".to_vec(),
            parts: 0,
            padding: 0,
        }
    }

    /// True once the closing boundary has been read.
    pub fn is_done(&self) -> bool {
        self.stage == Stage::Done
    }

    /// Takes the next bytes of the body.
    pub fn feed<P: Parts>(
        &mut self,
        input: &[u8],
        parts: &mut P,
    ) -> Result<(), MultipartError<P::Error>> {
        if self.stage == Stage::Done {
            return self.pad(input.len());
        }
        self.buf.extend_from_slice(input);
        loop {
            let progressed = match self.stage {
                Stage::Preamble => self.preamble()?,
                Stage::AfterBoundary => self.after_boundary(parts)?,
                Stage::Headers => self.headers(parts)?,
                Stage::Body => self.body(parts)?,
                Stage::Done => {
                    let rest = self.buf.len();
                    self.buf.clear();
                    self.pad(rest)?;
                    false
                }
            };
            if !progressed {
                return Ok(());
            }
        }
    }

    /// The body has ended: it must have ended with the closing boundary.
    pub fn finish<E>(&self) -> Result<(), MultipartError<E>> {
        if self.stage == Stage::Done {
            Ok(())
        } else {
            Err(MultipartError::Malformed(
                "the body ended before its closing boundary".into(),
            ))
        }
    }

    fn pad<E>(&mut self, n: usize) -> Result<(), MultipartError<E>> {
        self.padding += n;
        if self.padding > self.limits.max_padding {
            return Err(MultipartError::Malformed(format!(
                "more than {} bytes outside the parts",
                self.limits.max_padding
            )));
        }
        Ok(())
    }

    fn preamble<E>(&mut self) -> Result<bool, MultipartError<E>> {
        match memmem::find(&self.buf, &self.delimiter) {
            Some(at) => {
                self.pad(at)?;
                self.buf.drain(..at + self.delimiter.len());
                self.stage = Stage::AfterBoundary;
                Ok(true)
            }
            None => {
                let keep = self.delimiter.len() - 1;
                let drop = self.buf.len().saturating_sub(keep);
                self.pad(drop)?;
                self.buf.drain(..drop);
                Ok(false)
            }
        }
    }

    fn after_boundary<P: Parts>(
        &mut self,
        _parts: &mut P,
    ) -> Result<bool, MultipartError<P::Error>> {
        // Transport padding (spaces, tabs) may follow a boundary before its CRLF.
        let lead = self
            .buf
            .iter()
            .take_while(|b| **b == b' ' || **b == b'\t')
            .count();
        if lead > 64 {
            return Err(MultipartError::Malformed("junk after a boundary".into()));
        }
        let rest = &self.buf[lead..];
        if rest.len() < 2 {
            return Ok(false);
        }
        if rest.starts_with(b"--") {
            self.buf.drain(..lead + 2);
            self.stage = Stage::Done;
            return Ok(true);
        }
        if !rest.starts_with(b"\r\n") {
            return Err(MultipartError::Malformed(
                "a boundary is not followed by a line break".into(),
            ));
        }
        self.parts += 1;
        if self.parts > self.limits.max_parts {
            return Err(MultipartError::Malformed(format!(
                "more than {} parts",
                self.limits.max_parts
            )));
        }
        self.buf.drain(..lead + 2);
        self.stage = Stage::Headers;
        Ok(true)
    }

    fn headers<P: Parts>(&mut self, parts: &mut P) -> Result<bool, MultipartError<P::Error>> {
        let limit = self.limits.max_header_bytes;
        let Some(end) = memmem::find(&self.buf[..self.buf.len().min(limit)], b"\r\n\r\n") else {
            if self.buf.len() >= limit {
                return Err(MultipartError::Malformed(format!(
                    "a part's headers are longer than {limit} bytes"
                )));
            }
            return Ok(false);
        };
        let block = &self.buf[..end + 4];
        let mut slots = [httparse::EMPTY_HEADER; 16];
        let headers = match httparse::parse_headers(block, &mut slots) {
            Ok(httparse::Status::Complete((_, h))) => h,
            Ok(httparse::Status::Partial) => {
                return Err(MultipartError::Malformed("unfinished part headers".into()));
            }
            Err(e) => {
                return Err(MultipartError::Malformed(format!("part headers: {e}")));
            }
        };
        let disposition = headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("content-disposition"))
            .ok_or_else(|| {
                MultipartError::Malformed("a part has no Content-Disposition header".into())
            })?;
        let value = std::str::from_utf8(disposition.value).map_err(|_| {
            MultipartError::Malformed("a Content-Disposition header is not UTF-8".into())
        })?;
        let (name, filename) = disposition_params(value)?;
        parts
            .begin(&name, filename.as_deref())
            .map_err(MultipartError::Refused)?;
        self.buf.drain(..end + 4);
        self.stage = Stage::Body;
        Ok(true)
    }

    fn body<P: Parts>(&mut self, parts: &mut P) -> Result<bool, MultipartError<P::Error>> {
        match memmem::find(&self.buf, &self.delimiter) {
            Some(at) => {
                if at > 0 {
                    parts
                        .data(&self.buf[..at])
                        .map_err(MultipartError::Refused)?;
                }
                parts.end().map_err(MultipartError::Refused)?;
                self.buf.drain(..at + self.delimiter.len());
                self.stage = Stage::AfterBoundary;
                Ok(true)
            }
            None => {
                // Keep what could be the start of the delimiter; hand on the rest.
                let keep = self.delimiter.len() - 1;
                let n = self.buf.len().saturating_sub(keep);
                if n > 0 {
                    parts
                        .data(&self.buf[..n])
                        .map_err(MultipartError::Refused)?;
                    self.buf.drain(..n);
                }
                Ok(false)
            }
        }
    }
}

/// `form-data; name="x"; filename="y"` → (name, filename).
fn disposition_params<E>(value: &str) -> Result<(String, Option<String>), MultipartError<E>> {
    let mut pieces = value.split(';');
    let kind = pieces.next().unwrap_or("").trim();
    if !kind.eq_ignore_ascii_case("form-data") {
        return Err(MultipartError::Malformed(format!(
            "a part is {:?}, not form-data",
            shorten(kind, 40)
        )));
    }
    let mut name = None;
    let mut filename = None;
    for p in pieces {
        let Some((k, v)) = p.trim().split_once('=') else {
            continue;
        };
        let v = v.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(v);
        match k.trim().to_ascii_lowercase().as_str() {
            "name" => name = Some(v.to_string()),
            "filename" => filename = Some(v.to_string()),
            _ => {}
        }
    }
    let name = name.ok_or_else(|| MultipartError::Malformed("a part has no name".to_string()))?;
    Ok((name, filename))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default, Debug, PartialEq)]
    struct Collect {
        parts: Vec<(String, Option<String>, Vec<u8>)>,
        open: bool,
    }

    impl Parts for Collect {
        type Error = String;
        fn begin(&mut self, name: &str, filename: Option<&str>) -> Result<(), String> {
            assert!(!self.open);
            self.open = true;
            if name == "forbidden" {
                return Err("no".into());
            }
            self.parts
                .push((name.into(), filename.map(String::from), Vec::new()));
            Ok(())
        }
        fn data(&mut self, bytes: &[u8]) -> Result<(), String> {
            assert!(self.open);
            self.parts.last_mut().unwrap().2.extend_from_slice(bytes);
            Ok(())
        }
        fn end(&mut self) -> Result<(), String> {
            assert!(self.open);
            self.open = false;
            Ok(())
        }
    }

    fn body() -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(b"--XyZ\r\nContent-Disposition: form-data; name=\"manifest\"; filename=\"m.json\"\r\nContent-Type: application/json\r\n\r\n{\"a\":1}\r\n");
        b.extend_from_slice(b"--XyZ\r\nContent-Disposition: form-data; name=\"audio\"\r\n\r\n");
        // Data that looks almost like the delimiter.
        b.extend_from_slice(b"\r\n--Xy\r\n--XyQ binary\x00\xff");
        b.extend_from_slice(b"\r\n--XyZ--\r\n");
        b
    }

    fn parse_in_pieces(input: &[u8], piece: usize) -> Result<Collect, MultipartError<String>> {
        let mut r = Reader::new("XyZ", Limits::default());
        let mut c = Collect::default();
        for chunk in input.chunks(piece.max(1)) {
            r.feed(chunk, &mut c)?;
        }
        r.finish()?;
        Ok(c)
    }

    #[test]
    fn parts_come_out_whole_however_the_body_is_cut() {
        let whole = parse_in_pieces(&body(), usize::MAX).unwrap();
        assert_eq!(whole.parts.len(), 2);
        assert_eq!(whole.parts[0].0, "manifest");
        assert_eq!(whole.parts[0].1.as_deref(), Some("m.json"));
        assert_eq!(whole.parts[0].2, b"{\"a\":1}");
        assert_eq!(whole.parts[1].2, b"\r\n--Xy\r\n--XyQ binary\x00\xff");
        for piece in 1..40 {
            assert_eq!(parse_in_pieces(&body(), piece).unwrap(), whole, "{piece}");
        }
    }

    #[test]
    fn bounds_hold_and_errors_do_not_echo_much() {
        // A 5 MB part name: refused after max_header_bytes, whatever the piece size.
        let mut b = b"--XyZ\r\nContent-Disposition: form-data; name=\"".to_vec();
        b.extend(std::iter::repeat_n(b'n', 5_000_000));
        let e = parse_in_pieces(&b, 65536).unwrap_err();
        assert!(e.to_string().len() < 200, "{e}");
        // Too many parts.
        let mut many = Vec::new();
        for _ in 0..5 {
            many.extend_from_slice(
                b"--XyZ\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nv\r\n",
            );
        }
        many.extend_from_slice(b"--XyZ--");
        assert!(parse_in_pieces(&many, 7).is_err());
        // Unfinished, junk, refused by the sink.
        assert!(parse_in_pieces(&body()[..body().len() - 10], 5).is_err());
        assert!(parse_in_pieces(b"--XyZ\r\nthis is not a part\r\n", 3).is_err());
        let refused =
            b"--XyZ\r\nContent-Disposition: form-data; name=\"forbidden\"\r\n\r\nv\r\n--XyZ--";
        assert_eq!(
            parse_in_pieces(refused, 4).unwrap_err(),
            MultipartError::Refused("no".into())
        );
        assert!(parse_in_pieces(&vec![b'a'; 5000], 100).is_err());
    }

    #[test]
    fn content_type_boundary() {
        assert_eq!(
            boundary("multipart/form-data; boundary=----abc").as_deref(),
            Some("----abc")
        );
        assert_eq!(
            boundary("Multipart/Form-Data; charset=x; boundary=\"q r\"").as_deref(),
            Some("q r")
        );
        assert_eq!(boundary("application/json"), None);
        assert_eq!(boundary("multipart/form-data"), None);
        assert_eq!(
            boundary(&format!("multipart/form-data; boundary={}", "b".repeat(71))),
            None
        );
    }
}
