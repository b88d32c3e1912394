//! The token endpoint toward publishers' tools: OAuth 2 client credentials with a JWT
//! assertion signed by the tool's key (`aud` = this token URL), single use, short-lived tokens
//! bound to the tool.

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Serialize;
use serde_json::Value;

use super::RELAYED_SCOPES;
use crate::auth::{hash_key, random_secret};
use crate::lti::{Lti, LtiError};
use crate::registry::{PublisherTool, ToolToken};

/// Lifetime of an access token issued to a tool.
pub const TOOL_TOKEN_SECONDS: i64 = 3600;
/// Assertions may not claim to live longer than this.
const MAX_ASSERTION_SECONDS: i64 = 3600;
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// An OAuth error answer (RFC 6749 §5.2).
#[derive(Debug, Clone, Serialize)]
pub struct OAuthError {
    pub error: &'static str,
    pub error_description: String,
}

fn oauth(error: &'static str, description: impl Into<String>) -> OAuthError {
    OAuthError { error, error_description: description.into() }
}

/// A successful token answer.
#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub scope: String,
}

/// A tool's token, resolved.
#[derive(Debug, Clone)]
pub struct ToolCaller {
    pub tool: PublisherTool,
    pub scopes: Vec<String>,
}

impl Lti {
    /// Issues a token for a client-credentials request with a tool's signed assertion.
    pub async fn issue_tool_token(
        &self,
        grant_type: Option<&str>,
        assertion_type: Option<&str>,
        assertion: Option<&str>,
        scope: Option<&str>,
    ) -> Result<TokenResponse, OAuthError> {
        if grant_type != Some("client_credentials") {
            return Err(oauth("unsupported_grant_type", "grant_type must be client_credentials"));
        }
        if assertion_type != Some(JWT_BEARER) {
            return Err(oauth("invalid_request", format!("client_assertion_type must be {JWT_BEARER}")));
        }
        let assertion = assertion
            .filter(|a| !a.is_empty())
            .ok_or_else(|| oauth("invalid_request", "client_assertion is missing"))?;
        let header = jsonwebtoken::decode_header(assertion)
            .map_err(|_| oauth("invalid_client", "client_assertion is not a JWT"))?;
        if header.alg != Algorithm::RS256 {
            return Err(oauth("invalid_client", "client_assertion must be signed with RS256"));
        }
        let kid = header.kid.ok_or_else(|| oauth("invalid_client", "client_assertion has no kid"))?;
        let issuer =
            unverified_claim(assertion, "iss").ok_or_else(|| oauth("invalid_client", "client_assertion has no iss"))?;
        let tool = self
            .broker
            .tool_by_client_id(&issuer)
            .await
            .map_err(|_| oauth("server_error", "registry unavailable"))?
            .ok_or_else(|| oauth("invalid_client", format!("unknown client '{issuer}'")))?;

        let jwk = self.jwks.key(&tool.jwks_url, &kid).await.map_err(|err| oauth("invalid_client", err.to_string()))?;
        let key =
            DecodingKey::from_jwk(&jwk).map_err(|err| oauth("invalid_client", format!("tool key unusable: {err}")))?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[self.platform_token_url()]);
        validation.set_issuer(&[tool.client_id.as_str()]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = crate::lti::launch::LEEWAY_SECONDS;
        let claims = jsonwebtoken::decode::<Value>(assertion, &key, &validation)
            .map_err(|err| oauth("invalid_client", format!("client_assertion refused: {:?}", err.kind())))?
            .claims;
        if claims.get("sub").and_then(Value::as_str) != Some(tool.client_id.as_str()) {
            return Err(oauth("invalid_client", "client_assertion sub must be the client id"));
        }
        let now = Utc::now().timestamp();
        let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
        if exp > now + MAX_ASSERTION_SECONDS {
            return Err(oauth("invalid_client", "client_assertion lives too long"));
        }
        let jti = claims
            .get("jti")
            .and_then(Value::as_str)
            .filter(|j| !j.is_empty())
            .ok_or_else(|| oauth("invalid_client", "client_assertion needs a jti"))?
            .to_string();
        let expires: DateTime<Utc> = DateTime::from_timestamp(exp, 0).unwrap_or_else(Utc::now) + Duration::seconds(60);
        let key_jti = format!("{}:{jti}", tool.id);
        let fresh = self
            .broker
            .remember_assertion(&key_jti, expires)
            .await
            .map_err(|_| oauth("server_error", "registry unavailable"))?;
        if !fresh {
            return Err(oauth("invalid_grant", "client_assertion was already used (jti replayed)"));
        }

        let requested: Vec<String> = scope.unwrap_or_default().split_whitespace().map(str::to_string).collect();
        if requested.is_empty() {
            return Err(oauth("invalid_scope", "ask for at least one AGS scope"));
        }
        if let Some(unknown) = requested.iter().find(|s| !RELAYED_SCOPES.contains(&s.as_str())) {
            return Err(oauth("invalid_scope", format!("scope '{unknown}' is not offered to tools")));
        }
        let token = random_secret();
        let record = ToolToken {
            token_hash: hash_key(&token),
            tool_id: tool.id.clone(),
            scopes: requested.clone(),
            expires_at: Utc::now() + Duration::seconds(TOOL_TOKEN_SECONDS),
        };
        self.broker.insert_tool_token(&record).await.map_err(|_| oauth("server_error", "registry unavailable"))?;
        Ok(TokenResponse {
            access_token: token,
            token_type: "Bearer",
            expires_in: TOOL_TOKEN_SECONDS,
            scope: requested.join(" "),
        })
    }

    /// Resolves a bearer token presented to the AGS relay.
    pub async fn tool_caller(&self, bearer: Option<&str>) -> Result<ToolCaller, LtiError> {
        let token = bearer
            .filter(|t| !t.is_empty())
            .ok_or_else(|| LtiError::InvalidToken("a bearer token is required".into()))?;
        let found = match self.broker.tool_token(&hash_key(token)).await? {
            Some(token) => self.broker.tool(&token.tool_id).await?.map(|tool| (token, tool)),
            None => None,
        };
        let (token, tool) = found.ok_or_else(|| LtiError::InvalidToken("unknown access token".into()))?;
        if token.expires_at <= Utc::now() {
            return Err(LtiError::InvalidToken("access token expired".into()));
        }
        Ok(ToolCaller { tool, scopes: token.scopes })
    }
}

fn unverified_claim(token: &str, name: &str) -> Option<String> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    value.get(name)?.as_str().map(str::to_string)
}
