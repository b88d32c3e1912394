//! Taking things out. A catalog source: a harvested feed (its registration, run history and
//! resources) or the documents a publisher pushed under one source name; a publisher's key
//! removes its own sources, the admin any. A whole publisher (admin only): its key, sources,
//! tools, history, resources and packaged web content.
//!
//! A removal is one registry transaction that also logs it, so it cannot be half done: the
//! registry forgets the publisher (its key stops working, no harvest of its feeds starts) in
//! the same commit that logs the removal, and ingests logged after that are refused (see
//! [`crate::registry::log`]). Each replica's follower then takes the resources and files out;
//! one that was stopped or killed in between does it when it starts again.

use chrono::Utc;

use super::{valid_source_name, IngestService};
use crate::auth::Principal;
use crate::error::AppError;
use crate::registry::RegistryError;
use crate::resource::PublisherId;

/// What removing a source did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRemoval {
    pub publisher: PublisherId,
    pub source_id: String,
    /// Whether it was a registered feed (harvesting stopped) rather than pushed documents.
    pub was_feed: bool,
    /// Resources taken out of the index.
    pub removed: usize,
}

/// What removing a publisher did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublisherRemoval {
    pub publisher: PublisherId,
    /// Resources taken out of the index.
    pub removed: usize,
    /// Registered feeds and LTI tools that went with it.
    pub sources: usize,
    pub tools: usize,
}

/// A feed being harvested is not removed now (the run would bring its resources back).
fn busy(err: RegistryError) -> AppError {
    match err {
        RegistryError::Conflict(message) => AppError::unavailable(message),
        other => other.into(),
    }
}

impl IngestService {
    /// Removes a publisher (admin). Asking again after the registry has forgotten it still
    /// takes out resources it left in this replica's index; only when nothing at all is left is
    /// the answer `NOT_FOUND`.
    pub async fn remove_publisher(
        &self,
        principal: &Principal,
        publisher: &PublisherId,
    ) -> Result<PublisherRemoval, AppError> {
        principal.require_admin()?;
        let appending = self.follower.expect_local();
        let (seq, sources, tools) = match self.log.remove_publisher(publisher, Utc::now()).await.map_err(busy)? {
            Some(logged) => (logged.seq, logged.deleted.sources, logged.deleted.tools),
            None => {
                let left = self.follower.indexed_of(publisher).await?;
                if left == 0 {
                    return Err(AppError::not_found(format!("no publisher '{publisher}'")));
                }
                (self.log.log_publisher_removal(publisher, Utc::now()).await?, 0, 0)
            }
        };
        self.publishers.forget(publisher).await;
        let applied = self.follower.wait_for(seq).await?;
        drop(appending);
        let removed = applied.counts.removed;
        tracing::info!(publisher = %publisher, removed, sources, tools, "publisher removed");
        Ok(PublisherRemoval { publisher: publisher.clone(), removed, sources, tools })
    }

    /// Removes a source. `source_id` is a feed's id, or the name pushed documents were sent
    /// under (`source` of the push; `push-<format>` by default), which needs `publisher` when
    /// the admin asks.
    pub async fn remove_source(
        &self,
        principal: &Principal,
        source_id: &str,
        publisher: Option<&PublisherId>,
    ) -> Result<SourceRemoval, AppError> {
        if *principal == Principal::Anonymous {
            return Err(AppError::unauthenticated(
                "removing a catalog source needs a publisher key or the admin token",
            ));
        }
        let feed = self.registry.source(source_id).await?.filter(|feed| {
            principal.may_act_for(&feed.publisher) && publisher.is_none_or(|named| *named == feed.publisher)
        });
        if let Some(feed) = feed {
            let appending = self.follower.expect_local();
            let seq = self.log.remove_source(&feed.publisher, &feed.id, true, Utc::now()).await.map_err(busy)?;
            let removed = self.follower.wait_for(seq).await?.counts.removed;
            drop(appending);
            tracing::info!(source = %feed.id, publisher = %feed.publisher, removed, "catalog source removed");
            return Ok(SourceRemoval { publisher: feed.publisher, source_id: feed.id, was_feed: true, removed });
        }
        let publisher = match (publisher, principal) {
            (Some(named), _) => named.clone(),
            (None, Principal::Publisher(own)) => own.clone(),
            _ => return Err(AppError::bad_input("name the publisher whose source to remove")),
        };
        principal.require_for(&publisher)?;
        let name = valid_source_name(source_id.trim())?;
        let appending = self.follower.expect_local();
        let seq = self.log.remove_source(&publisher, &name, false, Utc::now()).await.map_err(busy)?;
        let removed = self.follower.wait_for(seq).await?.counts.removed;
        drop(appending);
        if removed == 0 {
            // Another publisher's feed id lands here too, and reads like any unknown name.
            return Err(AppError::not_found(format!("no catalog source '{name}' of publisher '{publisher}'")));
        }
        tracing::info!(source = %name, publisher = %publisher, removed, "pushed catalog source removed");
        Ok(SourceRemoval { publisher, source_id: name, was_feed: false, removed })
    }
}
