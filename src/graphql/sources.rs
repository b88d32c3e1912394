//! GraphQL types of catalog sources, harvest runs and live-search reports: conversions only.
//! Secrets (bearer tokens, OAuth client secrets) have no field here, by construction.

use std::sync::Arc;

use async_graphql::{Context, Enum, InputObject, Object, Result, SimpleObject, ID};
use chrono::{DateTime, Utc};

use super::types::{CatalogFormat, Diagnostic, Publisher, SourceState, SourceStatus};
use crate::app::App;
use crate::auth::Principal;
use crate::error::AppError;
use crate::federation::LiveState;
use crate::harvest::service::NewCatalogSource;
use crate::registry::{self, CatalogSourceRecord, HarvestRunRecord, SourceCredentials};
use crate::resource::PublisherId;
use crate::search::SourceReport;

/// OAuth 2 client credentials the gateway uses toward a feed (token fetched with HTTP Basic
/// client authentication and cached until it expires).
#[derive(InputObject)]
#[graphql(name = "OAuthClientInput")]
pub struct OAuthClientInput {
    pub token_url: String,
    pub client_id: String,
    /// Stored in the gateway's data folder; never shown again.
    pub client_secret: String,
    pub scope: Option<String>,
}

/// A feed for the gateway to harvest.
#[derive(InputObject)]
pub struct CatalogSourceInput {
    /// The catalog document; for RESOURCE_SEARCH the service base (`<url>/resources` is
    /// called); for OAI_PMH the repository base URL (a `metadataPrefix` or `set` in it is kept);
    /// for SITEMAP the site's sitemap or sitemap index (its pages carry JSON-LD).
    pub url: String,
    pub format: CatalogFormat,
    /// Seconds between harvests (60 to 2592000); default one day.
    pub refresh_seconds: Option<i32>,
    /// Ask this RESOURCE_SEARCH endpoint at query time too, when a search says `live: true`.
    pub live: Option<bool>,
    /// Sent as `Authorization: Bearer <token>`; stored, never shown again.
    pub bearer_token: Option<String>,
    pub oauth: Option<OAuthClientInput>,
    /// The publisher the source is for: the key's own by default; the admin must name it.
    pub publisher: Option<ID>,
}

/// How the gateway authenticates toward a feed (the secrets themselves are never shown).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum SourceAuthentication {
    None,
    Bearer,
    OauthClientCredentials,
}

/// Where a harvest run stands, or how it ended.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::registry::HarvestStatus")]
pub enum HarvestStatus {
    /// Waiting for a free harvest slot.
    Pending,
    Running,
    /// The catalog was fetched and applied.
    Succeeded,
    /// 304 Not Modified, the same content as last time, or no changes since: nothing re-indexed.
    Unchanged,
    /// Applied, but some items were rejected (see diagnostics).
    Partial,
    /// Nothing changed; the previous resources stay searchable (see diagnostics).
    Failed,
}

/// Why a run started.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::registry::HarvestTrigger")]
pub enum HarvestTrigger {
    Schedule,
    Manual,
}

/// A registered feed of a publisher.
pub struct CatalogSource(pub CatalogSourceRecord);

#[Object]
impl CatalogSource {
    /// Also the `sourceId` of the resources it delivers.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn publisher(&self, ctx: &Context<'_>) -> Result<Publisher> {
        let app = ctx.data::<Arc<App>>()?;
        let found = app.publishers.get(&self.0.publisher).await?;
        found.map(Publisher).ok_or_else(|| AppError::not_found("the source's publisher is gone").into())
    }
    async fn url(&self) -> &str {
        &self.0.url
    }
    async fn format(&self) -> CatalogFormat {
        self.0.format.into()
    }
    async fn refresh_seconds(&self) -> i32 {
        i32::try_from(self.0.refresh_seconds).unwrap_or(i32::MAX)
    }
    async fn live(&self) -> bool {
        self.0.live
    }
    async fn authentication(&self) -> SourceAuthentication {
        match self.0.credentials {
            SourceCredentials::None => SourceAuthentication::None,
            SourceCredentials::Bearer { .. } => SourceAuthentication::Bearer,
            SourceCredentials::OAuthClient { .. } => SourceAuthentication::OauthClientCredentials,
        }
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the scheduler harvests it next.
    async fn next_run_at(&self) -> Option<DateTime<Utc>> {
        self.0.next_run_at
    }
    /// The newest run (possibly still PENDING or RUNNING).
    async fn last_run(&self, ctx: &Context<'_>) -> Result<Option<HarvestRun>> {
        let app = ctx.data::<Arc<App>>()?;
        let runs = app.harvest.harvest_runs(&self.0, 1).await?;
        Ok(runs.into_iter().next().map(HarvestRun))
    }
    /// The newest runs, newest first.
    async fn runs(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10, validator(minimum = 1, maximum = 100))] first: i32,
    ) -> Result<Vec<HarvestRun>> {
        let app = ctx.data::<Arc<App>>()?;
        let runs = app.harvest.harvest_runs(&self.0, first as usize).await?;
        Ok(runs.into_iter().map(HarvestRun).collect())
    }
}

/// One harvest of a source: what a publisher reads to see whether its feed is healthy.
pub struct HarvestRun(pub HarvestRunRecord);

#[Object]
impl HarvestRun {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn source_id(&self) -> ID {
        ID(self.0.source_id.clone())
    }
    async fn status(&self) -> HarvestStatus {
        self.0.status.into()
    }
    async fn trigger(&self) -> HarvestTrigger {
        self.0.trigger.into()
    }
    async fn started_at(&self) -> DateTime<Utc> {
        self.0.started_at
    }
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }
    /// Milliseconds from start to finish, once finished.
    async fn duration_ms(&self) -> Option<i32> {
        self.0
            .finished_at
            .map(|finished| i32::try_from((finished - self.0.started_at).num_milliseconds().max(0)).unwrap_or(i32::MAX))
    }
    async fn added(&self) -> i32 {
        count(self.0.added)
    }
    async fn updated(&self) -> i32 {
        count(self.0.updated)
    }
    async fn removed(&self) -> i32 {
        count(self.0.removed)
    }
    async fn rejected(&self) -> i32 {
        count(self.0.rejected)
    }
    /// Status of the publisher's last answer (304 when the catalog had not changed).
    async fn http_status(&self) -> Option<i32> {
        self.0.http_status.map(i32::from)
    }
    /// HTTP requests the run made (pages and retries).
    async fn requests(&self) -> i32 {
        count(self.0.requests)
    }
    async fn diagnostics(&self) -> Result<Vec<Diagnostic>> {
        Ok(Diagnostic::from_stored(&self.0.diagnostics)?)
    }
}

/// A count as a GraphQL `Int` (saturating: no count here comes near 2^31).
pub(super) fn count(value: usize) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

/// `addCatalogSource`: the publisher of the key (or, for the admin, the one named).
pub async fn add_catalog_source(ctx: &Context<'_>, input: CatalogSourceInput) -> Result<CatalogSource> {
    let app = ctx.data::<Arc<App>>()?;
    let principal = ctx.data::<Principal>()?;
    let publisher = match (&input.publisher, principal) {
        (Some(id), _) => PublisherId::parse(id).map_err(|err| AppError::bad_input(err.to_string()))?,
        (None, Principal::Publisher(own)) => own.clone(),
        (None, Principal::Admin) => return Err(AppError::bad_input("name the publisher the source is for").into()),
        (None, Principal::Anonymous) => {
            return Err(
                AppError::unauthenticated("adding a catalog source needs a publisher key or the admin token").into()
            )
        }
    };
    let credentials = match (input.bearer_token, input.oauth) {
        (Some(_), Some(_)) => return Err(AppError::bad_input("give bearerToken or oauth, not both").into()),
        (Some(token), None) => SourceCredentials::Bearer { token },
        (None, Some(oauth)) => SourceCredentials::OAuthClient {
            token_url: oauth.token_url,
            client_id: oauth.client_id,
            client_secret: oauth.client_secret,
            scope: oauth.scope,
        },
        (None, None) => SourceCredentials::None,
    };
    let source = app
        .harvest
        .add_catalog_source(
            principal,
            &publisher,
            NewCatalogSource {
                url: input.url,
                format: input.format.into(),
                refresh_seconds: input.refresh_seconds.map(i64::from),
                live: input.live.unwrap_or(false),
                credentials,
            },
        )
        .await?;
    Ok(CatalogSource(source))
}

/// What `removeCatalogSource` took out of the gateway.
#[derive(SimpleObject)]
pub struct CatalogSourceRemoval {
    /// The feed's id, or the name the pushed documents were sent under.
    pub source_id: String,
    pub publisher: ID,
    /// A registered feed (its harvesting stopped, its run history went with it), rather than
    /// pushed documents.
    pub feed: bool,
    /// Resources no longer searchable.
    pub removed: i32,
}

/// `removeCatalogSource`.
pub async fn remove_catalog_source(
    ctx: &Context<'_>,
    source_id: String,
    publisher: Option<ID>,
) -> Result<CatalogSourceRemoval> {
    let app = ctx.data::<Arc<App>>()?;
    let principal = ctx.data::<Principal>()?;
    let publisher =
        publisher.map(|id| PublisherId::parse(&id).map_err(|err| AppError::bad_input(err.to_string()))).transpose()?;
    let removal = app.ingest.remove_source(principal, &source_id, publisher.as_ref()).await?;
    Ok(CatalogSourceRemoval {
        source_id: removal.source_id,
        publisher: ID(removal.publisher.to_string()),
        feed: removal.was_feed,
        removed: count(removal.removed),
    })
}

/// `harvestNow`.
pub async fn harvest_now(ctx: &Context<'_>, source_id: ID, wait: bool) -> Result<HarvestRun> {
    let app = ctx.data::<Arc<App>>()?;
    let principal = ctx.data::<Principal>()?;
    let run = app.harvest.harvest_now(principal, &source_id, wait).await?;
    Ok(HarvestRun(run))
}

/// `Publisher.sources`: the publisher's own key and the admin only.
pub async fn publisher_sources(ctx: &Context<'_>, publisher: &registry::Publisher) -> Result<Vec<CatalogSource>> {
    let app = ctx.data::<Arc<App>>()?;
    let principal = ctx.data::<Principal>()?;
    let sources = app.harvest.catalog_sources(principal, &publisher.id).await?;
    Ok(sources.into_iter().map(CatalogSource).collect())
}

/// `SearchConnection.sources` from the federated search's reports.
pub async fn source_statuses(app: &App, reports: Vec<SourceReport>) -> Result<Vec<SourceStatus>> {
    let mut out = Vec::with_capacity(reports.len());
    for report in reports {
        let (publisher_id, status, took_ms, message, source_id, result_count) = match report {
            SourceReport::Index { publisher, count } => (publisher, SourceState::Index, None, None, None, Some(count)),
            SourceReport::Live(live) => {
                let state = match live.state {
                    LiveState::Live => SourceState::Live,
                    LiveState::Cached => SourceState::Cached,
                    LiveState::Timeout => SourceState::Timeout,
                    LiveState::Unavailable => SourceState::Unavailable,
                    LiveState::Error => SourceState::Error,
                };
                (live.publisher, state, Some(live.took_ms), live.message, Some(live.source_id), Some(live.hits as u64))
            }
        };
        let publisher = app.publishers.get(&publisher_id).await?.unwrap_or_else(|| registry::Publisher {
            id: publisher_id.clone(),
            name: publisher_id.to_string(),
            homepage: None,
            created_at: DateTime::<Utc>::UNIX_EPOCH,
        });
        out.push(SourceStatus {
            publisher: Publisher(publisher),
            status,
            took_ms: took_ms.map(|ms| i32::try_from(ms).unwrap_or(i32::MAX)),
            message,
            source_id: source_id.map(ID),
            result_count: result_count.map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
        });
    }
    Ok(out)
}
