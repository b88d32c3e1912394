//! Catalog-source operations: registering a feed, listing a publisher's feeds
//! and their runs, and harvesting one at once. Rights: a publisher key acts on its own
//! publisher's sources; the admin on every one.

use std::sync::Arc;

use chrono::Utc;
use rand::RngCore;

use super::HarvestService;
use crate::auth::Principal;
use crate::error::AppError;
use crate::registry::{CatalogSourceRecord, HarvestCursor, HarvestRunRecord, HarvestTrigger, SourceCredentials};
use crate::resource::{CatalogFormat, PublisherId};

/// Refresh interval when the publisher gives none: daily.
pub const DEFAULT_REFRESH_SECONDS: u64 = 86_400;
/// Shortest refresh interval a source may ask for.
pub const MIN_REFRESH_SECONDS: u64 = 60;
/// Longest refresh interval: 30 days.
pub const MAX_REFRESH_SECONDS: u64 = 30 * 86_400;
/// Sources one publisher may register (bounds live fan-out and scheduler work).
pub const MAX_SOURCES_PER_PUBLISHER: usize = 50;
/// Longest secret (bearer token, client secret) accepted.
const MAX_SECRET_LEN: usize = 4096;

/// A feed to register, as the publisher describes it.
#[derive(Debug, Clone)]
pub struct NewCatalogSource {
    pub url: String,
    pub format: CatalogFormat,
    pub refresh_seconds: Option<i64>,
    pub live: bool,
    pub credentials: SourceCredentials,
}

impl HarvestService {
    /// Registers a feed for a publisher and schedules its first harvest at once.
    pub async fn add_catalog_source(
        self: &Arc<Self>,
        principal: &Principal,
        publisher: &PublisherId,
        input: NewCatalogSource,
    ) -> Result<CatalogSourceRecord, AppError> {
        principal.require_for(publisher)?;
        if self.registry.publisher(publisher).await?.is_none() {
            return Err(AppError::not_found(format!("no publisher '{publisher}': register it first")));
        }
        let source = self.validate_source(publisher, input)?;
        let existing = self.registry.sources_of(publisher).await.map_err(AppError::from)?;
        if existing.len() >= MAX_SOURCES_PER_PUBLISHER {
            return Err(AppError::bad_input(format!(
                "a publisher may register at most {MAX_SOURCES_PER_PUBLISHER} catalog sources"
            )));
        }
        if existing.iter().any(|s| s.url == source.url && s.format == source.format) {
            return Err(AppError::bad_input("this publisher already has a catalog source with this URL and format"));
        }
        self.registry.insert_source(&source).await.map_err(AppError::from)?;
        tracing::info!(source = %source.id, publisher = %publisher, url = %source.url, format = source.format.as_param(), credentials = source.credentials.kind(), "catalog source added");
        self.wake();
        Ok(source)
    }

    fn validate_source(
        &self,
        publisher: &PublisherId,
        input: NewCatalogSource,
    ) -> Result<CatalogSourceRecord, AppError> {
        let url = self.check_feed_url(&input.url, "url")?;
        let refresh_seconds = match input.refresh_seconds {
            None => DEFAULT_REFRESH_SECONDS,
            Some(seconds) => u64::try_from(seconds)
                .ok()
                .filter(|s| (MIN_REFRESH_SECONDS..=MAX_REFRESH_SECONDS).contains(s))
                .ok_or_else(|| {
                    AppError::bad_input(format!(
                        "refreshSeconds must be between {MIN_REFRESH_SECONDS} and {MAX_REFRESH_SECONDS}"
                    ))
                })?,
        };
        if input.live && input.format != CatalogFormat::ResourceSearch {
            return Err(AppError::bad_input(
                "live applies to RESOURCE_SEARCH sources only: other feeds cannot be searched at query time",
            ));
        }
        let credentials = match input.credentials {
            SourceCredentials::None => SourceCredentials::None,
            SourceCredentials::Bearer { token } => {
                let token = token.trim().to_string();
                check_secret(&token, "bearerToken")?;
                SourceCredentials::Bearer { token }
            }
            SourceCredentials::OAuthClient { token_url, client_id, client_secret, scope } => {
                let token_url = self.check_feed_url(&token_url, "oauth.tokenUrl")?;
                let client_id = client_id.trim().to_string();
                if client_id.is_empty() || client_id.len() > 512 {
                    return Err(AppError::bad_input("oauth.clientId must be 1-512 characters"));
                }
                check_secret(&client_secret, "oauth.clientSecret")?;
                SourceCredentials::OAuthClient {
                    token_url,
                    client_id,
                    client_secret,
                    scope: scope.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()),
                }
            }
        };
        let now = Utc::now();
        Ok(CatalogSourceRecord {
            id: new_source_id(),
            publisher: publisher.clone(),
            url,
            format: input.format,
            refresh_seconds,
            live: input.live,
            credentials,
            created_at: now,
            next_run_at: Some(now),
            cursor: HarvestCursor::default(),
        })
    }

    /// An http(s) URL without embedded credentials that the outbound guard would let through.
    fn check_feed_url(&self, raw: &str, what: &str) -> Result<String, AppError> {
        let raw = raw.trim();
        let url = self.guard.check_url(raw).map_err(|err| AppError::bad_input(format!("{what}: {err}")))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(AppError::bad_input(format!("{what} must not carry credentials: use bearerToken or oauth")));
        }
        if url.fragment().is_some() {
            return Err(AppError::bad_input(format!("{what} must not have a #fragment")));
        }
        Ok(raw.to_string())
    }

    /// A publisher's sources (its own key or the admin).
    pub async fn catalog_sources(
        &self,
        principal: &Principal,
        publisher: &PublisherId,
    ) -> Result<Vec<CatalogSourceRecord>, AppError> {
        principal.require_for(publisher)?;
        self.registry.sources_of(publisher).await.map_err(AppError::from)
    }

    /// The newest runs of a source the caller already may see.
    pub async fn harvest_runs(
        &self,
        source: &CatalogSourceRecord,
        limit: usize,
    ) -> Result<Vec<HarvestRunRecord>, AppError> {
        self.registry.runs(&source.id, limit).await.map_err(AppError::from)
    }

    /// Every source (for live search and the scheduler).
    pub async fn all_catalog_sources(&self) -> Result<Vec<CatalogSourceRecord>, AppError> {
        self.registry.all_sources().await.map_err(AppError::from)
    }

    /// Harvests a source now. With `wait`, answers the finished run; otherwise the run as
    /// queued. A source already running answers that run.
    pub async fn harvest_now(
        self: &Arc<Self>,
        principal: &Principal,
        source_id: &str,
        wait: bool,
    ) -> Result<HarvestRunRecord, AppError> {
        let source = self.registry.source(source_id).await?;
        let Some(source) = source.filter(|s| principal.may_act_for(&s.publisher)) else {
            if *principal == Principal::Anonymous {
                return Err(AppError::unauthenticated("harvesting needs a publisher key or the admin token"));
            }
            // Another publisher's source is reported like a missing one: ids do not leak.
            return Err(AppError::not_found(format!("no catalog source '{source_id}' of yours")));
        };
        if self.cancellation().is_cancelled() {
            return Err(AppError::unavailable("the gateway is shutting down"));
        }
        let started = self.start_run(source, HarvestTrigger::Manual, false).await?;
        match started.task {
            Some(task) if wait => task.await.map_err(AppError::internal),
            None if wait => self.wait_for_run(started.run).await,
            _ => Ok(started.run),
        }
    }

    /// Waits for a run another trigger started (the scheduler, another caller) to finish.
    async fn wait_for_run(&self, run: HarvestRunRecord) -> Result<HarvestRunRecord, AppError> {
        let cancel = self.cancellation();
        let mut current = run;
        while !current.status.is_final() && !cancel.is_cancelled() {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let runs = self.registry.runs(&current.source_id, 20).await.map_err(AppError::from)?;
            match runs.into_iter().find(|r| r.id == current.id) {
                Some(found) => current = found,
                None => break,
            }
        }
        Ok(current)
    }
}

fn check_secret(secret: &str, what: &str) -> Result<(), AppError> {
    if secret.is_empty() || secret.len() > MAX_SECRET_LEN {
        return Err(AppError::bad_input(format!("{what} must be 1-{MAX_SECRET_LEN} characters")));
    }
    if secret.chars().any(|c| c.is_control()) {
        return Err(AppError::bad_input(format!("{what} must not contain control characters")));
    }
    Ok(())
}

/// `src-` and 12 random hex digits: unique, and valid as an index source id.
fn new_source_id() -> String {
    let mut bytes = [0u8; 6];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("src-{}", hex::encode(bytes))
}
