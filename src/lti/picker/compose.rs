//! One picker page from a launch and the form's parameters: the search (or, on the first
//! screen, the starting guesses until one finds something), the filter counts, the tray's
//! titles and the open details.

use std::collections::HashMap;

use super::i18n::Strings;
use super::labels;
use super::params::{PickerParams, PAGE_SIZE};
use super::source::PickerSource;
use super::start::LaunchHints;
use super::view::{is_web_url, FacetOption, FacetPanel, PickerPage, Preview, ResultCard, TrayItem};
use crate::error::AppError;
use crate::lti::deep_link::LaunchContext;
use crate::resource::{ResourceKind, ResourceRecord};
use crate::search::Dimension;
use crate::search::{Filter, SearchRequest, SearchResults};

/// Values shown per filter group (ticked ones are always shown too).
const FACET_VALUES_SHOWN: usize = 10;
/// Standards listed under the standards search.
const STANDARDS_SHOWN: usize = 8;
/// Characters of a description on a result card (the details show all of it).
const CARD_DESCRIPTION_CHARS: usize = 300;
/// Standard codes on a result card.
const CARD_STANDARDS: usize = 3;

/// The facets the filter panel counts.
pub const PANEL_FACETS: [Dimension; 7] = [
    Dimension::Kind,
    Dimension::GradeLevel,
    Dimension::Standard,
    Dimension::Subject,
    Dimension::Publisher,
    Dimension::Language,
    Dimension::License,
];

/// The search one state of the form asks for.
pub fn search_request(params: &PickerParams, allowed_kinds: &[ResourceKind]) -> SearchRequest {
    let chosen: Vec<ResourceKind> = params.kinds.iter().copied().filter(|k| allowed_kinds.contains(k)).collect();
    // Every kind allowed and none chosen: no kind filter at all (cheaper than naming them all).
    let kinds = if !chosen.is_empty() {
        chosen
    } else if allowed_kinds.len() == ResourceKind::ALL.len() {
        Vec::new()
    } else {
        allowed_kinds.to_vec()
    };
    SearchRequest {
        text: Some(params.query.clone()).filter(|q| !q.trim().is_empty()),
        filter: Filter {
            publishers: params.publishers.clone(),
            subjects: params.subjects.clone(),
            languages: params.languages.clone(),
            licenses: params.licenses.clone(),
            kinds,
            standards: params.standards.clone(),
            grade_min: params.grade_min,
            grade_max: params.grade_max,
            free_only: params.free_only,
            ..Filter::default()
        },
        sort: params.effective_sort(),
        offset: params.page * PAGE_SIZE,
        limit: PAGE_SIZE,
        // Standards are counted once the teacher looks for one: there are thousands of codes,
        // and a code is found by typing it, not by scrolling a list.
        facets: PANEL_FACETS
            .into_iter()
            .filter(|d| {
                *d != Dimension::Standard || !params.standard_query.trim().is_empty() || !params.standards.is_empty()
            })
            .collect(),
        with_highlights: false,
    }
}

/// Builds the page: searches, counts, looks up the tray and the open details.
pub async fn compose(
    source: &impl PickerSource,
    context: &LaunchContext,
    mut params: PickerParams,
    strings: &Strings,
) -> Result<PickerPage, AppError> {
    let allowed = context.settings.returnable_kinds();
    let hints = LaunchHints::new(
        context.settings.title.as_deref(),
        context.settings.text.as_deref(),
        context.launch.course_title.as_deref(),
    );
    let mut started_from = None;
    // The starting guesses only for a first screen that asks nothing itself.
    let asks_something = params.submitted || !params.query.trim().is_empty() || params.num_filters() > 0;
    let results = if asks_something {
        source.search(search_request(&params, &allowed)).await?
    } else {
        let candidates = hints.candidates();
        let last = candidates.len().saturating_sub(1);
        let mut found = SearchResults::default();
        for (index, candidate) in candidates.into_iter().enumerate() {
            let mut attempt = params.clone();
            attempt.query = candidate.query.clone().unwrap_or_default();
            attempt.grade_min = candidate.grades.map(|g| g.min);
            attempt.grade_max = candidate.grades.map(|g| g.max);
            let results = source.search(search_request(&attempt, &allowed)).await?;
            if results.total > 0 || index == last {
                if candidate.query.is_some() || candidate.grades.is_some() {
                    started_from = Some(candidate);
                }
                params = attempt;
                found = results;
                break;
            }
        }
        found
    };
    params.submitted = true;
    let names = source.publisher_names().await;
    let publisher_name = |id: &str| names.get(id).cloned().unwrap_or_else(|| id.to_string());

    let results_ids: Vec<String> = results.hits.iter().map(|hit| hit.record.id().to_string()).collect();
    let mut lookups: Vec<String> = params.selected.clone();
    if let Some(preview) = &params.preview {
        if !lookups.contains(preview) {
            lookups.push(preview.clone());
        }
    }
    let looked_up = if lookups.is_empty() { Vec::new() } else { source.records(&lookups).await? };
    let by_id: HashMap<String, &ResourceRecord> = looked_up.iter().map(|r| (r.id().to_string(), r)).collect();
    // A ticked resource that left the index since is dropped from the selection.
    params.selected.retain(|id| by_id.contains_key(id));
    let selection = params
        .selected
        .iter()
        .filter_map(|id| by_id.get(id))
        .map(|record| {
            let id = record.id().to_string();
            TrayItem { on_page: results_ids.contains(&id), id, title: record.resource.title.clone() }
        })
        .collect();
    let preview = params.preview.as_ref().and_then(|id| by_id.get(id)).map(|record| {
        Preview::from_record(
            record,
            publisher_name(record.publisher.as_str()),
            params.is_selected(&record.id().to_string()),
        )
    });

    let cards = results
        .hits
        .iter()
        .map(|hit| card(&hit.record, publisher_name(hit.record.publisher.as_str()), &params))
        .collect();
    let facets = facet_panel(&results, &params, &allowed, strings, &publisher_name);
    Ok(PickerPage {
        offset: params.page * PAGE_SIZE,
        course: hints.course_title,
        requested_text: hints.requested_text,
        started_from,
        multiple: context.settings.accept_multiple(),
        total: results.total,
        results: cards,
        facets,
        selection,
        preview,
        notice: None,
        params,
    })
}

fn card(record: &ResourceRecord, publisher: String, params: &PickerParams) -> ResultCard {
    let resource = &record.resource;
    let id = record.id().to_string();
    ResultCard {
        selected: params.is_selected(&id),
        id,
        title: resource.title.clone(),
        description: resource.description.as_deref().map(|d| truncate(d, CARD_DESCRIPTION_CHARS)),
        publisher,
        kind: resource.kind,
        grades: resource.grades,
        license: resource.license.clone(),
        free: resource.free == Some(true),
        thumbnail_url: resource.thumbnail_url.clone().filter(|u| is_web_url(u)),
        standards: resource.alignments.iter().filter_map(|a| a.code.clone()).take(CARD_STANDARDS).collect(),
    }
}

fn facet_panel(
    results: &SearchResults,
    params: &PickerParams,
    allowed: &[ResourceKind],
    strings: &Strings,
    publisher_name: &dyn Fn(&str) -> String,
) -> FacetPanel {
    let counts = |dimension: Dimension| results.facets.get(&dimension).cloned().unwrap_or_default();
    let options = |dimension: Dimension, chosen: &[String], label: &dyn Fn(&str) -> String| {
        top_options(&counts(dimension), chosen, FACET_VALUES_SHOWN, label)
    };
    let chosen_kinds: Vec<String> = params.kinds.iter().map(|k| k.as_str().to_string()).collect();
    let kinds = allowed
        .iter()
        .map(|kind| {
            let count = counts(Dimension::Kind).iter().find(|(v, _)| v == kind.as_str()).map(|(_, c)| *c).unwrap_or(0);
            FacetOption {
                value: kind.as_str().to_string(),
                label: labels::kind(strings, *kind),
                count,
                selected: chosen_kinds.iter().any(|k| k == kind.as_str()),
            }
        })
        .collect();
    let wanted = normalize_code(&params.standard_query);
    let standards: Vec<(String, u64)> = if wanted.is_empty() {
        counts(Dimension::Standard)
    } else {
        counts(Dimension::Standard).into_iter().filter(|(code, _)| normalize_code(code).contains(&wanted)).collect()
    };
    let mut grade_counts: Vec<(i8, u64)> =
        counts(Dimension::GradeLevel).iter().filter_map(|(v, c)| v.parse::<i8>().ok().map(|g| (g, *c))).collect();
    grade_counts.sort();
    FacetPanel {
        kinds,
        publishers: options(Dimension::Publisher, &params.publishers, publisher_name),
        subjects: options(Dimension::Subject, &params.subjects, &|v| v.to_string()),
        languages: options(Dimension::Language, &params.languages, &|v| labels::language(strings, v)),
        licenses: options(Dimension::License, &params.licenses, &|v| labels::license_option(strings, v)),
        standards: top_options(&standards, &params.standards, STANDARDS_SHOWN, &|v| v.to_string()),
        grade_counts,
    }
}

/// The most frequent values, ticked ones first (even when no longer counted).
fn top_options(
    counts: &[(String, u64)],
    chosen: &[String],
    shown: usize,
    label: &dyn Fn(&str) -> String,
) -> Vec<FacetOption> {
    let mut out: Vec<FacetOption> = chosen
        .iter()
        .map(|value| FacetOption {
            value: value.clone(),
            label: label(value),
            count: counts.iter().find(|(v, _)| v == value).map(|(_, c)| *c).unwrap_or(0),
            selected: true,
        })
        .collect();
    for (value, count) in counts.iter().filter(|(v, _)| !chosen.contains(v)).take(shown) {
        out.push(FacetOption { value: value.clone(), label: label(value), count: *count, selected: false });
    }
    out
}

/// Standard codes compared without case, dots or spaces ("3nf" finds "3.NF.A.1").
fn normalize_code(code: &str) -> String {
    code.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let cut: String = text.chars().take(max_chars).collect();
    // End at a word boundary when one is near.
    let trimmed = cut.rfind(' ').filter(|at| *at > max_chars / 2).map(|at| &cut[..at]).unwrap_or(&cut);
    format!("{}…", trimmed.trim_end_matches([',', ';', ':', ' ']))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_codes_are_found_without_dots_or_case() {
        assert!(normalize_code("3.NF.A.1").contains(&normalize_code("3.nf")));
        assert!(normalize_code("HS-LS1-1").contains(&normalize_code("ls1")));
        assert_eq!(truncate("one two three four five", 12), "one two…");
        assert_eq!(truncate("short", 12), "short");
    }

    #[test]
    fn test_ticked_values_stay_listed() {
        let counts = vec![("a".to_string(), 5), ("b".to_string(), 3), ("c".to_string(), 1)];
        let options = top_options(&counts, &["c".to_string(), "z".to_string()], 1, &|v| v.to_uppercase());
        let shown: Vec<(&str, u64, bool)> = options.iter().map(|o| (o.value.as_str(), o.count, o.selected)).collect();
        assert_eq!(shown, vec![("c", 1, true), ("z", 0, true), ("a", 5, false)]);
    }

    #[test]
    fn test_every_kind_allowed_means_no_kind_filter() {
        let params = PickerParams::default();
        assert!(search_request(&params, &ResourceKind::ALL).filter.kinds.is_empty());
        assert_eq!(search_request(&params, &[ResourceKind::Link]).filter.kinds, vec![ResourceKind::Link]);
        let chosen = PickerParams { kinds: vec![ResourceKind::File, ResourceKind::Image], ..PickerParams::default() };
        assert_eq!(search_request(&chosen, &[ResourceKind::Image]).filter.kinds, vec![ResourceKind::Image]);
    }
}
