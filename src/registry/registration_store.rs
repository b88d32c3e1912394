//! LTI Dynamic Registration grants: the single-use, expiring credentials that let an LMS
//! register the gateway (a registration link the admin pastes into the LMS) or a publisher's
//! tool register itself with the gateway (a registration token). Only their SHA-256 is kept.
//!
//! A grant is *claimed* while its registration runs (so two uses cannot race), *released* when
//! the registration fails (nothing else was stored, the admin may try again) and *completed*
//! when it succeeded (it names what was registered and can never be used again).

use chrono::{DateTime, Utc};

use super::RegistryError;
use crate::resource::PublisherId;

/// A claim older than this belongs to a registration that died half-way (the process stopped):
/// the grant may be claimed again.
pub const STALE_CLAIM_SECONDS: i64 = 120;

/// Which side registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationKind {
    /// An LMS registers the gateway as its tool.
    Platform,
    /// A publisher's tool registers with the gateway as its platform.
    Tool,
}

impl RegistrationKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RegistrationKind::Platform => "platform",
            RegistrationKind::Tool => "tool",
        }
    }

    pub(crate) fn parse(raw: &str) -> Result<Self, RegistryError> {
        match raw {
            "platform" => Ok(RegistrationKind::Platform),
            "tool" => Ok(RegistrationKind::Tool),
            other => Err(RegistryError::Corrupt(format!("registration kind '{other}'"))),
        }
    }
}

/// One registration credential and what it allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationGrant {
    /// SHA-256 (hex) of the secret handed out.
    pub token_hash: String,
    pub kind: RegistrationKind,
    /// The publisher a tool registration is for (none for an LMS).
    pub publisher: Option<PublisherId>,
    /// Display name given when the grant was made.
    pub name: Option<String>,
    /// LMS: ask for the user's name and email; tool: let them reach the tool.
    pub personal_data: bool,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub claimed_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    /// What the registration created (platform or tool id).
    pub registered_id: Option<String>,
}

impl RegistrationGrant {
    /// Whether the grant can no longer be used, and why (for the page the admin sees).
    pub fn unusable_reason(&self, now: DateTime<Utc>) -> Option<&'static str> {
        if self.completed_at.is_some() {
            Some("was already used")
        } else if self.expires_at <= now {
            Some("has expired")
        } else {
            None
        }
    }
}

/// Storage of registration grants (migration `0041_lti_dynamic_registration`).
#[async_trait::async_trait]
pub trait RegistrationStore: Send + Sync {
    async fn insert_registration(&self, grant: &RegistrationGrant) -> Result<(), RegistryError>;
    async fn registration(&self, token_hash: &str) -> Result<Option<RegistrationGrant>, RegistryError>;
    /// Claims an unexpired, uncompleted grant that nobody else is using; answers whether it did.
    async fn claim_registration(&self, token_hash: &str, now: DateTime<Utc>) -> Result<bool, RegistryError>;
    /// Gives a claimed grant back after a failed registration.
    async fn release_registration(&self, token_hash: &str) -> Result<(), RegistryError>;
    /// Marks a grant used for good, naming what it registered.
    async fn complete_registration(&self, token_hash: &str, registered_id: &str) -> Result<(), RegistryError>;
}
