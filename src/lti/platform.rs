//! Registering LMS platforms, and finding the one a message comes from.

use chrono::Utc;
use sha2::{Digest, Sha256};

use super::{Lti, LtiError};
use crate::registry::Platform;

/// What the district admin enters for an LMS (from its developer-key / tool registration page).
#[derive(Debug, Clone, Default)]
pub struct PlatformInput {
    pub issuer: String,
    pub client_id: String,
    pub deployment_ids: Vec<String>,
    pub auth_login_url: String,
    pub jwks_url: String,
    pub token_url: Option<String>,
    pub name: Option<String>,
}

/// A stable id for an issuer and client id pair.
pub fn platform_id(issuer: &str, client_id: &str) -> String {
    let digest = Sha256::digest(format!("{issuer}\n{client_id}").as_bytes());
    format!("plt-{}", &hex::encode(digest)[..16])
}

impl Lti {
    /// Registers a platform, or updates the one with the same issuer and client id.
    /// URLs must be https, except for hosts the outbound allow-list names (test LMSs).
    pub async fn register_platform(&self, input: PlatformInput) -> Result<Platform, LtiError> {
        let issuer = input.issuer.trim().to_string();
        let client_id = input.client_id.trim().to_string();
        if issuer.is_empty() || client_id.is_empty() {
            return Err(LtiError::BadRequest("issuer and clientId are required".into()));
        }
        let deployment_ids: Vec<String> =
            input.deployment_ids.iter().map(|d| d.trim().to_string()).filter(|d| !d.is_empty()).collect();
        if deployment_ids.is_empty() {
            return Err(LtiError::BadRequest("at least one deployment id is required".into()));
        }
        self.check_platform_url(&issuer, "issuer", false)?;
        self.check_platform_url(&input.auth_login_url, "authLoginUrl", true)?;
        self.check_platform_url(&input.jwks_url, "jwksUrl", true)?;
        if let Some(token_url) = &input.token_url {
            self.check_platform_url(token_url, "tokenUrl", true)?;
        }
        let platform = Platform {
            id: platform_id(&issuer, &client_id),
            issuer,
            client_id,
            deployment_ids,
            auth_login_url: input.auth_login_url.trim().to_string(),
            jwks_url: input.jwks_url.trim().to_string(),
            token_url: input.token_url.map(|t| t.trim().to_string()),
            name: input.name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty()),
            created_at: Utc::now(),
        };
        let saved = self.store.upsert_platform(&platform).await?;
        tracing::info!(platform = %saved.id, issuer = %saved.issuer, client_id = %saved.client_id, "LMS platform registered");
        Ok(saved)
    }

    pub async fn platforms(&self) -> Result<Vec<Platform>, LtiError> {
        Ok(self.store.platforms().await?)
    }

    /// The platform of an issuer (and client id, needed when the issuer has several).
    pub async fn find_platform(&self, issuer: &str, client_id: Option<&str>) -> Result<Platform, LtiError> {
        let candidates = self.store.platforms_by_issuer(issuer).await?;
        let unknown =
            || LtiError::UnknownPlatform { issuer: issuer.to_string(), client_id: client_id.map(str::to_string) };
        match client_id {
            Some(client_id) => candidates.into_iter().find(|p| p.client_id == client_id).ok_or_else(unknown),
            None if candidates.len() > 1 => Err(LtiError::BadRequest(format!(
                "issuer '{issuer}' has several client ids registered: the platform must send client_id"
            ))),
            None => candidates.into_iter().next().ok_or_else(unknown),
        }
    }

    /// An https URL, or http to a host the outbound allow-list permits.
    fn check_platform_url(&self, raw: &str, what: &str, outbound: bool) -> Result<(), LtiError> {
        let url = url::Url::parse(raw.trim()).map_err(|_| LtiError::BadRequest(format!("{what} must be a URL")))?;
        match url.scheme() {
            "https" if !outbound => Ok(()),
            "https" => self
                .guard
                .check_url(url.as_str())
                .map(|_| ())
                .map_err(|err| LtiError::BadRequest(format!("{what}: {err}"))),
            "http" if self.http_allowed(&url) => Ok(()),
            _ => Err(LtiError::BadRequest(format!(
                "{what} must be https (http only for hosts in GATEWAY_ALLOW_NETWORKS)"
            ))),
        }
    }

    pub(crate) fn http_allowed(&self, url: &url::Url) -> bool {
        let ip = match url.host() {
            Some(url::Host::Ipv4(ip)) => std::net::IpAddr::V4(ip),
            Some(url::Host::Ipv6(ip)) => std::net::IpAddr::V6(ip),
            Some(url::Host::Domain("localhost")) => std::net::IpAddr::from([127, 0, 0, 1]),
            _ => return false,
        };
        self.guard.allows_explicitly(ip)
    }
}
