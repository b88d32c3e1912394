//! LTI as the transport layers see it: the operations that check the caller's rights, and
//! those that need the catalog as well as the LTI state (deep-linking answers, where an
//! inserted link leads, brokered launches of publishers' tools).

use std::sync::Arc;

use serde_json::Value;

use super::broker::tools::ToolInput;
use super::content_item::RESOURCE_ID_PARAM;
use super::deep_link::SignedResponse;
use super::launch::ValidatedLaunch;
use super::platform::PlatformInput;
use super::{claims, Lti, LtiError};
use crate::auth::Principal;
use crate::error::AppError;
use crate::publishers::PublisherService;
use crate::registry::{Platform, PublisherTool};
use crate::resource::{PublisherId, ResourceKind, ResourceRecord};
use crate::search::SearchService;

/// Where an LMS launch of an inserted link leads.
#[derive(Debug)]
pub enum LinkTarget {
    /// A web resource: send the browser there.
    Redirect(String),
    /// A publisher's LTI tool: needs a brokered launch.
    Tool(Box<ResourceRecord>),
}

pub struct LtiService {
    lti: Arc<Lti>,
    search: Arc<SearchService>,
    publishers: Arc<PublisherService>,
}

impl LtiService {
    pub fn new(lti: Arc<Lti>, search: Arc<SearchService>, publishers: Arc<PublisherService>) -> Self {
        Self { lti, search, publishers }
    }

    /// The LTI tool and platform themselves (logins, launches, keys).
    pub fn lti(&self) -> &Lti {
        &self.lti
    }

    /// Registers (or updates) an LMS platform; admin only.
    pub async fn register_platform(&self, principal: &Principal, input: PlatformInput) -> Result<Platform, AppError> {
        principal.require_admin()?;
        self.lti.register_platform(input).await.map_err(AppError::from)
    }

    /// Every registered platform; admin only.
    pub async fn platforms(&self, principal: &Principal) -> Result<Vec<Platform>, AppError> {
        principal.require_admin()?;
        self.lti.platforms().await.map_err(AppError::from)
    }

    /// Answers a deep-linking launch with the chosen resources (none: cancel). The launch id is
    /// the credential; it is consumed only when the answer is signed.
    pub async fn deep_linking_response(
        &self,
        launch_id: &str,
        resource_ids: &[String],
        message: Option<&str>,
    ) -> Result<SignedResponse, AppError> {
        let context = self.lti.launch_context(launch_id).await.map_err(AppError::from)?;
        let records = self.search.resources_in_order(resource_ids).await?;
        self.lti.deep_linking_response(&context, &records, message).await.map_err(AppError::from)
    }

    /// Finds what an `LtiResourceLinkRequest` for a link the gateway created points to.
    pub async fn link_target(&self, launch: &ValidatedLaunch) -> Result<LinkTarget, AppError> {
        let resource_id = launch
            .claims
            .get(claims::CUSTOM)
            .and_then(|custom| custom.get(RESOURCE_ID_PARAM))
            .and_then(Value::as_str)
            .ok_or_else(|| {
                AppError::from(LtiError::BadRequest(format!(
                    "this link was not created by the gateway (no custom parameter {RESOURCE_ID_PARAM})"
                )))
            })?;
        let records = self.search.resources(&[resource_id.to_string()]).await?;
        let record = records.into_iter().next().ok_or_else(|| {
            AppError::not_found(format!("resource {resource_id} is no longer in its publisher's catalog"))
        })?;
        Ok(match record.resource.kind {
            ResourceKind::LtiResourceLink => LinkTarget::Tool(Box::new(record)),
            _ => LinkTarget::Redirect(record.resource.url.clone()),
        })
    }

    /// Registers a publisher's LTI tool: with the publisher's own key, or as admin naming it.
    pub async fn register_publisher_tool(
        &self,
        principal: &Principal,
        publisher: Option<&str>,
        input: ToolInput,
    ) -> Result<PublisherTool, AppError> {
        let publisher = match (publisher, principal) {
            (Some(id), _) => PublisherId::parse(id).map_err(|err| AppError::bad_input(err.to_string()))?,
            (None, Principal::Publisher(own)) => own.clone(),
            (None, Principal::Admin) => return Err(AppError::bad_input("name the publisher the tool belongs to")),
            (None, Principal::Anonymous) => {
                return Err(AppError::unauthenticated("registering a tool needs a publisher key or the admin token"))
            }
        };
        principal.require_for(&publisher)?;
        if self.publishers.get_fresh(&publisher).await?.is_none() {
            return Err(AppError::not_found(format!("no publisher '{publisher}'")));
        }
        self.lti.register_tool(&publisher, input).await.map_err(AppError::from)
    }

    /// Removes a publisher's tool: its own key or the admin. Another publisher's tool reads
    /// like a missing one, so ids do not leak.
    pub async fn remove_publisher_tool(&self, principal: &Principal, tool_id: &str) -> Result<PublisherTool, AppError> {
        if *principal == Principal::Anonymous {
            return Err(AppError::unauthenticated("removing a tool needs a publisher key or the admin token"));
        }
        let tool = self.lti.tool(tool_id).await.map_err(AppError::from)?;
        let Some(tool) = tool.filter(|tool| principal.may_act_for(&tool.publisher)) else {
            return Err(AppError::not_found(format!("no LTI tool '{tool_id}' of yours")));
        };
        if !self.lti.remove_tool(&tool.id).await.map_err(AppError::from)? {
            return Err(AppError::not_found(format!("no LTI tool '{tool_id}' of yours")));
        }
        Ok(tool)
    }

    /// A publisher's tools, for its own key and the admin.
    pub async fn publisher_tools(
        &self,
        principal: &Principal,
        publisher: &PublisherId,
    ) -> Result<Vec<PublisherTool>, AppError> {
        principal.require_for(publisher)?;
        self.lti.tools_of(publisher).await.map_err(AppError::from)
    }

    /// Starts the brokered launch of a publisher's LTI resource; answers the URL of the tool's
    /// login initiation. A resource whose publisher has no matching tool is `NOT_FOUND`.
    pub async fn brokered_launch_url(
        &self,
        launch: &ValidatedLaunch,
        record: &ResourceRecord,
    ) -> Result<String, AppError> {
        let launch_url =
            record.resource.lti.as_ref().map(|l| l.launch_url.as_str()).unwrap_or(record.resource.url.as_str());
        let tool =
            self.lti.tool_for(&record.publisher, launch_url).await.map_err(AppError::from)?.ok_or_else(|| {
                AppError::not_found(format!(
                    "{} has not registered an LTI tool that serves {launch_url}, so this resource cannot be launched \
                     yet; ask the publisher or your district admin",
                    record.publisher
                ))
            })?;
        self.lti.start_brokered_launch(launch, record, &tool).await.map_err(AppError::from)
    }
}
