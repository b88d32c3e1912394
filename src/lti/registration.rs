//! LTI Dynamic Registration 1.0, tool side: an LMS registers the gateway.
//!
//! The admin creates a single-use, expiring registration link and pastes it into the LMS
//! ("add tool by URL"). The LMS opens it with `openid_configuration` (where its configuration
//! lives) and `registration_token`. The gateway fetches the configuration through the outbound
//! client, checks it (the issuer must be a prefix of the configuration URL; https except for
//! allowed networks; `private_key_jwt`, RS256, deep linking), posts its client registration with
//! the messages and placements that suit that LMS, and stores the platform with the client id
//! and deployment id the LMS answered. Any failure leaves nothing stored and the link usable.

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::broker::{AGS_SCOPE_LINEITEM_READ, AGS_SCOPE_SCORE};
use super::platform::platform_id;
use super::{Lti, LtiError};
use crate::auth::{hash_key, random_secret};
use crate::error::{ErrorCode, HasErrorCode};
use crate::registry::{Platform, RegistrationGrant, RegistrationKind};

/// How long a registration link stays usable unless its creator says otherwise.
pub const DEFAULT_LINK_HOURS: i64 = 24;
/// Longest lifetime a link may be given.
pub const MAX_LINK_HOURS: i64 = 24 * 30;
/// Largest configuration or registration answer read from an LMS.
const MAX_ANSWER_BYTES: usize = 256 * 1024;
const LMS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// Claim keys of Dynamic Registration documents.
pub const PLATFORM_CONFIGURATION: &str = "https://purl.imsglobal.org/spec/lti-platform-configuration";
pub const TOOL_CONFIGURATION: &str = "https://purl.imsglobal.org/spec/lti-tool-configuration";
const CANVAS_PRIVACY_LEVEL: &str = "https://canvas.instructure.com/lti/privacy_level";

/// Deep-linking placements the gateway asks for, where the LMS offers them: Moodle's activity
/// chooser and editor; Canvas's module item, assignment, rich-content editor and module menu.
const DEEP_LINKING_PLACEMENTS: &[&str] = &[
    "ContentArea",
    "RichTextEditor",
    "link_selection",
    "assignment_selection",
    "editor_button",
    "module_index_menu_modal",
];

/// Why a registration did not complete. Each message says what to do next.
#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    #[error("this registration link is unknown: ask the gateway's admin for a new one (createPlatformRegistration, or `resource-gateway platform register-link`)")]
    UnknownLink,
    #[error("this registration link {0}: ask the gateway's admin for a new one")]
    Unusable(&'static str),
    #[error("this registration link is being used by another registration right now; try again in two minutes")]
    Busy,
    #[error("the LMS did not send {0}: paste this link into the LMS's \"register a tool by URL\" field (Moodle: Manage tools → Tool URL → Add LTI Advantage; Canvas: Developer Keys → LTI Registration)")]
    MissingParameter(&'static str),
    #[error("the LMS's configuration at {url} names issuer '{issuer}', which it does not start with: Dynamic Registration requires the configuration URL to begin with the issuer")]
    IssuerMismatch { issuer: String, url: String },
    #[error("{0}")]
    BadConfiguration(String),
    #[error("the LMS refused the registration: {0}")]
    Refused(String),
    #[error("cannot reach the LMS: {0}")]
    Unreachable(String),
    #[error(transparent)]
    Lti(#[from] LtiError),
}

impl From<crate::registry::RegistryError> for RegistrationError {
    fn from(err: crate::registry::RegistryError) -> Self {
        RegistrationError::Lti(LtiError::Registry(err))
    }
}

impl HasErrorCode for RegistrationError {
    fn error_code(&self) -> ErrorCode {
        match self {
            RegistrationError::UnknownLink | RegistrationError::Unusable(_) => ErrorCode::NotFound,
            RegistrationError::MissingParameter(_)
            | RegistrationError::IssuerMismatch { .. }
            | RegistrationError::BadConfiguration(_) => ErrorCode::BadUserInput,
            RegistrationError::Busy | RegistrationError::Refused(_) | RegistrationError::Unreachable(_) => {
                ErrorCode::Unavailable
            }
            RegistrationError::Lti(err) => err.error_code(),
        }
    }
}

/// What the admin pastes into the LMS.
#[derive(Debug, Clone)]
pub struct RegistrationLink {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// A completed registration, for the page the LMS admin sees.
#[derive(Debug, Clone)]
pub struct PlatformRegistered {
    pub platform: Platform,
    /// The LMS's product family and version, e.g. `moodle 4.5.6 (Build: 20250811)`.
    pub product: String,
    pub product_family: String,
    /// Whether an existing registration (same issuer and client id) was updated.
    pub updated: bool,
}

/// The parts of a platform's OpenID configuration the gateway uses.
#[derive(Debug, Deserialize)]
struct PlatformConfiguration {
    issuer: String,
    authorization_endpoint: String,
    registration_endpoint: String,
    jwks_uri: String,
    token_endpoint: Option<String>,
    #[serde(default)]
    scopes_supported: Vec<String>,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Vec<String>,
    #[serde(default)]
    id_token_signing_alg_values_supported: Vec<String>,
    #[serde(rename = "https://purl.imsglobal.org/spec/lti-platform-configuration")]
    lti: Option<LtiPlatformConfiguration>,
}

#[derive(Debug, Deserialize)]
struct LtiPlatformConfiguration {
    product_family_code: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    messages_supported: Vec<SupportedMessage>,
}

#[derive(Debug, Deserialize)]
struct SupportedMessage {
    #[serde(rename = "type")]
    message_type: String,
    #[serde(default)]
    placements: Option<Vec<String>>,
}

impl LtiPlatformConfiguration {
    fn message(&self, message_type: &str) -> Option<&SupportedMessage> {
        self.messages_supported.iter().find(|m| m.message_type == message_type)
    }
}

/// A string or a number (LMSs differ in how they send ids), as a string.
fn id_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(text) if !text.trim().is_empty() => Some(text.trim().to_string()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// The first few hundred characters of an LMS's answer, for an error message.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let mut out: String = text.chars().take(300).collect();
    if text.chars().count() > 300 {
        out.push('…');
    }
    out
}

/// An LMS error answer's own words: RFC 7591 `error_description`/`error`, else the body.
fn lms_error_message(body: &[u8]) -> String {
    if let Ok(value) = serde_json::from_slice::<Value>(body) {
        let description = value.get("error_description").and_then(Value::as_str);
        let error = value.get("error").and_then(Value::as_str);
        match (error, description) {
            (Some(error), Some(description)) => return format!("{error}: {description}"),
            (Some(error), None) => return error.to_string(),
            (None, Some(description)) => return description.to_string(),
            _ => {}
        }
    }
    excerpt(body)
}

impl Lti {
    /// Creates a registration link (single use, expiring). `personal_data` makes the gateway ask
    /// the LMS for users' names and email, for publishers' tools that were allowed them.
    pub async fn create_registration_link(
        &self,
        name: Option<String>,
        personal_data: bool,
        lifetime: Duration,
    ) -> Result<RegistrationLink, LtiError> {
        if lifetime <= Duration::zero() || lifetime > Duration::hours(MAX_LINK_HOURS) {
            return Err(LtiError::BadRequest(format!(
                "a registration link lives between a minute and {MAX_LINK_HOURS} hours"
            )));
        }
        let token = random_secret();
        let now = Utc::now();
        let grant = RegistrationGrant {
            token_hash: hash_key(&token),
            kind: RegistrationKind::Platform,
            publisher: None,
            name: name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty()),
            personal_data,
            created_at: now,
            expires_at: now + lifetime,
            claimed_at: None,
            completed_at: None,
            registered_id: None,
        };
        self.registrations.insert_registration(&grant).await?;
        Ok(RegistrationLink { url: format!("{}/lti/register/{token}", self.public_url), expires_at: grant.expires_at })
    }

    /// Runs the registration an LMS started by opening a registration link.
    pub async fn register_with_platform(
        &self,
        link: &str,
        openid_configuration: Option<&str>,
        registration_token: Option<&str>,
    ) -> Result<PlatformRegistered, RegistrationError> {
        let result = self.register_with_platform_inner(link, openid_configuration, registration_token).await;
        match &result {
            Ok(done) => tracing::info!(platform = %done.platform.id, issuer = %done.platform.issuer,
                                       product = %done.product, updated = done.updated,
                                       "LMS registered the gateway (LTI Dynamic Registration)"),
            Err(err) => tracing::warn!(reason = %err, "LTI Dynamic Registration refused"),
        }
        result
    }

    async fn register_with_platform_inner(
        &self,
        link: &str,
        openid_configuration: Option<&str>,
        registration_token: Option<&str>,
    ) -> Result<PlatformRegistered, RegistrationError> {
        let grant = self.usable_grant(link, RegistrationKind::Platform).await?;
        let configuration_url = openid_configuration
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .ok_or(RegistrationError::MissingParameter("openid_configuration"))?;
        let registration_token = registration_token.map(str::trim).filter(|t| !t.is_empty());
        self.claim_grant(&grant).await?;
        let outcome = self.register_claimed(&grant, configuration_url, registration_token).await;
        match &outcome {
            Ok(done) => self.registrations.complete_registration(&grant.token_hash, &done.platform.id).await?,
            Err(_) => self.registrations.release_registration(&grant.token_hash).await?,
        }
        outcome
    }

    /// The grant behind a link or token, if it exists, is of `kind` and is still usable.
    pub(crate) async fn usable_grant(
        &self,
        secret: &str,
        kind: RegistrationKind,
    ) -> Result<RegistrationGrant, RegistrationError> {
        let grant = self
            .registrations
            .registration(&hash_key(secret.trim()))
            .await?
            .filter(|grant| grant.kind == kind)
            .ok_or(RegistrationError::UnknownLink)?;
        if let Some(reason) = grant.unusable_reason(Utc::now()) {
            return Err(RegistrationError::Unusable(reason));
        }
        Ok(grant)
    }

    /// Claims a grant for the registration about to run.
    pub(crate) async fn claim_grant(&self, grant: &RegistrationGrant) -> Result<(), RegistrationError> {
        let claimed = self.registrations.claim_registration(&grant.token_hash, Utc::now()).await?;
        if claimed {
            Ok(())
        } else {
            Err(RegistrationError::Busy)
        }
    }

    async fn register_claimed(
        &self,
        grant: &RegistrationGrant,
        configuration_url: &str,
        registration_token: Option<&str>,
    ) -> Result<PlatformRegistered, RegistrationError> {
        let configuration = self.fetch_platform_configuration(configuration_url, registration_token).await?;
        let lti = configuration.lti.as_ref().ok_or_else(|| {
            RegistrationError::BadConfiguration(format!(
                "the configuration at {configuration_url} has no {PLATFORM_CONFIGURATION}: it is not an LTI platform's"
            ))
        })?;
        let request = self.client_registration(grant, &configuration, lti);
        let answer = self.post_registration(&configuration.registration_endpoint, registration_token, &request).await?;
        let client_id = id_text(answer.get("client_id")).ok_or_else(|| {
            RegistrationError::Refused(format!(
                "its answer has no client_id: {}",
                excerpt(answer.to_string().as_bytes())
            ))
        })?;
        let deployment_id = id_text(answer.get(TOOL_CONFIGURATION).and_then(|c| c.get("deployment_id")));

        let issuer = configuration.issuer.trim().to_string();
        let existing = self.store.platforms_by_issuer(&issuer).await?.into_iter().find(|p| p.client_id == client_id);
        let mut deployment_ids = existing.as_ref().map(|p| p.deployment_ids.clone()).unwrap_or_default();
        if let Some(deployment) = &deployment_id {
            if !deployment_ids.contains(deployment) {
                deployment_ids.push(deployment.clone());
            }
        }
        let deployments_open = deployment_id.is_none() && existing.as_ref().is_none_or(|p| p.deployments_open);
        let product = match &lti.version {
            Some(version) if !version.trim().is_empty() => format!("{} {}", lti.product_family_code, version.trim()),
            _ => lti.product_family_code.clone(),
        };
        let platform = Platform {
            id: existing.as_ref().map(|p| p.id.clone()).unwrap_or_else(|| platform_id(&issuer, &client_id)),
            issuer,
            client_id,
            deployment_ids,
            auth_login_url: configuration.authorization_endpoint.trim().to_string(),
            jwks_url: configuration.jwks_uri.trim().to_string(),
            token_url: configuration.token_endpoint.as_deref().map(|t| t.trim().to_string()),
            name: grant
                .name
                .clone()
                .or_else(|| existing.as_ref().and_then(|p| p.name.clone()))
                .or(Some(product.clone())),
            created_at: existing.as_ref().map(|p| p.created_at).unwrap_or_else(Utc::now),
            deployments_open,
        };
        let saved = self.store.upsert_platform(&platform).await?;
        self.platforms.invalidate();
        Ok(PlatformRegistered {
            platform: saved,
            product,
            product_family: lti.product_family_code.clone(),
            updated: existing.is_some(),
        })
    }

    /// Fetches and checks an LMS's OpenID configuration.
    async fn fetch_platform_configuration(
        &self,
        url: &str,
        registration_token: Option<&str>,
    ) -> Result<PlatformConfiguration, RegistrationError> {
        self.check_platform_url(url, "openid_configuration", true).map_err(refused_url)?;
        let mut request = self
            .outbound
            .get(url)
            .map_err(|err| RegistrationError::Unreachable(err.to_string()))?
            .header(reqwest::header::ACCEPT, "application/json")
            .timeout(LMS_TIMEOUT);
        // Canvas asks for the registration token here too; Moodle ignores it.
        if let Some(token) = registration_token {
            request = request.bearer_auth(token);
        }
        let response = self
            .outbound
            .fetch(request, MAX_ANSWER_BYTES)
            .await
            .map_err(|err| RegistrationError::Unreachable(err.to_string()))?;
        if !response.status.is_success() {
            return Err(RegistrationError::Refused(format!(
                "its OpenID configuration at {url} answered HTTP {}: {}",
                response.status.as_u16(),
                lms_error_message(&response.body)
            )));
        }
        let configuration: PlatformConfiguration = serde_json::from_slice(&response.body).map_err(|err| {
            RegistrationError::BadConfiguration(format!("the LMS's OpenID configuration at {url} is not usable: {err}"))
        })?;

        let issuer = configuration.issuer.trim().trim_end_matches('/');
        let prefixed = !issuer.is_empty()
            && url.strip_prefix(issuer).is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?']));
        if !prefixed {
            return Err(RegistrationError::IssuerMismatch {
                issuer: configuration.issuer.clone(),
                url: url.to_string(),
            });
        }
        self.check_platform_url(&configuration.issuer, "issuer", false).map_err(refused_url)?;
        self.check_platform_url(&configuration.authorization_endpoint, "authorization_endpoint", true)
            .map_err(refused_url)?;
        self.check_platform_url(&configuration.jwks_uri, "jwks_uri", true).map_err(refused_url)?;
        self.check_platform_url(&configuration.registration_endpoint, "registration_endpoint", true)
            .map_err(refused_url)?;
        if let Some(token_endpoint) = &configuration.token_endpoint {
            self.check_platform_url(token_endpoint, "token_endpoint", true).map_err(refused_url)?;
        }
        let methods = &configuration.token_endpoint_auth_methods_supported;
        if !methods.is_empty() && !methods.iter().any(|m| m == "private_key_jwt") {
            return Err(RegistrationError::BadConfiguration(format!(
                "the LMS's token endpoint does not accept private_key_jwt (it offers {}), which LTI 1.3 requires",
                methods.join(", ")
            )));
        }
        let algorithms = &configuration.id_token_signing_alg_values_supported;
        if !algorithms.is_empty() && !algorithms.iter().any(|a| a == "RS256") {
            return Err(RegistrationError::BadConfiguration(format!(
                "the LMS does not sign id_tokens with RS256 (it offers {}), which LTI 1.3 requires",
                algorithms.join(", ")
            )));
        }
        if let Some(lti) = &configuration.lti {
            if !lti.messages_supported.is_empty() && lti.message(super::claims::DEEP_LINKING_REQUEST).is_none() {
                return Err(RegistrationError::BadConfiguration(
                    "the LMS does not offer LtiDeepLinkingRequest messages, and the gateway is a deep-linking tool"
                        .into(),
                ));
            }
        }
        Ok(configuration)
    }

    /// The gateway's client registration, shaped for this LMS.
    fn client_registration(
        &self,
        grant: &RegistrationGrant,
        configuration: &PlatformConfiguration,
        lti: &LtiPlatformConfiguration,
    ) -> Value {
        let name = grant.name.clone().unwrap_or_else(|| "Resource Gateway".to_string());
        let launch_url = self.launch_url();
        let domain = url::Url::parse(&self.public_url)
            .ok()
            .and_then(|u| u.host_str().map(|host| (host.to_string(), u.port())))
            .map(|(host, port)| port.map(|p| format!("{host}:{p}")).unwrap_or(host))
            .unwrap_or_default();
        let offered = &configuration.scopes_supported;
        let scopes: Vec<&str> = [AGS_SCOPE_SCORE, AGS_SCOPE_LINEITEM_READ]
            .into_iter()
            .filter(|scope| offered.is_empty() || offered.iter().any(|o| o == scope))
            .collect();
        let mut claims = vec!["iss", "sub"];
        if grant.personal_data {
            claims.extend(["name", "given_name", "family_name", "email", "picture", "locale"]);
        }
        let mut deep_linking = Map::new();
        deep_linking.insert("type".into(), json!(super::claims::DEEP_LINKING_REQUEST));
        deep_linking.insert("target_link_uri".into(), json!(launch_url));
        deep_linking.insert("label".into(), json!(name));
        deep_linking.insert("icon_uri".into(), json!(self.icon_url()));
        if let Some(offered) = lti.message(super::claims::DEEP_LINKING_REQUEST).and_then(|m| m.placements.as_ref()) {
            let placements: Vec<&str> =
                DEEP_LINKING_PLACEMENTS.iter().copied().filter(|p| offered.iter().any(|o| o == p)).collect();
            if !placements.is_empty() {
                deep_linking.insert("placements".into(), json!(placements));
            }
        }
        let resource_link = json!({
            "type": super::claims::RESOURCE_LINK_REQUEST,
            "target_link_uri": launch_url,
            "label": name,
        });
        let mut tool = Map::new();
        tool.insert("domain".into(), json!(domain));
        tool.insert("target_link_uri".into(), json!(launch_url));
        tool.insert(
            "description".into(),
            json!("Search every publisher's learning resources at once and insert them into the course."),
        );
        tool.insert("claims".into(), json!(claims));
        tool.insert("messages".into(), json!([Value::Object(deep_linking), resource_link]));
        if lti.product_family_code.eq_ignore_ascii_case("canvas") {
            tool.insert(CANVAS_PRIVACY_LEVEL.into(), json!(if grant.personal_data { "public" } else { "anonymous" }));
        }
        json!({
            "application_type": "web",
            "response_types": ["id_token"],
            "grant_types": ["implicit", "client_credentials"],
            "initiate_login_uri": self.login_url(),
            "redirect_uris": [launch_url],
            "client_name": name,
            "jwks_uri": self.jwks_url(),
            "logo_uri": self.icon_url(),
            "token_endpoint_auth_method": "private_key_jwt",
            "scope": scopes.join(" "),
            TOOL_CONFIGURATION: Value::Object(tool),
        })
    }

    async fn post_registration(
        &self,
        endpoint: &str,
        registration_token: Option<&str>,
        request: &Value,
    ) -> Result<Value, RegistrationError> {
        let mut post = self
            .outbound
            .post(endpoint)
            .map_err(|err| RegistrationError::Unreachable(err.to_string()))?
            .header(reqwest::header::ACCEPT, "application/json")
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(request.to_string())
            .timeout(LMS_TIMEOUT);
        if let Some(token) = registration_token {
            post = post.bearer_auth(token);
        }
        let response = self
            .outbound
            .fetch(post, MAX_ANSWER_BYTES)
            .await
            .map_err(|err| RegistrationError::Unreachable(err.to_string()))?;
        if !response.status.is_success() {
            return Err(RegistrationError::Refused(format!(
                "HTTP {} from {endpoint}: {}",
                response.status.as_u16(),
                lms_error_message(&response.body)
            )));
        }
        serde_json::from_slice(&response.body).map_err(|err| {
            RegistrationError::Refused(format!("its answer is not JSON ({err}): {}", excerpt(&response.body)))
        })
    }

    /// The gateway's icon, offered to LMSs for their tool lists and editor buttons.
    pub fn icon_url(&self) -> String {
        format!("{}/lti/icon.svg", self.public_url)
    }
}

/// What the LMS's admin does next, in that LMS's words.
fn next_steps(product_family: &str) -> &'static str {
    match product_family.to_ascii_lowercase().as_str() {
        "moodle" => {
            "Moodle adds the tool as pending: in Site administration → Plugins → Activity modules → External \
                     tool → Manage tools, activate it, and choose where it shows (Tool configuration usage: activity \
                     chooser and preconfigured tool)."
        }
        "canvas" => {
            "Canvas now shows the registration for review: confirm it, turn its developer key ON, and install it \
                     (Settings → Apps → + App → By Client ID) in the accounts or courses that should have it."
        }
        "desire2learn" | "brightspace" | "d2l" => {
            "In Manage Extensibility → LTI Advantage, enable the tool, add a \
                     deployment for your org units, and add a Deep Linking Quicklink link to it."
        }
        _ => "Enable the tool in the LMS's tool settings and make it available to the courses that should have it.",
    }
}

/// The page the LMS shows when the registration completed; it tells the LMS to close it
/// (`org.imsglobal.lti.close`), with a button for when the LMS does not.
pub fn done_page(done: &PlatformRegistered) -> maud::Markup {
    use maud::{html, PreEscaped};
    const CLOSE: &str = "function ltiClose() { (window.opener || window.parent).postMessage(\
                         { subject: 'org.imsglobal.lti.close' }, '*'); }\n\
                         document.getElementById('close').addEventListener('click', ltiClose);\nltiClose();";
    let platform = &done.platform;
    let deployments = if platform.deployment_ids.is_empty() {
        "named by the LMS at the first launch".to_string()
    } else {
        platform.deployment_ids.join(", ")
    };
    let body = html! {
        main {
            h1 { "The gateway is registered with " (done.product) }
            p { @if done.updated { "The existing registration was updated." } @else { "A new registration was stored." } }
            dl {
                dt { "Issuer" } dd { (platform.issuer) }
                dt { "Client id" } dd { (platform.client_id) }
                dt { "Deployment" } dd { (deployments) }
            }
            p { (next_steps(&done.product_family)) }
            button #close type="button" { "Done" }
        }
        script { (PreEscaped(CLOSE)) }
    };
    super::picker::shell("Registration complete", body)
}

fn refused_url(err: LtiError) -> RegistrationError {
    match err {
        LtiError::BadRequest(message) => RegistrationError::BadConfiguration(format!("the LMS's {message}")),
        other => RegistrationError::Lti(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_ids_and_lms_errors_are_read_leniently() {
        assert_eq!(id_text(Some(&json!("abc"))).as_deref(), Some("abc"));
        assert_eq!(id_text(Some(&json!(42))).as_deref(), Some("42"));
        assert_eq!(id_text(Some(&json!(""))), None);
        assert_eq!(id_text(None), None);
        assert_eq!(
            lms_error_message(br#"{"error":"invalid_redirect_uri","error_description":"not https"}"#),
            "invalid_redirect_uri: not https"
        );
        assert_eq!(lms_error_message(b"missing_domain"), "missing_domain");
    }
}
