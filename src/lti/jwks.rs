//! Platforms' public keys, fetched with the shared outbound client and cached. An unknown
//! `kid` causes one refetch, so a platform's key rotation is picked up at once.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::jwk::{Jwk, JwkSet};
use moka::future::Cache;

use super::LtiError;
use crate::outbound::Outbound;

/// Largest JWKS document accepted.
const MAX_JWKS_BYTES: usize = 256 * 1024;
/// How long a fetched key set is trusted before it is fetched again.
const JWKS_TTL: Duration = Duration::from_secs(600);

/// After a refetch for an unknown `kid`, the next one waits this long: forged tokens with
/// random kids cannot make the gateway hammer a platform's or tool's JWKS endpoint.
const REFETCH_PAUSE: Duration = Duration::from_secs(10);

/// Key sets by JWKS URL.
pub struct JwksCache {
    outbound: Outbound,
    cache: Cache<String, Arc<JwkSet>>,
    /// URLs refetched for an unknown kid within the last [`REFETCH_PAUSE`].
    recently_refetched: Cache<String, ()>,
}

impl JwksCache {
    pub fn new(outbound: Outbound) -> Self {
        Self {
            outbound,
            cache: Cache::builder().max_capacity(1_000).time_to_live(JWKS_TTL).build(),
            recently_refetched: Cache::builder().max_capacity(1_000).time_to_live(REFETCH_PAUSE).build(),
        }
    }

    /// The key with `kid` from the set at `url`, refetching once when it is not in the cached set.
    pub async fn key(&self, url: &str, kid: &str) -> Result<Jwk, LtiError> {
        let unknown = || LtiError::InvalidToken(format!("kid '{kid}' is not in the JWKS at {url}"));
        if let Some(set) = self.cache.get(url).await {
            if let Some(key) = set.find(kid) {
                return Ok(key.clone());
            }
            // A kid the cached set lacks: refetch once (a rotation), but not again at once.
            if self.recently_refetched.contains_key(url) {
                return Err(unknown());
            }
            self.recently_refetched.insert(url.to_string(), ()).await;
        }
        let set = Arc::new(self.fetch(url).await?);
        self.cache.insert(url.to_string(), set.clone()).await;
        set.find(kid)
            .cloned()
            .ok_or_else(|| LtiError::InvalidToken(format!("kid '{kid}' is not in the platform's JWKS at {url}")))
    }

    async fn fetch(&self, url: &str) -> Result<JwkSet, LtiError> {
        let request = self.outbound.get(url).map_err(|err| LtiError::Jwks(err.to_string()))?;
        let response = self
            .outbound
            .fetch(request.timeout(Duration::from_secs(5)), MAX_JWKS_BYTES)
            .await
            .map_err(|err| LtiError::Jwks(err.to_string()))?;
        if !response.status.is_success() {
            return Err(LtiError::Jwks(format!("{url} answered HTTP {}", response.status.as_u16())));
        }
        serde_json::from_slice(&response.body).map_err(|err| LtiError::Jwks(format!("{url} is not a JWKS: {err}")))
    }
}
