//! Relevance: NDCG@10 of hand-judged queries (`relevance/judgments.toml`) over the bundled
//! sample catalogs and over the bench corpus, searched in-process with the very
//! [`SearchRequest`] the GraphQL resolver builds.
//!
//! NDCG@10 = DCG@10 / ideal DCG@10, with DCG = Σ (2^grade − 1) / log2(rank + 1) over the first
//! ten hits, and the ideal ranking made of every judged resource that passes the query's
//! filter, best grades first. 1.0 means the ten best resources in the best order.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use anyhow::{anyhow, bail, Context};
use resource_gateway::catalog::{self, Limits};
use resource_gateway::federation::matches_filter;
use resource_gateway::graphql::types::ResourceFilter;
use resource_gateway::index::{Filter, SearchIndex, SearchRequest};
use resource_gateway::resource::{PublisherId, ResourceId, ResourceRecord};
use serde::Deserialize;

use super::corpus::Manifest;

/// The judged set, compiled in so the harness works from any directory.
pub const JUDGMENTS: &str = include_str!("../../../relevance/judgments.toml");

/// Hits judged per query.
pub const CUTOFF: usize = 10;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Judgments {
    pub floors: Floors,
    pub samples: Vec<SampleQuery>,
    pub bench: Vec<BenchQuery>,
}

/// Mean NDCG@10 the relevance test requires.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Floors {
    pub samples: f64,
    pub bench: f64,
}

/// The filters a judged query may carry (the contract's, as a teacher sets them).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JudgedFilter {
    #[serde(default)]
    pub subjects: Vec<String>,
    #[serde(default)]
    pub languages: Vec<String>,
    pub grade_min: Option<i32>,
    pub grade_max: Option<i32>,
}

impl JudgedFilter {
    /// The domain filter, through the resolver's own conversion.
    fn to_domain(&self) -> Filter {
        ResourceFilter {
            subjects: Some(self.subjects.clone()),
            languages: Some(self.languages.clone()),
            grade_min: self.grade_min,
            grade_max: self.grade_max,
            ..ResourceFilter::default()
        }
        .into_domain()
    }

    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.subjects.is_empty() {
            parts.push(format!("subjects {}", self.subjects.join(", ")));
        }
        if !self.languages.is_empty() {
            parts.push(format!("languages {}", self.languages.join(", ")));
        }
        if self.grade_min.is_some() || self.grade_max.is_some() {
            let show = |g: Option<i32>| g.map(|g| g.to_string()).unwrap_or_else(|| "any".to_string());
            parts.push(format!("grades {}-{}", show(self.grade_min), show(self.grade_max)));
        }
        parts.join("; ")
    }
}

/// A query over the sample catalogs, judged resource by resource.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleQuery {
    pub query: String,
    #[serde(flatten)]
    pub filter: JudgedFilter,
    /// Gateway resource id → grade.
    pub grades: BTreeMap<String, u8>,
}

/// A query over the bench corpus, judged by rules.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchQuery {
    pub query: String,
    #[serde(flatten)]
    pub filter: JudgedFilter,
    pub rules: Vec<Rule>,
}

/// One rule: a resource satisfying every condition given gets `grade` (the best rule wins).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub grade: u8,
    /// The resource's topic phrase (its first keyword) is one of these.
    #[serde(default)]
    pub topic: Vec<String>,
    /// Every one of these words is in the title.
    #[serde(default)]
    pub title_words: Vec<String>,
    /// Every one of these words is in the title or the description.
    #[serde(default)]
    pub text_words: Vec<String>,
}

impl Judgments {
    /// The compiled-in judgments, or those of `path` (to try a change without rebuilding).
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let text = match path {
            Some(path) => std::fs::read_to_string(path).with_context(|| path.display().to_string())?,
            None => JUDGMENTS.to_string(),
        };
        let judgments: Judgments = toml::from_str(&text).context("relevance/judgments.toml")?;
        for rule in judgments.bench.iter().flat_map(|q| &q.rules) {
            if rule.topic.is_empty() && rule.title_words.is_empty() && rule.text_words.is_empty() {
                bail!("relevance/judgments.toml: a rule of grade {} has no condition", rule.grade);
            }
        }
        Ok(judgments)
    }
}

/// The words of a text, lowercased, split where a letter or digit ends.
fn words(text: &str) -> HashSet<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

/// A resource's content as the rules see it.
struct Content {
    topic: Option<String>,
    title: HashSet<String>,
    text: HashSet<String>,
}

impl Content {
    fn of(record: &ResourceRecord) -> Self {
        let resource = &record.resource;
        let title = words(&resource.title);
        let mut text = title.clone();
        if let Some(description) = &resource.description {
            text.extend(words(description));
        }
        Self { topic: resource.keywords.first().map(|k| k.trim().to_lowercase()), title, text }
    }
}

impl BenchQuery {
    fn grade(&self, content: &Content) -> u8 {
        let mut best = 0;
        for rule in &self.rules {
            let topic =
                rule.topic.is_empty() || rule.topic.iter().any(|t| content.topic.as_deref() == Some(t.as_str()));
            let title = rule.title_words.iter().all(|w| content.title.contains(&w.to_lowercase()));
            let text = rule.text_words.iter().all(|w| content.text.contains(&w.to_lowercase()));
            if topic && title && text {
                best = best.max(rule.grade);
            }
        }
        best
    }
}

/// NDCG@10 of one ranking of grades against the ideal grades (any order, any length).
pub fn ndcg(ranked: &[u8], ideal: &[u8]) -> f64 {
    let dcg = |grades: &mut dyn Iterator<Item = u8>| -> f64 {
        grades
            .take(CUTOFF)
            .enumerate()
            .map(|(position, grade)| (2f64.powi(i32::from(grade)) - 1.0) / ((position + 2) as f64).log2())
            .sum()
    };
    let mut best: Vec<u8> = ideal.to_vec();
    best.sort_unstable_by(|a, b| b.cmp(a));
    let ideal_dcg = dcg(&mut best.into_iter());
    if ideal_dcg == 0.0 {
        return 0.0;
    }
    let ranked_dcg = dcg(&mut ranked.iter().copied());
    // (An empty sum is -0.0.)
    if ranked_dcg > 0.0 {
        ranked_dcg / ideal_dcg
    } else {
        0.0
    }
}

/// One judged query's outcome.
#[derive(Debug, Clone)]
pub struct QueryScore {
    pub query: String,
    pub filter: String,
    pub ndcg: f64,
    /// `totalCount` of the search.
    pub total: usize,
    /// Judged resources (grade ≥ 1) that pass the filter.
    pub num_relevant: usize,
    /// The ten hits, as `grade id`, for `bench relevance --show-hits`.
    pub hits: Vec<String>,
}

/// The outcome of one judged set.
#[derive(Debug, Clone, Default)]
pub struct SetScore {
    pub queries: Vec<QueryScore>,
}

impl SetScore {
    pub fn mean(&self) -> f64 {
        if self.queries.is_empty() {
            return 0.0;
        }
        self.queries.iter().map(|q| q.ndcg).sum::<f64>() / self.queries.len() as f64
    }
}

fn request(text: &str, filter: &JudgedFilter) -> SearchRequest {
    SearchRequest {
        text: Some(text.to_string()),
        filter: filter.to_domain(),
        limit: CUTOFF,
        ..SearchRequest::default()
    }
}

/// The sample set on an index holding the bundled samples.
pub fn score_samples(index: &SearchIndex, queries: &[SampleQuery]) -> anyhow::Result<SetScore> {
    let mut score = SetScore::default();
    for judged in queries {
        let ids: Vec<ResourceId> = judged
            .grades
            .keys()
            .map(|id| ResourceId::parse(id).ok_or_else(|| anyhow!("judged id {id:?} is not a resource id")))
            .collect::<anyhow::Result<_>>()?;
        let found = index.get(&ids)?;
        if found.len() != ids.len() {
            let have: HashSet<String> = found.iter().map(|r| r.id().to_string()).collect();
            let missing: Vec<&String> = judged.grades.keys().filter(|id| !have.contains(*id)).collect();
            bail!("query {:?}: judged resources not in the samples: {missing:?}", judged.query);
        }
        let filter = judged.filter.to_domain();
        let ideal: Vec<u8> = found
            .iter()
            .filter(|record| matches_filter(record, &filter))
            .map(|record| judged.grades[&record.id().to_string()])
            .collect();
        let results = index.search(&request(&judged.query, &judged.filter))?;
        let ranked: Vec<u8> = results
            .hits
            .iter()
            .map(|hit| judged.grades.get(&hit.record.id().to_string()).copied().unwrap_or(0))
            .collect();
        let hits = shown(&results.hits, &ranked);
        score.queries.push(QueryScore {
            query: judged.query.clone(),
            filter: judged.filter.describe(),
            ndcg: ndcg(&ranked, &ideal),
            total: results.total,
            num_relevant: ideal.iter().filter(|g| **g > 0).count(),
            hits,
        });
    }
    Ok(score)
}

/// The bench set on an index of the corpus in `corpus_dir`: the ideal rankings come from
/// reading the corpus documents (one at a time) and judging every resource by the rules.
pub fn score_bench(index: &SearchIndex, corpus_dir: &Path, queries: &[BenchQuery]) -> anyhow::Result<SetScore> {
    let manifest = Manifest::read(corpus_dir)?;
    let filters: Vec<Filter> = queries.iter().map(|q| q.filter.to_domain()).collect();
    // Per query: how many resources of each grade pass its filter.
    let mut grade_counts: Vec<[usize; 4]> = vec![[0; 4]; queries.len()];
    for document in &manifest.documents {
        let bytes = std::fs::read(&document.path)?;
        let format = super::catalog_format(document.format);
        let parsed = catalog::parse(format, &bytes, &Limits::default())
            .map_err(|err| anyhow!("{}: {err}", document.path.display()))?;
        let publisher = PublisherId::parse(&document.publisher)?;
        for resource in parsed.resources {
            let record =
                ResourceRecord { publisher: publisher.clone(), source_id: document.source.clone(), format, resource };
            let content = Content::of(&record);
            for (position, judged) in queries.iter().enumerate() {
                let grade = judged.grade(&content);
                if grade > 0 && matches_filter(&record, &filters[position]) {
                    grade_counts[position][usize::from(grade.min(3))] += 1;
                }
            }
        }
    }
    let mut score = SetScore::default();
    for (position, judged) in queries.iter().enumerate() {
        let mut ideal = Vec::new();
        for grade in (1..=3u8).rev() {
            let available = grade_counts[position][usize::from(grade)].min(CUTOFF - ideal.len().min(CUTOFF));
            ideal.extend(std::iter::repeat_n(grade, available));
        }
        let results = index.search(&request(&judged.query, &judged.filter))?;
        let ranked: Vec<u8> = results.hits.iter().map(|hit| judged.grade(&Content::of(&hit.record))).collect();
        let hits = shown(&results.hits, &ranked);
        score.queries.push(QueryScore {
            query: judged.query.clone(),
            filter: judged.filter.describe(),
            ndcg: ndcg(&ranked, &ideal),
            total: results.total,
            num_relevant: grade_counts[position].iter().sum(),
            hits,
        });
    }
    Ok(score)
}

fn shown(hits: &[resource_gateway::index::SearchHit], grades: &[u8]) -> Vec<String> {
    hits.iter()
        .zip(grades)
        .map(|(hit, grade)| format!("{grade} {:.3} {} ({})", hit.score, hit.record.id(), hit.record.resource.title))
        .collect()
}

/// Every query's hits with their grades, for looking into a score.
pub fn hits_text(outcome: &RelevanceOutcome) -> String {
    let mut out = String::new();
    for (set, score) in [("samples", &outcome.samples), ("bench", &outcome.bench)] {
        for query in &score.queries {
            out.push_str(&format!("{set} {:?} [{}] NDCG@10 {:.3}\n", query.query, query.filter, query.ndcg));
            for hit in &query.hits {
                out.push_str(&format!("    {hit}\n"));
            }
        }
    }
    out
}

/// Both sets' outcomes, for the report.
#[derive(Debug, Clone, Default)]
pub struct RelevanceOutcome {
    pub samples: SetScore,
    pub bench: SetScore,
}

/// Markdown: the means, then every query.
pub fn markdown(outcome: &RelevanceOutcome, bench_resources: usize) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "Relevance (`relevance/judgments.toml`): mean NDCG@10 **{:.3}** over {} judged queries on the sample \
         catalogs, **{:.3}** over {} on this corpus ({} resources).\n\n",
        outcome.samples.mean(),
        outcome.samples.queries.len(),
        outcome.bench.mean(),
        outcome.bench.queries.len(),
        bench_resources,
    ));
    out.push_str("| Set | Query | Filter | NDCG@10 | totalCount | Judged relevant |\n|---|---|---|---:|---:|---:|\n");
    for (set, score) in [("samples", &outcome.samples), ("bench", &outcome.bench)] {
        for query in &score.queries {
            out.push_str(&format!(
                "| {set} | `{}` | {} | {:.3} | {} | {} |\n",
                query.query.replace('|', "\\|"),
                if query.filter.is_empty() { "–" } else { &query.filter },
                query.ndcg,
                query.total,
                query.num_relevant
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_ndcg_of_the_ideal_order_is_one_and_of_nothing_zero() {
        assert!((ndcg(&[3, 2, 1], &[1, 2, 3]) - 1.0).abs() < 1e-12);
        assert_eq!(ndcg(&[0, 0], &[3]), 0.0);
        assert_eq!(ndcg(&[], &[]), 0.0);
        // The best resource second instead of first.
        let swapped = ndcg(&[0, 3], &[3]);
        assert!((swapped - 1.0 / 3f64.log2()).abs() < 1e-12, "{swapped}");
    }

    #[test]
    fn test_judgments_parse_and_every_rule_has_a_condition() {
        let judgments = Judgments::load(None).unwrap();
        assert!(judgments.samples.len() >= 20 && judgments.bench.len() >= 20);
        assert!(judgments.samples.iter().all(|q| q.grades.values().any(|g| *g == 3)));
    }
}
