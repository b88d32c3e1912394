//! GraphQL for LTI: platform registration and deep-linking responses for LMS plugins.

use std::sync::Arc;

use async_graphql::{Context, InputObject, Json, Object, Result, SimpleObject, ID};

use crate::auth::Principal;
use crate::gateway::Gateway;
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
        let gateway = ctx.data::<Arc<Gateway>>()?;
        let principal = ctx.data::<Principal>()?;
        Ok(gateway.platforms(principal).await?.into_iter().map(Platform).collect())
    }
}

#[derive(Default)]
pub struct LtiMutation;

#[Object]
impl LtiMutation {
    /// Registers an LMS (admin). The same issuer and client id again updates it.
    async fn register_platform(&self, ctx: &Context<'_>, input: RegisterPlatformInput) -> Result<Platform> {
        let gateway = ctx.data::<Arc<Gateway>>()?;
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
        Ok(Platform(gateway.register_platform(principal, input).await?))
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
        let gateway = ctx.data::<Arc<Gateway>>()?;
        let ids: Vec<String> = resource_ids.into_iter().map(|id| id.to_string()).collect();
        let signed = gateway.deep_linking_response(&launch, &ids, message.as_deref()).await?;
        Ok(DeepLinkingResponse {
            jwt: signed.jwt,
            return_url: signed.return_url,
            content_items: signed.content_items.into_iter().map(Json).collect(),
        })
    }
}
