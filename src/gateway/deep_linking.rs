//! The gateway's side of LTI launches: what needs both the LTI service and the index.

use serde_json::Value;

use super::Gateway;
use crate::auth::Principal;
use crate::error::AppError;
use crate::lti::content_item::RESOURCE_ID_PARAM;
use crate::lti::deep_link::SignedResponse;
use crate::lti::launch::ValidatedLaunch;
use crate::lti::platform::PlatformInput;
use crate::lti::{claims, LtiError};
use crate::registry::Platform;
use crate::resource::{ResourceKind, ResourceRecord};

/// Where an LMS launch of an inserted link leads.
#[derive(Debug)]
pub enum LinkTarget {
    /// A web resource: send the browser there.
    Redirect(String),
    /// A publisher's LTI tool: needs a brokered launch.
    Tool(Box<ResourceRecord>),
}

impl Gateway {
    /// Registers (or updates) an LMS platform; admin only.
    pub async fn register_platform(&self, principal: &Principal, input: PlatformInput) -> Result<Platform, AppError> {
        super::require_admin(principal)?;
        self.lti().register_platform(input).await.map_err(super::to_app_error)
    }

    /// Every registered platform; admin only.
    pub async fn platforms(&self, principal: &Principal) -> Result<Vec<Platform>, AppError> {
        super::require_admin(principal)?;
        self.lti().platforms().await.map_err(super::to_app_error)
    }

    /// Answers a deep-linking launch with the chosen resources (none: cancel). The launch id is
    /// the credential; it is consumed only when the answer is signed.
    pub async fn deep_linking_response(
        &self,
        launch_id: &str,
        resource_ids: &[String],
        message: Option<&str>,
    ) -> Result<SignedResponse, AppError> {
        let context = self.lti().launch_context(launch_id).await.map_err(super::to_app_error)?;
        let records = self.resources_in_order(resource_ids).await?;
        self.lti().deep_linking_response(&context, &records, message).await.map_err(super::to_app_error)
    }

    /// Resources by id in the order given; any unknown id is `NOT_FOUND`.
    pub async fn resources_in_order(&self, ids: &[String]) -> Result<Vec<ResourceRecord>, AppError> {
        let mut unique: Vec<String> = Vec::with_capacity(ids.len());
        for id in ids {
            if !unique.contains(id) {
                unique.push(id.clone());
            }
        }
        let records = self.resources(&unique).await?;
        let missing: Vec<&str> = unique
            .iter()
            .filter(|id| !records.iter().any(|r| r.id().to_string() == **id))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(AppError::not_found(format!("no resource with id {}", missing.join(", "))));
        }
        Ok(records)
    }

    /// Finds what an `LtiResourceLinkRequest` for a link the gateway created points to.
    pub async fn link_target(&self, launch: &ValidatedLaunch) -> Result<LinkTarget, AppError> {
        let resource_id = launch
            .claims
            .get(claims::CUSTOM)
            .and_then(|custom| custom.get(RESOURCE_ID_PARAM))
            .and_then(Value::as_str)
            .ok_or_else(|| {
                super::to_app_error(LtiError::BadRequest(format!(
                    "this link was not created by the gateway (no custom parameter {RESOURCE_ID_PARAM})"
                )))
            })?;
        let records = self.resources(&[resource_id.to_string()]).await?;
        let record = records.into_iter().next().ok_or_else(|| {
            AppError::not_found(format!("resource {resource_id} is no longer in its publisher's catalog"))
        })?;
        Ok(match record.resource.kind {
            ResourceKind::LtiResourceLink => LinkTarget::Tool(Box::new(record)),
            _ => LinkTarget::Redirect(record.resource.url.clone()),
        })
    }
}
