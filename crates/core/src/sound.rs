//! What a bulletin from outside sounds like, whichever way it came: the feed's entry
//! (SPEC §7) and a push's manifest (SPEC §8, §13) write it in fields of their own; this is
//! what both mean, read once, so the rest of the station asks one question.

/// A recording or words to speak, as the sender signed it.
#[derive(Debug, Clone, PartialEq)]
pub enum Sound {
    /// A recording, named by what it must be. `url` is where to fetch it when it does not
    /// come along with the message (the feed's, a fleet push's); an HTTP push carries it.
    File {
        url: Option<String>,
        sha256: String,
        size: u64,
    },
    /// Words the station speaks with its text-to-speech command.
    Text(String),
}

impl Sound {
    /// The recording's size, for a file.
    pub fn size(&self) -> Option<u64> {
        match self {
            Sound::File { size, .. } => Some(*size),
            Sound::Text(_) => None,
        }
    }

    pub fn is_text(&self) -> bool {
        matches!(self, Sound::Text(_))
    }
}

impl crate::feed::FeedBulletin {
    /// A feed entry with `text` is spoken; any other names its file by `url`, `sha256`
    /// and `size` (checked by the feed's vetting before anything is fetched).
    pub fn sound(&self) -> Sound {
        match &self.text {
            Some(text) => Sound::Text(text.clone()),
            None => Sound::File {
                url: Some(self.url.clone()).filter(|u| !u.is_empty()),
                sha256: self.sha256.clone(),
                size: self.size,
            },
        }
    }
}
