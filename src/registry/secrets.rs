//! The gateway's own secrets in the registry: its RSA signing keys (one current, recently
//! retired ones still published) and named secrets (the pseudonym secret the HMAC keys derive
//! from). Shared by every replica, so all publish one JWKS, sign with the same key and give a
//! user the same pseudonym; sealed at rest when a secret key is configured
//! ([`super::sealing`]).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::RegistryError;

/// A signing key as stored (the private key opened).
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    pub kid: String,
    pub created_at: DateTime<Utc>,
    /// Set once a newer key took over; published for a grace period after.
    pub retired_at: Option<DateTime<Utc>>,
    /// PKCS#1 PEM.
    pub private_pem: String,
}

/// Debug output never shows the private key.
impl std::fmt::Debug for SigningKeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyRecord")
            .field("kid", &self.kid)
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

#[async_trait]
pub trait SecretStore: Send + Sync {
    /// The secret stored under `name`, storing `value` first when there is none: of replicas
    /// starting together, all end up with the first one written.
    async fn secret_or_insert(&self, name: &str, value: &[u8]) -> Result<Vec<u8>, RegistryError>;
    /// Every signing key, oldest first.
    async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, RegistryError>;
    /// Stores the first keys of a database (generated, or carried over from a data folder);
    /// answers false, storing nothing, when another replica did already.
    async fn add_first_signing_keys(&self, keys: &[SigningKeyRecord]) -> Result<bool, RegistryError>;
    /// Retires the current keys at `now`, forgets keys retired before `forget_before` and adds
    /// `key` as the current one, in one transaction.
    async fn rotate_signing_keys(
        &self,
        key: &SigningKeyRecord,
        now: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> Result<(), RegistryError>;
}
