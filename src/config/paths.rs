//! Audio paths as operators write them: compared as NFC (SPEC §16), and a near miss named.

use std::path::{Path, PathBuf};

use crate::core::text::nfc;

/// Where `name` (relative to `dir`, or absolute) is on disk: as written, or the file in
/// the same folder whose name is the same once both are NFC (a file copied from a Mac
/// keeps its decomposed name). `Err` carries a near miss for the hint: the same name but
/// for upper and lower case (`.MP3` for `.mp3`), if there is one.
pub fn locate(dir: &Path, name: &str) -> Result<PathBuf, Option<String>> {
    let path = dir.join(name);
    if path.is_file() {
        return Ok(path);
    }
    let (Some(folder), Some(wanted)) = (path.parent(), path.file_name()) else {
        return Err(None);
    };
    let wanted = nfc(&wanted.to_string_lossy()).into_owned();
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Err(None);
    };
    let mut near = None;
    // A folder of thousands is read once, and only when the file is not where it is said.
    for entry in entries.filter_map(|e| e.ok()).take(100_000) {
        let Ok(found) = entry.file_name().into_string() else {
            continue;
        };
        let found_nfc = nfc(&found);
        if found_nfc == wanted && entry.path().is_file() {
            return Ok(entry.path());
        }
        if near.is_none() && found_nfc.to_lowercase() == wanted.to_lowercase() {
            near = Some(found);
        }
    }
    Err(near)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decomposed_name_finds_the_precomposed_file_and_a_case_slip_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("audio")).unwrap();
        std::fs::write(dir.path().join("audio/Sáng.mp3"), b"x").unwrap();
        std::fs::write(dir.path().join("audio/tin-tuc.MP3"), b"x").unwrap();
        // Written with a combining acute, as Unikey's "tổ hợp" mode types it.
        let found = locate(dir.path(), "audio/Sa\u{301}ng.mp3").unwrap();
        assert_eq!(found, dir.path().join("audio/Sáng.mp3"));
        // And the other way round: the file on disk decomposed, the name precomposed.
        std::fs::write(dir.path().join("audio/To\u{302}\u{301}i.mp3"), b"x").unwrap();
        let found = locate(dir.path(), "audio/Tối.mp3").unwrap();
        assert_eq!(found, dir.path().join("audio/To\u{302}\u{301}i.mp3"));
        assert_eq!(
            locate(dir.path(), "audio/tin-tuc.mp3"),
            Err(Some("tin-tuc.MP3".to_string()))
        );
        assert_eq!(locate(dir.path(), "audio/none.mp3"), Err(None));
        assert_eq!(locate(dir.path(), "nowhere/none.mp3"), Err(None));
    }
}
