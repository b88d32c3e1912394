//! The AGS relay: a tool posts scores to the gateway's line item; the gateway posts them to the
//! LMS line item with its own access token, the LMS user's own id in place of the pseudonym.

use std::time::Duration as StdDuration;

use chrono::Utc;
use moka::future::Cache;
use serde_json::{json, Value};

use super::token::ToolCaller;
use super::{AGS_SCOPE_LINEITEM_READ, AGS_SCOPE_SCORE};
use crate::auth::random_secret;
use crate::lti::{Lti, LtiError};
use crate::registry::{AgsGrant, Platform};

const SCORE_MEDIA_TYPE: &str = "application/vnd.ims.lis.v1.score+json";
const LINEITEM_MEDIA_TYPE: &str = "application/vnd.ims.lis.v2.lineitem+json";
const MAX_LMS_BODY: usize = 1024 * 1024;

/// The gateway's tokens at LMS token endpoints, by platform and scope, kept until shortly
/// before they expire.
pub struct LmsTokens {
    cache: Cache<(String, String), (String, chrono::DateTime<Utc>)>,
}

impl Default for LmsTokens {
    fn default() -> Self {
        Self::new()
    }
}

impl LmsTokens {
    pub fn new() -> Self {
        Self { cache: Cache::builder().max_capacity(10_000).time_to_live(StdDuration::from_secs(3600)).build() }
    }
}

/// What the LMS answered, passed back to the tool.
#[derive(Debug, Clone)]
pub struct Relayed {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

impl Lti {
    /// The grant a tool addresses, checked against the caller and the scope the call needs.
    async fn checked_grant(
        &self,
        caller: &ToolCaller,
        grant_id: &str,
        scope: &str,
    ) -> Result<(AgsGrant, Platform), LtiError> {
        let found = match self.broker.grant(grant_id).await? {
            Some(grant) => self.store.platform(&grant.platform_id).await?.map(|p| (grant, p)),
            None => None,
        };
        let (grant, platform) = found.ok_or_else(|| LtiError::NotFound("no such line item".into()))?;
        if !issued_by(&platform, &grant.lineitem_url) {
            return Err(LtiError::Forbidden("the line item is not on the hosts of the LMS that issued it".into()));
        }
        if grant.tool_id != caller.tool.id {
            // Another tool's line item: not even its existence is confirmed.
            return Err(LtiError::NotFound("no such line item".into()));
        }
        if !caller.scopes.iter().any(|s| s == scope) {
            return Err(LtiError::Forbidden(format!("the access token lacks scope {scope}")));
        }
        if !grant.scopes.iter().any(|s| s == scope) {
            return Err(LtiError::Forbidden(format!("the LMS did not grant scope {scope} for this line item")));
        }
        Ok((grant, platform))
    }

    /// Relays a score to the LMS line item.
    pub async fn relay_score(&self, caller: &ToolCaller, grant_id: &str, score: &[u8]) -> Result<Relayed, LtiError> {
        let (grant, platform) = self.checked_grant(caller, grant_id, AGS_SCOPE_SCORE).await?;
        let mut score: Value =
            serde_json::from_slice(score).map_err(|err| LtiError::BadRequest(format!("score is not JSON: {err}")))?;
        let Some(object) = score.as_object_mut() else {
            return Err(LtiError::BadRequest("score must be a JSON object".into()));
        };
        match object.get("userId").and_then(Value::as_str) {
            Some(user) if user == grant.tool_user_id => {}
            Some(_) => {
                return Err(LtiError::Forbidden("a tool may post scores only for the user it was launched for".into()))
            }
            None => return Err(LtiError::BadRequest("score needs a userId".into())),
        }
        object.insert("userId".into(), json!(grant.lms_user_id));
        let url = lineitem_subpath(&grant.lineitem_url, "scores")?;
        let token = self.lms_token(&platform, AGS_SCOPE_SCORE).await?;
        let request = self
            .outbound
            .post(&url)
            .map_err(|err| LtiError::Upstream(err.to_string()))?
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, SCORE_MEDIA_TYPE)
            .body(score.to_string());
        let relayed = self.send(request).await?;
        tracing::info!(tool = %caller.tool.id, platform = %platform.id, status = relayed.status, "score relayed to the LMS");
        Ok(relayed)
    }

    /// Relays a read of the line item.
    pub async fn relay_lineitem(&self, caller: &ToolCaller, grant_id: &str) -> Result<Relayed, LtiError> {
        let (grant, platform) = self.checked_grant(caller, grant_id, AGS_SCOPE_LINEITEM_READ).await?;
        let token = self.lms_token(&platform, AGS_SCOPE_LINEITEM_READ).await?;
        let request = self
            .outbound
            .get(&grant.lineitem_url)
            .map_err(|err| LtiError::Upstream(err.to_string()))?
            .bearer_auth(token)
            .header(reqwest::header::ACCEPT, LINEITEM_MEDIA_TYPE);
        let mut relayed = self.send(request).await?;
        // The tool knows the line item by the gateway's URL, not the LMS's.
        if let Ok(mut item) = serde_json::from_slice::<Value>(&relayed.body) {
            if let Some(object) = item.as_object_mut() {
                object
                    .insert("id".into(), json!(format!("{}/lti/platform/ags/{}/lineitem", self.public_url, grant.id)));
                relayed.body = item.to_string().into_bytes();
            }
        }
        Ok(relayed)
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Relayed, LtiError> {
        let response = self
            .outbound
            .fetch(request.timeout(StdDuration::from_secs(15)), MAX_LMS_BODY)
            .await
            .map_err(|err| LtiError::Upstream(err.to_string()))?;
        let content_type =
            response.headers.get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
        Ok(Relayed { status: response.status.as_u16(), content_type, body: response.body })
    }

    /// The gateway's access token at the LMS: client credentials with a JWT assertion signed
    /// by the gateway's key, cached until shortly before it expires.
    async fn lms_token(&self, platform: &Platform, scope: &str) -> Result<String, LtiError> {
        let key = (platform.id.clone(), scope.to_string());
        if let Some((token, expires)) = self.lms_tokens.cache.get(&key).await {
            if expires > Utc::now() + chrono::Duration::seconds(30) {
                return Ok(token);
            }
        }
        let token_url = platform.token_url.clone().ok_or_else(|| {
            LtiError::Upstream("the LMS registration has no token URL; add one with registerPlatform".into())
        })?;
        let now = Utc::now().timestamp();
        let assertion = self
            .keys
            .sign(&json!({
                "iss": platform.client_id, "sub": platform.client_id, "aud": token_url,
                "iat": now, "exp": now + 300, "jti": random_secret(),
            }))
            .await?;
        let request = self.outbound.post(&token_url).map_err(|err| LtiError::Upstream(err.to_string()))?.form(&[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", assertion.as_str()),
            ("scope", scope),
        ]);
        let response = self.send(request).await?;
        if !(200..300).contains(&response.status) {
            return Err(LtiError::Upstream(format!(
                "token endpoint answered HTTP {}: {}",
                response.status,
                String::from_utf8_lossy(&response.body).chars().take(300).collect::<String>()
            )));
        }
        let body: Value = serde_json::from_slice(&response.body)
            .map_err(|err| LtiError::Upstream(format!("token endpoint answered something else than JSON: {err}")))?;
        let token = body
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or_else(|| LtiError::Upstream("token endpoint answered no access_token".into()))?
            .to_string();
        let expires_in = body.get("expires_in").and_then(Value::as_i64).unwrap_or(300).clamp(1, 3600);
        self.lms_tokens.cache.insert(key, (token.clone(), Utc::now() + chrono::Duration::seconds(expires_in))).await;
        Ok(token)
    }
}

/// Whether a line item URL is on the hosts of the platform that sent it: the host of its
/// issuer, login, JWKS or token URL, or (for names) the same registrable domain as one of them,
/// since hosted LMSs serve each school on its own subdomain (Canvas: issuer
/// `canvas.instructure.com`, line items on `school.instructure.com`). Anything else would make
/// the gateway carry the platform's token, and a tool's requests, to a host of the tool's
/// choosing.
pub(crate) fn issued_by(platform: &Platform, lineitem: &str) -> bool {
    fn host(raw: &str) -> Option<String> {
        let url = url::Url::parse(raw).ok()?;
        Some(url.host_str()?.trim_end_matches('.').to_ascii_lowercase())
    }
    let Some(target) = host(lineitem) else { return false };
    let target_domain = psl::domain_str(&target);
    let platform_urls = [Some(&platform.issuer), Some(&platform.auth_login_url), Some(&platform.jwks_url)]
        .into_iter()
        .chain([platform.token_url.as_ref()])
        .flatten();
    platform_urls.filter_map(|raw| host(raw)).any(|own| {
        let is_name = !own.starts_with('[') && own.parse::<std::net::IpAddr>().is_err();
        own == target || (is_name && target_domain.is_some() && psl::domain_str(&own) == target_domain)
    })
}

/// `<lineitem>/scores` keeping the line item URL's query string (AGS: append to the path).
fn lineitem_subpath(lineitem: &str, sub: &str) -> Result<String, LtiError> {
    let mut url =
        url::Url::parse(lineitem).map_err(|_| LtiError::Upstream("the LMS line item URL is not a URL".into()))?;
    let path = format!("{}/{sub}", url.path().trim_end_matches('/'));
    url.set_path(&path);
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn platform(issuer: &str, auth: &str, token: Option<&str>) -> Platform {
        Platform {
            id: "p".into(),
            issuer: issuer.into(),
            client_id: "c".into(),
            deployment_ids: vec!["1".into()],
            auth_login_url: auth.into(),
            jwks_url: format!("{auth}/jwks"),
            token_url: token.map(str::to_string),
            name: None,
            created_at: Utc::now(),
            deployments_open: false,
        }
    }

    #[test]
    fn test_line_items_stay_on_the_issuing_platforms_hosts() {
        let canvas = platform(
            "https://canvas.instructure.com",
            "https://sso.canvaslms.com/api/lti/authorize_redirect",
            Some("https://sso.canvaslms.com/login/oauth2/token"),
        );
        assert!(issued_by(&canvas, "https://district.instructure.com/api/lti/courses/1/line_items/7"));
        assert!(issued_by(&canvas, "https://sso.canvaslms.com/x"));
        assert!(!issued_by(&canvas, "https://grades.attacker.example/api/lti/courses/1/line_items/7"));
        assert!(!issued_by(&canvas, "https://instructure.com.attacker.example/li"));
        let moodle =
            platform("https://moodle.springfield.edu", "https://moodle.springfield.edu/mod/lti/auth.php", None);
        assert!(issued_by(
            &moodle,
            "https://moodle.springfield.edu/mod/lti/services.php/2/lineitems/5/lineitem?type_id=1"
        ));
        assert!(issued_by(&moodle, "https://MOODLE.springfield.edu./li"), "case and a trailing dot do not matter");
        assert!(issued_by(&moodle, "https://lms.springfield.edu/li"), "the same registrable domain");
        assert!(!issued_by(&moodle, "https://moodle.shelbyville.edu/li"));
        // Names under a public suffix shared by strangers are not one platform.
        let hosted = platform("https://school.github.io", "https://school.github.io/auth", None);
        assert!(!issued_by(&hosted, "https://attacker.github.io/li"));
        let local = platform("http://127.0.0.1:9000", "http://127.0.0.1:9000/auth", None);
        assert!(issued_by(&local, "http://127.0.0.1:9001/lineitems/7"));
        assert!(!issued_by(&local, "http://127.0.0.2:9000/lineitems/7"));
        assert!(!issued_by(&local, "not a url"));
    }

    #[test]
    fn test_scores_url_keeps_the_query() {
        assert_eq!(
            lineitem_subpath("https://lms.example.edu/api/lti/courses/1/line_items/7?type=x", "scores").unwrap(),
            "https://lms.example.edu/api/lti/courses/1/line_items/7/scores?type=x"
        );
        assert_eq!(lineitem_subpath("https://lms/li/7/", "scores").unwrap(), "https://lms/li/7/scores");
    }
}
