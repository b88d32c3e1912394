//! Brokered launches in the registry: publishers' tools, launches on their way to a tool, the
//! AGS grants a tool received, its access tokens and the assertion ids already seen.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::RegistryError;
use crate::resource::PublisherId;

/// A publisher's LTI tool, to which the gateway is the platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublisherTool {
    pub id: String,
    pub publisher: PublisherId,
    pub name: Option<String>,
    pub login_url: String,
    pub launch_url: String,
    pub redirect_uris: Vec<String>,
    /// The client id the publisher issued to the gateway.
    pub client_id: String,
    pub deployment_id: String,
    pub jwks_url: String,
    /// Whether name, email, picture and `lis` claims reach this tool.
    pub share_personal_data: bool,
    pub created_at: DateTime<Utc>,
}

/// A launch on its way from the LMS to a publisher's tool.
#[derive(Debug, Clone, PartialEq)]
pub struct BrokeredLaunch {
    pub id: String,
    pub tool_id: String,
    pub resource_id: String,
    /// The id_token claims the tool will receive, minus nonce and times (set at signing).
    pub claims_json: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

/// What a tool may do with one LMS line item: the LMS's own coordinates stay here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgsGrant {
    pub id: String,
    pub tool_id: String,
    pub platform_id: String,
    /// The LMS line item URL.
    pub lineitem_url: String,
    /// The LMS user's own id, which replaces the tool's pseudonym in scores.
    pub lms_user_id: String,
    /// The pseudonymous `sub` the tool knows the user by.
    pub tool_user_id: String,
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
}

/// An access token issued to a tool (stored as a hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolToken {
    pub token_hash: String,
    pub tool_id: String,
    pub scopes: Vec<String>,
    pub expires_at: DateTime<Utc>,
}

/// Storage of what brokered launches need.
#[async_trait::async_trait]
pub trait BrokerStore: Send + Sync {
    /// Inserts, or updates the tool with the same client id when it belongs to the same publisher.
    async fn upsert_tool(&self, tool: &PublisherTool) -> Result<PublisherTool, RegistryError>;
    async fn tools_of(&self, publisher: &PublisherId) -> Result<Vec<PublisherTool>, RegistryError>;
    async fn tool(&self, id: &str) -> Result<Option<PublisherTool>, RegistryError>;
    async fn tool_by_client_id(&self, client_id: &str) -> Result<Option<PublisherTool>, RegistryError>;
    /// Removes a tool with its access tokens, grade grants and pending launches; answers
    /// whether it existed.
    async fn delete_tool(&self, id: &str) -> Result<bool, RegistryError>;
    async fn insert_brokered_launch(&self, launch: &BrokeredLaunch) -> Result<(), RegistryError>;
    async fn brokered_launch(&self, id: &str) -> Result<Option<BrokeredLaunch>, RegistryError>;
    /// Marks a launch used if unused and unexpired; answers whether it was.
    async fn consume_brokered_launch(&self, id: &str, now: DateTime<Utc>) -> Result<bool, RegistryError>;
    /// Stores a grant, or answers the existing one for the same tool, line item and user.
    async fn upsert_grant(&self, grant: &AgsGrant) -> Result<AgsGrant, RegistryError>;
    async fn grant(&self, id: &str) -> Result<Option<AgsGrant>, RegistryError>;
    async fn insert_tool_token(&self, token: &ToolToken) -> Result<(), RegistryError>;
    async fn tool_token(&self, token_hash: &str) -> Result<Option<ToolToken>, RegistryError>;
    /// Records an assertion id; answers false when it was seen before (a replay).
    async fn remember_assertion(&self, jti: &str, expires_at: DateTime<Utc>) -> Result<bool, RegistryError>;
}
