//! Live federation: `search(live: true)` asks the publishers' LTI Resource Search endpoints
//! (sources registered with `live: true`) at query time, all at once, under one deadline.
//!
//! - Each endpoint gets `GET <url>/resources?limit=50&offset=0&filter=search~'<words>'`,
//!   plus `subject='…'` / `language='…'` when the search filters on exactly one of them.
//!   Every gateway filter is applied again to the answers, so an endpoint that ignores a
//!   filter cannot widen the result.
//! - One deadline (`GATEWAY_LIVE_DEADLINE_MS`) bounds the wait: an endpoint that has not
//!   answered by then is reported `TIMEOUT`; its request goes on in the background (up to
//!   [`LIVE_REQUEST_TIMEOUT`]) and a late answer fills the cache for the next query. Failures
//!   are `ERROR` with a message. Partial failure is data, never an error of the search.
//! - A source that missed the deadline is not waited for again until a background check
//!   answers in time ([`breaker`]); meanwhile it is reported `UNAVAILABLE` at once.
//! - Answers are cached per [`LiveKey`] (source, filter expression, limit) with a bounded size
//!   and a TTL; a cached answer is reported `CACHED`. Hits are remembered by id for a while
//!   so that `resource(id:)` and `contentItems` work for resources not in the index yet.

pub mod breaker;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::future::Cache;

use self::breaker::{Admission, Breakers};
use crate::catalog::{self, CatalogError};
use crate::harvest::fetch::{FetchError, FetchRequest, Fetcher};
use crate::harvest::resource_search::page_url;
use crate::registry::CatalogSourceRecord;
use crate::resource::{CatalogFormat, ResourceRecord};
pub use crate::search::live::{LiveReport, LiveResults, LiveState, LIVE_LIMIT};
use crate::search::Filter;
use crate::search::LiveFederation;

/// How long a live request may go on after the deadline, to fill the cache.
pub const LIVE_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a live answer is reused.
const ANSWER_TTL: Duration = Duration::from_secs(60);
/// Cached answers at most, counted in resources (each answer weighs at least 1).
const ANSWER_CAPACITY: u64 = 50_000;
/// Largest live answer accepted.
const MAX_LIVE_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Why one live endpoint gave nothing.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LiveError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("the answer is not a Resource Search response: {0}")]
    Catalog(#[from] CatalogError),
    #[error("{0}")]
    Internal(String),
}

/// The cache key of one live answer: which endpoint, asked what.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LiveKey {
    pub source_id: String,
    /// The RS `filter` expression sent.
    pub filter: String,
    pub limit: usize,
}

/// One endpoint's answer.
#[derive(Debug)]
pub struct LiveAnswer {
    pub records: Vec<ResourceRecord>,
}

/// One source's outcome before it is reported: state, milliseconds, answer or message.
type Answered = (CatalogSourceRecord, LiveState, u64, Result<Arc<LiveAnswer>, String>);

/// The live side of search: answer cache, remembered hits, the sources' breakers and the fetcher.
pub struct LiveSearch {
    fetcher: Fetcher,
    answers: Cache<LiveKey, Arc<LiveAnswer>>,
    breakers: Arc<Breakers>,
}

impl LiveSearch {
    /// `retry_after`: how long a source that missed the deadline is left alone before the first
    /// background check.
    pub fn new(fetcher: Fetcher, retry_after: Duration) -> Self {
        let answers = Cache::builder()
            .max_capacity(ANSWER_CAPACITY)
            .weigher(|_key: &LiveKey, answer: &Arc<LiveAnswer>| {
                u32::try_from(answer.records.len().max(1)).unwrap_or(u32::MAX)
            })
            .time_to_live(ANSWER_TTL)
            .build();
        Self { fetcher, answers, breakers: Arc::new(Breakers::new(retry_after)) }
    }

    /// Asks every source at once and waits at most `deadline` in all.
    pub async fn ask(
        &self,
        sources: Vec<CatalogSourceRecord>,
        text: Option<&str>,
        filter: &Filter,
        deadline: Duration,
    ) -> LiveResults {
        let started = Instant::now();
        let expression = rs_filter(text, filter);
        let deadline_at = tokio::time::Instant::now() + deadline;
        let mut pending = Vec::new();
        let mut answered: Vec<Answered> = Vec::new();
        for source in sources {
            let key = LiveKey { source_id: source.id.clone(), filter: expression.clone(), limit: LIVE_LIMIT };
            if let Some(answer) = self.answers.get(&key).await {
                let took = started.elapsed().as_millis() as u64;
                answered.push((source, LiveState::Cached, took, Ok(answer)));
                continue;
            }
            match self.breakers.admit(&source.id, Instant::now()) {
                Admission::Ask => {}
                Admission::Check { misses } => {
                    self.check_in_background(source.clone(), key, expression.clone(), deadline);
                    let message = format!(
                        "missed the deadline {} in a row; not waited for, checked again in the background",
                        times(misses)
                    );
                    answered.push((source, LiveState::Unavailable, started.elapsed().as_millis() as u64, Err(message)));
                    continue;
                }
                Admission::Skip { misses, next_check_in } => {
                    let message = format!(
                        "missed the deadline {} in a row; not asked until a background check answers in time \
                         (next check in {} s)",
                        times(misses),
                        next_check_in.as_secs_f64().ceil()
                    );
                    answered.push((source, LiveState::Unavailable, started.elapsed().as_millis() as u64, Err(message)));
                    continue;
                }
            }
            let answers = self.answers.clone();
            let fetcher = self.fetcher.clone();
            let asked = source.clone();
            let expression_for_task = expression.clone();
            let task = tokio::spawn(async move {
                let entry = answers.entry(key).or_try_insert_with(query(fetcher, asked, expression_for_task)).await;
                match entry {
                    Ok(entry) => Ok((entry.is_fresh(), entry.into_value())),
                    Err(err) => Err(err.to_string()),
                }
            });
            pending.push(async move {
                let outcome = tokio::time::timeout_at(deadline_at, task).await;
                (source, outcome, started.elapsed().as_millis() as u64)
            });
        }
        for (source, outcome, took) in futures_util::future::join_all(pending).await {
            let entry = match outcome {
                Err(_elapsed) => {
                    self.breakers.deadline_passed(&source.id, Instant::now());
                    (source, LiveState::Timeout, took, Err(format!("no answer within {} ms", deadline.as_millis())))
                }
                Ok(Err(join)) => (source, LiveState::Error, took, Err(join.to_string())),
                Ok(Ok(Err(message))) => (source, LiveState::Error, took, Err(message)),
                Ok(Ok(Ok((fresh, answer)))) => {
                    self.breakers.answered(&source.id);
                    let state = if fresh { LiveState::Live } else { LiveState::Cached };
                    (source, state, took, Ok(answer))
                }
            };
            answered.push(entry);
        }
        let mut results = LiveResults::default();
        let mut streams: Vec<Vec<ResourceRecord>> = Vec::new();
        for (source, state, took_ms, answer) in answered {
            let (hits, message) = match answer {
                Ok(answer) => {
                    let matching: Vec<ResourceRecord> =
                        answer.records.iter().filter(|record| matches_filter(record, filter)).cloned().collect();
                    let count = matching.len();
                    streams.push(matching);
                    (count, None)
                }
                Err(message) => {
                    tracing::info!(source = %source.id, publisher = %source.publisher, state = ?state, message = %message, "live source gave no answer");
                    (0, Some(message))
                }
            };
            results.reports.push(LiveReport {
                source_id: source.id,
                publisher: source.publisher,
                state,
                took_ms,
                message,
                hits,
            });
        }
        results.records = interleave(streams);
        results
    }

    /// Asks a source in trouble without anyone waiting: an answer within `deadline` makes it
    /// healthy again (and fills the cache), anything else puts off the next check.
    fn check_in_background(&self, source: CatalogSourceRecord, key: LiveKey, expression: String, deadline: Duration) {
        let answers = self.answers.clone();
        let fetcher = self.fetcher.clone();
        let check = CheckOutcome { breakers: self.breakers.clone(), source_id: source.id.clone(), answered: false };
        tokio::spawn(async move {
            // Moved whole into the task (not just the field), so it reports when the check ends.
            let mut check = check;
            let started = Instant::now();
            let outcome = answers.entry(key).or_try_insert_with(query(fetcher, source, expression)).await;
            check.answered = outcome.is_ok() && started.elapsed() <= deadline;
        });
    }
}

#[async_trait::async_trait]
impl LiveFederation for LiveSearch {
    async fn ask(
        &self,
        sources: Vec<CatalogSourceRecord>,
        text: Option<&str>,
        filter: &Filter,
        deadline: Duration,
    ) -> LiveResults {
        LiveSearch::ask(self, sources, text, filter, deadline).await
    }
}

/// Reports a background check to the breakers when it ends, however it ends (a panicking or
/// cancelled check counts as a miss, so the source is never left "checking" forever).
struct CheckOutcome {
    breakers: Arc<Breakers>,
    source_id: String,
    answered: bool,
}

impl Drop for CheckOutcome {
    fn drop(&mut self) {
        if self.answered {
            self.breakers.answered(&self.source_id);
        } else {
            self.breakers.missed(&self.source_id, Instant::now());
        }
    }
}

fn times(count: u32) -> String {
    if count == 1 {
        "once".to_string()
    } else {
        format!("{count} times")
    }
}

/// One request to one endpoint: the first page of matches, parsed off the async workers.
async fn query(
    fetcher: Fetcher,
    source: CatalogSourceRecord,
    expression: String,
) -> Result<Arc<LiveAnswer>, LiveError> {
    let url = if expression.is_empty() {
        page_url(&source.url, LIVE_LIMIT, 0, &[])
    } else {
        page_url(&source.url, LIVE_LIMIT, 0, &[("filter", expression.as_str())])
    };
    let request =
        FetchRequest { url: &url, credentials: &source.credentials, accept: "application/json", validators: None };
    let body = fetcher.get_once(&request, LIVE_REQUEST_TIMEOUT).await?;
    if body.body.len() > MAX_LIVE_BODY_BYTES {
        return Err(LiveError::Internal(format!("the answer is larger than {MAX_LIVE_BODY_BYTES} bytes")));
    }
    // Live answers are capped like pushed catalogs (the default caps: a live answer is shown,
    // never stored).
    let parsed = tokio::task::spawn_blocking(move || {
        catalog::resource_search::parse(&body.body).map(|mut parsed| {
            catalog::Limits::default().enforce(&mut parsed);
            parsed
        })
    })
    .await
    .map_err(|err| LiveError::Internal(err.to_string()))??;
    Ok(Arc::new(LiveAnswer { records: to_records(&source, parsed) }))
}

/// The RS `filter` expression for a search: the words, and single-valued subject/language.
pub fn rs_filter(text: Option<&str>, filter: &Filter) -> String {
    let mut parts = Vec::new();
    if let Some(words) = text.map(clean_value).filter(|w| !w.is_empty()) {
        parts.push(format!("search~'{words}'"));
    }
    if let [subject] = filter.subjects.as_slice() {
        if !subject.contains('\'') {
            parts.push(format!("subject='{}'", subject.trim()));
        }
    }
    if let [language] = filter.languages.as_slice() {
        if !language.contains('\'') {
            parts.push(format!("language='{}'", language.trim()));
        }
    }
    parts.join(" AND ")
}

/// Search words as an RS filter value: quotes dropped (the filter syntax has no agreed
/// escape) and whitespace collapsed.
fn clean_value(raw: &str) -> String {
    raw.replace(['\'', '"'], " ").split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Round-robin over the sources' answers, dropping repeated ids.
fn interleave(streams: Vec<Vec<ResourceRecord>>) -> Vec<ResourceRecord> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut iterators: Vec<_> = streams.into_iter().map(Vec::into_iter).collect();
    loop {
        let mut progressed = false;
        for iterator in &mut iterators {
            if let Some(record) = iterator.next() {
                progressed = true;
                if seen.insert(record.id().to_string()) {
                    out.push(record);
                }
            }
        }
        if !progressed {
            return out;
        }
    }
}

/// Whether a live hit passes the search's filters (the same rules as the index).
pub fn matches_filter(record: &ResourceRecord, filter: &Filter) -> bool {
    let resource = &record.resource;
    let any = |wanted: &[String], have: &[String], same: &dyn Fn(&str, &str) -> bool| {
        wanted.is_empty() || wanted.iter().any(|w| have.iter().any(|h| same(w.trim(), h.trim())))
    };
    let exact = |a: &str, b: &str| a == b;
    let caseless = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    let primary = |tag: &str| tag.split('-').next().unwrap_or("").to_ascii_lowercase();
    let language = |a: &str, b: &str| primary(a) == primary(b);
    if !filter.publishers.is_empty() && !filter.publishers.iter().any(|p| p == record.publisher.as_str()) {
        return false;
    }
    let license: Vec<String> = resource.license.iter().cloned().collect();
    let alignment_ids: Vec<String> =
        resource.alignments.iter().flat_map(|a| a.guid.iter().chain(a.uri.iter()).cloned()).collect();
    let codes: Vec<String> = resource.alignments.iter().filter_map(|a| a.code.clone()).collect();
    let kinds: Vec<String> = vec![resource.kind.as_str().to_string()];
    let wanted_kinds: Vec<String> = filter.kinds.iter().map(|k| k.as_str().to_string()).collect();
    if !any(&filter.subjects, &resource.subjects, &exact)
        || !any(&filter.resource_types, &resource.resource_types, &caseless)
        || !any(&filter.languages, &resource.languages, &language)
        || !any(&filter.licenses, &license, &exact)
        || !any(&wanted_kinds, &kinds, &exact)
        || !any(&filter.alignments, &alignment_ids, &caseless)
        || !any(&filter.standards, &codes, &exact)
    {
        return false;
    }
    if filter.grade_min.is_some() || filter.grade_max.is_some() {
        let Some(grades) = resource.grades else {
            return false;
        };
        let min = filter.grade_min.unwrap_or(-1);
        let max = filter.grade_max.unwrap_or(13);
        if !grades.overlaps(min, max) {
            return false;
        }
    }
    if filter.free_only && resource.free != Some(true) {
        return false;
    }
    true
}

/// Turns an RS answer into records of the source.
pub fn to_records(source: &CatalogSourceRecord, parsed: catalog::ParsedCatalog) -> Vec<ResourceRecord> {
    parsed
        .resources
        .into_iter()
        .map(|resource| ResourceRecord {
            publisher: source.publisher.clone(),
            source_id: source.id.clone(),
            format: CatalogFormat::ResourceSearch,
            resource,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::{Alignment, GradeRange, PublisherId, Resource, ResourceKind};

    fn record(publisher: &str, id: &str) -> ResourceRecord {
        let mut resource = Resource::new(id, format!("Title {id}"), "https://x.example.com/r", ResourceKind::Link);
        resource.subjects = vec!["Biology".into()];
        resource.languages = vec!["en-US".into()];
        resource.grades = Some(GradeRange::new(6, 8));
        resource.alignments =
            vec![Alignment { guid: Some("8f47df01-0608-525a-87d1-3c315b6cc83f".into()), ..Alignment::default() }];
        ResourceRecord {
            publisher: PublisherId::parse(publisher).unwrap(),
            source_id: "src-1".into(),
            format: CatalogFormat::ResourceSearch,
            resource,
        }
    }

    #[test]
    fn test_rs_filter_sends_words_and_single_valued_filters() {
        let filter =
            Filter { subjects: vec!["Biology".into()], languages: vec!["en".into(), "es".into()], ..Filter::default() };
        assert_eq!(rs_filter(Some("  cell's   \"energy\" "), &filter), "search~'cell s energy' AND subject='Biology'");
        assert_eq!(rs_filter(None, &Filter::default()), "");
        let quoted = Filter { subjects: vec!["Children's Literature".into()], ..Filter::default() };
        assert_eq!(rs_filter(Some("tales"), &quoted), "search~'tales'");
    }

    #[test]
    fn test_live_hits_are_filtered_like_the_index() {
        let hit = record("sciencelab", "SL-1");
        assert!(matches_filter(&hit, &Filter::default()));
        let matching = Filter {
            publishers: vec!["sciencelab".into()],
            subjects: vec!["Biology".into()],
            languages: vec!["en".into()],
            alignments: vec!["8F47DF01-0608-525A-87D1-3C315B6CC83F".into()],
            grade_min: Some(8),
            grade_max: Some(10),
            ..Filter::default()
        };
        assert!(matches_filter(&hit, &matching));
        for wrong in [
            Filter { publishers: vec!["other".into()], ..Filter::default() },
            Filter { subjects: vec!["Physics".into()], ..Filter::default() },
            Filter { grade_min: Some(9), ..Filter::default() },
            Filter { kinds: vec![ResourceKind::LtiResourceLink], ..Filter::default() },
            Filter { free_only: true, ..Filter::default() },
        ] {
            assert!(!matches_filter(&hit, &wrong), "{wrong:?}");
        }
    }

    #[test]
    fn test_interleave_takes_turns_and_drops_repeats() {
        let merged = interleave(vec![
            vec![record("a", "1"), record("a", "2"), record("a", "3")],
            vec![record("b", "1"), record("a", "2")],
        ]);
        let ids: Vec<String> = merged.iter().map(|r| r.id().to_string()).collect();
        assert_eq!(ids, vec!["a:1", "b:1", "a:2", "a:3"]);
    }
}
