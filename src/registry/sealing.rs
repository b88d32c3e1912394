//! Secrets at rest: the signing keys, the pseudonym and login secrets and feed credentials are
//! sealed before they reach the database when the operator gives a secret key
//! (`GATEWAY_SECRET_KEY`, the same on every replica): ChaCha20-Poly1305 with a key derived from
//! it by HKDF-SHA256. Without one (the embedded SQLite of a data folder, readable by the
//! gateway's user only) they are stored as they are, marked so that a later key can tell.
//!
//! A sealed value is `rg-sealed-v1:` + base64(nonce ‖ ciphertext); a plain one `rg-plain:` +
//! base64(value). A check value written at first start lets a replica with the wrong key
//! refuse to start, naming the setting, instead of failing later at the first launch.

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;

/// Shortest secret key accepted: it is the only protection of the database's secrets.
pub const MIN_SECRET_KEY_CHARS: usize = 32;
const SEALED: &str = "rg-sealed-v1:";
const PLAIN: &str = "rg-plain:";
const NONCE_BYTES: usize = 12;

/// Why a stored secret could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealingError {
    #[error("secrets in the database are encrypted: start with GATEWAY_SECRET_KEY (the key the other replicas use)")]
    KeyMissing,
    #[error("GATEWAY_SECRET_KEY does not open the secrets in the database: give the key the other replicas use")]
    WrongKey,
    #[error("a stored secret is damaged")]
    Damaged,
    #[error("GATEWAY_SECRET_KEY must be at least {MIN_SECRET_KEY_CHARS} characters")]
    KeyTooShort,
}

/// Seals and opens secrets with the operator's key, or marks them plain without one.
#[derive(Clone)]
pub struct Sealer {
    cipher: Option<ChaCha20Poly1305>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer").field("encrypts", &self.cipher.is_some()).finish()
    }
}

impl Sealer {
    /// Stores secrets as they are (the embedded registry of a data folder).
    pub fn plain() -> Self {
        Self { cipher: None }
    }

    /// Encrypts with a key derived from `secret_key`.
    pub fn with_key(secret_key: &str) -> Result<Self, SealingError> {
        if secret_key.chars().count() < MIN_SECRET_KEY_CHARS {
            return Err(SealingError::KeyTooShort);
        }
        let hkdf = hkdf::Hkdf::<sha2::Sha256>::new(Some(b"resource-gateway sealing"), secret_key.as_bytes());
        let mut key = [0u8; 32];
        hkdf.expand(b"registry secrets v1", &mut key).map_err(|_| SealingError::KeyTooShort)?;
        Ok(Self { cipher: Some(ChaCha20Poly1305::new(Key::from_slice(&key))) })
    }

    /// Whether a stored value was written without a key.
    pub fn is_plain(stored: &str) -> bool {
        stored.starts_with(PLAIN)
    }

    pub fn encrypts(&self) -> bool {
        self.cipher.is_some()
    }

    pub fn seal(&self, value: &[u8]) -> String {
        let b64 = base64::engine::general_purpose::STANDARD;
        let Some(cipher) = &self.cipher else {
            return format!("{PLAIN}{}", b64.encode(value));
        };
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        // Encrypting into a Vec cannot fail for inputs this size.
        let ciphertext = cipher.encrypt(Nonce::from_slice(&nonce), value).unwrap_or_default();
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        format!("{SEALED}{}", b64.encode(sealed))
    }

    pub fn open(&self, stored: &str) -> Result<Vec<u8>, SealingError> {
        let b64 = base64::engine::general_purpose::STANDARD;
        if let Some(plain) = stored.strip_prefix(PLAIN) {
            return b64.decode(plain).map_err(|_| SealingError::Damaged);
        }
        let Some(sealed) = stored.strip_prefix(SEALED) else {
            return Err(SealingError::Damaged);
        };
        let cipher = self.cipher.as_ref().ok_or(SealingError::KeyMissing)?;
        let sealed = b64.decode(sealed).map_err(|_| SealingError::Damaged)?;
        if sealed.len() < NONCE_BYTES {
            return Err(SealingError::Damaged);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_BYTES);
        cipher.decrypt(Nonce::from_slice(nonce), ciphertext).map_err(|_| SealingError::WrongKey)
    }

    /// Opens a value stored before sealing existed (text as it is) as well as sealed ones.
    pub fn open_text(&self, stored: &str) -> Result<String, SealingError> {
        if !stored.starts_with(PLAIN) && !stored.starts_with(SEALED) {
            return Ok(stored.to_string());
        }
        String::from_utf8(self.open(stored)?).map_err(|_| SealingError::Damaged)
    }

    /// The value written once per database to check later keys against.
    pub fn check_value(&self) -> String {
        self.seal(b"resource-gateway sealing check")
    }

    /// Whether this sealer opens the database's check value: a replica with another key (or
    /// none where one was used) must not start.
    pub fn verify(&self, check: &str) -> Result<(), SealingError> {
        if check.starts_with(PLAIN) && self.encrypts() {
            // Secrets were stored plain so far: they stay readable, new ones are sealed.
            return Ok(());
        }
        match self.open(check)?.as_slice() {
            b"resource-gateway sealing check" => Ok(()),
            _ => Err(SealingError::WrongKey),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef-test";

    #[test]
    fn test_sealed_values_open_only_with_their_key() {
        let sealer = Sealer::with_key(KEY).unwrap();
        let sealed = sealer.seal(b"private key");
        assert!(sealed.starts_with(SEALED) && !sealed.contains("private"));
        assert_ne!(sealed, sealer.seal(b"private key"), "a fresh nonce each time");
        assert_eq!(sealer.open(&sealed).unwrap(), b"private key");
        let other = Sealer::with_key("another key of enough length, 0123456789").unwrap();
        assert_eq!(other.open(&sealed), Err(SealingError::WrongKey));
        assert_eq!(Sealer::plain().open(&sealed), Err(SealingError::KeyMissing));
        assert_eq!(Sealer::with_key("short").unwrap_err(), SealingError::KeyTooShort);
    }

    #[test]
    fn test_plain_values_stay_readable_and_checks_refuse_a_wrong_key() {
        let plain = Sealer::plain().seal(b"x");
        assert_eq!(Sealer::with_key(KEY).unwrap().open(&plain).unwrap(), b"x");
        assert_eq!(Sealer::plain().open_text("legacy clear text").unwrap(), "legacy clear text");

        let check = Sealer::with_key(KEY).unwrap().check_value();
        Sealer::with_key(KEY).unwrap().verify(&check).unwrap();
        assert_eq!(
            Sealer::with_key("the wrong key but long enough 0123456789").unwrap().verify(&check),
            Err(SealingError::WrongKey)
        );
        assert_eq!(Sealer::plain().verify(&check), Err(SealingError::KeyMissing));
        Sealer::with_key(KEY).unwrap().verify(&Sealer::plain().check_value()).unwrap();
        Sealer::plain().verify(&Sealer::plain().check_value()).unwrap();
    }
}
