//! Validation of the id_token a platform posts to `/lti/launch`, exactly as LTI 1.3 asks:
//! state, RS256 signature against the platform's JWKS, iss, aud/azp, exp/iat, nonce,
//! deployment, version and message type.

use base64::Engine;
use chrono::Utc;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use super::claims;
use super::{Lti, LtiError};
use crate::registry::Platform;

/// Clock skew forgiven on exp and iat, in seconds.
pub const LEEWAY_SECONDS: u64 = 60;

/// A launch whose id_token passed every check.
#[derive(Debug, Clone)]
pub struct ValidatedLaunch {
    pub platform: Platform,
    pub deployment_id: String,
    pub message_type: String,
    pub claims: Value,
    /// The decoded payload as sent, for values that must be echoed byte for byte.
    pub payload_json: String,
}

impl Lti {
    /// Validates the form post of a launch. Consumes the state whether or not the token passes.
    pub async fn validate_launch(&self, id_token: &str, state: &str) -> Result<ValidatedLaunch, LtiError> {
        let result = self.validate_launch_inner(id_token, state).await;
        if let Err(err) = &result {
            tracing::warn!(reason = %err, "LTI launch refused");
        }
        result
    }

    async fn validate_launch_inner(&self, id_token: &str, state: &str) -> Result<ValidatedLaunch, LtiError> {
        let state = state.trim();
        if state.is_empty() {
            return Err(LtiError::BadState);
        }
        let login = self.store.take_login_state(state).await?.ok_or(LtiError::BadState)?;
        if login.expires_at < Utc::now() {
            return Err(LtiError::BadState);
        }
        let platform = self.store.platform(&login.platform_id).await?.ok_or(LtiError::BadState)?;

        let header = jsonwebtoken::decode_header(id_token)
            .map_err(|_| LtiError::InvalidToken("not a JWT with a supported header (alg must be RS256)".into()))?;
        if header.alg != Algorithm::RS256 {
            return Err(LtiError::InvalidToken(format!("alg {:?} refused: only RS256 is accepted", header.alg)));
        }
        let kid = header.kid.ok_or_else(|| LtiError::InvalidToken("header has no kid".into()))?;
        let (unverified, payload_json) = peek_payload(id_token)?;
        check_issuer_and_audience(&unverified, &platform)?;

        let jwk = self.jwks.key(&platform.jwks_url, &kid).await?;
        let key = DecodingKey::from_jwk(&jwk)
            .map_err(|err| LtiError::InvalidToken(format!("platform key unusable: {err}")))?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[platform.client_id.as_str()]);
        validation.set_issuer(&[platform.issuer.as_str()]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud"]);
        validation.leeway = LEEWAY_SECONDS;
        let verified = jsonwebtoken::decode::<Value>(id_token, &key, &validation).map_err(|err| {
            LtiError::InvalidToken(match err.kind() {
                ErrorKind::ExpiredSignature => "token has expired (exp)".to_string(),
                ErrorKind::InvalidSignature => "signature does not verify with the platform's key".to_string(),
                ErrorKind::InvalidAudience => format!("aud does not contain client id '{}'", platform.client_id),
                ErrorKind::InvalidIssuer => format!("iss is not '{}'", platform.issuer),
                ErrorKind::MissingRequiredClaim(claim) => format!("{claim} claim is missing"),
                ErrorKind::ImmatureSignature => "token is not valid yet (nbf)".to_string(),
                other => format!("{other:?}"),
            })
        })?;
        let claims = verified.claims;

        let now = Utc::now().timestamp();
        let iat =
            claims.get("iat").and_then(Value::as_i64).ok_or_else(|| LtiError::InvalidToken("iat missing".into()))?;
        if iat > now + LEEWAY_SECONDS as i64 {
            return Err(LtiError::InvalidToken("iat is in the future".into()));
        }
        match claims.get("nonce").and_then(Value::as_str) {
            None => return Err(LtiError::InvalidToken("nonce missing".into())),
            Some(nonce) if nonce != login.nonce => {
                return Err(LtiError::InvalidToken("nonce does not match this login (replayed token?)".into()))
            }
            Some(_) => {}
        }
        let deployment_id = string_claim(&claims, claims::DEPLOYMENT_ID)?;
        if !platform.deployment_ids.contains(&deployment_id) {
            return Err(LtiError::InvalidToken(format!("deployment_id '{deployment_id}' is not registered")));
        }
        let version = string_claim(&claims, claims::VERSION)?;
        if version != claims::LTI_VERSION {
            return Err(LtiError::InvalidToken(format!("version '{version}' is not supported (1.3.0 is)")));
        }
        let message_type = string_claim(&claims, claims::MESSAGE_TYPE)?;
        if message_type != claims::DEEP_LINKING_REQUEST && message_type != claims::RESOURCE_LINK_REQUEST {
            return Err(LtiError::InvalidToken(format!("message_type '{message_type}' is not supported")));
        }
        let has_sub = claims.get("sub").and_then(Value::as_str).is_some_and(|sub| !sub.is_empty());
        if message_type == claims::RESOURCE_LINK_REQUEST && !has_sub {
            return Err(LtiError::InvalidToken("sub is missing: a resource link launch must name its user".into()));
        }
        Ok(ValidatedLaunch { platform, deployment_id, message_type, claims, payload_json })
    }
}

fn string_claim(claims: &Value, name: &str) -> Result<String, LtiError> {
    claims
        .get(name)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| LtiError::InvalidToken(format!("claim {name} is missing or not a string")))
}

/// Reads the payload before the signature is checked, only to find which checks apply.
fn peek_payload(token: &str) -> Result<(Value, String), LtiError> {
    let malformed = || LtiError::InvalidToken("not a compact JWT".into());
    let mut parts = token.split('.');
    let (_, payload, _) = (parts.next(), parts.next().ok_or_else(malformed)?, parts.next().ok_or_else(malformed)?);
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| malformed())?;
    let text = String::from_utf8(bytes).map_err(|_| malformed())?;
    let value: Value = serde_json::from_str(&text).map_err(|_| malformed())?;
    Ok((value, text))
}

/// `iss` must be the platform that started the login; `aud` must contain its client id and,
/// when there are several audiences, `azp` must name it.
fn check_issuer_and_audience(claims: &Value, platform: &Platform) -> Result<(), LtiError> {
    let issuer = claims.get("iss").and_then(Value::as_str).unwrap_or_default();
    if issuer != platform.issuer {
        return Err(LtiError::InvalidToken(format!("iss '{issuer}' is not the platform that started this login")));
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !audiences.contains(&platform.client_id.as_str()) {
        return Err(LtiError::InvalidToken(format!("aud does not contain client id '{}'", platform.client_id)));
    }
    let azp = claims.get("azp").and_then(Value::as_str);
    if audiences.len() > 1 && azp.is_none() {
        return Err(LtiError::InvalidToken("several audiences but no azp".into()));
    }
    if let Some(azp) = azp {
        if azp != platform.client_id {
            return Err(LtiError::InvalidToken(format!("azp '{azp}' is not client id '{}'", platform.client_id)));
        }
    }
    Ok(())
}
