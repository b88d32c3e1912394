//! LTI 1.3 tool side: platform registrations, OIDC login initiation, id_token validation,
//! deep linking (picker, content items, the signed response) and the tool's keys.
//!
//! [`Lti`] is the service the HTTP and GraphQL layers call; it decides, they translate.

pub mod broker;
pub mod claims;
pub mod content_item;
pub mod deep_link;
pub mod jwks;
pub mod keys;
pub mod launch;
pub mod login;
pub mod picker;
pub mod platform;
pub mod service;

use std::sync::Arc;

use crate::error::{ErrorCode, HasErrorCode};
use crate::outbound::{AddressGuard, Outbound};
use crate::registry::{BrokerStore, LtiStore, RegistryError};
use broker::ags;
use jwks::JwksCache;
use keys::{KeyError, ToolKeys};

/// Why an LTI message or request was refused. Messages name the claim or parameter at fault.
#[derive(Debug, thiserror::Error)]
pub enum LtiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("no platform is registered for issuer '{issuer}'{}", client_id.as_ref().map(|c| format!(" and client id '{c}'")).unwrap_or_default())]
    UnknownPlatform { issuer: String, client_id: Option<String> },
    #[error("id_token refused: {0}")]
    InvalidToken(String),
    #[error("state is unknown, expired or already used: start the launch again from the LMS")]
    BadState,
    #[error("launch '{0}' is unknown, expired or already used")]
    LaunchNotFound(String),
    #[error("{0}")]
    NotAccepted(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("the LMS answered: {0}")]
    Upstream(String),
    #[error("cannot fetch the platform's keys: {0}")]
    Jwks(String),
    /// Too much is in progress; the caller may try again later.
    #[error("{0}")]
    Busy(String),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Keys(#[from] KeyError),
}

impl HasErrorCode for LtiError {
    fn error_code(&self) -> ErrorCode {
        match self {
            LtiError::BadRequest(_) | LtiError::NotAccepted(_) => ErrorCode::BadUserInput,
            LtiError::UnknownPlatform { .. } | LtiError::InvalidToken(_) | LtiError::BadState => {
                ErrorCode::Unauthenticated
            }
            LtiError::LaunchNotFound(_) | LtiError::NotFound(_) => ErrorCode::NotFound,
            LtiError::Forbidden(_) => ErrorCode::Forbidden,
            LtiError::Upstream(_) => ErrorCode::Unavailable,
            LtiError::Jwks(_) | LtiError::Busy(_) => ErrorCode::Unavailable,
            LtiError::Registry(err) => err.error_code(),
            LtiError::Keys(err) => err.error_code(),
        }
    }
}

impl From<LtiError> for crate::error::AppError {
    fn from(err: LtiError) -> Self {
        crate::error::AppError::from_coded(err)
    }
}

/// The LTI service: what a launch needs besides the search itself.
pub struct Lti {
    pub(crate) store: Arc<dyn LtiStore>,
    pub(crate) broker: Arc<dyn BrokerStore>,
    pub(crate) keys: ToolKeys,
    pub(crate) jwks: JwksCache,
    pub(crate) outbound: Outbound,
    /// The gateway's access tokens at LMSs (for grade passback), cached until expiry.
    pub(crate) lms_tokens: ags::LmsTokens,
    pub(crate) guard: AddressGuard,
    /// `<public URL>`, without trailing slash.
    pub(crate) public_url: String,
}

impl Lti {
    pub fn new<S>(store: Arc<S>, keys: ToolKeys, outbound: Outbound, public_url: String) -> Self
    where
        S: LtiStore + BrokerStore + 'static,
    {
        let guard = outbound.guard().clone();
        Self {
            store: store.clone(),
            broker: store,
            keys,
            jwks: JwksCache::new(outbound.clone()),
            lms_tokens: ags::LmsTokens::new(),
            outbound,
            guard,
            public_url,
        }
    }

    /// The one redirect URI and target link URI of every LTI message.
    pub fn launch_url(&self) -> String {
        format!("{}/lti/launch", self.public_url)
    }

    pub fn login_url(&self) -> String {
        format!("{}/lti/login", self.public_url)
    }

    pub fn jwks_url(&self) -> String {
        format!("{}/.well-known/jwks.json", self.public_url)
    }

    pub fn keys(&self) -> &ToolKeys {
        &self.keys
    }
}
