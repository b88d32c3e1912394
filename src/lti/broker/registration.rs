//! LTI Dynamic Registration 1.0, platform side: a publisher's tool registers itself with the
//! gateway (as edu-sharing offers it to tools).
//!
//! The publisher (its key) or the admin starts a registration for the publisher's tool and
//! gets a single-use, expiring registration token; opening the tool's registration URL with
//! `openid_configuration` and `registration_token` lets the tool read the gateway's platform
//! configuration and post its client registration to `/lti/platform/register`. The gateway
//! issues the client id (so no publisher can claim one another's tool uses) and a deployment
//! id, and the tool is registered for that publisher exactly as `registerPublisherTool` would.

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use super::tools::ToolInput;
use super::RELAYED_SCOPES;
use crate::auth::{hash_key, random_secret};
use crate::lti::claims;
use crate::lti::registration::{RegistrationError, MAX_LINK_HOURS, TOOL_CONFIGURATION};
use crate::lti::{Lti, LtiError};
use crate::registry::{PublisherTool, RegistrationGrant, RegistrationKind};
use crate::resource::PublisherId;

/// The deployment id of a tool that registered itself: one deployment per client id.
pub const DYNAMIC_DEPLOYMENT_ID: &str = "1";

/// What a publisher hands its tool (or opens in a browser) to start a registration.
#[derive(Debug, Clone)]
pub struct ToolRegistrationLink {
    /// The tool's registration URL with both parameters added, when it was given.
    pub url: Option<String>,
    pub openid_configuration: String,
    pub registration_token: String,
    pub expires_at: DateTime<Utc>,
}

/// An OAuth error answer of the registration endpoint (RFC 7591 §3.2.2).
#[derive(Debug, Clone)]
pub struct ToolRegistrationError {
    pub status: u16,
    pub error: &'static str,
    pub description: String,
}

impl ToolRegistrationError {
    fn metadata(description: impl Into<String>) -> Self {
        Self { status: 400, error: "invalid_client_metadata", description: description.into() }
    }

    fn redirect_uri(description: impl Into<String>) -> Self {
        Self { status: 400, error: "invalid_redirect_uri", description: description.into() }
    }

    pub fn body(&self) -> Value {
        json!({ "error": self.error, "error_description": self.description })
    }
}

impl From<RegistrationError> for ToolRegistrationError {
    fn from(err: RegistrationError) -> Self {
        match err {
            RegistrationError::UnknownLink | RegistrationError::Unusable(_) => Self {
                status: 401,
                error: "invalid_token",
                description:
                    "the registration token is unknown, expired or already used: ask the publisher for a new one".into(),
            },
            RegistrationError::Busy => Self {
                status: 409,
                error: "invalid_token",
                description: "the registration token is being used by another registration right now".into(),
            },
            other => Self { status: 500, error: "server_error", description: other.to_string() },
        }
    }
}

impl From<LtiError> for ToolRegistrationError {
    fn from(err: LtiError) -> Self {
        match err {
            LtiError::BadRequest(message) | LtiError::NotAccepted(message) => Self::metadata(message),
            LtiError::Registry(crate::registry::RegistryError::Conflict(message)) => Self::metadata(message),
            other => {
                tracing::error!(error = %other, "tool registration failed");
                Self { status: 500, error: "server_error", description: "the gateway could not store the tool".into() }
            }
        }
    }
}

fn text<'a>(value: &'a Value, name: &str) -> Option<&'a str> {
    value.get(name).and_then(Value::as_str).map(str::trim).filter(|t| !t.is_empty())
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).map(|s| s.trim().to_string()).collect())
        .unwrap_or_default()
}

/// The host and port of a URL as LTI's `domain` names them (`host`, or `host:port` when the
/// port is not the scheme's default).
fn domain_of(raw: &str) -> Option<String> {
    let url = url::Url::parse(raw).ok()?;
    let host = url.host_str()?.to_ascii_lowercase();
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    })
}

/// A tool's client registration, checked.
struct ToolClient {
    name: Option<String>,
    login_url: String,
    launch_url: String,
    redirect_uris: Vec<String>,
    jwks_url: String,
    domain: String,
    scopes: Vec<String>,
}

fn read_client(body: &[u8]) -> Result<ToolClient, ToolRegistrationError> {
    let request: Value = serde_json::from_slice(body)
        .map_err(|err| ToolRegistrationError::metadata(format!("the registration is not JSON: {err}")))?;
    if !request.is_object() {
        return Err(ToolRegistrationError::metadata("the registration must be a JSON object"));
    }
    let required = |name: &str| {
        text(&request, name)
            .map(str::to_string)
            .ok_or_else(|| ToolRegistrationError::metadata(format!("{name} is required")))
    };
    if text(&request, "application_type").is_some_and(|t| t != "web") {
        return Err(ToolRegistrationError::metadata("application_type must be web"));
    }
    if !strings(request.get("response_types")).iter().any(|t| t == "id_token") {
        return Err(ToolRegistrationError::metadata("response_types must contain id_token"));
    }
    let grants = strings(request.get("grant_types"));
    if !grants.is_empty() && !grants.iter().any(|g| g == "implicit") {
        return Err(ToolRegistrationError::metadata("grant_types must contain implicit (the LTI launch)"));
    }
    if text(&request, "token_endpoint_auth_method") != Some("private_key_jwt") {
        return Err(ToolRegistrationError::metadata("token_endpoint_auth_method must be private_key_jwt"));
    }
    let login_url = required("initiate_login_uri")?;
    let jwks_url = required("jwks_uri")?;
    let redirect_uris = strings(request.get("redirect_uris"));
    if redirect_uris.is_empty() {
        return Err(ToolRegistrationError::redirect_uri("redirect_uris must name at least one URI"));
    }
    let tool = request
        .get(TOOL_CONFIGURATION)
        .filter(|t| t.is_object())
        .ok_or_else(|| ToolRegistrationError::metadata(format!("{TOOL_CONFIGURATION} is required")))?;
    let launch_url = text(tool, "target_link_uri")
        .map(str::to_string)
        .ok_or_else(|| ToolRegistrationError::metadata("target_link_uri is required in the tool configuration"))?;
    let launch_domain = domain_of(&launch_url)
        .ok_or_else(|| ToolRegistrationError::metadata(format!("target_link_uri '{launch_url}' is not a URL")))?;
    let domain = text(tool, "domain").map(str::to_ascii_lowercase).unwrap_or_else(|| launch_domain.clone());
    let within = launch_domain == domain || launch_domain.ends_with(&format!(".{domain}"));
    if !within {
        return Err(ToolRegistrationError::metadata(format!(
            "target_link_uri '{launch_url}' is not on the tool's domain '{domain}'"
        )));
    }
    let messages = tool.get("messages").and_then(Value::as_array).cloned().unwrap_or_default();
    let launches_links = messages.is_empty()
        || messages.iter().any(|m| m.get("type").and_then(Value::as_str) == Some(claims::RESOURCE_LINK_REQUEST));
    if !launches_links {
        return Err(ToolRegistrationError::metadata(
            "the gateway launches tools with LtiResourceLinkRequest, which this tool's messages do not list",
        ));
    }
    let scopes = text(&request, "scope").unwrap_or_default().split_whitespace().map(str::to_string).collect();
    Ok(ToolClient {
        name: text(&request, "client_name").map(str::to_string),
        login_url,
        launch_url,
        redirect_uris,
        jwks_url,
        domain,
        scopes,
    })
}

impl Lti {
    /// Starts a registration for one of `publisher`'s tools; `tool_url` is the tool's own
    /// registration (initiation) URL, when the publisher has it.
    pub async fn create_tool_registration(
        &self,
        publisher: &PublisherId,
        name: Option<String>,
        share_personal_data: bool,
        tool_url: Option<&str>,
        lifetime: Duration,
    ) -> Result<ToolRegistrationLink, LtiError> {
        if lifetime <= Duration::zero() || lifetime > Duration::hours(MAX_LINK_HOURS) {
            return Err(LtiError::BadRequest(format!(
                "a registration token lives between a minute and {MAX_LINK_HOURS} hours"
            )));
        }
        let tool_url = tool_url.map(str::trim).filter(|u| !u.is_empty());
        if let Some(raw) = tool_url {
            self.check_tool_url(raw, "registrationUrl")?;
        }
        let token = random_secret();
        let now = Utc::now();
        let grant = RegistrationGrant {
            token_hash: hash_key(&token),
            kind: RegistrationKind::Tool,
            publisher: Some(publisher.clone()),
            name: name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty()),
            personal_data: share_personal_data,
            created_at: now,
            expires_at: now + lifetime,
            claimed_at: None,
            completed_at: None,
            registered_id: None,
        };
        let expires_at = grant.expires_at;
        self.registrations.insert_registration(&grant).await?;
        let openid_configuration = self.platform_configuration_url();
        let url = match tool_url {
            Some(raw) => {
                let mut url =
                    url::Url::parse(raw).map_err(|_| LtiError::BadRequest("registrationUrl must be a URL".into()))?;
                url.query_pairs_mut()
                    .append_pair("openid_configuration", &openid_configuration)
                    .append_pair("registration_token", &token);
                Some(url.to_string())
            }
            None => None,
        };
        Ok(ToolRegistrationLink { url, openid_configuration, registration_token: token, expires_at })
    }

    pub fn platform_configuration_url(&self) -> String {
        format!("{}/lti/platform/openid-configuration", self.public_url)
    }

    pub fn platform_registration_url(&self) -> String {
        format!("{}/lti/platform/register", self.public_url)
    }

    /// The gateway's OpenID configuration as a platform toward publishers' tools.
    pub fn platform_configuration(&self) -> Value {
        let scopes: Vec<&str> = ["openid"].into_iter().chain(RELAYED_SCOPES.iter().copied()).collect();
        json!({
            "issuer": self.platform_issuer(),
            "authorization_endpoint": self.platform_auth_url(),
            "token_endpoint": self.platform_token_url(),
            "jwks_uri": self.jwks_url(),
            "registration_endpoint": self.platform_registration_url(),
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
            "scopes_supported": scopes,
            "response_types_supported": ["id_token"],
            "response_modes_supported": ["form_post"],
            "grant_types_supported": ["implicit", "client_credentials"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "claims_supported": ["iss", "sub", "aud", "iat", "exp", "nonce", "name", "given_name", "family_name",
                                 "email", "picture", "locale"],
            "https://purl.imsglobal.org/spec/lti-platform-configuration": {
                "product_family_code": "resource-gateway",
                "version": env!("CARGO_PKG_VERSION"),
                "messages_supported": [{ "type": claims::RESOURCE_LINK_REQUEST }],
            },
        })
    }

    /// The registration endpoint: a tool posts its client registration with the registration
    /// token as bearer; answers the registration as accepted, with the issued client id.
    pub async fn register_tool_dynamically(
        &self,
        bearer: Option<&str>,
        body: &[u8],
    ) -> Result<Value, ToolRegistrationError> {
        let result = self.register_tool_dynamically_inner(bearer, body).await;
        if let Err(err) = &result {
            tracing::warn!(error = err.error, reason = %err.description, "tool Dynamic Registration refused");
        }
        result
    }

    async fn register_tool_dynamically_inner(
        &self,
        bearer: Option<&str>,
        body: &[u8],
    ) -> Result<Value, ToolRegistrationError> {
        let token = bearer.map(str::trim).filter(|t| !t.is_empty()).ok_or_else(|| ToolRegistrationError {
            status: 401,
            error: "invalid_token",
            description: "send the registration token as Authorization: Bearer".into(),
        })?;
        let grant = self.usable_grant(token, RegistrationKind::Tool).await?;
        let client = read_client(body)?;
        let publisher =
            grant.publisher.clone().ok_or_else(|| ToolRegistrationError::metadata("the token names no publisher"))?;
        self.claim_grant(&grant).await?;
        let outcome = self.register_claimed_tool(&grant, &publisher, &client).await;
        let settled = match &outcome {
            Ok((tool, _)) => self.registrations.complete_registration(&grant.token_hash, &tool.id).await,
            Err(_) => self.registrations.release_registration(&grant.token_hash).await,
        };
        settled.map_err(LtiError::from)?;
        let (tool, granted) = outcome?;
        tracing::info!(tool = %tool.id, publisher = %tool.publisher, "publisher tool registered itself");
        let mut claims = vec!["iss", "sub"];
        if tool.share_personal_data {
            claims.extend(["name", "given_name", "family_name", "email", "picture", "locale"]);
        }
        Ok(json!({
            "client_id": tool.client_id,
            "application_type": "web",
            "response_types": ["id_token"],
            "grant_types": ["implicit", "client_credentials"],
            "initiate_login_uri": tool.login_url,
            "redirect_uris": tool.redirect_uris,
            "client_name": tool.name,
            "jwks_uri": tool.jwks_url,
            "token_endpoint_auth_method": "private_key_jwt",
            "scope": granted.join(" "),
            TOOL_CONFIGURATION: {
                "domain": client.domain,
                "target_link_uri": tool.launch_url,
                "deployment_id": tool.deployment_id,
                "claims": claims,
                "messages": [{ "type": claims::RESOURCE_LINK_REQUEST, "target_link_uri": tool.launch_url }],
            },
        }))
    }

    async fn register_claimed_tool(
        &self,
        grant: &RegistrationGrant,
        publisher: &PublisherId,
        client: &ToolClient,
    ) -> Result<(PublisherTool, Vec<String>), ToolRegistrationError> {
        let tool = self
            .register_tool(
                publisher,
                ToolInput {
                    name: client.name.clone().or_else(|| grant.name.clone()),
                    login_url: client.login_url.clone(),
                    launch_url: client.launch_url.clone(),
                    redirect_uris: client.redirect_uris.clone(),
                    client_id: format!("rg-{}", &random_secret()[..24]),
                    deployment_id: DYNAMIC_DEPLOYMENT_ID.to_string(),
                    jwks_url: client.jwks_url.clone(),
                    share_personal_data: grant.personal_data,
                },
            )
            .await
            .map_err(|err| match err {
                LtiError::BadRequest(message) if message.starts_with("redirectUris") => {
                    ToolRegistrationError::redirect_uri(message)
                }
                other => other.into(),
            })?;
        let granted: Vec<String> =
            client.scopes.iter().filter(|s| RELAYED_SCOPES.contains(&s.as_str())).cloned().collect();
        Ok((tool, granted))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registration(tool: Value) -> Vec<u8> {
        json!({
            "application_type": "web", "response_types": ["id_token"], "grant_types": ["implicit", "client_credentials"],
            "initiate_login_uri": "https://tool.example.com/login", "redirect_uris": ["https://tool.example.com/launch"],
            "jwks_uri": "https://tool.example.com/jwks", "token_endpoint_auth_method": "private_key_jwt",
            "scope": "https://purl.imsglobal.org/spec/lti-ags/scope/score",
            TOOL_CONFIGURATION: tool,
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn test_client_registrations_are_checked() {
        let ok = read_client(&registration(json!({ "domain": "tool.example.com",
            "target_link_uri": "https://tool.example.com/launch",
            "messages": [{ "type": "LtiResourceLinkRequest" }, { "type": "LtiDeepLinkingRequest" }] })))
        .unwrap_or_else(|err| panic!("{}", err.description));
        assert_eq!(ok.launch_url, "https://tool.example.com/launch");
        assert_eq!(ok.scopes, vec!["https://purl.imsglobal.org/spec/lti-ags/scope/score"]);

        let elsewhere = read_client(&registration(
            json!({ "domain": "tool.example.com", "target_link_uri": "https://evil.example.net/launch" }),
        ));
        assert!(elsewhere.is_err_and(|e| e.description.contains("domain")));
        let deep_linking_only = read_client(&registration(json!({ "target_link_uri": "https://tool.example.com/",
            "messages": [{ "type": "LtiDeepLinkingRequest" }] })));
        assert!(deep_linking_only.is_err_and(|e| e.description.contains("LtiResourceLinkRequest")));
        assert!(read_client(&registration(json!({}))).is_err_and(|e| e.description.contains("target_link_uri")));
        assert!(read_client(b"[]").is_err());
        assert_eq!(domain_of("http://127.0.0.1:9000/x").as_deref(), Some("127.0.0.1:9000"));
        assert_eq!(domain_of("https://Tool.Example.com/x").as_deref(), Some("tool.example.com"));
    }
}
