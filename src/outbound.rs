//! The one outbound HTTP client: harvesting, live federation and JWKS fetching all go through
//! it, so timeouts, the body-size cap, the user agent, the redirect policy and the guard
//! against reaching private networks are the same everywhere.
//!
//! The guard runs twice: on the URL (scheme, literal IP hosts, every redirect hop) and in the
//! DNS resolver (every address a name resolves to), so a public name that resolves to a private
//! address is refused too. `GATEWAY_ALLOW_NETWORKS` lists the exceptions (e.g. `127.0.0.1/32`
//! in tests).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::HeaderMap;
use reqwest::{redirect, RequestBuilder, StatusCode, Url};

use crate::error::{ErrorCode, HasErrorCode};

/// Redirects followed at most.
const MAX_REDIRECTS: usize = 5;
/// Default cap of a response body.
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024 * 1024;

#[derive(Debug, Clone, thiserror::Error)]
pub enum OutboundError {
    #[error("'{0}' is not an http(s) URL")]
    BadUrl(String),
    #[error("{0} is a loopback, private or link-local address; add it to GATEWAY_ALLOW_NETWORKS to allow it")]
    Forbidden(String),
    #[error("request to {url} timed out")]
    Timeout { url: String },
    #[error("request to {url} failed: {message}")]
    Network { url: String, message: String },
    #[error("response from {url} is larger than {limit} bytes")]
    TooLarge { url: String, limit: usize },
}

impl HasErrorCode for OutboundError {
    fn error_code(&self) -> ErrorCode {
        match self {
            OutboundError::BadUrl(_) | OutboundError::Forbidden(_) => ErrorCode::BadUserInput,
            _ => ErrorCode::Unavailable,
        }
    }
}

/// Which addresses outbound requests may reach.
#[derive(Debug, Clone, Default)]
pub struct AddressGuard {
    allowed: Vec<IpNet>,
}

impl AddressGuard {
    pub fn new(allowed: Vec<IpNet>) -> Self {
        Self { allowed }
    }

    /// Public unicast addresses are fine; others only when explicitly allowed.
    pub fn permits(&self, ip: IpAddr) -> bool {
        if self.allowed.iter().any(|net| net.contains(&ip)) {
            return true;
        }
        !is_internal(ip)
    }

    /// Whether the configuration names this address (not merely "it is public").
    pub fn allows_explicitly(&self, ip: IpAddr) -> bool {
        self.allowed.iter().any(|net| net.contains(&ip))
    }

    /// Checks a URL before any request: http(s) only, and a literal IP host must be permitted.
    pub fn check_url(&self, raw: &str) -> Result<Url, OutboundError> {
        let url = Url::parse(raw).map_err(|_| OutboundError::BadUrl(raw.to_string()))?;
        self.check_parsed(&url)?;
        Ok(url)
    }

    fn check_parsed(&self, url: &Url) -> Result<(), OutboundError> {
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(OutboundError::BadUrl(url.to_string()));
        }
        let literal = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        if let Some(ip) = literal {
            if !self.permits(ip) {
                return Err(OutboundError::Forbidden(ip.to_string()));
            }
        }
        // `localhost`, `localhost.` (the same name, fully qualified) and every name under it
        // resolve to loopback (RFC 6761), whatever DNS says.
        let name = url.host_str().unwrap_or_default().trim_end_matches('.').to_ascii_lowercase();
        if (name == "localhost" || name.ends_with(".localhost")) && !self.permits(IpAddr::from([127, 0, 0, 1])) {
            return Err(OutboundError::Forbidden(name));
        }
        Ok(())
    }
}

/// Loopback, private, link-local, shared, unspecified, multicast, documentation: not the
/// public internet.
fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let octets = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || octets[0] == 0
                || (octets[0] == 100 && (64..128).contains(&octets[1]))
                || (octets[0] == 198 && (octets[1] == 18 || octets[1] == 19))
                || octets[0] >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(mapped) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(mapped));
            }
            let segments = v6.segments();
            let first = segments[0];
            // Addresses that embed an IPv4 address: NAT64, 6to4, IPv4-compatible.
            let embedded = |high: u16, low: u16| {
                std::net::Ipv4Addr::new((high >> 8) as u8, high as u8, (low >> 8) as u8, low as u8)
            };
            if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0]
                || segments[..6] == [0, 0, 0, 0, 0, 0] && !v6.is_loopback() && !v6.is_unspecified()
            {
                return is_internal(IpAddr::V4(embedded(segments[6], segments[7])));
            }
            if first == 0x2002 {
                return is_internal(IpAddr::V4(embedded(segments[1], segments[2])));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || (first & 0xffc0) == 0xfec0
        }
    }
}

/// Resolves names and drops every address the guard refuses.
struct GuardedResolver {
    guard: Arc<AddressGuard>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.guard.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let permitted: Vec<SocketAddr> = resolved.into_iter().filter(|addr| guard.permits(addr.ip())).collect();
            if permitted.is_empty() {
                let err: Box<dyn std::error::Error + Send + Sync> =
                    Box::new(OutboundError::Forbidden(format!("{host} (resolves only to refused addresses)")));
                return Err(err);
            }
            let addrs: Addrs = Box::new(permitted.into_iter());
            Ok(addrs)
        })
    }
}

/// A response read within the body cap.
#[derive(Debug, Clone)]
pub struct FetchedBody {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// The URL after redirects.
    pub url: Url,
}

/// The shared client. Cheap to clone.
#[derive(Clone)]
pub struct Outbound {
    client: reqwest::Client,
    guard: Arc<AddressGuard>,
}

impl Outbound {
    pub fn new(allowed: Vec<IpNet>) -> Result<Self, OutboundError> {
        let guard = Arc::new(AddressGuard::new(allowed));
        let redirect_guard = guard.clone();
        let policy = redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
            }
            let downgrade = attempt.previous().last().is_some_and(|from| from.scheme() == "https")
                && attempt.url().scheme() == "http";
            if downgrade {
                // Credentials must never follow a redirect to cleartext.
                return attempt.error("refusing a redirect from https to http");
            }
            match redirect_guard.check_parsed(attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(err) => attempt.error(err),
            }
        });
        let client = reqwest::Client::builder()
            .user_agent(concat!("resource-gateway/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(60))
            .redirect(policy)
            // A proxy would resolve names itself, around the guard.
            .no_proxy()
            .referer(false)
            .dns_resolver(Arc::new(GuardedResolver { guard: guard.clone() }))
            .build()
            .map_err(|err| OutboundError::Network { url: String::new(), message: err.to_string() })?;
        Ok(Self { client, guard })
    }

    pub fn guard(&self) -> &AddressGuard {
        &self.guard
    }

    /// A GET request builder for a URL that passed the guard.
    pub fn get(&self, url: &str) -> Result<RequestBuilder, OutboundError> {
        let url = self.guard.check_url(url)?;
        Ok(self.client.get(url))
    }

    /// A POST request builder for a URL that passed the guard.
    pub fn post(&self, url: &str) -> Result<RequestBuilder, OutboundError> {
        let url = self.guard.check_url(url)?;
        Ok(self.client.post(url))
    }

    /// Sends a request and reads the body, stopping at `max_body` bytes.
    pub async fn fetch(&self, request: RequestBuilder, max_body: usize) -> Result<FetchedBody, OutboundError> {
        let request = request.build().map_err(|err| OutboundError::BadUrl(err.to_string()))?;
        let url = request.url().to_string();
        self.guard.check_parsed(request.url())?;
        let response = self.client.execute(request).await.map_err(|err| classify(&url, err))?;
        let status = response.status();
        let headers = response.headers().clone();
        let final_url = response.url().clone();
        if response.content_length().is_some_and(|len| len > max_body as u64) {
            return Err(OutboundError::TooLarge { url, limit: max_body });
        }
        let mut body = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|err| classify(&url, err))?;
            if body.len() + chunk.len() > max_body {
                return Err(OutboundError::TooLarge { url, limit: max_body });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(FetchedBody { status, headers, body, url: final_url })
    }
}

fn classify(url: &str, err: reqwest::Error) -> OutboundError {
    if err.is_timeout() {
        return OutboundError::Timeout { url: url.to_string() };
    }
    let mut message = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        if let Some(forbidden) = cause.downcast_ref::<OutboundError>() {
            return forbidden.clone();
        }
        message = format!("{message}: {cause}");
        source = cause.source();
    }
    OutboundError::Network { url: url.to_string(), message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_guard_refuses_internal_addresses_unless_allowed() {
        let guard = AddressGuard::default();
        for url in [
            "http://127.0.0.1/x",
            "http://10.1.2.3/",
            "http://192.168.0.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/",
            "http://[fd00::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://localhost:8080/",
            "http://localhost.:8080/",
            "http://LocalHost../",
            "http://tenant.localhost/",
            "http://0.0.0.0/",
            "http://[64:ff9b::a00:1]/",
            "http://[2002:c0a8:101::1]/",
            "http://[::10.0.0.1]/",
            "http://[fec0::1]/",
        ] {
            assert!(matches!(guard.check_url(url), Err(OutboundError::Forbidden(_))), "{url}");
        }
        assert!(matches!(guard.check_url("ftp://example.com/"), Err(OutboundError::BadUrl(_))));
        assert!(matches!(guard.check_url("file:///etc/passwd"), Err(OutboundError::BadUrl(_))));
        assert!(guard.check_url("https://93.184.216.34/").is_ok());
        assert!(guard.check_url("https://publisher.example.com/feed").is_ok());

        let allowed = AddressGuard::new(vec!["127.0.0.1/32".parse().unwrap()]);
        assert!(allowed.check_url("http://127.0.0.1:9000/").is_ok());
        assert!(allowed.check_url("http://localhost:9000/").is_ok());
        assert!(allowed.check_url("http://127.0.0.2/").is_err());
    }

    #[tokio::test]
    async fn test_fetch_caps_the_body_and_refuses_redirects_to_internal_hosts() {
        use axum::response::Redirect;
        use axum::routing::get;
        let app = axum::Router::new()
            .route("/big", get(|| async { "x".repeat(10_000) }))
            .route("/small", get(|| async { "hello" }))
            .route("/to-metadata", get(|| async { Redirect::temporary("http://169.254.169.254/latest") }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

        let refused = Outbound::new(Vec::new()).unwrap();
        assert!(matches!(refused.get(&format!("http://{addr}/small")), Err(OutboundError::Forbidden(_))));

        let outbound = Outbound::new(vec!["127.0.0.1/32".parse().unwrap()]).unwrap();
        let small = outbound.fetch(outbound.get(&format!("http://{addr}/small")).unwrap(), 100).await.unwrap();
        assert_eq!(small.body, b"hello");
        let big = outbound.fetch(outbound.get(&format!("http://{addr}/big")).unwrap(), 100).await;
        assert!(matches!(big, Err(OutboundError::TooLarge { .. })), "{big:?}");
        let redirected = outbound.fetch(outbound.get(&format!("http://{addr}/to-metadata")).unwrap(), 100).await;
        assert!(matches!(redirected, Err(OutboundError::Forbidden(_))), "{redirected:?}");
    }
}
