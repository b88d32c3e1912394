//! Fetching feed documents on top of the shared [`Outbound`] client: credentials, conditional
//! GET (`If-None-Match` / `If-Modified-Since`), a concurrency limit per host, and retries with
//! exponential backoff on 5xx, 429 and network errors, honouring `Retry-After`.
//!
//! Compressed answers (gzip, br) are accepted and inflated by the client; the body cap applies
//! to the inflated bytes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use rand::Rng;
use reqwest::header::{self, HeaderMap};
use reqwest::StatusCode;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::oauth::{ClientCredentials, TokenCache, TokenError};
use crate::error::{ErrorCode, HasErrorCode};
use crate::outbound::{FetchedBody, Outbound, OutboundError};
use crate::registry::SourceCredentials;

/// Requests to one host at once, so a harvest never hammers a publisher.
const PER_HOST_CONCURRENCY: usize = 2;

/// How hard to try before a request counts as failed.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all (the first one included).
    pub attempts: u32,
    /// Delay before the second attempt; doubled for each further one.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// A `Retry-After` longer than this ends the run instead of stalling it.
    pub max_retry_after: Duration,
    /// Whole-request timeout of one attempt.
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(120),
            request_timeout: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum FetchError {
    #[error(transparent)]
    Outbound(#[from] OutboundError),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("{url} answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url} answered HTTP {status} and asked to retry after {seconds} s; the run gives up")]
    RetryTooLate { url: String, status: u16, seconds: u64 },
    #[error("the gateway is shutting down")]
    Cancelled,
}

impl FetchError {
    /// The publisher's HTTP status, when it answered one.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            FetchError::Status { status, .. } | FetchError::RetryTooLate { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl HasErrorCode for FetchError {
    fn error_code(&self) -> ErrorCode {
        match self {
            FetchError::Outbound(err) => err.error_code(),
            _ => ErrorCode::Unavailable,
        }
    }
}

/// Validators of the last fetched version of a document.
#[derive(Debug, Clone, Default)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

impl Validators {
    /// The validators a response carries.
    pub fn of(headers: &HeaderMap) -> Self {
        let text = |name| headers.get(name).and_then(|v: &header::HeaderValue| v.to_str().ok()).map(str::to_string);
        Self { etag: text(header::ETAG), last_modified: text(header::LAST_MODIFIED) }
    }
}

/// The answer to a GET.
#[derive(Debug)]
pub enum Fetched {
    /// 304: the document did not change since the validators were taken.
    NotModified,
    Body(Box<FetchedBody>),
}

/// One GET as a harvest asks it.
pub struct FetchRequest<'a> {
    pub url: &'a str,
    pub credentials: &'a SourceCredentials,
    /// The `Accept` header.
    pub accept: &'a str,
    pub validators: Option<&'a Validators>,
}

/// Fetches feed documents; shared by every harvest (and, for single attempts, live search).
#[derive(Clone)]
pub struct Fetcher {
    outbound: Outbound,
    tokens: TokenCache,
    hosts: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
    policy: RetryPolicy,
    max_body: usize,
}

impl Fetcher {
    pub fn new(outbound: Outbound, policy: RetryPolicy, max_body: usize) -> Self {
        Self {
            tokens: TokenCache::new(outbound.clone()),
            outbound,
            hosts: Arc::new(Mutex::new(HashMap::new())),
            policy,
            max_body,
        }
    }

    pub fn outbound(&self) -> &Outbound {
        &self.outbound
    }

    /// The same fetcher (client, tokens, per-host limits) trying as `policy` says: what page
    /// fetches of a sitemap harvest use, with a shorter timeout and fewer attempts.
    pub fn with_policy(&self, policy: RetryPolicy) -> Self {
        Self { policy, ..self.clone() }
    }

    pub fn policy(&self) -> RetryPolicy {
        self.policy
    }

    /// GETs a document with retries; `requests` counts the HTTP requests made.
    pub async fn get(
        &self,
        request: &FetchRequest<'_>,
        requests: &mut usize,
        cancel: &CancellationToken,
    ) -> Result<Fetched, FetchError> {
        let host = host_key(request.url)?;
        let mut refreshed_token = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = {
                let permit_source = self.host_semaphore(&host);
                let _permit = tokio::select! {
                    permit = permit_source.acquire_owned() => permit.ok(),
                    () = cancel.cancelled() => return Err(FetchError::Cancelled),
                };
                *requests += 1;
                tokio::select! {
                    outcome = self.attempt(request, self.policy.request_timeout) => outcome,
                    () = cancel.cancelled() => return Err(FetchError::Cancelled),
                }
            };
            let retry_after = match outcome {
                Ok(body) if body.status == StatusCode::NOT_MODIFIED => return Ok(Fetched::NotModified),
                Ok(body) if body.status.is_success() => return Ok(Fetched::Body(Box::new(body))),
                Ok(body)
                    if body.status == StatusCode::UNAUTHORIZED
                        && !refreshed_token
                        && matches!(request.credentials, SourceCredentials::OAuthClient { .. }) =>
                {
                    // The token may have been revoked early: fetch a new one, once.
                    refreshed_token = true;
                    if let Some(credentials) = client_credentials(request.credentials) {
                        self.tokens.invalidate(credentials).await;
                    }
                    attempt -= 1;
                    continue;
                }
                Ok(body) if is_retryable_status(body.status) => {
                    let status = body.status.as_u16();
                    let wait = retry_after(&body.headers);
                    if attempt >= self.policy.attempts {
                        return Err(FetchError::Status { url: request.url.to_string(), status });
                    }
                    if let Some(wait) = wait.filter(|w| *w > self.policy.max_retry_after) {
                        return Err(FetchError::RetryTooLate {
                            url: request.url.to_string(),
                            status,
                            seconds: wait.as_secs(),
                        });
                    }
                    wait
                }
                Ok(body) => {
                    return Err(FetchError::Status { url: request.url.to_string(), status: body.status.as_u16() })
                }
                Err(FetchError::Outbound(err @ (OutboundError::Timeout { .. } | OutboundError::Network { .. })))
                    if attempt < self.policy.attempts =>
                {
                    tracing::debug!(url = request.url, error = %err, attempt, "fetch failed; retrying");
                    None
                }
                Err(err) => return Err(err),
            };
            let delay = retry_after.unwrap_or_else(|| backoff(&self.policy, attempt));
            tracing::debug!(
                url = request.url,
                attempt,
                delay_ms = delay.as_millis() as u64,
                "retrying after a temporary failure"
            );
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = cancel.cancelled() => return Err(FetchError::Cancelled),
            }
        }
    }

    /// One attempt, no retry and no host limit: what a live query (bounded by its deadline)
    /// sends.
    pub async fn get_once(&self, request: &FetchRequest<'_>, timeout: Duration) -> Result<FetchedBody, FetchError> {
        let body = self.attempt(request, timeout).await?;
        if body.status.is_success() {
            Ok(body)
        } else {
            Err(FetchError::Status { url: request.url.to_string(), status: body.status.as_u16() })
        }
    }

    async fn attempt(&self, request: &FetchRequest<'_>, timeout: Duration) -> Result<FetchedBody, FetchError> {
        let mut builder = self.outbound.get(request.url)?.header(header::ACCEPT, request.accept).timeout(timeout);
        if let Some(token) = self.bearer_token(request.credentials).await? {
            builder = builder.bearer_auth(token);
        }
        if let Some(validators) = request.validators {
            if let Some(etag) = &validators.etag {
                builder = builder.header(header::IF_NONE_MATCH, etag);
            }
            if let Some(modified) = &validators.last_modified {
                builder = builder.header(header::IF_MODIFIED_SINCE, modified);
            }
        }
        Ok(self.outbound.fetch(builder, self.max_body).await?)
    }

    /// The bearer token to send for these credentials, if any.
    async fn bearer_token(&self, credentials: &SourceCredentials) -> Result<Option<String>, TokenError> {
        match credentials {
            SourceCredentials::None => Ok(None),
            SourceCredentials::Bearer { token } => Ok(Some(token.clone())),
            SourceCredentials::OAuthClient { .. } => match client_credentials(credentials) {
                Some(client) => self.tokens.token(client).await.map(Some),
                None => Ok(None),
            },
        }
    }

    fn host_semaphore(&self, host: &str) -> Arc<Semaphore> {
        let mut hosts = match self.hosts.lock() {
            Ok(hosts) => hosts,
            Err(poisoned) => poisoned.into_inner(),
        };
        hosts.entry(host.to_string()).or_insert_with(|| Arc::new(Semaphore::new(PER_HOST_CONCURRENCY))).clone()
    }
}

fn client_credentials(credentials: &SourceCredentials) -> Option<ClientCredentials<'_>> {
    match credentials {
        SourceCredentials::OAuthClient { token_url, client_id, client_secret, scope } => {
            Some(ClientCredentials { token_url, client_id, client_secret, scope: scope.as_deref() })
        }
        _ => None,
    }
}

/// `host:port` of a URL: the unit the concurrency limit counts in.
fn host_key(raw: &str) -> Result<String, FetchError> {
    let url = url::Url::parse(raw).map_err(|_| OutboundError::BadUrl(raw.to_string()))?;
    let host = url.host_str().ok_or_else(|| OutboundError::BadUrl(raw.to_string()))?;
    Ok(format!("{host}:{}", url.port_or_known_default().unwrap_or(0)))
}

/// 5xx and 429 are the publisher's temporary trouble; other statuses will not change on retry.
fn is_retryable_status(status: StatusCode) -> bool {
    status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS
}

/// `Retry-After` as seconds or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let raw = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = raw.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(raw).ok()?;
    let now = std::time::SystemTime::from(Utc::now());
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Exponential backoff with jitter: about `base * 2^(attempt-1)`, capped.
fn backoff(policy: &RetryPolicy, attempt: u32) -> Duration {
    let exponent = attempt.saturating_sub(1).min(16);
    let full = policy.base_delay.saturating_mul(1 << exponent).min(policy.max_delay);
    let jitter = rand::thread_rng().gen_range(0.5..=1.0);
    full.mul_f64(jitter)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Instant;

    use axum::http::{HeaderMap as AxumHeaders, StatusCode as AxumStatus};
    use axum::response::IntoResponse;
    use axum::routing::get;

    use super::*;

    #[test]
    fn test_retry_after_reads_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        headers.insert(header::RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        let later = std::time::SystemTime::now() + Duration::from_secs(30);
        headers.insert(header::RETRY_AFTER, httpdate::fmt_http_date(later).parse().unwrap());
        let wait = retry_after(&headers).unwrap();
        assert!(wait > Duration::from_secs(25) && wait <= Duration::from_secs(30));
        headers.insert(header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn test_backoff_grows_and_is_capped() {
        let policy = RetryPolicy::default();
        let first = backoff(&policy, 1);
        assert!(first >= Duration::from_millis(125) && first <= Duration::from_millis(250));
        let third = backoff(&policy, 3);
        assert!(third >= Duration::from_millis(500) && third <= Duration::from_millis(1000));
        assert!(backoff(&policy, 30) <= policy.max_delay);
    }

    #[tokio::test]
    async fn test_get_retries_server_errors_and_sends_validators() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let app = axum::Router::new().route(
            "/feed",
            get(move |headers: AxumHeaders| {
                let counter = counter.clone();
                async move {
                    let n = counter.fetch_add(1, Ordering::SeqCst);
                    if headers.get("if-none-match").is_some() {
                        return AxumStatus::NOT_MODIFIED.into_response();
                    }
                    if n == 0 {
                        return (AxumStatus::BAD_GATEWAY, "try later").into_response();
                    }
                    ([("etag", "\"v1\"")], "catalog").into_response()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let outbound = Outbound::new(vec!["127.0.0.1/32".parse().unwrap()]).unwrap();
        let fetcher = Fetcher::new(outbound, RetryPolicy::default(), 1024);
        let url = format!("http://{addr}/feed");
        let none = SourceCredentials::None;
        let cancel = CancellationToken::new();
        let mut requests = 0;
        let started = Instant::now();
        let request = FetchRequest { url: &url, credentials: &none, accept: "*/*", validators: None };
        let Fetched::Body(body) = fetcher.get(&request, &mut requests, &cancel).await.unwrap() else {
            panic!("expected a body");
        };
        assert_eq!(body.body, b"catalog");
        assert_eq!(requests, 2);
        assert!(started.elapsed() >= Duration::from_millis(100));
        let validators = Validators::of(&body.headers);
        assert_eq!(validators.etag.as_deref(), Some("\"v1\""));
        let conditional = FetchRequest { validators: Some(&validators), ..request };
        assert!(matches!(fetcher.get(&conditional, &mut requests, &cancel).await, Ok(Fetched::NotModified)));
        assert_eq!(requests, 3);
    }
}
