//! LTI state in the registry: platforms (LMS registrations), the nonces valid launches used and
//! deep-linking launches. Login initiations store nothing (their state travels signed through
//! the browser); what is stored here is written only after a platform-signed id_token passed,
//! so anonymous callers cannot fill it. Kept in the database rather than in memory or cookies,
//! so a launch works inside an LMS iframe without third-party cookies and across replicas.

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
    /// Registered dynamically without a deployment id (Canvas creates deployments when an admin
    /// installs the key): every deployment a valid launch names is accepted and recorded.
    pub deployments_open: bool,
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
    /// The context claim's course title (or label), for the picker's starting point.
    pub course_title: Option<String>,
    /// `launch_presentation.locale`, the language the LMS shows the teacher.
    pub locale: Option<String>,
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
    /// Adds a deployment id to a platform's list (a deployment of an open platform launched).
    async fn add_deployment(&self, platform_id: &str, deployment_id: &str) -> Result<(), RegistryError>;
    /// Records the nonce of a launch whose id_token passed every check; answers false when it
    /// was recorded before (a replay). Kept until `expires_at`, when its state expires anyway.
    async fn record_nonce(&self, nonce: &str, expires_at: DateTime<Utc>) -> Result<bool, RegistryError>;
    async fn insert_launch(&self, launch: &DeepLinkLaunch) -> Result<(), RegistryError>;
    async fn launch(&self, id: &str) -> Result<Option<DeepLinkLaunch>, RegistryError>;
    /// Marks a launch used if it is unused and unexpired; answers whether it was.
    async fn consume_launch(&self, id: &str, now: DateTime<Utc>) -> Result<bool, RegistryError>;
    /// Forgets used nonces, deep-linking launches and brokered launches that expired before `now`.
    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<usize, RegistryError>;
}
