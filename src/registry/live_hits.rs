//! Live hits remembered for a while: a teacher finds a publisher's newest resource through a
//! live search on one replica, and inserts it a minute later through another, which must
//! still resolve it by id (`resource(id:)`, `contentItems`, the picker's insert).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::RegistryError;
use crate::resource::ResourceRecord;

#[async_trait]
pub trait LiveHitStore: Send + Sync {
    /// Remembers hits until `expires_at` (a hit seen again is kept longer).
    async fn remember_live_hits(&self, hits: &[ResourceRecord], expires_at: DateTime<Utc>)
        -> Result<(), RegistryError>;
    /// A hit remembered and not expired at `now`.
    async fn live_hit(&self, id: &str, now: DateTime<Utc>) -> Result<Option<ResourceRecord>, RegistryError>;
    /// Forgets hits that expired before `now`; answers how many.
    async fn purge_live_hits(&self, now: DateTime<Utc>) -> Result<usize, RegistryError>;
}
