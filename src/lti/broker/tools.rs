//! Publishers' LTI tools, registered by the publisher (its key) or the admin.

use chrono::Utc;
use sha2::{Digest, Sha256};

use crate::lti::{Lti, LtiError};
use crate::registry::PublisherTool;
use crate::resource::PublisherId;

/// What a publisher enters about its tool (the values its tool issued to the gateway).
#[derive(Debug, Clone, Default)]
pub struct ToolInput {
    pub name: Option<String>,
    pub login_url: String,
    pub launch_url: String,
    /// Defaults to `[launch_url]`; matched exactly.
    pub redirect_uris: Vec<String>,
    pub client_id: String,
    pub deployment_id: String,
    pub jwks_url: String,
    pub share_personal_data: bool,
}

/// The scheme, host and port of a URL, which pick a resource's tool.
pub fn origin(raw: &str) -> Option<String> {
    let url = url::Url::parse(raw).ok()?;
    Some(format!("{}://{}:{}", url.scheme(), url.host_str()?, url.port_or_known_default()?))
}

impl Lti {
    /// Registers a tool for `publisher`, or updates the one with the same client id.
    pub async fn register_tool(&self, publisher: &PublisherId, input: ToolInput) -> Result<PublisherTool, LtiError> {
        let client_id = input.client_id.trim().to_string();
        let deployment_id = input.deployment_id.trim().to_string();
        if client_id.is_empty() || deployment_id.is_empty() {
            return Err(LtiError::BadRequest("clientId and deploymentId are required".into()));
        }
        self.check_tool_url(&input.login_url, "loginUrl")?;
        self.check_tool_url(&input.launch_url, "launchUrl")?;
        self.check_tool_url(&input.jwks_url, "jwksUrl")?;
        let mut redirect_uris: Vec<String> =
            input.redirect_uris.iter().map(|u| u.trim().to_string()).filter(|u| !u.is_empty()).collect();
        if redirect_uris.is_empty() {
            redirect_uris.push(input.launch_url.trim().to_string());
        }
        for uri in &redirect_uris {
            self.check_tool_url(uri, "redirectUris")?;
        }
        let digest = Sha256::digest(client_id.as_bytes());
        let tool = PublisherTool {
            id: format!("tool-{}", &hex::encode(digest)[..16]),
            publisher: publisher.clone(),
            name: input.name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty()),
            login_url: input.login_url.trim().to_string(),
            launch_url: input.launch_url.trim().to_string(),
            redirect_uris,
            client_id,
            deployment_id,
            jwks_url: input.jwks_url.trim().to_string(),
            share_personal_data: input.share_personal_data,
            created_at: Utc::now(),
        };
        let saved = self.broker.upsert_tool(&tool).await?;
        tracing::info!(tool = %saved.id, publisher = %saved.publisher, "publisher tool registered");
        Ok(saved)
    }

    /// The tool with this id, whoever's it is (callers check the rights).
    pub async fn tool(&self, id: &str) -> Result<Option<PublisherTool>, LtiError> {
        Ok(self.broker.tool(id).await?)
    }

    /// Forgets a tool: launches to it stop, its tokens and grade grants go.
    pub async fn remove_tool(&self, id: &str) -> Result<bool, LtiError> {
        let removed = self.broker.delete_tool(id).await?;
        if removed {
            tracing::info!(tool = id, "publisher tool removed");
        }
        Ok(removed)
    }

    pub async fn tools_of(&self, publisher: &PublisherId) -> Result<Vec<PublisherTool>, LtiError> {
        Ok(self.broker.tools_of(publisher).await?)
    }

    /// The tool of the resource's own publisher that serves its launch URL: same scheme, host
    /// and port, or that publisher's only tool. Never another publisher's.
    pub async fn tool_for(&self, publisher: &PublisherId, launch_url: &str) -> Result<Option<PublisherTool>, LtiError> {
        let tools = self.tools_of(publisher).await?;
        let wanted = origin(launch_url);
        if let Some(tool) = tools.iter().find(|t| wanted.is_some() && origin(&t.launch_url) == wanted) {
            return Ok(Some(tool.clone()));
        }
        Ok(if tools.len() == 1 { tools.into_iter().next() } else { None })
    }

    pub fn platform_auth_url(&self) -> String {
        format!("{}/lti/platform/auth", self.public_url)
    }

    pub fn platform_token_url(&self) -> String {
        format!("{}/lti/platform/token", self.public_url)
    }

    /// The issuer the gateway uses toward publishers' tools.
    pub fn platform_issuer(&self) -> &str {
        &self.public_url
    }

    fn check_tool_url(&self, raw: &str, what: &str) -> Result<(), LtiError> {
        let url = url::Url::parse(raw.trim()).map_err(|_| LtiError::BadRequest(format!("{what} must be a URL")))?;
        match url.scheme() {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_origin_includes_default_ports() {
        assert_eq!(origin("https://tool.example.com/launch/x").as_deref(), Some("https://tool.example.com:443"));
        assert_eq!(origin("http://127.0.0.1:9000/a").as_deref(), Some("http://127.0.0.1:9000"));
        assert_ne!(origin("https://tool.example.com/x"), origin("http://tool.example.com/x"));
        assert_eq!(origin("not a url"), None);
    }
}
