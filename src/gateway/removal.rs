//! Taking things out of the gateway. A catalog source: a harvested feed (its registration, run
//! history, resources and archived documents) or the documents a publisher pushed under one
//! source name (their resources and archive); a publisher's key removes its own sources, the
//! admin any. A whole publisher (admin only): its key, sources, tools, history, resources,
//! archived catalogs and packaged web content.

use std::sync::Arc;

use super::{blocking, forbidden_or_unauthenticated, to_app_error, valid_source_name, Gateway};
use crate::archive::{remove_dir_if_present, CatalogArchive};
use crate::auth::Principal;
use crate::error::AppError;
use crate::index::{IngestBatch, IngestMode};
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

impl Gateway {
    /// Removes a publisher (admin). It waits for ingests already committing and holds new
    /// commits back meanwhile (those of this publisher then find it gone and index nothing).
    /// The registry goes first, so its key stops working and no harvest of its feeds starts;
    /// then the index and the files. Asking again finishes what an interrupted removal left
    /// (resources, files) even though the registry has forgotten the publisher; only when
    /// nothing at all is left is the answer `NOT_FOUND`.
    pub async fn remove_publisher(
        self: &Arc<Self>,
        principal: &Principal,
        publisher: &PublisherId,
    ) -> Result<PublisherRemoval, AppError> {
        super::require_admin(principal)?;
        let _no_commits = self.removals.write().await;
        let feeds = self.registry().sources_of(&publisher).await.map_err(AppError::from)?;
        let mut claims = Vec::with_capacity(feeds.len());
        for feed in &feeds {
            match self.harvester().claim(&feed.id) {
                Some(claim) => claims.push(claim),
                None => {
                    return Err(AppError::unavailable(format!(
                        "the publisher's source '{}' is being harvested or removed; try again when that has ended",
                        feed.id
                    )))
                }
            }
        }
        let deleted = self.registry().delete_publisher(&publisher).await.map_err(AppError::from)?;
        if let Ok(mut cache) = self.publisher_cache.write() {
            cache.remove(publisher);
        }
        let removed = self.index().remove_publisher(publisher).await.map_err(to_app_error)?;
        self.metrics.indexed_resources.set(self.index().num_resources() as i64);
        let archive = CatalogArchive::new(&self.config().data_dir);
        let content = self.content_dir().join(publisher.as_str());
        let lookup = publisher.clone();
        let files = blocking(move || -> std::io::Result<bool> {
            let archived = archive.remove_publisher(&lookup)?;
            Ok(remove_dir_if_present(&content)? || archived)
        })
        .await?;
        drop(claims);
        let Some(deleted) = deleted.or((removed > 0 || files).then(Default::default)) else {
            return Err(AppError::not_found(format!("no publisher '{publisher}'")));
        };
        tracing::info!(
            publisher = %publisher, removed, sources = deleted.sources, tools = deleted.tools,
            "publisher removed"
        );
        Ok(PublisherRemoval { publisher: publisher.clone(), removed, sources: deleted.sources, tools: deleted.tools })
    }

    /// Removes a source. `source_id` is a feed's id, or the name pushed documents were sent
    /// under (`source` of the push; `push-<format>` by default), which needs `publisher` when
    /// the admin asks. A feed being harvested is not removed (the run would bring its
    /// resources back): the caller is told to ask again when the run has ended.
    pub async fn remove_source(
        self: &Arc<Self>,
        principal: &Principal,
        source_id: &str,
        publisher: Option<&PublisherId>,
    ) -> Result<SourceRemoval, AppError> {
        if *principal == Principal::Anonymous {
            return Err(AppError::unauthenticated(
                "removing a catalog source needs a publisher key or the admin token",
            ));
        }
        let feed = self.registry().source(source_id).await?.filter(|feed| {
            principal.may_act_for(&feed.publisher) && publisher.is_none_or(|named| *named == feed.publisher)
        });
        if let Some(feed) = feed {
            let Some(_claim) = self.harvester().claim(&feed.id) else {
                return Err(AppError::unavailable(
                    "this source is being harvested or removed; try again when that has ended",
                ));
            };
            // The registration first: should the rest fail, asking again with the feed's id
            // finishes the job as for pushed documents.
            self.registry().delete_source(&feed.id).await.map_err(AppError::from)?;
            let (removed, _) = self.remove_resources_and_files(&feed.publisher, &feed.id).await?;
            tracing::info!(source = %feed.id, publisher = %feed.publisher, removed, "catalog source removed");
            return Ok(SourceRemoval { publisher: feed.publisher, source_id: feed.id, was_feed: true, removed });
        }
        let publisher = match (publisher, principal) {
            (Some(named), _) => named.clone(),
            (None, Principal::Publisher(own)) => own.clone(),
            _ => return Err(AppError::bad_input("name the publisher whose source to remove")),
        };
        if !principal.may_act_for(&publisher) {
            return Err(forbidden_or_unauthenticated(principal, &publisher));
        }
        let name = valid_source_name(source_id.trim())?;
        let (removed, files) = self.remove_resources_and_files(&publisher, &name).await?;
        if !files && removed == 0 {
            // Another publisher's feed id lands here too, and reads like any unknown name.
            return Err(AppError::not_found(format!("no catalog source '{name}' of publisher '{publisher}'")));
        }
        tracing::info!(source = %name, publisher = %publisher, removed, "pushed catalog source removed");
        Ok(SourceRemoval { publisher, source_id: name, was_feed: false, removed })
    }

    /// Takes the source's resources out of the index (one commit that replaces them with
    /// none), then forgets its archived documents and unpacked web content: in that order, so
    /// that should the index fail the archive can still rebuild what it had. Answers the
    /// resources removed and whether there were files.
    async fn remove_resources_and_files(
        &self,
        publisher: &PublisherId,
        source_id: &str,
    ) -> Result<(usize, bool), AppError> {
        let batch = IngestBatch {
            publisher: publisher.clone(),
            source_id: source_id.to_string(),
            mode: IngestMode::Replace,
            records: Vec::new(),
            deleted: Vec::new(),
        };
        let counts = self.index().ingest(batch).await.map_err(to_app_error)?;
        self.metrics.indexed_resources.set(self.index().num_resources() as i64);
        let archive = CatalogArchive::new(&self.config().data_dir);
        let content = self.source_content_dir(publisher, source_id);
        let (publisher, source_id) = (publisher.clone(), source_id.to_string());
        let files = blocking(move || -> std::io::Result<bool> {
            let archived = archive.remove_source(&publisher, &source_id)?;
            Ok(remove_dir_if_present(&content)? || archived)
        })
        .await?;
        Ok((counts.removed, files))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_source_names_cannot_leave_the_archive_folder() {
        assert!(valid_source_name("math-2025_v1.2").is_ok());
        for bad in [".", "..", ".hidden", "-x", "a/b", "a\\b", "", &"x".repeat(65)] {
            assert!(valid_source_name(bad).is_err(), "{bad:?}");
        }
    }
}
