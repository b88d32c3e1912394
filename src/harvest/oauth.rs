//! OAuth 2 client credentials toward publishers' feeds: a token is fetched from the source's
//! token URL (client authenticated with HTTP Basic, `client_secret_basic`) and cached until
//! shortly before it expires, so harvest pages and live queries reuse it.
//!
//! Errors name the token URL and the OAuth `error` code, never the secret or the token.

use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::future::Cache;
use moka::Expiry;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{ErrorCode, HasErrorCode};
use crate::outbound::{Outbound, OutboundError};

/// Lifetime assumed when the token response has no `expires_in`.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);
/// Tokens are dropped this long before they expire, so a request never carries a stale one.
const EXPIRY_MARGIN: Duration = Duration::from_secs(30);
/// A token response is small; anything larger is not one.
const MAX_TOKEN_RESPONSE_BYTES: usize = 64 * 1024;
/// Distinct client registrations kept at once.
const MAX_CACHED_TOKENS: u64 = 10_000;

#[derive(Debug, Clone, thiserror::Error)]
pub enum TokenError {
    #[error(transparent)]
    Outbound(#[from] OutboundError),
    #[error("the token endpoint {url} refused the client credentials (HTTP {status}{detail})")]
    Refused { url: String, status: u16, detail: String },
    #[error("the token endpoint {url} did not answer an access token: {message}")]
    BadResponse { url: String, message: String },
}

impl HasErrorCode for TokenError {
    fn error_code(&self) -> ErrorCode {
        ErrorCode::Unavailable
    }
}

/// The client registration a token belongs to. The secret enters only as a digest, so a
/// changed secret gets a new token and the key itself holds nothing sensitive.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenKey {
    pub token_url: String,
    pub client_id: String,
    pub scope: Option<String>,
    secret_digest: [u8; 32],
}

/// The client credentials of one source.
#[derive(Clone, Copy)]
pub struct ClientCredentials<'a> {
    pub token_url: &'a str,
    pub client_id: &'a str,
    pub client_secret: &'a str,
    pub scope: Option<&'a str>,
}

impl ClientCredentials<'_> {
    fn key(&self) -> TokenKey {
        TokenKey {
            token_url: self.token_url.to_string(),
            client_id: self.client_id.to_string(),
            scope: self.scope.map(str::to_string),
            secret_digest: Sha256::digest(self.client_secret.as_bytes()).into(),
        }
    }
}

/// An access token and how long the cache may keep it.
#[derive(Clone)]
struct CachedToken {
    access_token: String,
    keep_for: Duration,
}

struct TokenExpiry;

impl Expiry<TokenKey, Arc<CachedToken>> for TokenExpiry {
    fn expire_after_create(&self, _key: &TokenKey, value: &Arc<CachedToken>, _created_at: Instant) -> Option<Duration> {
        Some(value.keep_for)
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    expires_in: Option<serde_json::Value>,
    error: Option<String>,
}

/// Tokens by client registration, each kept until shortly before its expiry.
#[derive(Clone)]
pub struct TokenCache {
    outbound: Outbound,
    cache: Cache<TokenKey, Arc<CachedToken>>,
}

impl TokenCache {
    pub fn new(outbound: Outbound) -> Self {
        let cache = Cache::builder().max_capacity(MAX_CACHED_TOKENS).expire_after(TokenExpiry).build();
        Self { outbound, cache }
    }

    /// A valid access token: cached, or fetched now (concurrent callers share one fetch).
    pub async fn token(&self, credentials: ClientCredentials<'_>) -> Result<String, TokenError> {
        let key = credentials.key();
        let outbound = self.outbound.clone();
        let token_url = credentials.token_url.to_string();
        let client_id = credentials.client_id.to_string();
        let client_secret = credentials.client_secret.to_string();
        let scope = credentials.scope.map(str::to_string);
        let cached =
            self.cache
                .try_get_with(key, async move {
                    fetch_token(&outbound, &token_url, &client_id, &client_secret, scope).await
                })
                .await
                .map_err(|shared: Arc<TokenError>| (*shared).clone())?;
        Ok(cached.access_token.clone())
    }

    /// Forgets the token of these credentials (the resource server refused it).
    pub async fn invalidate(&self, credentials: ClientCredentials<'_>) {
        self.cache.invalidate(&credentials.key()).await;
    }
}

async fn fetch_token(
    outbound: &Outbound,
    token_url: &str,
    client_id: &str,
    client_secret: &str,
    scope: Option<String>,
) -> Result<Arc<CachedToken>, TokenError> {
    let mut form = vec![("grant_type", "client_credentials".to_string())];
    if let Some(scope) = scope.filter(|s| !s.trim().is_empty()) {
        form.push(("scope", scope));
    }
    let request = outbound
        .post(token_url)?
        .basic_auth(client_id, Some(client_secret))
        .header(reqwest::header::ACCEPT, "application/json")
        .timeout(Duration::from_secs(15))
        .form(&form);
    let answer = outbound.fetch(request, MAX_TOKEN_RESPONSE_BYTES).await?;
    let parsed: Option<TokenResponse> = serde_json::from_slice(&answer.body).ok();
    if !answer.status.is_success() {
        let detail = parsed
            .and_then(|p| p.error)
            .filter(|code| code.len() <= 64 && code.bytes().all(|b| b.is_ascii_graphic()))
            .map(|code| format!(", error {code}"))
            .unwrap_or_default();
        return Err(TokenError::Refused { url: token_url.to_string(), status: answer.status.as_u16(), detail });
    }
    let bad = |message: &str| TokenError::BadResponse { url: token_url.to_string(), message: message.to_string() };
    let parsed = parsed.ok_or_else(|| bad("the body is not a JSON token response"))?;
    let access_token = parsed.access_token.filter(|t| !t.is_empty()).ok_or_else(|| bad("no access_token"))?;
    let lifetime = parsed
        .expires_in
        .as_ref()
        .and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_LIFETIME);
    Ok(Arc::new(CachedToken { access_token, keep_for: keep_for(lifetime) }))
}

/// How long to keep a token of the given lifetime: until shortly before it expires.
fn keep_for(lifetime: Duration) -> Duration {
    let margin = EXPIRY_MARGIN.min(lifetime / 10);
    lifetime.saturating_sub(margin).max(Duration::from_secs(1))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::http::HeaderMap;
    use axum::routing::post;

    use super::*;

    #[test]
    fn test_tokens_are_kept_until_shortly_before_expiry() {
        assert_eq!(keep_for(Duration::from_secs(3600)), Duration::from_secs(3570));
        assert_eq!(keep_for(Duration::from_secs(60)), Duration::from_secs(54));
        assert_eq!(keep_for(Duration::from_secs(0)), Duration::from_secs(1));
    }

    #[tokio::test]
    async fn test_token_is_fetched_once_and_refusals_do_not_echo_the_secret() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let app = axum::Router::new().route(
            "/token",
            post(move |headers: HeaderMap, body: String| {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    // "client:secret" in Basic.
                    let authorized = headers.get("authorization").and_then(|v| v.to_str().ok())
                        == Some("Basic Y2xpZW50OnNlY3JldA==");
                    if authorized && body.contains("grant_type=client_credentials") {
                        (
                            axum::http::StatusCode::OK,
                            r#"{"access_token":"tok-1","token_type":"Bearer","expires_in":3600}"#,
                        )
                    } else {
                        (axum::http::StatusCode::UNAUTHORIZED, r#"{"error":"invalid_client"}"#)
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let outbound = Outbound::new(vec!["127.0.0.1/32".parse().unwrap()]).unwrap();
        let tokens = TokenCache::new(outbound);
        let url = format!("http://{addr}/token");
        let good =
            ClientCredentials { token_url: &url, client_id: "client", client_secret: "secret", scope: Some("rs.read") };
        assert_eq!(tokens.token(good).await.unwrap(), "tok-1");
        assert_eq!(tokens.token(good).await.unwrap(), "tok-1");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        tokens.invalidate(good).await;
        assert_eq!(tokens.token(good).await.unwrap(), "tok-1");
        assert_eq!(calls.load(Ordering::SeqCst), 2);

        let wrong = ClientCredentials { client_secret: "wrong-secret-value", ..good };
        let err = tokens.token(wrong).await.unwrap_err().to_string();
        assert!(err.contains("invalid_client") && err.contains("401"), "{err}");
        assert!(!err.contains("wrong-secret-value"), "{err}");
    }
}
