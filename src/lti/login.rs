//! OIDC third-party login initiation: the platform sends the browser here, the gateway answers
//! with a redirect to the platform's authorization endpoint carrying a fresh `state` and
//! `nonce`.
//!
//! Nothing is stored: anyone can start a login, so a login must cost CPU, never space. The
//! `state` is a short-lived HS256 token (a key derived from the data folder's secret) naming the
//! platform and the nonce; the launch checks it and records the nonce once a platform-signed
//! id_token used it. When the platform offers LTI client-side postMessage storage
//! (`lti_storage_target`), the state also names a key that a page stores in the platform's
//! storage frame before going on; the launch then succeeds only in a browser whose platform
//! storage holds that key, which binds the login to the browser without third-party cookies.

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::{Lti, LtiError};
use crate::auth::random_secret;

/// How long the platform has to answer a login initiation with an id_token.
pub const STATE_LIFETIME_SECONDS: i64 = 600;
/// The `typ` of a login state: no other token signed with a derived key passes for one.
const STATE_TYPE: &str = "lti-login-state";
/// Purpose of the derived key that signs login states.
pub(crate) const STATE_KEY_PURPOSE: &str = "lti-login-state-v1";
/// Prefix of the key under which a login's proof is kept in the platform's storage.
const STORAGE_KEY_PREFIX: &str = "lti_state_";

/// Login initiation parameters (query string for GET, form body for POST).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LoginRequest {
    pub iss: Option<String>,
    pub login_hint: Option<String>,
    pub target_link_uri: Option<String>,
    pub lti_message_hint: Option<String>,
    pub lti_deployment_id: Option<String>,
    pub client_id: Option<String>,
    /// The frame of the platform that offers LTI client-side storage (Canvas:
    /// `post_message_forwarding`; `_parent` for the parent window itself).
    pub lti_storage_target: Option<String>,
}

/// How the gateway answers a login initiation.
#[derive(Debug, Clone)]
pub enum LoginAnswer {
    /// Send the browser to the platform's authorization endpoint.
    Redirect(String),
    /// First keep the login's proof in the platform's storage, then go on.
    StoreThenRedirect(StorageLogin),
}

/// Where a page keeps a login's proof: a frame of the platform's window, reached by postMessage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageTarget {
    /// `_parent`, or the name of a frame of the parent (or opener) window.
    pub frame: String,
    /// The platform origin that must answer (its OIDC authorization endpoint's origin).
    pub origin: String,
    pub key: String,
    pub value: String,
}

/// A login whose proof goes to the platform's storage before the browser goes on.
#[derive(Debug, Clone)]
pub struct StorageLogin {
    pub storage: StorageTarget,
    /// The authorization request to go on to once the proof is stored.
    pub auth_url: String,
    /// The same login initiation without storage, for when the platform's frame does not answer.
    pub restart_url: String,
}

/// A login state that passed its signature and expiry checks.
#[derive(Debug, Clone)]
pub struct LoginState {
    pub platform_id: String,
    pub nonce: String,
    pub expires_at: DateTime<Utc>,
    /// Set when the platform's storage holds this login's proof.
    pub storage: Option<StorageTarget>,
}

#[derive(Debug, Serialize, Deserialize)]
struct StateClaims {
    typ: String,
    /// Platform id.
    plt: String,
    nonce: String,
    exp: i64,
    /// Storage frame, platform origin and proof, when the platform offered storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sto: Option<(String, String, String)>,
}

/// Signs and checks login states.
pub(crate) struct StateSigner {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl StateSigner {
    pub(crate) fn new(secret: &[u8]) -> Self {
        Self { encoding: EncodingKey::from_secret(secret), decoding: DecodingKey::from_secret(secret) }
    }

    fn sign(&self, claims: &StateClaims) -> Result<String, LtiError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|err| LtiError::BadRequest(format!("cannot sign the login state: {err}")))
    }

    fn check(&self, state: &str) -> Result<LoginState, LtiError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp"]);
        let claims = jsonwebtoken::decode::<StateClaims>(state, &self.decoding, &validation)
            .map_err(|_| LtiError::BadState)?
            .claims;
        if claims.typ != STATE_TYPE {
            return Err(LtiError::BadState);
        }
        let expires_at = DateTime::from_timestamp(claims.exp, 0).ok_or(LtiError::BadState)?;
        let storage = claims.sto.map(|(frame, origin, value)| StorageTarget {
            frame,
            origin,
            key: format!("{STORAGE_KEY_PREFIX}{value}"),
            value,
        });
        Ok(LoginState { platform_id: claims.plt, nonce: claims.nonce, expires_at, storage })
    }
}

/// A frame name a page may address: `_parent` or a plain name (letters, digits, `_`, `-`).
fn storage_frame(raw: Option<&str>) -> Option<String> {
    let frame = raw?.trim();
    let plain = !frame.is_empty()
        && frame.len() <= 64
        && frame.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    plain.then(|| frame.to_string())
}

impl Lti {
    /// Checks a login initiation and answers where the browser goes next. Stores nothing.
    pub async fn initiate_login(&self, request: LoginRequest) -> Result<LoginAnswer, LtiError> {
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
            if !platform.deployments_open && !platform.deployment_ids.iter().any(|d| d == deployment) {
                return Err(LtiError::BadRequest(format!(
                    "deployment '{deployment}' is not registered for this platform"
                )));
            }
        }
        let mut url = url::Url::parse(&platform.auth_login_url)
            .map_err(|_| LtiError::BadRequest("the platform's auth URL is not a URL".into()))?;
        let origin = url.origin().ascii_serialization();
        let storage = storage_frame(request.lti_storage_target.as_deref()).map(|frame| StorageTarget {
            frame,
            origin,
            key: String::new(),
            value: random_secret(),
        });
        let claims = StateClaims {
            typ: STATE_TYPE.to_string(),
            plt: platform.id.clone(),
            nonce: random_secret(),
            exp: Utc::now().timestamp() + STATE_LIFETIME_SECONDS,
            sto: storage.as_ref().map(|s| (s.frame.clone(), s.origin.clone(), s.value.clone())),
        };
        let state = self.state_signer.sign(&claims)?;
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
                .append_pair("state", &state)
                .append_pair("nonce", &claims.nonce);
            if let Some(hint) = &request.lti_message_hint {
                query.append_pair("lti_message_hint", hint);
            }
        }
        let Some(mut storage) = storage else { return Ok(LoginAnswer::Redirect(url.to_string())) };
        storage.key = format!("{STORAGE_KEY_PREFIX}{}", storage.value);
        let mut restart = url::Url::parse(&self.login_url())
            .map_err(|_| LtiError::BadRequest("the gateway's public URL is not a URL".into()))?;
        {
            let mut query = restart.query_pairs_mut();
            let fields = [
                ("iss", &request.iss),
                ("login_hint", &request.login_hint),
                ("target_link_uri", &request.target_link_uri),
                ("lti_message_hint", &request.lti_message_hint),
                ("lti_deployment_id", &request.lti_deployment_id),
                ("client_id", &request.client_id),
            ];
            for (name, value) in fields {
                if let Some(value) = value {
                    query.append_pair(name, value);
                }
            }
        }
        Ok(LoginAnswer::StoreThenRedirect(StorageLogin {
            storage,
            auth_url: url.to_string(),
            restart_url: restart.to_string(),
        }))
    }

    /// Checks a login state's signature and expiry (no store is asked).
    pub fn login_state(&self, state: &str) -> Result<LoginState, LtiError> {
        self.state_signer.check(state.trim())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(typ: &str, exp_offset: i64) -> StateClaims {
        StateClaims {
            typ: typ.to_string(),
            plt: "plt-1".into(),
            nonce: "n-1".into(),
            exp: Utc::now().timestamp() + exp_offset,
            sto: Some(("post_message_forwarding".into(), "https://sso.lms.example".into(), "proof".into())),
        }
    }

    #[test]
    fn test_login_states_are_signed_expiring_and_typed() {
        let signer = StateSigner::new(b"a secret of the data folder, 32 bytes");
        let state = signer.sign(&claims(STATE_TYPE, 60)).unwrap();
        let checked = signer.check(&state).unwrap();
        assert_eq!((checked.platform_id.as_str(), checked.nonce.as_str()), ("plt-1", "n-1"));
        let storage = checked.storage.unwrap();
        assert_eq!(storage.key, "lti_state_proof");
        assert_eq!(storage.origin, "https://sso.lms.example");

        assert!(matches!(signer.check(&signer.sign(&claims(STATE_TYPE, -1)).unwrap()), Err(LtiError::BadState)));
        assert!(matches!(signer.check(&signer.sign(&claims("other", 60)).unwrap()), Err(LtiError::BadState)));
        let other_key = StateSigner::new(b"another data folder's secret");
        assert!(matches!(other_key.check(&state), Err(LtiError::BadState)), "forged elsewhere");
        let mut tampered = state.clone();
        tampered.replace_range(tampered.len() - 3.., "AAA");
        assert!(matches!(signer.check(&tampered), Err(LtiError::BadState)));
        assert!(matches!(signer.check("not-a-state"), Err(LtiError::BadState)));
    }

    #[test]
    fn test_only_plain_frame_names_are_addressed() {
        assert_eq!(storage_frame(Some("post_message_forwarding")).as_deref(), Some("post_message_forwarding"));
        assert_eq!(storage_frame(Some("_parent")).as_deref(), Some("_parent"));
        assert_eq!(storage_frame(Some("")), None);
        assert_eq!(storage_frame(Some("a'b")), None);
        assert_eq!(storage_frame(Some(&"x".repeat(65))), None);
        assert_eq!(storage_frame(None), None);
    }
}
