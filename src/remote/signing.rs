//! minisign-compatible keys and signatures: what a province signs its feed and pushes
//! with, and what a station trusts. Files are byte-compatible with the `minisign` tool:
//! `minisign -V` verifies our signatures, and ours verify `minisign -S` output (prehashed
//! `ED` and legacy `Ed` alike).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use blake2::digest::consts::U32;
use blake2::{Blake2b, Blake2b512, Digest};
use ed25519_dalek::{Signer, SigningKey};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignError {
    #[error("not a minisign secret key: {0}")]
    BadSecretKey(String),
    #[error(
        "the secret key is password-protected; make one with `loaxa keygen` or `minisign -G -W`"
    )]
    Encrypted,
    #[error("no randomness for a new key: {0}")]
    NoRandom(String),
}

/// Why a signature was not accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("the signature is malformed: {0}")]
    Malformed(String),
    #[error("signed by a key this station does not trust (key id {0})")]
    UntrustedKey(String),
    #[error("the signature does not match the data (tampered, or signed over other bytes)")]
    BadSignature,
    #[error("no trusted public keys are configured ([feed] public_keys)")]
    NoKeys,
}

/// A signing key with its minisign key id.
pub struct SecretKey {
    key_id: [u8; 8],
    signing: SigningKey,
}

impl SecretKey {
    pub fn generate() -> Result<Self, SignError> {
        let mut seed = [0u8; 32];
        let mut key_id = [0u8; 8];
        getrandom::fill(&mut seed).map_err(|e| SignError::NoRandom(e.to_string()))?;
        getrandom::fill(&mut key_id).map_err(|e| SignError::NoRandom(e.to_string()))?;
        Ok(SecretKey {
            key_id,
            signing: SigningKey::from_bytes(&seed),
        })
    }

    /// The key id as minisign prints it (upper-case hex, little-endian as stored).
    pub fn key_id_hex(&self) -> String {
        self.key_id
            .iter()
            .rev()
            .map(|b| format!("{b:02X}"))
            .collect()
    }

    /// The public key, base64, as the second line of a minisign `.pub` file.
    pub fn public_base64(&self) -> String {
        let mut bytes = Vec::with_capacity(42);
        bytes.extend_from_slice(b"Ed");
        bytes.extend_from_slice(&self.key_id);
        bytes.extend_from_slice(self.signing.verifying_key().as_bytes());
        B64.encode(bytes)
    }

    pub fn public_file(&self) -> String {
        format!(
            "untrusted comment: minisign public key {}\n{}\n",
            self.key_id_hex(),
            self.public_base64()
        )
    }

    /// The secret key in minisign's format, unencrypted (like `minisign -G -W`).
    pub fn secret_file(&self) -> String {
        let mut sk = Vec::with_capacity(64);
        sk.extend_from_slice(self.signing.as_bytes());
        sk.extend_from_slice(self.signing.verifying_key().as_bytes());
        let mut bytes = Vec::with_capacity(158);
        bytes.extend_from_slice(b"Ed");
        bytes.extend_from_slice(&[0, 0]); // no KDF: not encrypted
        bytes.extend_from_slice(b"B2");
        bytes.extend_from_slice(&[0u8; 32 + 8 + 8]); // salt, opslimit, memlimit: unused
        bytes.extend_from_slice(&self.key_id);
        bytes.extend_from_slice(&sk);
        bytes.extend_from_slice(&checksum(&self.key_id, &sk));
        format!(
            "untrusted comment: minisign secret key {}\n{}\n",
            self.key_id_hex(),
            B64.encode(bytes)
        )
    }

    pub fn from_secret_file(text: &str) -> Result<Self, SignError> {
        let line = text
            .lines()
            .nth(1)
            .ok_or_else(|| SignError::BadSecretKey("expected two lines".into()))?;
        let bytes = B64
            .decode(line.trim())
            .map_err(|e| SignError::BadSecretKey(e.to_string()))?;
        if bytes.len() != 158 || &bytes[0..2] != b"Ed" || &bytes[4..6] != b"B2" {
            return Err(SignError::BadSecretKey("unexpected layout".into()));
        }
        if bytes[2..4] != [0, 0] {
            return Err(SignError::Encrypted);
        }
        let key_id: [u8; 8] = bytes[54..62]
            .try_into()
            .map_err(|_| SignError::BadSecretKey("key id".into()))?;
        let sk = &bytes[62..126];
        // minisign writes a zero checksum for unencrypted keys; otherwise it must match.
        let stored = &bytes[126..158];
        if stored.iter().any(|b| *b != 0) && checksum(&key_id, sk)[..] != *stored {
            return Err(SignError::BadSecretKey("checksum mismatch".into()));
        }
        let seed: [u8; 32] = sk[..32]
            .try_into()
            .map_err(|_| SignError::BadSecretKey("seed".into()))?;
        let signing = SigningKey::from_bytes(&seed);
        // Either way, the public half stored in the key must be the one the seed gives.
        if signing.verifying_key().as_bytes()[..] != sk[32..] {
            return Err(SignError::BadSecretKey("the key is damaged".into()));
        }
        Ok(SecretKey { key_id, signing })
    }

    /// A prehashed (`ED`) signature file for `message`, as `minisign -S` writes it.
    pub fn sign(&self, message: &[u8], trusted_comment: &str) -> String {
        let digest = Blake2b512::digest(message);
        let signature = self.signing.sign(&digest).to_bytes();
        let mut sig = Vec::with_capacity(74);
        sig.extend_from_slice(b"ED");
        sig.extend_from_slice(&self.key_id);
        sig.extend_from_slice(&signature);
        let mut global = Vec::with_capacity(64 + trusted_comment.len());
        global.extend_from_slice(&signature);
        global.extend_from_slice(trusted_comment.as_bytes());
        let global_sig = self.signing.sign(&global).to_bytes();
        format!(
            "untrusted comment: signature from loaxa secret key\n{}\ntrusted comment: {trusted_comment}\n{}\n",
            B64.encode(sig),
            B64.encode(global_sig)
        )
    }
}

/// Lower-case hex of bytes: how sha256 digests are written in manifests and file names.
pub use crate::sys::hex::hex;

fn checksum(key_id: &[u8; 8], sk: &[u8]) -> [u8; 32] {
    let mut h = Blake2b::<U32>::new();
    h.update(b"Ed");
    h.update(key_id);
    h.update(sk);
    h.finalize().into()
}

/// Verifies a minisign signature file over `message` against any of the trusted public
/// keys (base64). Plain (`Ed`) and prehashed (`ED`) signatures are both accepted.
pub fn verify(message: &[u8], signature_file: &str, trusted: &[String]) -> Result<(), VerifyError> {
    if trusted.is_empty() {
        return Err(VerifyError::NoKeys);
    }
    let signature = minisign_verify::Signature::decode(signature_file)
        .map_err(|e| VerifyError::Malformed(e.to_string()))?;
    // Every trusted key with the signature's key id is tried: two keys may share an id
    // (ids are 64 random bits, and a careless copy can reuse one).
    let mut id_matched = false;
    for key in trusted {
        let Ok(pk) = minisign_verify::PublicKey::from_base64(key) else {
            continue;
        };
        match pk.verify(message, &signature, true) {
            Ok(()) => return Ok(()),
            Err(minisign_verify::Error::UnexpectedKeyId) => continue,
            Err(_) => id_matched = true,
        }
    }
    if id_matched {
        return Err(VerifyError::BadSignature);
    }
    Err(VerifyError::UntrustedKey(
        signature_key_id(signature_file).unwrap_or_else(|| "?".into()),
    ))
}

/// The key id a signature file names, for messages.
fn signature_key_id(signature_file: &str) -> Option<String> {
    let line = signature_file
        .lines()
        .find(|l| !l.starts_with("untrusted comment:"))?;
    let bytes = B64.decode(line.trim()).ok()?;
    Some(
        bytes
            .get(2..10)?
            .iter()
            .rev()
            .map(|b| format!("{b:02X}"))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_round_trip_and_tamper() {
        let key = SecretKey::generate().unwrap();
        let again = SecretKey::from_secret_file(&key.secret_file()).unwrap();
        assert_eq!(again.public_base64(), key.public_base64());
        let sig = key.sign(b"feed v1", "timestamp:1\tfile:feed.json\thashed");
        let trusted = vec![key.public_base64()];
        assert_eq!(verify(b"feed v1", &sig, &trusted), Ok(()));
        assert_eq!(
            verify(b"feed v2", &sig, &trusted),
            Err(VerifyError::BadSignature)
        );
        let other = SecretKey::generate().unwrap();
        assert!(matches!(
            verify(b"feed v1", &sig, &[other.public_base64()]),
            Err(VerifyError::UntrustedKey(_))
        ));
        assert_eq!(verify(b"feed v1", &sig, &[]), Err(VerifyError::NoKeys));
        assert!(matches!(
            verify(b"feed v1", "garbage", &trusted),
            Err(VerifyError::Malformed(_))
        ));
        // A second trusted key with the same key id does not hide the right one.
        let mut twin = SecretKey::generate().unwrap();
        twin.key_id = key.key_id;
        assert_eq!(
            verify(
                b"feed v1",
                &sig,
                &[twin.public_base64(), key.public_base64()]
            ),
            Ok(())
        );
        assert_eq!(
            verify(b"feed v1", &sig, &[twin.public_base64()]),
            Err(VerifyError::BadSignature)
        );
        // A trusted comment edited after signing is caught too.
        let forged = sig.replace("timestamp:1", "timestamp:2");
        assert_eq!(
            verify(b"feed v1", &forged, &trusted),
            Err(VerifyError::BadSignature)
        );
    }
}
