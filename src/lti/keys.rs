//! The tool's RSA signing keys: created on first start, kept in the data folder, published as
//! a JWKS. Rotation adds a new current key and keeps the previous one published for a grace
//! period, so platforms holding a cached JWKS still verify messages signed just before.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{EncodingKey, Header};
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{ErrorCode, HasErrorCode};

/// How long a retired key stays in the JWKS by default.
pub const DEFAULT_GRACE_DAYS: i64 = 7;
const KEY_BITS: usize = 2048;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read or write the tool keys in {path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("the tool key file {0} is damaged")]
    Corrupt(PathBuf),
    #[error("cannot create an RSA key: {0}")]
    Generate(String),
    #[error("cannot sign: {0}")]
    Sign(String),
}

impl HasErrorCode for KeyError {
    fn error_code(&self) -> ErrorCode {
        ErrorCode::Internal
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredKey {
    kid: String,
    created_at: DateTime<Utc>,
    retired_at: Option<DateTime<Utc>>,
    private_pem: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct KeyFile {
    keys: Vec<StoredKey>,
}

/// The key set as last read, with the file time it was read at.
struct Loaded {
    modified: Option<SystemTime>,
    keys: Vec<StoredKey>,
}

/// The tool keys of a data folder. Re-reads the file when it changes, so `keys rotate` run
/// from the command line reaches a running gateway.
pub struct ToolKeys {
    path: PathBuf,
    loaded: Mutex<Loaded>,
    /// Keys the pseudonymous `sub` each publisher's tool sees, and the gateway's own HMAC keys
    /// ([`ToolKeys::derived_secret`]); never leaves the data folder.
    pseudonym_secret: String,
}

impl ToolKeys {
    /// Loads the keys, creating the first one when there is none.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, KeyError> {
        let path = data_dir.join("keys").join("tool-keys.json");
        let mut file = read_file(&path)?;
        if file.keys.iter().all(|k| k.retired_at.is_some()) {
            file.keys.push(new_key()?);
            write_file(&path, &file)?;
        }
        let modified = modified(&path);
        let pseudonym_secret = load_or_create_secret(&data_dir.join("keys").join("pseudonym-secret"))?;
        Ok(Self { path, loaded: Mutex::new(Loaded { modified, keys: file.keys }), pseudonym_secret })
    }

    /// A stable pseudonym of an LMS user for one publisher: the same user gets the same id at
    /// every launch of that publisher's tools, and unrelated ids at other publishers'.
    pub fn pseudonym(&self, publisher: &str, platform_issuer: &str, lms_sub: &str) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(format!("{}\n{publisher}\n{platform_issuer}\n{lms_sub}", self.pseudonym_secret));
        format!("rg-{}", &hex::encode(digest)[..32])
    }

    /// A secret for one purpose (e.g. signing login states), derived from the data folder's
    /// secret: replicas sharing that secret share these, and no purpose can stand in for another.
    pub fn derived_secret(&self, purpose: &str) -> Vec<u8> {
        use sha2::{Digest, Sha256};
        Sha256::digest(format!("{}\n{purpose}", self.pseudonym_secret)).to_vec()
    }

    fn snapshot(&self) -> Result<Vec<StoredKey>, KeyError> {
        let mut loaded = self.loaded.lock().map_err(|_| KeyError::Corrupt(self.path.clone()))?;
        let now_modified = modified(&self.path);
        if now_modified != loaded.modified {
            loaded.keys = read_file(&self.path)?.keys;
            loaded.modified = now_modified;
        }
        Ok(loaded.keys.clone())
    }

    /// Signs claims with the current key (RS256, header `kid`).
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, KeyError> {
        let keys = self.snapshot()?;
        let current =
            keys.iter().rev().find(|k| k.retired_at.is_none()).ok_or_else(|| KeyError::Corrupt(self.path.clone()))?;
        let key =
            EncodingKey::from_rsa_pem(current.private_pem.as_bytes()).map_err(|e| KeyError::Sign(e.to_string()))?;
        let mut header = Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = Some(current.kid.clone());
        jsonwebtoken::encode(&header, claims, &key).map_err(|e| KeyError::Sign(e.to_string()))
    }

    /// The public keys to publish: the current one and those retired less than `grace` ago.
    pub fn jwks(&self, grace: Duration) -> Result<Value, KeyError> {
        let cutoff = Utc::now() - grace;
        let mut published = Vec::new();
        for key in self.snapshot()? {
            if key.retired_at.is_some_and(|retired| retired < cutoff) {
                continue;
            }
            published.push(public_jwk(&key)?);
        }
        Ok(json!({ "keys": published }))
    }

    /// The kid of the key that signs now.
    pub fn current_kid(&self) -> Result<String, KeyError> {
        let keys = self.snapshot()?;
        keys.iter()
            .rev()
            .find(|k| k.retired_at.is_none())
            .map(|k| k.kid.clone())
            .ok_or_else(|| KeyError::Corrupt(self.path.clone()))
    }

    /// Adds a new current key, retires the previous ones and forgets keys retired longer than
    /// `grace` ago. Answers the new kid.
    pub fn rotate(&self, grace: Duration) -> Result<String, KeyError> {
        let mut file = read_file(&self.path)?;
        let now = Utc::now();
        for key in &mut file.keys {
            key.retired_at.get_or_insert(now);
        }
        file.keys.retain(|k| k.retired_at.is_none_or(|retired| retired >= now - grace));
        let key = new_key()?;
        let kid = key.kid.clone();
        file.keys.push(key);
        write_file(&self.path, &file)?;
        Ok(kid)
    }
}

fn load_or_create_secret(path: &Path) -> Result<String, KeyError> {
    let io = |err: std::io::Error| KeyError::Io { path: path.to_path_buf(), message: err.to_string() };
    match std::fs::read_to_string(path) {
        Ok(secret) if !secret.trim().is_empty() => Ok(secret.trim().to_string()),
        Ok(_) => Err(KeyError::Corrupt(path.to_path_buf())),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(io)?;
            }
            let secret = crate::auth::random_secret();
            crate::auth::write_private(path, &secret).map_err(io)?;
            Ok(secret)
        }
        Err(err) => Err(io(err)),
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn read_file(path: &Path) -> Result<KeyFile, KeyError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|_| KeyError::Corrupt(path.to_path_buf())),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(KeyFile::default()),
        Err(err) => Err(KeyError::Io { path: path.to_path_buf(), message: err.to_string() }),
    }
}

fn write_file(path: &Path, file: &KeyFile) -> Result<(), KeyError> {
    let io = |err: std::io::Error| KeyError::Io { path: path.to_path_buf(), message: err.to_string() };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let text = serde_json::to_string_pretty(file).map_err(|_| KeyError::Corrupt(path.to_path_buf()))?;
    let temporary = path.with_extension("json.partial");
    crate::auth::write_private(&temporary, &text).map_err(io)?;
    std::fs::rename(&temporary, path).map_err(io)
}

fn new_key() -> Result<StoredKey, KeyError> {
    let private =
        RsaPrivateKey::new(&mut rand::rngs::OsRng, KEY_BITS).map_err(|e| KeyError::Generate(e.to_string()))?;
    let pem =
        private.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF).map_err(|e| KeyError::Generate(e.to_string()))?.to_string();
    let now = Utc::now();
    let kid = format!("rg-{}-{}", now.format("%Y%m%d"), &crate::auth::random_secret()[..8]);
    Ok(StoredKey { kid, created_at: now, retired_at: None, private_pem: pem })
}

fn public_jwk(key: &StoredKey) -> Result<Value, KeyError> {
    let private = RsaPrivateKey::from_pkcs1_pem(&key.private_pem).map_err(|e| KeyError::Sign(e.to_string()))?;
    let encode = |bytes: Vec<u8>| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    Ok(json!({
        "kty": "RSA",
        "kid": key.kid,
        "use": "sig",
        "alg": "RS256",
        "n": encode(private.n().to_bytes_be()),
        "e": encode(private.e().to_bytes_be()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_keys_persist_sign_verify_and_rotate_with_grace() {
        let dir = tempfile::tempdir().unwrap();
        let keys = ToolKeys::load_or_create(dir.path()).unwrap();
        let first = keys.current_kid().unwrap();
        assert_eq!(ToolKeys::load_or_create(dir.path()).unwrap().current_kid().unwrap(), first, "kept on disk");

        let token = keys.sign(&json!({ "sub": "x", "exp": Utc::now().timestamp() + 60 })).unwrap();
        let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_value(keys.jwks(Duration::days(7)).unwrap()).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.kid.as_deref(), Some(first.as_str()));
        let jwk = jwks.find(&first).unwrap();
        let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.validate_aud = false;
        jsonwebtoken::decode::<Value>(&token, &key, &validation).unwrap();

        let second = keys.rotate(Duration::days(7)).unwrap();
        assert_ne!(first, second);
        assert_eq!(keys.current_kid().unwrap(), second);
        let published = keys.jwks(Duration::days(7)).unwrap();
        assert_eq!(published["keys"].as_array().unwrap().len(), 2, "previous key kept during the grace period");
        assert_eq!(keys.jwks(Duration::seconds(-1)).unwrap()["keys"].as_array().unwrap().len(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("keys/tool-keys.json")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
