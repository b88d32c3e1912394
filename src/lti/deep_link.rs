//! Deep linking: remembering a validated `LtiDeepLinkingRequest` under a launch id, and
//! answering it with a signed `LtiDeepLinkingResponse` that honours what the platform accepts.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{json, Value};

use super::claims;
use super::content_item::{content_item, item_type, RESOURCE_ID_PARAM};
use super::launch::ValidatedLaunch;
use super::{Lti, LtiError};
use crate::auth::random_secret;
use crate::registry::{DeepLinkLaunch, Platform};
use crate::resource::{ResourceKind, ResourceRecord};

/// How long a teacher has to choose before the launch id expires.
pub const LAUNCH_LIFETIME_MINUTES: i64 = 60;
/// Lifetime of the signed response.
const RESPONSE_LIFETIME_SECONDS: i64 = 600;

/// The request's `deep_linking_settings`, read leniently where platforms differ.
#[derive(Debug, Clone, Deserialize)]
pub struct DeepLinkingSettings {
    pub deep_link_return_url: String,
    #[serde(default)]
    pub accept_types: Vec<String>,
    #[serde(default)]
    pub accept_presentation_document_targets: Vec<String>,
    #[serde(default)]
    pub accept_media_types: Option<String>,
    #[serde(default)]
    accept_multiple: Option<Value>,
    #[serde(default)]
    accept_lineitem: Option<Value>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
    /// Opaque; echoed exactly as received.
    #[serde(default)]
    pub data: Option<Box<RawValue>>,
}

/// `true`, `"true"` (ltijs sends strings) or absent-as-default.
fn lenient_bool(value: &Option<Value>, default: bool) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => default,
    }
}

impl DeepLinkingSettings {
    /// Several items may be returned only when the platform says so (default: no).
    pub fn accept_multiple(&self) -> bool {
        lenient_bool(&self.accept_multiple, false)
    }

    /// Line items are sent unless the platform explicitly says it ignores them.
    pub fn accept_lineitem(&self) -> bool {
        lenient_bool(&self.accept_lineitem, true)
    }

    pub fn accepts(&self, item_type: &str) -> bool {
        self.accept_types.iter().any(|t| t == item_type)
    }

    /// Whether a resource of this kind can be returned at all (naturally or through the gateway).
    pub fn can_return(&self, kind: ResourceKind) -> bool {
        self.accepts(item_type(kind)) || (kind != ResourceKind::LtiResourceLink && self.accepts("ltiResourceLink"))
    }

    /// The kinds the picker should offer.
    pub fn returnable_kinds(&self) -> Vec<ResourceKind> {
        ResourceKind::ALL.into_iter().filter(|k| self.can_return(*k)).collect()
    }
}

/// A stored launch with what it needs to be answered.
#[derive(Debug, Clone)]
pub struct LaunchContext {
    pub launch: DeepLinkLaunch,
    pub platform: Platform,
    pub settings: DeepLinkingSettings,
}

/// The signed answer and where the browser must post it.
#[derive(Debug, Clone)]
pub struct SignedResponse {
    pub jwt: String,
    pub return_url: String,
    pub content_items: Vec<Value>,
}

#[derive(Deserialize)]
struct PayloadSettings<'a> {
    #[serde(borrow, rename = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings")]
    settings: Option<&'a RawValue>,
}

#[derive(Serialize)]
struct ResponseClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    azp: &'a str,
    iat: i64,
    exp: i64,
    nonce: String,
    #[serde(rename = "https://purl.imsglobal.org/spec/lti/claim/deployment_id")]
    deployment_id: &'a str,
    #[serde(rename = "https://purl.imsglobal.org/spec/lti/claim/message_type")]
    message_type: &'static str,
    #[serde(rename = "https://purl.imsglobal.org/spec/lti/claim/version")]
    version: &'static str,
    #[serde(rename = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items")]
    content_items: &'a [Value],
    #[serde(rename = "https://purl.imsglobal.org/spec/lti-dl/claim/data", skip_serializing_if = "Option::is_none")]
    data: Option<&'a RawValue>,
    #[serde(rename = "https://purl.imsglobal.org/spec/lti-dl/claim/msg", skip_serializing_if = "Option::is_none")]
    msg: Option<&'a str>,
}

impl Lti {
    /// Stores a validated deep-linking request and answers its launch id (unguessable, single
    /// use, expiring): the handle of the picker and of `deepLinkingResponse`.
    pub async fn begin_deep_linking(&self, launch: &ValidatedLaunch) -> Result<String, LtiError> {
        let parsed: PayloadSettings<'_> = serde_json::from_str(&launch.payload_json)
            .map_err(|err| LtiError::InvalidToken(format!("unreadable claims: {err}")))?;
        let raw = parsed
            .settings
            .ok_or_else(|| LtiError::InvalidToken(format!("claim {} is missing", claims::DEEP_LINKING_SETTINGS)))?;
        let settings = parse_settings(raw.get())?;
        let url = url::Url::parse(&settings.deep_link_return_url)
            .map_err(|_| LtiError::InvalidToken("deep_link_return_url is not a URL".into()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(LtiError::InvalidToken("deep_link_return_url must be http(s)".into()));
        }
        if settings.accept_types.is_empty() {
            return Err(LtiError::InvalidToken("accept_types is empty: the platform accepts nothing".into()));
        }
        let now = Utc::now();
        let record = DeepLinkLaunch {
            id: random_secret(),
            platform_id: launch.platform.id.clone(),
            deployment_id: launch.deployment_id.clone(),
            settings_json: raw.get().to_string(),
            created_at: now,
            expires_at: now + Duration::minutes(LAUNCH_LIFETIME_MINUTES),
            used_at: None,
        };
        let id = record.id.clone();
        self.store.insert_launch(&record).await?;
        Ok(id)
    }

    /// A launch that can still be answered (unknown, used or expired ids are `LaunchNotFound`).
    pub async fn launch_context(&self, launch_id: &str) -> Result<LaunchContext, LtiError> {
        let found = match self.store.launch(launch_id).await? {
            Some(launch) => self.store.platform(&launch.platform_id).await?.map(|p| (launch, p)),
            None => None,
        };
        let not_found = || LtiError::LaunchNotFound(short(launch_id));
        let (launch, platform) = found.ok_or_else(not_found)?;
        if launch.used_at.is_some() || launch.expires_at <= Utc::now() {
            return Err(not_found());
        }
        let settings = parse_settings(&launch.settings_json)?;
        Ok(LaunchContext { launch, platform, settings })
    }

    /// Builds, checks and signs the response of a launch, consuming the launch id only when
    /// everything was acceptable. An empty `records` is a cancel.
    pub async fn deep_linking_response(
        &self,
        context: &LaunchContext,
        records: &[ResourceRecord],
        message: Option<&str>,
    ) -> Result<SignedResponse, LtiError> {
        let items = self.response_items(&context.settings, records)?;
        let consumed = self.store.consume_launch(&context.launch.id, Utc::now()).await?;
        if !consumed {
            return Err(LtiError::LaunchNotFound(short(&context.launch.id)));
        }
        let now: DateTime<Utc> = Utc::now();
        let claims = ResponseClaims {
            iss: &context.platform.client_id,
            aud: &context.platform.issuer,
            azp: &context.platform.client_id,
            iat: now.timestamp(),
            exp: now.timestamp() + RESPONSE_LIFETIME_SECONDS,
            nonce: random_secret(),
            deployment_id: &context.launch.deployment_id,
            message_type: claims::DEEP_LINKING_RESPONSE,
            version: claims::LTI_VERSION,
            content_items: &items,
            data: context.settings.data.as_deref(),
            msg: message.filter(|m| !m.trim().is_empty()),
        };
        let jwt = self.keys.sign(&claims).await?;
        tracing::info!(platform = %context.platform.id, items = items.len(), "deep linking response signed");
        Ok(SignedResponse { jwt, return_url: context.settings.deep_link_return_url.clone(), content_items: items })
    }

    /// The content items for `records` as this platform accepts them.
    pub fn response_items(
        &self,
        settings: &DeepLinkingSettings,
        records: &[ResourceRecord],
    ) -> Result<Vec<Value>, LtiError> {
        if records.len() > 1 && !settings.accept_multiple() {
            return Err(LtiError::NotAccepted(format!(
                "the platform accepts a single item (accept_multiple is false) but {} were chosen",
                records.len()
            )));
        }
        let launch_url = self.launch_url();
        let mut items = Vec::with_capacity(records.len());
        for record in records {
            let kind = record.resource.kind;
            let natural = item_type(kind);
            let mut item = if settings.accepts(natural) {
                content_item(record, &launch_url)
            } else if kind != ResourceKind::LtiResourceLink && settings.accepts("ltiResourceLink") {
                through_gateway(record, &launch_url)
            } else {
                return Err(LtiError::NotAccepted(format!(
                    "{} is a {natural} item, which the platform does not accept (accept_types: {})",
                    record.id(),
                    settings.accept_types.join(", ")
                )));
            };
            if natural == "file" && settings.accepts("file") {
                check_media_type(settings, record)?;
            }
            if let Some(object) = item.as_object_mut() {
                if !settings.accept_lineitem() {
                    object.remove("lineItem");
                }
                if object.get("type") == Some(&json!("ltiResourceLink")) {
                    let targets = &settings.accept_presentation_document_targets;
                    if targets.iter().any(|t| t == "window") && !targets.iter().any(|t| t == "iframe") {
                        object.insert("window".into(), json!({ "targetName": "_blank" }));
                    }
                }
                if !object.contains_key("text") {
                    if let Some(text) = &settings.text {
                        object.insert("text".into(), json!(text));
                    }
                }
            }
            items.push(item);
        }
        Ok(items)
    }
}

/// A web resource sent as an `ltiResourceLink` through the gateway, which redirects at launch.
fn through_gateway(record: &ResourceRecord, launch_url: &str) -> Value {
    let mut item = content_item(record, launch_url);
    if let Some(object) = item.as_object_mut() {
        object.insert("type".into(), json!("ltiResourceLink"));
        object.insert("url".into(), json!(launch_url));
        object.remove("html");
        object.remove("mediaType");
        object.insert("custom".into(), json!({ RESOURCE_ID_PARAM: record.id().to_string() }));
    }
    item
}

fn check_media_type(settings: &DeepLinkingSettings, record: &ResourceRecord) -> Result<(), LtiError> {
    let Some(accepted) = settings.accept_media_types.as_deref().filter(|m| !m.trim().is_empty()) else {
        return Ok(());
    };
    let media_type = record.resource.media_type.as_deref().unwrap_or("application/octet-stream");
    let matches = accepted.split(',').map(str::trim).any(|pattern| {
        pattern == "*/*"
            || pattern.eq_ignore_ascii_case(media_type)
            || pattern.strip_suffix("/*").is_some_and(|prefix| media_type.starts_with(&format!("{prefix}/")))
    });
    if matches {
        Ok(())
    } else {
        Err(LtiError::NotAccepted(format!(
            "{} is {media_type}, which the platform does not accept ({accepted})",
            record.id()
        )))
    }
}

fn parse_settings(raw: &str) -> Result<DeepLinkingSettings, LtiError> {
    serde_json::from_str(raw).map_err(|err| LtiError::InvalidToken(format!("deep_linking_settings unreadable: {err}")))
}

/// Launch ids are credentials: never echo one whole.
fn short(id: &str) -> String {
    let prefix: String = id.chars().take(6).collect();
    format!("{prefix}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(json: &str) -> DeepLinkingSettings {
        parse_settings(json).unwrap()
    }

    #[test]
    fn test_lenient_flags_and_returnable_kinds() {
        let s = settings(
            r#"{"deep_link_return_url":"https://lms/x","accept_types":["ltiResourceLink"],"accept_multiple":"true","data":{"b":1,"a":[2]}}"#,
        );
        assert!(s.accept_multiple());
        assert!(s.accept_lineitem());
        assert_eq!(s.data.as_ref().unwrap().get(), r#"{"b":1,"a":[2]}"#, "data kept byte for byte");
        assert_eq!(s.returnable_kinds().len(), 5, "web resources can go through the gateway");
        let links_only =
            settings(r#"{"deep_link_return_url":"https://lms/x","accept_types":["link"],"accept_multiple":false}"#);
        assert!(!links_only.accept_multiple());
        assert_eq!(links_only.returnable_kinds(), vec![ResourceKind::Link]);
    }
}
