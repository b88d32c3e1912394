//! OIDC third-party login initiation: the platform sends the browser here, the gateway answers
//! with a redirect to the platform's authorization endpoint carrying a fresh `state` and
//! `nonce`, both kept server-side (no cookie needed inside an LMS iframe).

use chrono::{Duration, Utc};
use serde::Deserialize;

use super::{Lti, LtiError};
use crate::auth::random_secret;
use crate::registry::LoginState;

/// How long the platform has to answer a login initiation with an id_token.
const STATE_LIFETIME_MINUTES: i64 = 10;

/// Login initiations waiting for their id_token, at most. A district's busiest ten minutes
/// stay far below; a flood of anonymous initiations stops here instead of filling the disk.
pub const MAX_PENDING_LOGINS: usize = 100_000;

/// Login initiation parameters (query string for GET, form body for POST).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LoginRequest {
    pub iss: Option<String>,
    pub login_hint: Option<String>,
    pub target_link_uri: Option<String>,
    pub lti_message_hint: Option<String>,
    pub lti_deployment_id: Option<String>,
    pub client_id: Option<String>,
}

impl Lti {
    /// Checks a login initiation and answers the platform authorization URL to redirect to.
    pub async fn initiate_login(&self, request: LoginRequest) -> Result<String, LtiError> {
        let required = |value: &Option<String>, name: &str| {
            value
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
                .ok_or_else(|| LtiError::BadRequest(format!("login initiation without {name}")))
        };
        let issuer = required(&request.iss, "iss")?;
        let login_hint = required(&request.login_hint, "login_hint")?;
        let target = required(&request.target_link_uri, "target_link_uri")?;
        let ours = target == self.public_url || target.starts_with(&format!("{}/", self.public_url));
        if !ours {
            return Err(LtiError::BadRequest(format!(
                "target_link_uri '{target}' is not this gateway (expected {})",
                self.launch_url()
            )));
        }
        let client_id = request.client_id.as_deref().map(str::trim).filter(|c| !c.is_empty());
        let platform = self.find_platform(&issuer, client_id).await?;
        if let Some(deployment) = request.lti_deployment_id.as_deref().filter(|d| !d.is_empty()) {
            if !platform.deployment_ids.iter().any(|d| d == deployment) {
                return Err(LtiError::BadRequest(format!(
                    "deployment '{deployment}' is not registered for this platform"
                )));
            }
        }
        let now = Utc::now();
        let state = LoginState {
            state: random_secret(),
            nonce: random_secret(),
            platform_id: platform.id.clone(),
            created_at: now,
            expires_at: now + Duration::minutes(STATE_LIFETIME_MINUTES),
        };
        if let Err(err) = self.store.purge_expired(Utc::now()).await {
            tracing::warn!(error = %err, "cannot purge expired LTI state");
        }
        let stored = self.store.insert_login_state(&state, MAX_PENDING_LOGINS).await?;
        if !stored {
            return Err(LtiError::Busy(format!(
                "{MAX_PENDING_LOGINS} LTI logins are already waiting for the LMS; try again in a few minutes"
            )));
        }

        let mut url = url::Url::parse(&platform.auth_login_url)
            .map_err(|_| LtiError::BadRequest("the platform's auth URL is not a URL".into()))?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("scope", "openid")
                .append_pair("response_type", "id_token")
                .append_pair("response_mode", "form_post")
                .append_pair("prompt", "none")
                .append_pair("client_id", &platform.client_id)
                .append_pair("redirect_uri", &self.launch_url())
                .append_pair("login_hint", &login_hint)
                .append_pair("state", &state.state)
                .append_pair("nonce", &state.nonce);
            if let Some(hint) = &request.lti_message_hint {
                query.append_pair("lti_message_hint", hint);
            }
        }
        Ok(url.to_string())
    }
}
