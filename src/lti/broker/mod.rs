//! Brokered launches: to the LMS the gateway is the tool, to each publisher's LTI tool it is
//! the platform. One LMS registration then reaches every publisher's tools, and grades still
//! flow back to the LMS gradebook through the gateway's AGS relay.
//!
//! - [`tools`]: publishers register their tools; the gateway shows what they enter on their side.
//! - [`registration`]: or their tools register themselves (LTI Dynamic Registration), and the
//!   gateway issues the client id.
//! - [`launch`]: third-party login initiation toward the tool, the tool's authorization request
//!   to `/lti/platform/auth`, and the signed `LtiResourceLinkRequest`.
//! - [`token`]: OAuth 2 client credentials with a JWT assertion signed by the tool.
//! - [`ags`]: the AGS endpoints the tool sees, relayed to the LMS line item.

pub mod ags;
pub mod launch;
pub mod registration;
pub mod token;
pub mod tools;

/// AGS scopes the gateway can relay (scores, and reading the line item).
pub const AGS_SCOPE_SCORE: &str = "https://purl.imsglobal.org/spec/lti-ags/scope/score";
pub const AGS_SCOPE_LINEITEM_READ: &str = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly";
pub const RELAYED_SCOPES: &[&str] = &[AGS_SCOPE_SCORE, AGS_SCOPE_LINEITEM_READ];
