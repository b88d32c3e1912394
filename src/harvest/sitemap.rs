//! Harvesting a publisher's web site through its sitemap: the pages it lists carry their
//! resources as JSON-LD (LRMI / schema.org, AMB), the way OERSI collects many of its sources.
//!
//! One run:
//!
//! 1. reads the sitemap (a `<urlset>`, or a `<sitemapindex>` and the sitemaps it lists, gzip or
//!    not) from the source URL; only pages and sitemaps on the sitemap's own host are followed,
//!    as the protocol requires;
//! 2. fetches the pages whose `lastmod` differs from the one it saw last time (or that give
//!    none), conditionally (`If-None-Match` / `If-Modified-Since` from the last fetch), one at a
//!    time and politely: at least [`SitemapSettings::delay`] apart, and twice as long as the
//!    site took to answer the last page, so a slow site is asked less often; `429` / `503`
//!    with `Retry-After` are honoured by the fetcher. A page that takes longer than
//!    [`SitemapSettings::page_timeout`] is skipped for this run (its resources stay);
//! 3. applies, in one merge commit, the resources of the pages that changed, and removes those
//!    of pages that left the sitemap (or answer 404 / 410) and those a changed page no longer
//!    describes;
//!    The catalog log keeps the run as its documents: each changed page as stored
//!    ([`sitemap::archived_page`], its URL on the first line) and, when resources went, a
//!    removal record ([`sitemap::removal_record`]) — so replaying the log through
//!    `catalog::parse_documents` (another replica, an index rebuilt) gives the same index;
//! 4. after the commit, remembers each page (lastmod, validators, content hash, resource ids,
//!    in [`SitemapPageStore`]).
//!
//! When a listed sitemap cannot be read, the run removes nothing (it cannot tell a vanished
//! page from an unread one). A run makes at most [`SitemapSettings::max_pages_per_run`] page
//! requests; the rest follow in the next runs.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::time::Instant;

use super::fetch::{FetchError, FetchRequest, Fetched, RetryPolicy, Validators};
use super::{content_hash, HarvestContext, HarvestError, HarvestService, Harvested, HarvestedCatalog};
use crate::catalog::sitemap::{self, Sitemap, SitemapEntry};
use crate::catalog::{Diagnostic, ParsedCatalog};
use crate::config::SitemapSettings;
use crate::registry::{CatalogSourceRecord, HarvestCursor, SitemapPage, SitemapPageStore};
use crate::resource::IngestMode;

const SITEMAP_ACCEPT: &str =
    "application/xml, text/xml, application/gzip, application/x-gzip, text/plain;q=0.5, */*;q=0.1";
const PAGE_ACCEPT: &str = "text/html, application/xhtml+xml, application/ld+json;q=0.9, */*;q=0.5";
/// Sitemaps one run reads at most (a sitemap index may list sitemap indexes).
const MAX_SITEMAPS: usize = 1_000;
/// How deep sitemap indexes may nest.
const MAX_SITEMAP_DEPTH: usize = 3;
/// Pages one source may list in all.
const MAX_PAGES: usize = 500_000;
/// The longest wait between two requests, however slow the site.
const MAX_DELAY: Duration = Duration::from_secs(60);

/// What a run changes in the page store once its catalog was applied.
pub struct PageChanges {
    /// Pages whose stored state changes with the commit.
    upsert: Vec<SitemapPage>,
    /// Pages forgotten with the commit.
    remove: Vec<String>,
}

/// Runs one harvest of a sitemap source.
pub(super) async fn harvest(ctx: &mut HarvestContext<'_>, service: &HarvestService) -> Result<Harvested, HarvestError> {
    let settings = service.sitemap;
    let store = service
        .sitemap_pages
        .clone()
        .ok_or_else(|| HarvestError::Protocol("this gateway keeps no sitemap page state".to_string()))?;
    let source_id = ctx.source.id.clone();
    let previous: HashMap<String, SitemapPage> = store
        .sitemap_pages(&source_id)
        .await
        .map_err(store_error)?
        .into_iter()
        .map(|page| (page.url.clone(), page))
        .collect();
    let mut pace = Pace::new(settings);
    let listing = read_sitemaps(ctx, &mut pace).await?;
    let mut run = Run {
        previous: &previous,
        settings,
        fresh: Vec::new(),
        metadata: Vec::new(),
        gone: Vec::new(),
        without_json_ld: 0,
        complete: true,
    };
    run.fetch_pages(ctx, &mut pace, &listing.pages).await?;
    if listing.complete && run.complete {
        let listed: HashSet<&str> = listing.pages.iter().map(|entry| entry.loc.as_str()).collect();
        for url in previous.keys().filter(|url| !listed.contains(url.as_str())) {
            run.gone.push(url.clone());
        }
        if !run.gone.is_empty() {
            ctx.diagnostics.push(Diagnostic::info(
                None,
                format!("{} page(s) left the sitemap; their resources are removed", run.gone.len()),
            ));
        }
    } else if !listing.complete {
        ctx.diagnostics.push(Diagnostic::warning(
            None,
            "part of the sitemap could not be read, so no page was taken as removed in this run",
        ));
    }
    let cursor = HarvestCursor { harvested_since: Some(Utc::now()), ..ctx.source.cursor.clone() };
    run.finish(ctx, &store, cursor).await
}

/// The pages a source's sitemaps list, and whether every sitemap could be read.
struct Listing {
    pages: Vec<SitemapEntry>,
    complete: bool,
}

/// Reads the source's sitemap and, for an index, the sitemaps it lists (breadth first).
async fn read_sitemaps(ctx: &mut HarvestContext<'_>, pace: &mut Pace) -> Result<Listing, HarvestError> {
    let root = ctx.source.url.clone();
    let mut queue: VecDeque<(String, usize)> = VecDeque::from([(root.clone(), 0)]);
    let mut seen_sitemaps: HashSet<String> = HashSet::new();
    let mut seen_pages: HashSet<String> = HashSet::new();
    let mut listing = Listing { pages: Vec::new(), complete: true };
    while let Some((url, depth)) = queue.pop_front() {
        if !seen_sitemaps.insert(url.clone()) {
            continue;
        }
        if seen_sitemaps.len() > MAX_SITEMAPS {
            ctx.diagnostics
                .push(Diagnostic::warning(None, format!("more than {MAX_SITEMAPS} sitemaps; the rest were not read")));
            listing.complete = false;
            break;
        }
        let is_root = url == root;
        pace.wait(ctx).await?;
        let started = Instant::now();
        let fetched = ctx.get(&url, SITEMAP_ACCEPT, None).await;
        pace.answered(started.elapsed());
        let body = match fetched {
            Ok(Fetched::Body(body)) => body,
            Ok(Fetched::NotModified) => {
                return Err(HarvestError::Protocol(format!("{url} answered 304 to a request without validators")))
            }
            Err(err @ HarvestError::Fetch(FetchError::Cancelled)) => return Err(err),
            Err(err) if is_root => return Err(err),
            Err(err) => {
                ctx.diagnostics.push(Diagnostic::warning(Some(url.clone()), format!("sitemap not read: {err}")));
                listing.complete = false;
                continue;
            }
        };
        let limits = ctx.limits;
        let bytes = body.body;
        let parsed = tokio::task::spawn_blocking(move || sitemap::parse_sitemap(&bytes, &limits))
            .await
            .map_err(|join| HarvestError::Protocol(format!("{url}: sitemap parser crashed: {join}")))?;
        let (document, diagnostics) = match parsed {
            Ok(parsed) => parsed,
            Err(error) if is_root => return Err(HarvestError::Catalog { page: url, error }),
            Err(error) => {
                ctx.diagnostics.push(Diagnostic::warning(Some(url.clone()), format!("sitemap not read: {error}")));
                listing.complete = false;
                continue;
            }
        };
        ctx.diagnostics.extend(diagnostics.into_iter().take(100));
        match document {
            Sitemap::Index(children) => {
                if depth >= MAX_SITEMAP_DEPTH {
                    ctx.diagnostics.push(Diagnostic::warning(
                        Some(url.clone()),
                        format!("sitemap indexes nest deeper than {MAX_SITEMAP_DEPTH} levels; the deeper ones were not read"),
                    ));
                    listing.complete = false;
                    continue;
                }
                for child in children {
                    if same_site(&root, &child.loc) {
                        queue.push_back((child.loc, depth + 1));
                    } else {
                        ctx.diagnostics.push(off_site(&child.loc));
                    }
                }
            }
            Sitemap::Pages(pages) => {
                for page in pages {
                    if !same_site(&root, &page.loc) {
                        ctx.diagnostics.push(off_site(&page.loc));
                        continue;
                    }
                    if listing.pages.len() >= MAX_PAGES {
                        listing.complete = false;
                        break;
                    }
                    if seen_pages.insert(page.loc.clone()) {
                        listing.pages.push(page);
                    }
                }
            }
        }
    }
    Ok(listing)
}

fn off_site(url: &str) -> Diagnostic {
    Diagnostic::warning(
        Some(url.to_string()),
        "not on the sitemap's site; skipped (sitemaps list their own site's pages)",
    )
}

/// Whether `url` is on the same site as the sitemap: same host and port (a `www.` prefix
/// aside) — the sitemaps protocol's rule.
fn same_site(sitemap: &str, url: &str) -> bool {
    let (Ok(sitemap), Ok(url)) = (url::Url::parse(sitemap), url::Url::parse(url)) else {
        return false;
    };
    let host = |u: &url::Url| u.host_str().map(|h| h.trim_start_matches("www.").to_ascii_lowercase());
    host(&sitemap).is_some()
        && host(&sitemap) == host(&url)
        && sitemap.port_or_known_default() == url.port_or_known_default()
}

/// The pace of one run's requests.
struct Pace {
    settings: SitemapSettings,
    next: Option<Instant>,
}

impl Pace {
    fn new(settings: SitemapSettings) -> Self {
        Self { settings, next: None }
    }

    /// Waits until the next request is due (or the gateway stops).
    async fn wait(&self, ctx: &HarvestContext<'_>) -> Result<(), HarvestError> {
        if let Some(next) = self.next {
            tokio::select! {
                () = tokio::time::sleep_until(next) => {}
                () = ctx.cancel.cancelled() => return Err(HarvestError::Fetch(FetchError::Cancelled)),
            }
        }
        if ctx.cancel.is_cancelled() {
            return Err(HarvestError::Fetch(FetchError::Cancelled));
        }
        Ok(())
    }

    /// After an answer that took `took`: the next request waits the delay, or twice `took`.
    fn answered(&mut self, took: Duration) {
        let wait = self.settings.delay.max(took.saturating_mul(2)).min(MAX_DELAY);
        self.next = Some(Instant::now() + wait);
    }
}

/// One page's new state and what it yielded.
struct Fresh {
    page: SitemapPage,
    parsed: ParsedCatalog,
    stored: Option<Vec<u8>>,
}

/// The state of one run over the pages.
struct Run<'p> {
    previous: &'p HashMap<String, SitemapPage>,
    settings: SitemapSettings,
    /// Pages read afresh whose resources may have changed.
    fresh: Vec<Fresh>,
    /// Pages whose stored state changes but not their resources (304, same content, a new
    /// `lastmod`): written at once, since the index does not depend on them.
    metadata: Vec<SitemapPage>,
    /// Pages that are gone (404 / 410, or no longer listed).
    gone: Vec<String>,
    /// Pages listed for the first time that carry no JSON-LD.
    without_json_ld: usize,
    /// Whether every listed page was looked at (the request budget did not run out).
    complete: bool,
}

impl Run<'_> {
    async fn fetch_pages(
        &mut self,
        ctx: &mut HarvestContext<'_>,
        pace: &mut Pace,
        pages: &[SitemapEntry],
    ) -> Result<(), HarvestError> {
        self.complete = true;
        let policy = RetryPolicy { attempts: 2, request_timeout: self.settings.page_timeout, ..ctx.fetcher.policy() };
        let fetcher = ctx.fetcher.with_policy(policy);
        let mut requests = 0usize;
        let mut unchanged = 0usize;
        for (position, entry) in pages.iter().enumerate() {
            let previous = self.previous.get(&entry.loc);
            if let Some(previous) = previous {
                if entry.lastmod.is_some() && previous.lastmod == entry.lastmod {
                    unchanged += 1;
                    continue;
                }
            }
            if requests >= self.settings.max_pages_per_run {
                ctx.diagnostics.push(Diagnostic::info(
                    None,
                    format!(
                        "{} page(s) were not fetched in this run ({} requests at most); the next runs continue",
                        pages.len() - position,
                        self.settings.max_pages_per_run
                    ),
                ));
                self.complete = false;
                break;
            }
            requests += 1;
            let validators =
                previous.map(|page| Validators { etag: page.etag.clone(), last_modified: page.last_modified.clone() });
            pace.wait(ctx).await?;
            let started = Instant::now();
            let request = FetchRequest {
                url: &entry.loc,
                credentials: &ctx.source.credentials,
                accept: PAGE_ACCEPT,
                validators: validators.as_ref(),
            };
            let outcome = fetcher.get(&request, &mut ctx.requests, ctx.cancel).await;
            pace.answered(started.elapsed());
            match outcome {
                Ok(Fetched::NotModified) => {
                    ctx.http_status = Some(304);
                    if let Some(previous) = previous {
                        self.metadata.push(SitemapPage { lastmod: entry.lastmod.clone(), ..previous.clone() });
                    }
                }
                Ok(Fetched::Body(body)) => {
                    ctx.http_status = Some(body.status.as_u16());
                    let fresh = Validators::of(&body.headers);
                    let hash = content_hash([body.body.as_slice()]);
                    let state = SitemapPage {
                        url: entry.loc.clone(),
                        lastmod: entry.lastmod.clone(),
                        etag: fresh.etag,
                        last_modified: fresh.last_modified,
                        content_hash: Some(hash.clone()),
                        resource_ids: previous.map(|page| page.resource_ids.clone()).unwrap_or_default(),
                        fetched_at: Utc::now(),
                    };
                    if previous.is_some_and(|page| page.content_hash.as_deref() == Some(hash.as_str())) {
                        self.metadata.push(state);
                        continue;
                    }
                    self.read_page(ctx, state, body.body).await?;
                }
                Err(FetchError::Cancelled) => return Err(HarvestError::Fetch(FetchError::Cancelled)),
                Err(err @ FetchError::Status { status: 404 | 410, .. }) => {
                    ctx.http_status = err.http_status();
                    ctx.diagnostics.push(Diagnostic::info(
                        Some(entry.loc.clone()),
                        format!("{err}: the page is gone; its resources are removed"),
                    ));
                    self.gone.push(entry.loc.clone());
                }
                Err(err) => {
                    ctx.http_status = err.http_status().or(ctx.http_status);
                    ctx.diagnostics.push(Diagnostic::warning(
                        Some(entry.loc.clone()),
                        format!("page not read in this run ({err}); its resources stay as they were"),
                    ));
                }
            }
        }
        if unchanged > 0 {
            ctx.diagnostics.push(Diagnostic::info(
                None,
                format!("{unchanged} page(s) unchanged since the last run (same lastmod)"),
            ));
        }
        Ok(())
    }

    /// Parses one fetched page off the async workers.
    async fn read_page(
        &mut self,
        ctx: &mut HarvestContext<'_>,
        mut state: SitemapPage,
        body: Vec<u8>,
    ) -> Result<(), HarvestError> {
        let limits = ctx.limits;
        let url = state.url.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            let parsed = sitemap::parse_page(&body, Some(&url)).map(|mut parsed| {
                limits.enforce(&mut parsed);
                parsed
            });
            (parsed, body)
        })
        .await
        .map_err(|join| HarvestError::Protocol(format!("{}: page parser crashed: {join}", state.url)))?;
        let (parsed, body) = outcome;
        let mut parsed = match parsed {
            Ok(parsed) => parsed,
            Err(error) => {
                ctx.diagnostics
                    .push(Diagnostic::warning(Some(state.url.clone()), format!("{error}; the page was skipped")));
                return Ok(());
            }
        };
        let had_resources = self.previous.get(&state.url).is_some_and(|page| !page.resource_ids.is_empty());
        if parsed.resources.is_empty() && parsed.rejected == 0 && !had_resources {
            // No JSON-LD (or nothing indexable) then and now: only the page's state changes.
            self.without_json_ld += usize::from(parsed.skipped > 0);
            ctx.diagnostics.append(&mut parsed.diagnostics);
            state.resource_ids.clear();
            self.metadata.push(state);
            return Ok(());
        }
        state.resource_ids = parsed.resources.iter().map(|resource| resource.local_id.clone()).collect();
        let stored = (!parsed.resources.is_empty()).then(|| sitemap::archived_page(&state.url, &body));
        self.fresh.push(Fresh { page: state, parsed, stored });
        Ok(())
    }

    /// Writes what does not depend on the commit, and answers the catalog to apply.
    async fn finish(
        self,
        ctx: &mut HarvestContext<'_>,
        store: &Arc<dyn SitemapPageStore>,
        cursor: HarvestCursor,
    ) -> Result<Harvested, HarvestError> {
        let Run { previous, fresh, metadata, gone, without_json_ld, .. } = self;
        if !metadata.is_empty() {
            store.update_sitemap_pages(&ctx.source.id, &metadata, &[]).await.map_err(store_error)?;
        }
        // Ids every page describes after this run: a resource two pages describe stays while one does.
        let gone_set: HashSet<&str> = gone.iter().map(String::as_str).collect();
        let fresh_urls: HashSet<&str> = fresh.iter().map(|page| page.page.url.as_str()).collect();
        let mut claimed: HashSet<&str> = HashSet::new();
        for (url, page) in previous {
            if !gone_set.contains(url.as_str()) && !fresh_urls.contains(url.as_str()) {
                claimed.extend(page.resource_ids.iter().map(String::as_str));
            }
        }
        for page in &fresh {
            claimed.extend(page.page.resource_ids.iter().map(String::as_str));
        }
        let mut deleted: Vec<String> = Vec::new();
        for url in gone.iter().map(String::as_str).chain(fresh_urls.iter().copied()) {
            for id in previous.get(url).map(|page| page.resource_ids.as_slice()).unwrap_or_default() {
                if !claimed.contains(id.as_str()) && !deleted.contains(id) {
                    deleted.push(id.clone());
                }
            }
        }
        let mut parsed = ParsedCatalog::default();
        let mut documents = Vec::new();
        let mut changes = PageChanges { upsert: Vec::new(), remove: Vec::new() };
        for page in fresh {
            parsed.merge(page.parsed);
            documents.extend(page.stored);
            changes.upsert.push(page.page);
        }
        for url in gone {
            if previous.contains_key(&url) {
                changes.remove.push(url);
            }
        }
        if !deleted.is_empty() {
            documents.push(sitemap::removal_record(&deleted));
        }
        parsed.deleted = deleted;
        let nothing_to_apply = parsed.resources.is_empty() && parsed.deleted.is_empty() && parsed.rejected == 0;
        if nothing_to_apply && changes.remove.is_empty() && changes.upsert.is_empty() {
            let source_has_resources = previous.values().any(|page| !page.resource_ids.is_empty());
            if without_json_ld > 0 && !source_has_resources {
                // No page of the site carries JSON-LD: that is a failure to report, not "unchanged".
                let mut failed = ParsedCatalog { skipped: without_json_ld, ..ParsedCatalog::default() };
                failed.diagnostics.push(Diagnostic::error(
                    None,
                    format!("none of the {without_json_ld} page(s) read carries LRMI / schema.org JSON-LD"),
                ));
                return Ok(Harvested::Catalog(HarvestedCatalog {
                    parsed: failed,
                    mode: IngestMode::Merge,
                    documents: Vec::new(),
                    cursor,
                    pages: None,
                }));
            }
            return Ok(Harvested::Unchanged { cursor });
        }
        Ok(Harvested::Catalog(HarvestedCatalog {
            parsed,
            mode: IngestMode::Merge,
            documents,
            cursor,
            pages: Some(Box::new(changes)),
        }))
    }
}

/// After the run's catalog was applied: records every page's new state. Answers whether it
/// worked.
pub(super) async fn commit_pages(service: &HarvestService, source: &CatalogSourceRecord, changes: PageChanges) -> bool {
    let Some(store) = &service.sitemap_pages else {
        return false;
    };
    match store.update_sitemap_pages(&source.id, &changes.upsert, &changes.remove).await {
        Ok(()) => true,
        Err(err) => {
            tracing::error!(source = %source.id, error = %err, "cannot record the sitemap pages");
            false
        }
    }
}

/// A page-store failure as the run reports it.
fn store_error(err: crate::registry::RegistryError) -> HarvestError {
    HarvestError::Protocol(format!("the sitemap page state cannot be read or written: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_same_site() {
        assert!(same_site("https://oer.example.org/sitemap.xml", "https://oer.example.org/a"));
        assert!(same_site("https://www.oer.example.org/sitemap.xml", "https://oer.example.org/a"));
        assert!(!same_site("https://oer.example.org/sitemap.xml", "https://evil.example.com/a"));
        assert!(!same_site("http://127.0.0.1:8000/sitemap.xml", "http://127.0.0.1:9000/a"));
    }

    #[test]
    fn test_pace_waits_at_least_the_delay_and_longer_after_slow_answers() {
        let settings = SitemapSettings { delay: Duration::from_millis(100), ..SitemapSettings::default() };
        let mut pace = Pace::new(settings);
        pace.answered(Duration::from_millis(10));
        let next = pace.next.unwrap();
        assert!(next.duration_since(Instant::now()) <= Duration::from_millis(100));
        pace.answered(Duration::from_secs(2));
        let wait = pace.next.unwrap().duration_since(Instant::now());
        assert!(wait > Duration::from_millis(3_900) && wait <= Duration::from_secs(4), "{wait:?}");
        pace.answered(Duration::from_secs(600));
        assert!(pace.next.unwrap().duration_since(Instant::now()) <= MAX_DELAY);
    }
}
