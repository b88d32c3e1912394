//! Credentials: the admin token and publisher keys, all bearer tokens.
//!
//! Publisher keys look like `rgk_<publisher id>_<secret>`: the id says which stored hash to
//! compare against, and only a SHA-256 of the key is kept. Comparisons are constant-time.

use std::path::{Path, PathBuf};

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::AppError;
use crate::resource::PublisherId;

const KEY_PREFIX: &str = "rgk_";

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Anonymous,
    Admin,
    Publisher(PublisherId),
}

impl Principal {
    /// Whether this caller may act on `publisher`'s catalogs.
    pub fn may_act_for(&self, publisher: &PublisherId) -> bool {
        match self {
            Principal::Admin => true,
            Principal::Publisher(own) => own == publisher,
            Principal::Anonymous => false,
        }
    }

    /// Admin operations: `UNAUTHENTICATED` without a credential, `FORBIDDEN` with a key.
    pub fn require_admin(&self) -> Result<(), AppError> {
        match self {
            Principal::Admin => Ok(()),
            Principal::Anonymous => Err(AppError::unauthenticated("this operation needs the admin token")),
            Principal::Publisher(_) => {
                Err(AppError::forbidden("this operation needs the admin token, not a publisher key"))
            }
        }
    }

    /// Operations on one publisher's catalogs: its own key or the admin.
    pub fn require_for(&self, publisher: &PublisherId) -> Result<(), AppError> {
        match self {
            _ if self.may_act_for(publisher) => Ok(()),
            Principal::Anonymous => {
                Err(AppError::unauthenticated("this operation needs a publisher key or the admin token"))
            }
            _ => Err(AppError::forbidden(format!("this key may not act on publisher '{publisher}'s catalogs"))),
        }
    }
}

/// 32 random bytes, URL-safe base64.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A new publisher key; shown once, stored as [`hash_key`].
pub fn new_publisher_key(publisher: &PublisherId) -> String {
    format!("{KEY_PREFIX}{publisher}_{}", random_secret())
}

/// The publisher a key claims to belong to (not yet verified).
pub fn key_publisher(key: &str) -> Option<PublisherId> {
    let rest = key.strip_prefix(KEY_PREFIX)?;
    let (publisher, secret) = rest.split_once('_')?;
    if secret.is_empty() {
        return None;
    }
    PublisherId::parse(publisher).ok()
}

pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Compares a presented key with a stored hash in constant time.
pub fn key_matches(presented: &str, stored_hash: &str) -> bool {
    let presented_hash = hash_key(presented);
    presented_hash.as_bytes().ct_eq(stored_hash.as_bytes()).into()
}

/// Compares two secrets in constant time (hashing first evens out their lengths).
pub fn secrets_equal(a: &str, b: &str) -> bool {
    Sha256::digest(a.as_bytes()).ct_eq(&Sha256::digest(b.as_bytes())).into()
}

/// Where a generated admin token lives.
pub fn admin_token_path(data_dir: &Path) -> PathBuf {
    data_dir.join("admin-token")
}

/// The configured admin token, or the one generated on first start (mode 0600).
pub fn load_or_create_admin_token(data_dir: &Path, configured: Option<&str>) -> std::io::Result<String> {
    if let Some(token) = configured {
        return Ok(token.to_string());
    }
    let path = admin_token_path(data_dir);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim().to_string();
        if !existing.is_empty() {
            return Ok(existing);
        }
    }
    let token = format!("rga_{}", random_secret());
    write_private(&path, &token)?;
    tracing::info!(path = %path.display(), "generated an admin token; read it from this file");
    Ok(token)
}

/// Writes a file only its owner can read.
pub fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_publisher_key_round_trip() {
        let publisher = PublisherId::parse("open-readers").unwrap();
        let key = new_publisher_key(&publisher);
        assert_eq!(key_publisher(&key), Some(publisher));
        let hash = hash_key(&key);
        assert!(key_matches(&key, &hash));
        assert!(!key_matches(&format!("{key}x"), &hash));
        assert_eq!(key_publisher("rgk_nope"), None);
        assert_eq!(key_publisher("Bearer junk"), None);
    }

    #[test]
    fn test_admin_token_generated_once_with_private_mode() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create_admin_token(dir.path(), None).unwrap();
        let second = load_or_create_admin_token(dir.path(), None).unwrap();
        assert_eq!(first, second);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(admin_token_path(dir.path())).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(secrets_equal(&first, &second));
        assert!(!secrets_equal(&first, "other"));
    }
}
