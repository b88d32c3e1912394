//! The platform side of a brokered launch: login initiation toward the publisher's tool, the
//! tool's authorization request, and the `LtiResourceLinkRequest` id_token it receives.

use chrono::{Duration, Utc};
use serde_json::{json, Map, Value};

use super::{AGS_SCOPE_LINEITEM_READ, AGS_SCOPE_SCORE};
use crate::auth::random_secret;
use crate::lti::claims;
use crate::lti::content_item::RESOURCE_ID_PARAM;
use crate::lti::launch::ValidatedLaunch;
use crate::lti::{Lti, LtiError};
use crate::registry::{AgsGrant, BrokeredLaunch, PublisherTool};
use crate::resource::ResourceRecord;

/// How long the tool has to complete its login.
const BROKERED_LAUNCH_MINUTES: i64 = 10;
const ID_TOKEN_SECONDS: i64 = 300;
/// Claims that pass only when the district allows personal data for this publisher.
const PERSONAL_CLAIMS: &[&str] = &[
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "email",
    "picture",
    "locale",
    "https://purl.imsglobal.org/spec/lti/claim/lis",
];
/// LMS claims passed through unchanged.
const PASSED_THROUGH: &[&str] = &[claims::RESOURCE_LINK, claims::CONTEXT, claims::ROLES, claims::LAUNCH_PRESENTATION];

/// The tool's authorization request (OIDC implicit flow, form post).
#[derive(Debug, Clone, Default)]
pub struct AuthRequest {
    pub scope: Option<String>,
    pub response_type: Option<String>,
    pub response_mode: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub login_hint: Option<String>,
    pub lti_message_hint: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
}

/// How the authorization endpoint answers.
#[derive(Debug)]
pub enum AuthOutcome {
    /// Form-post `id_token` and `state` to `redirect_uri`.
    IdToken { redirect_uri: String, id_token: String, state: Option<String> },
    /// An OAuth error, form-posted to the (registered) `redirect_uri`.
    Error { redirect_uri: String, error: &'static str, description: String, state: Option<String> },
}

impl Lti {
    /// Starts a brokered launch of `record` through `tool` for a validated LMS launch; answers
    /// the tool's login initiation URL to send the browser to.
    pub async fn start_brokered_launch(
        &self,
        lms_launch: &ValidatedLaunch,
        record: &ResourceRecord,
        tool: &PublisherTool,
    ) -> Result<String, LtiError> {
        let target_link_uri =
            record.resource.lti.as_ref().map(|l| l.launch_url.clone()).unwrap_or_else(|| record.resource.url.clone());
        let lms_claims = &lms_launch.claims;
        let lms_sub = lms_claims
            .get("sub")
            .and_then(Value::as_str)
            .filter(|sub| !sub.is_empty())
            .ok_or_else(|| {
                LtiError::InvalidToken("an anonymous launch (no sub) cannot reach a publisher's tool".into())
            })?
            .to_string();
        let pseudonym = self.keys.pseudonym(record.publisher.as_str(), &lms_launch.platform.issuer, &lms_sub);

        let mut claims = Map::new();
        claims.insert("sub".into(), json!(pseudonym));
        claims.insert(claims::DEPLOYMENT_ID.into(), json!(tool.deployment_id));
        claims.insert(claims::MESSAGE_TYPE.into(), json!(claims::RESOURCE_LINK_REQUEST));
        claims.insert(claims::VERSION.into(), json!(claims::LTI_VERSION));
        claims.insert(claims::TARGET_LINK_URI.into(), json!(target_link_uri));
        for name in PASSED_THROUGH {
            if let Some(value) = lms_claims.get(*name) {
                claims.insert((*name).to_string(), value.clone());
            }
        }
        if tool.share_personal_data {
            for name in PERSONAL_CLAIMS {
                if let Some(value) = lms_claims.get(*name) {
                    claims.insert((*name).to_string(), value.clone());
                }
            }
        }
        claims
            .insert(claims::CUSTOM.into(), Value::Object(merged_custom(record, lms_claims, tool.share_personal_data)));
        claims.insert(
            "https://purl.imsglobal.org/spec/lti/claim/tool_platform".into(),
            json!({ "guid": self.public_url, "name": "resource-gateway", "product_family_code": "resource-gateway",
                    "version": env!("CARGO_PKG_VERSION") }),
        );
        if let Some(ags) = self.ags_claim(lms_launch, tool, &lms_sub, &pseudonym).await? {
            claims.insert(claims::AGS_ENDPOINT.into(), ags);
        }

        let now = Utc::now();
        let launch = BrokeredLaunch {
            id: random_secret(),
            tool_id: tool.id.clone(),
            resource_id: record.id().to_string(),
            claims_json: Value::Object(claims).to_string(),
            created_at: now,
            expires_at: now + Duration::minutes(BROKERED_LAUNCH_MINUTES),
            used_at: None,
        };
        let id = launch.id.clone();
        self.broker.insert_brokered_launch(&launch).await?;

        let mut url = url::Url::parse(&tool.login_url)
            .map_err(|_| LtiError::BadRequest("the tool's login URL is not a URL".into()))?;
        url.query_pairs_mut()
            .append_pair("iss", self.platform_issuer())
            .append_pair("login_hint", &id)
            .append_pair("target_link_uri", &target_link_uri)
            .append_pair("lti_message_hint", &id)
            .append_pair("client_id", &tool.client_id)
            .append_pair("lti_deployment_id", &tool.deployment_id);
        tracing::info!(tool = %tool.id, resource = %record.id(), "brokered launch started");
        Ok(url.to_string())
    }

    /// The AGS claim the tool gets: endpoints of the gateway, at most the scopes the LMS granted.
    async fn ags_claim(
        &self,
        lms_launch: &ValidatedLaunch,
        tool: &PublisherTool,
        lms_sub: &str,
        pseudonym: &str,
    ) -> Result<Option<Value>, LtiError> {
        let Some(endpoint) = lms_launch.claims.get(claims::AGS_ENDPOINT) else { return Ok(None) };
        let Some(lineitem) = endpoint.get("lineitem").and_then(Value::as_str) else { return Ok(None) };
        let granted: Vec<String> = endpoint
            .get("scope")
            .and_then(Value::as_array)
            .map(|scopes| scopes.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default();
        let scopes: Vec<String> = [AGS_SCOPE_SCORE, AGS_SCOPE_LINEITEM_READ]
            .into_iter()
            .filter(|scope| granted.iter().any(|g| g == scope))
            .map(str::to_string)
            .collect();
        if scopes.is_empty() || lms_sub.is_empty() {
            return Ok(None);
        }
        let grant = AgsGrant {
            id: random_secret(),
            tool_id: tool.id.clone(),
            platform_id: lms_launch.platform.id.clone(),
            lineitem_url: lineitem.to_string(),
            lms_user_id: lms_sub.to_string(),
            tool_user_id: pseudonym.to_string(),
            scopes: scopes.clone(),
            created_at: Utc::now(),
        };
        let grant = self.broker.upsert_grant(&grant).await?;
        Ok(Some(json!({
            "scope": grant.scopes,
            "lineitem": format!("{}/lti/platform/ags/{}/lineitem", self.public_url, grant.id),
        })))
    }

    /// The authorization endpoint toward publishers' tools. A wrong client id or redirect URI
    /// is a local error (never a redirect); other problems go back to the tool as OAuth errors.
    pub async fn authorize_tool(&self, request: AuthRequest) -> Result<AuthOutcome, LtiError> {
        let client_id = request.client_id.clone().unwrap_or_default();
        let tool = self
            .broker
            .tool_by_client_id(&client_id)
            .await?
            .ok_or_else(|| LtiError::BadRequest(format!("unknown client_id '{client_id}'")))?;
        let redirect_uri = request.redirect_uri.clone().unwrap_or_default();
        if !tool.redirect_uris.contains(&redirect_uri) {
            return Err(LtiError::BadRequest(format!(
                "invalid_request_uri: redirect_uri '{redirect_uri}' is not registered for this tool"
            )));
        }
        let state = request.state.clone();
        let fail = |error: &'static str, description: String| {
            tracing::warn!(tool = %tool.id, error, %description, "tool authorization refused");
            Ok(AuthOutcome::Error { redirect_uri: redirect_uri.clone(), error, description, state: state.clone() })
        };
        if !request.scope.as_deref().unwrap_or_default().split_whitespace().any(|s| s == "openid") {
            return fail("invalid_scope", "scope must include openid".into());
        }
        if request.response_type.as_deref() != Some("id_token") {
            return fail("unsupported_response_type", "response_type must be id_token".into());
        }
        if request.response_mode.as_deref().is_some_and(|m| m != "form_post") {
            return fail("invalid_request", "response_mode must be form_post".into());
        }
        let Some(nonce) = request.nonce.clone().filter(|n| !n.is_empty()) else {
            return fail("invalid_request", "nonce is required".into());
        };
        let login_hint = request.login_hint.clone().unwrap_or_default();
        if request.lti_message_hint.as_deref().is_some_and(|hint| hint != login_hint) {
            return fail("invalid_request", "lti_message_hint does not match login_hint".into());
        }
        let launch = self.broker.brokered_launch(&login_hint).await?;
        let Some(launch) = launch else {
            return fail("login_required", "this launch is unknown; start it again from the course".into());
        };
        if launch.tool_id != tool.id {
            return fail("access_denied", "this launch belongs to another tool".into());
        }
        let consumed = self.broker.consume_brokered_launch(&launch.id, Utc::now()).await?;
        if !consumed {
            return fail(
                "login_required",
                "this launch expired or was already used; start it again from the course".into(),
            );
        }
        let mut claims: Map<String, Value> = serde_json::from_str(&launch.claims_json)
            .map_err(|err| LtiError::BadRequest(format!("stored launch unreadable: {err}")))?;
        let now = Utc::now().timestamp();
        claims.insert("iss".into(), json!(self.platform_issuer()));
        claims.insert("aud".into(), json!(tool.client_id));
        claims.insert("azp".into(), json!(tool.client_id));
        claims.insert("iat".into(), json!(now));
        claims.insert("exp".into(), json!(now + ID_TOKEN_SECONDS));
        claims.insert("nonce".into(), json!(nonce));
        let id_token = self.keys.sign(&Value::Object(claims)).await?;
        Ok(AuthOutcome::IdToken { redirect_uri, id_token, state })
    }
}

/// Substitution variables that carry who the user is: their values reach a publisher's tool
/// only when the district shares personal data with that publisher.
const PERSONAL_VARIABLES: &[&str] =
    &["$User.", "$Person.", "$Canvas.user.", "$Canvas.xuser.", "$Canvas.xapi", "$Caliper.", "$Membership."];

/// The resource's own custom parameters, with the values the LMS substituted for them. Keys
/// the resource did not declare (the district's own parameters on the gateway's registration)
/// and the gateway's own parameter do not pass; neither do personal substitutions unless shared.
fn merged_custom(record: &ResourceRecord, lms_claims: &Value, share_personal_data: bool) -> Map<String, Value> {
    let mut custom = Map::new();
    let Some(lti) = &record.resource.lti else { return custom };
    let from_lms = lms_claims.get(claims::CUSTOM).and_then(Value::as_object);
    for (name, declared) in &lti.custom {
        if name == RESOURCE_ID_PARAM {
            continue;
        }
        let personal = PERSONAL_VARIABLES.iter().any(|prefix| declared.trim_start().starts_with(prefix));
        if personal && !share_personal_data {
            continue;
        }
        let value = from_lms.and_then(|lms| lms.get(name)).cloned().unwrap_or_else(|| json!(declared));
        custom.insert(name.clone(), value);
    }
    custom
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::{CatalogFormat, LtiLink, PublisherId, Resource, ResourceKind};

    #[test]
    fn test_custom_parameters_pass_only_declared_and_non_personal_values() {
        let mut lti = LtiLink { launch_url: "https://tool.example.com/launch".into(), ..Default::default() };
        lti.custom.insert("quiz".into(), "7".into());
        lti.custom.insert("context".into(), "$Context.id".into());
        lti.custom.insert("uid".into(), "$User.id".into());
        lti.custom.insert("mail".into(), "$Person.email.primary".into());
        let mut resource = Resource::new("Q", "Quiz", "https://tool.example.com/launch", ResourceKind::LtiResourceLink);
        resource.lti = Some(lti);
        let record = ResourceRecord {
            publisher: PublisherId::parse("p").unwrap(),
            source_id: "s".into(),
            format: CatalogFormat::ResourceSearch,
            resource,
        };
        let lms = json!({ claims::CUSTOM: { "quiz": "7", "context": "course-1", "uid": "student-42",
                                            "mail": "ada@school.example.edu", "district_secret": "x",
                                            RESOURCE_ID_PARAM: "p:Q" } });
        let private = merged_custom(&record, &lms, false);
        assert_eq!(Value::Object(private), json!({ "quiz": "7", "context": "course-1" }));
        let shared = merged_custom(&record, &lms, true);
        assert_eq!(shared["uid"], "student-42");
        assert_eq!(shared["mail"], "ada@school.example.edu");
        assert!(shared.get("district_secret").is_none() && shared.get(RESOURCE_ID_PARAM).is_none());
    }
}
