//! LTI state in the registry: platforms (LMS registrations), OIDC login states and
//! deep-linking launches. Kept in the database rather than in memory or cookies, so a launch
//! works inside an LMS iframe without third-party cookies and across gateway replicas.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::RegistryError;

/// An LMS registration: one issuer may have several client ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    /// Stable id derived from issuer and client id.
    pub id: String,
    pub issuer: String,
    pub client_id: String,
    pub deployment_ids: Vec<String>,
    pub auth_login_url: String,
    pub jwks_url: String,
    pub token_url: Option<String>,
    pub name: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// What a login initiation promised: the `state` and `nonce` the id_token must come back with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginState {
    pub state: String,
    pub nonce: String,
    pub platform_id: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A validated deep-linking request waiting for the teacher's choice. Its id is the single-use
/// credential of `deepLinkingResponse`.
#[derive(Debug, Clone, PartialEq)]
pub struct DeepLinkLaunch {
    pub id: String,
    pub platform_id: String,
    pub deployment_id: String,
    /// The request's `deep_link_settings` JSON exactly as received.
    pub settings_json: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

/// Storage of LTI registrations and the short-lived state of launches.
#[async_trait::async_trait]
pub trait LtiStore: Send + Sync {
    /// Inserts, or updates the platform with the same issuer and client id (keeping its id).
    async fn upsert_platform(&self, platform: &Platform) -> Result<Platform, RegistryError>;
    async fn platforms(&self) -> Result<Vec<Platform>, RegistryError>;
    async fn platform(&self, id: &str) -> Result<Option<Platform>, RegistryError>;
    async fn platforms_by_issuer(&self, issuer: &str) -> Result<Vec<Platform>, RegistryError>;
    /// Stores a login state unless `max_pending` unexpired ones are already waiting; answers
    /// whether it was stored. Anyone can start a login, so their number is bounded.
    async fn insert_login_state(&self, state: &LoginState, max_pending: usize) -> Result<bool, RegistryError>;
    /// Removes and answers a login state: each can be used once.
    async fn take_login_state(&self, state: &str) -> Result<Option<LoginState>, RegistryError>;
    async fn insert_launch(&self, launch: &DeepLinkLaunch) -> Result<(), RegistryError>;
    async fn launch(&self, id: &str) -> Result<Option<DeepLinkLaunch>, RegistryError>;
    /// Marks a launch used if it is unused and unexpired; answers whether it was.
    async fn consume_launch(&self, id: &str, now: DateTime<Utc>) -> Result<bool, RegistryError>;
    /// Forgets login states, deep-linking launches and brokered launches that expired before `now`.
    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<usize, RegistryError>;
}
