//! Text from outside, made safe to repeat: in an answer, a log line, an as-run record;
//! and made comparable (NFC).

use std::borrow::Cow;

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

/// `text` in Unicode NFC (SPEC §16): "Sáng" typed with a combining accent (Unikey's "tổ
/// hợp" mode, macOS) is the same name as "Sáng" typed precomposed. Borrowed when it
/// already is (nearly always).
pub fn nfc(text: &str) -> Cow<'_, str> {
    match is_nfc_quick(text.chars()) {
        IsNormalized::Yes => Cow::Borrowed(text),
        _ => {
            let normal: String = text.nfc().collect();
            if normal == text {
                Cow::Borrowed(text)
            } else {
                Cow::Owned(normal)
            }
        }
    }
}

/// Whether two names are the same once both are NFC.
pub fn same_name(a: &str, b: &str) -> bool {
    a == b || nfc(a) == nfc(b)
}

/// At most `max` characters of `text`, control characters (a terminal's escape codes
/// among them) and bidirectional overrides shown as `?`, and an ellipsis when it was
/// cut: a client cannot make the station echo megabytes, nor repaint a terminal.
pub fn shorten(text: &str, max: usize) -> String {
    let mut out: String = text
        .chars()
        .take(max)
        .map(|c| if unsafe_to_show(c) { '?' } else { c })
        .collect();
    if text.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

/// A character that changes how what follows is shown rather than showing itself.
fn unsafe_to_show(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `text` cut to at most `max_bytes` bytes on a character boundary (with an ellipsis).
pub fn clip_bytes(text: &str, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text.to_string();
    }
    let mut end = max_bytes.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    #[test]
    fn decomposed_and_precomposed_vietnamese_are_the_same_name() {
        let precomposed = "S\u{e1}ng"; // á
        let decomposed = "Sa\u{301}ng"; // a + combining acute
        assert_ne!(precomposed, decomposed);
        assert_eq!(super::nfc(decomposed), precomposed);
        assert!(matches!(
            super::nfc(precomposed),
            std::borrow::Cow::Borrowed(_)
        ));
        assert!(super::same_name(decomposed, precomposed));
        assert!(!super::same_name("Sáng", "Sang"));
        // Tone mark and vowel mark both combining: "Tối" as T-o-U+0302-U+0301-i.
        assert_eq!(super::nfc("To\u{302}\u{301}i"), "T\u{1ed1}i");
    }

    #[test]
    fn shortened_and_clipped() {
        assert_eq!(super::shorten("abc\u{7}def", 4), "abc?…");
        assert_eq!(super::shorten("abc", 4), "abc");
        assert_eq!(super::shorten("\u{1b}[2J\u{202e}x", 10), "?[2J?x");
        let clipped = super::clip_bytes(&"ạ".repeat(100), 50);
        assert!(clipped.len() <= 50 && clipped.ends_with('…'), "{clipped}");
        assert_eq!(super::clip_bytes("short", 50), "short");
    }
}
