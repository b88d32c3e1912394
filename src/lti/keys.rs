//! The tool's RSA signing keys and the pseudonym secret, kept in the registry's
//! [`SecretStore`] so every replica publishes one JWKS, signs with the same key and gives a user
//! the same pseudonym. Rotation adds a new current key and keeps the previous one published for
//! a grace period, so platforms holding a cached JWKS still verify messages signed just before.
//!
//! Parsed keys and the public JWKs are cached and re-read from the store every few seconds (so a
//! `keys rotate` anywhere reaches every replica); serving the JWKS parses nothing, and RSA
//! signing runs on blocking threads.

use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration as StdDuration, Instant};

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{EncodingKey, Header};
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{ErrorCode, HasErrorCode};
use crate::registry::{RegistryError, SecretStore, SigningKeyRecord};

/// How long a retired key stays in the JWKS by default.
pub const DEFAULT_GRACE_DAYS: i64 = 7;
const KEY_BITS: usize = 2048;
/// How stale the cached keys may get before they are re-read (another replica may have rotated).
const RELOAD_AFTER: StdDuration = StdDuration::from_secs(5);
/// The name of the pseudonym secret in the store.
const PSEUDONYM_SECRET: &str = "pseudonym-secret";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the tool keys: {0}")]
    Store(#[from] RegistryError),
    #[error("the stored tool keys are damaged: {0}")]
    Corrupt(String),
    #[error("cannot read the tool keys of the data folder ({0}); move the keys folder away to start with new keys")]
    Legacy(String),
    #[error("cannot create an RSA key: {0}")]
    Generate(String),
    #[error("cannot sign: {0}")]
    Sign(String),
}

impl HasErrorCode for KeyError {
    fn error_code(&self) -> ErrorCode {
        match self {
            KeyError::Store(err) => err.error_code(),
            _ => ErrorCode::Internal,
        }
    }
}

/// The key file of a data folder from before the keys moved into the registry.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
struct LegacyKeyFile {
    keys: Vec<LegacyKey>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
struct LegacyKey {
    kid: String,
    created_at: DateTime<Utc>,
    retired_at: Option<DateTime<Utc>>,
    private_pem: String,
}

/// The current key, parsed once.
struct Signer {
    kid: String,
    key: EncodingKey,
}

/// The key set as last read from the store.
struct Loaded {
    at: Instant,
    signer: Arc<Signer>,
    /// Public JWKs with their retirement time, oldest first.
    public: Vec<(Option<DateTime<Utc>>, Value)>,
}

/// The gateway's signing keys and pseudonym secret.
pub struct ToolKeys {
    store: Arc<dyn SecretStore>,
    loaded: RwLock<Arc<Loaded>>,
    /// Keys the pseudonymous `sub` each publisher's tool sees, and the gateway's own HMAC keys
    /// ([`ToolKeys::derived_secret`]); never leaves the registry.
    pseudonym_secret: String,
}

impl ToolKeys {
    /// Opens the keys of the store, creating the first one when there is none. A data folder
    /// from before the keys lived in the registry (`keys/tool-keys.json`, `keys/pseudonym-secret`)
    /// hands its keys and secret over, so platforms keep verifying and pseudonyms stay the same;
    /// of replicas starting together on one database, the first one's keys win.
    pub async fn open(store: Arc<dyn SecretStore>, data_dir: &Path) -> Result<Self, KeyError> {
        let legacy_secret = read_legacy_secret(&data_dir.join("keys").join("pseudonym-secret"))?;
        let candidate = legacy_secret.unwrap_or_else(crate::auth::random_secret);
        let secret = store.secret_or_insert(PSEUDONYM_SECRET, candidate.as_bytes()).await?;
        let pseudonym_secret =
            String::from_utf8(secret).map_err(|_| KeyError::Corrupt("the pseudonym secret is not text".into()))?;

        let mut records = store.signing_keys().await?;
        if records.is_empty() {
            let mut first = read_legacy_keys(&data_dir.join("keys").join("tool-keys.json"))?;
            if first.iter().all(|key| key.retired_at.is_some()) {
                first.push(new_key().await?);
            }
            store.add_first_signing_keys(&first).await?;
            records = store.signing_keys().await?;
        }
        if records.iter().all(|key| key.retired_at.is_some()) {
            // Every key retired (or the first start died between electing and storing): a new one.
            let now = Utc::now();
            store.rotate_signing_keys(&new_key().await?, now, now - Duration::days(DEFAULT_GRACE_DAYS)).await?;
            records = store.signing_keys().await?;
        }
        let loaded = parse(records).await?;
        Ok(Self { store, loaded: RwLock::new(Arc::new(loaded)), pseudonym_secret })
    }

    /// A stable pseudonym of an LMS user for one publisher: the same user gets the same id at
    /// every launch of that publisher's tools, and unrelated ids at other publishers'.
    pub fn pseudonym(&self, publisher: &str, platform_issuer: &str, lms_sub: &str) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(format!("{}\n{publisher}\n{platform_issuer}\n{lms_sub}", self.pseudonym_secret));
        format!("rg-{}", &hex::encode(digest)[..32])
    }

    /// A secret for one purpose (e.g. signing login states), derived from the shared secret:
    /// every replica derives the same, and no purpose can stand in for another.
    pub fn derived_secret(&self, purpose: &str) -> Vec<u8> {
        use sha2::{Digest, Sha256};
        Sha256::digest(format!("{}\n{purpose}", self.pseudonym_secret)).to_vec()
    }

    fn cached(&self) -> Arc<Loaded> {
        match self.loaded.read() {
            Ok(loaded) => loaded.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The key set, re-read from the store when older than a few seconds. A store that does not
    /// answer leaves the last keys in use: signing keeps working through a database hiccup.
    async fn current(&self) -> Arc<Loaded> {
        let loaded = self.cached();
        if loaded.at.elapsed() < RELOAD_AFTER {
            return loaded;
        }
        match self.load_fresh().await {
            Ok(fresh) => fresh,
            Err(err) => {
                tracing::warn!(error = %err, "cannot re-read the signing keys; the cached ones stay in use");
                loaded
            }
        }
    }

    /// Re-reads the keys now (another replica rotated them), instead of within seconds.
    pub async fn reload(&self) -> Result<(), KeyError> {
        self.load_fresh().await.map(|_| ())
    }

    async fn load_fresh(&self) -> Result<Arc<Loaded>, KeyError> {
        let records = self.store.signing_keys().await?;
        let loaded = Arc::new(parse(records).await?);
        match self.loaded.write() {
            Ok(mut slot) => *slot = loaded.clone(),
            Err(poisoned) => *poisoned.into_inner() = loaded.clone(),
        }
        Ok(loaded)
    }

    /// Signs claims with the current key (RS256, header `kid`), on a blocking thread.
    pub async fn sign<T: Serialize>(&self, claims: &T) -> Result<String, KeyError> {
        // Serialized here, as written (member order and raw values such as a platform's `data`
        // stay byte for byte); the blocking thread only signs.
        let claims = serde_json::value::to_raw_value(claims).map_err(|err| KeyError::Sign(err.to_string()))?;
        let signer = self.current().await.signer.clone();
        tokio::task::spawn_blocking(move || {
            let mut header = Header::new(jsonwebtoken::Algorithm::RS256);
            header.kid = Some(signer.kid.clone());
            jsonwebtoken::encode(&header, &claims, &signer.key).map_err(|err| KeyError::Sign(err.to_string()))
        })
        .await
        .map_err(|err| KeyError::Sign(err.to_string()))?
    }

    /// The public keys to publish: the current one and those retired less than `grace` ago.
    pub async fn jwks(&self, grace: Duration) -> Value {
        let cutoff = Utc::now() - grace;
        let loaded = self.current().await;
        let keys: Vec<&Value> = loaded
            .public
            .iter()
            .filter(|(retired, _)| !retired.is_some_and(|retired| retired < cutoff))
            .map(|(_, jwk)| jwk)
            .collect();
        json!({ "keys": keys })
    }

    /// The kid of the key that signs now.
    pub async fn current_kid(&self) -> String {
        self.current().await.signer.kid.clone()
    }

    /// Adds a new current key, retires the previous ones and forgets keys retired longer than
    /// `grace` ago, for every replica. Answers the new kid.
    pub async fn rotate(&self, grace: Duration) -> Result<String, KeyError> {
        let key = new_key().await?;
        let now = Utc::now();
        self.store.rotate_signing_keys(&key, now, now - grace).await?;
        self.reload().await?;
        Ok(key.kid)
    }
}

/// Parses the stored keys (RSA parsing costs milliseconds: on a blocking thread).
async fn parse(records: Vec<SigningKeyRecord>) -> Result<Loaded, KeyError> {
    tokio::task::spawn_blocking(move || {
        let current = records
            .iter()
            .rev()
            .find(|key| key.retired_at.is_none())
            .ok_or_else(|| KeyError::Corrupt("no current signing key".into()))?;
        let key = EncodingKey::from_rsa_pem(current.private_pem.as_bytes())
            .map_err(|err| KeyError::Corrupt(format!("key {}: {err}", current.kid)))?;
        let signer = Arc::new(Signer { kid: current.kid.clone(), key });
        let public =
            records.iter().map(|key| Ok((key.retired_at, public_jwk(key)?))).collect::<Result<_, KeyError>>()?;
        Ok(Loaded { at: Instant::now(), signer, public })
    })
    .await
    .map_err(|err| KeyError::Corrupt(err.to_string()))?
}

fn read_legacy_secret(path: &Path) -> Result<Option<String>, KeyError> {
    match std::fs::read_to_string(path) {
        Ok(secret) if !secret.trim().is_empty() => Ok(Some(secret.trim().to_string())),
        Ok(_) => Err(KeyError::Legacy(format!("{} is empty", path.display()))),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(KeyError::Legacy(format!("{}: {err}", path.display()))),
    }
}

fn read_legacy_keys(path: &Path) -> Result<Vec<SigningKeyRecord>, KeyError> {
    let file: LegacyKeyFile = match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|err| KeyError::Legacy(format!("{} is damaged: {err}", path.display())))?,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(KeyError::Legacy(format!("{}: {err}", path.display()))),
    };
    Ok(file
        .keys
        .into_iter()
        .map(|key| SigningKeyRecord {
            kid: key.kid,
            created_at: key.created_at,
            retired_at: key.retired_at,
            private_pem: key.private_pem,
        })
        .collect())
}

async fn new_key() -> Result<SigningKeyRecord, KeyError> {
    tokio::task::spawn_blocking(|| {
        let private =
            RsaPrivateKey::new(&mut rand::rngs::OsRng, KEY_BITS).map_err(|e| KeyError::Generate(e.to_string()))?;
        let pem = private
            .to_pkcs1_pem(rsa::pkcs8::LineEnding::LF)
            .map_err(|e| KeyError::Generate(e.to_string()))?
            .to_string();
        let now = Utc::now();
        let kid = format!("rg-{}-{}", now.format("%Y%m%d"), &crate::auth::random_secret()[..8]);
        Ok(SigningKeyRecord { kid, created_at: now, retired_at: None, private_pem: pem })
    })
    .await
    .map_err(|err| KeyError::Generate(err.to_string()))?
}

fn public_jwk(key: &SigningKeyRecord) -> Result<Value, KeyError> {
    let private = RsaPrivateKey::from_pkcs1_pem(&key.private_pem)
        .map_err(|err| KeyError::Corrupt(format!("key {}: {err}", key.kid)))?;
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
    use crate::registry::sql::testing::registries;

    fn verify(token: &str, jwks: Value) -> Result<Value, jsonwebtoken::errors::Error> {
        let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks).unwrap();
        let header = jsonwebtoken::decode_header(token)?;
        let jwk = jwks.find(header.kid.as_deref().unwrap_or_default()).expect("kid published");
        let key = jsonwebtoken::DecodingKey::from_jwk(jwk)?;
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.validate_aud = false;
        Ok(jsonwebtoken::decode::<Value>(token, &key, &validation)?.claims)
    }

    #[tokio::test]
    async fn test_keys_sign_verify_rotate_with_grace_and_are_shared_by_every_replica() {
        for test in registries().await {
            let (registry, _guard) = test.shared();
            let dir = tempfile::tempdir().unwrap();
            let store: Arc<dyn SecretStore> = registry;
            let a = ToolKeys::open(store.clone(), dir.path()).await.unwrap();
            let b = ToolKeys::open(store.clone(), dir.path()).await.unwrap();
            let first = a.current_kid().await;
            assert_eq!(b.current_kid().await, first, "a second replica finds the first one's key");
            assert_eq!(a.pseudonym("p", "iss", "u"), b.pseudonym("p", "iss", "u"));
            assert_eq!(a.derived_secret("state"), b.derived_secret("state"));
            assert_ne!(a.derived_secret("state"), a.derived_secret("other"));

            let token = a.sign(&json!({ "sub": "x", "exp": Utc::now().timestamp() + 60 })).await.unwrap();
            assert_eq!(verify(&token, b.jwks(Duration::days(7)).await).unwrap()["sub"], "x");

            let second = a.rotate(Duration::days(7)).await.unwrap();
            assert_ne!(first, second);
            assert_eq!(a.current_kid().await, second);
            b.reload().await.unwrap();
            assert_eq!(b.current_kid().await, second, "the rotation reaches the other replica");
            let published = b.jwks(Duration::days(7)).await;
            assert_eq!(published["keys"].as_array().unwrap().len(), 2, "previous key kept during the grace period");
            verify(&token, published).expect("a token signed before the rotation still verifies");
            assert_eq!(a.jwks(Duration::seconds(-1)).await["keys"].as_array().unwrap().len(), 1);
        }
    }

    #[tokio::test]
    async fn test_a_data_folder_hands_its_keys_and_pseudonym_secret_to_the_registry() {
        for test in registries().await {
            let (registry, _guard) = test.shared();
            let dir = tempfile::tempdir().unwrap();
            let legacy = new_key().await.unwrap();
            let file = LegacyKeyFile {
                keys: vec![LegacyKey {
                    kid: legacy.kid.clone(),
                    created_at: legacy.created_at,
                    retired_at: None,
                    private_pem: legacy.private_pem.clone(),
                }],
            };
            std::fs::create_dir_all(dir.path().join("keys")).unwrap();
            std::fs::write(dir.path().join("keys/tool-keys.json"), serde_json::to_vec(&file).unwrap()).unwrap();
            std::fs::write(dir.path().join("keys/pseudonym-secret"), "old-secret\n").unwrap();

            let keys = ToolKeys::open(registry.clone(), dir.path()).await.unwrap();
            assert_eq!(keys.current_kid().await, legacy.kid, "platforms keep verifying with the key they cached");
            let expected = {
                use sha2::{Digest, Sha256};
                format!("rg-{}", &hex::encode(Sha256::digest("old-secret\np\niss\nu"))[..32])
            };
            assert_eq!(keys.pseudonym("p", "iss", "u"), expected, "pseudonyms survive the move");

            let elsewhere = tempfile::tempdir().unwrap();
            let other = ToolKeys::open(registry, elsewhere.path()).await.unwrap();
            assert_eq!(other.current_kid().await, legacy.kid, "a replica without the folder gets the same key");
        }
    }

    #[tokio::test]
    async fn test_serving_the_jwks_parses_no_key() {
        let (registry, _guard) = registries().await.remove(0).shared();
        let dir = tempfile::tempdir().unwrap();
        let keys = ToolKeys::open(registry, dir.path()).await.unwrap();
        let before = Arc::as_ptr(&keys.cached());
        for _ in 0..100 {
            keys.jwks(Duration::days(7)).await;
        }
        assert_eq!(Arc::as_ptr(&keys.cached()), before, "answered from the parsed set, not re-read");
    }
}
