//! GraphQL for LTI: platform registration and deep-linking responses for LMS plugins.

use std::sync::Arc;

use async_graphql::{Context, InputObject, Json, Object, Result, SimpleObject, ID};

use crate::app::App;
use crate::auth::Principal;
use crate::lti::broker::tools::ToolInput;
use crate::lti::platform::PlatformInput;
use crate::registry;

/// An LMS registration (from the LMS's developer key / tool registration page).
#[derive(InputObject)]
pub struct RegisterPlatformInput {
    /// The platform's issuer, e.g. https://canvas.instructure.com.
    pub issuer: String,
    pub client_id: String,
    pub deployment_ids: Vec<String>,
    /// The platform's OIDC authorization endpoint.
    pub auth_login_url: String,
    pub jwks_url: String,
    pub token_url: Option<String>,
    pub name: Option<String>,
}

/// A registered LMS.
pub struct Platform(pub registry::Platform);

#[Object]
impl Platform {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn issuer(&self) -> &str {
        &self.0.issuer
    }
    async fn client_id(&self) -> &str {
        &self.0.client_id
    }
    async fn deployment_ids(&self) -> &[String] {
        &self.0.deployment_ids
    }
    async fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }
    async fn auth_login_url(&self) -> &str {
        &self.0.auth_login_url
    }
    async fn jwks_url(&self) -> &str {
        &self.0.jwks_url
    }
    async fn token_url(&self) -> Option<&str> {
        self.0.token_url.as_deref()
    }
}

/// A signed `LtiDeepLinkingResponse`: form-POST `jwt` as the field `JWT` to `returnUrl`.
#[derive(SimpleObject)]
pub struct DeepLinkingResponse {
    pub jwt: String,
    pub return_url: String,
    /// The items the JWT carries.
    pub content_items: Vec<Json<serde_json::Value>>,
}

#[derive(Default)]
pub struct LtiQuery;

#[Object]
impl LtiQuery {
    /// Registered LMS platforms (admin).
    async fn platforms(&self, ctx: &Context<'_>) -> Result<Vec<Platform>> {
        let app = ctx.data::<Arc<App>>()?;
        let principal = ctx.data::<Principal>()?;
        Ok(app.lti.platforms(principal).await?.into_iter().map(Platform).collect())
    }
}

#[derive(Default)]
pub struct LtiMutation;

#[Object]
impl LtiMutation {
    /// Registers an LMS (admin). The same issuer and client id again updates it.
    async fn register_platform(&self, ctx: &Context<'_>, input: RegisterPlatformInput) -> Result<Platform> {
        let app = ctx.data::<Arc<App>>()?;
        let principal = ctx.data::<Principal>()?;
        let input = PlatformInput {
            issuer: input.issuer,
            client_id: input.client_id,
            deployment_ids: input.deployment_ids,
            auth_login_url: input.auth_login_url,
            jwks_url: input.jwks_url,
            token_url: input.token_url,
            name: input.name,
        };
        Ok(Platform(app.lti.register_platform(principal, input).await?))
    }

    /// Answers a deep-linking launch with the chosen resources (an empty list cancels). The
    /// launch id from the picker URL is the credential; it is consumed by the first success.
    async fn deep_linking_response(
        &self,
        ctx: &Context<'_>,
        launch: ID,
        resource_ids: Vec<ID>,
        message: Option<String>,
    ) -> Result<DeepLinkingResponse> {
        let app = ctx.data::<Arc<App>>()?;
        let ids: Vec<String> = resource_ids.into_iter().map(|id| id.to_string()).collect();
        let signed = app.lti.deep_linking_response(&launch, &ids, message.as_deref()).await?;
        Ok(DeepLinkingResponse {
            jwt: signed.jwt,
            return_url: signed.return_url,
            content_items: signed.content_items.into_iter().map(Json).collect(),
        })
    }
}

/// A publisher's LTI tool, to which the gateway is the platform.
#[derive(InputObject)]
pub struct RegisterPublisherToolInput {
    /// Needed with the admin token; a publisher key acts for its own publisher.
    pub publisher: Option<ID>,
    pub name: Option<String>,
    /// The tool's OIDC login initiation URL.
    pub login_url: String,
    /// The tool's launch (target link) URL; resources whose launch URL has the same scheme,
    /// host and port launch through this tool.
    pub launch_url: String,
    /// Defaults to `[launchUrl]`; matched exactly.
    pub redirect_uris: Option<Vec<String>>,
    /// The client id the publisher's tool issued to the gateway.
    pub client_id: String,
    pub deployment_id: String,
    /// The tool's public keys.
    pub jwks_url: String,
    /// Whether name, email, picture and `lis` claims reach this tool.
    #[graphql(default = false)]
    pub share_personal_data: bool,
}

/// A registered publisher tool, with what the publisher enters on its side.
pub struct PublisherTool(pub registry::PublisherTool, pub String);

#[Object]
impl PublisherTool {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn publisher(&self) -> ID {
        ID(self.0.publisher.to_string())
    }
    async fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }
    async fn login_url(&self) -> &str {
        &self.0.login_url
    }
    async fn launch_url(&self) -> &str {
        &self.0.launch_url
    }
    async fn redirect_uris(&self) -> &[String] {
        &self.0.redirect_uris
    }
    async fn client_id(&self) -> &str {
        &self.0.client_id
    }
    async fn deployment_id(&self) -> &str {
        &self.0.deployment_id
    }
    async fn jwks_url(&self) -> &str {
        &self.0.jwks_url
    }
    async fn share_personal_data(&self) -> bool {
        self.0.share_personal_data
    }
    /// The issuer to enter in the tool: the gateway's public URL.
    async fn platform_issuer(&self) -> &str {
        &self.1
    }
    /// The platform OIDC authorization URL to enter in the tool.
    async fn platform_auth_url(&self) -> String {
        format!("{}/lti/platform/auth", self.1)
    }
    /// The platform token URL to enter in the tool (AGS access tokens).
    async fn platform_token_url(&self) -> String {
        format!("{}/lti/platform/token", self.1)
    }
    /// The platform's public keys to enter in the tool.
    async fn platform_jwks_url(&self) -> String {
        format!("{}/.well-known/jwks.json", self.1)
    }
}

#[derive(Default)]
pub struct BrokerMutation;

#[Object]
impl BrokerMutation {
    /// Registers (or updates, by client id) a publisher's LTI tool: the publisher's key for its
    /// own tools, or the admin naming `publisher`.
    async fn register_publisher_tool(
        &self,
        ctx: &Context<'_>,
        input: RegisterPublisherToolInput,
    ) -> Result<PublisherTool> {
        let app = ctx.data::<Arc<App>>()?;
        let principal = ctx.data::<Principal>()?;
        let tool = ToolInput {
            name: input.name,
            login_url: input.login_url,
            launch_url: input.launch_url,
            redirect_uris: input.redirect_uris.unwrap_or_default(),
            client_id: input.client_id,
            deployment_id: input.deployment_id,
            jwks_url: input.jwks_url,
            share_personal_data: input.share_personal_data,
        };
        let saved =
            app.lti.register_publisher_tool(principal, input.publisher.as_deref().map(|p| p.as_str()), tool).await?;
        Ok(PublisherTool(saved, app.public_url.clone()))
    }

    /// Removes a publisher's LTI tool (its key, or the admin) and answers the registration it
    /// was: launches to it stop, and its access tokens and grade grants end.
    async fn remove_publisher_tool(&self, ctx: &Context<'_>, id: ID) -> Result<PublisherTool> {
        let app = ctx.data::<Arc<App>>()?;
        let principal = ctx.data::<Principal>()?;
        let removed = app.lti.remove_publisher_tool(principal, &id).await?;
        Ok(PublisherTool(removed, app.public_url.clone()))
    }
}
