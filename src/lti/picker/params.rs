//! What one request to the picker asks: the search, the filters, the page, what is ticked, and
//! the button that was pressed. Everything travels in the picker's one form, so the page works
//! the same without script: ticked resources go along with every search and page.

use crate::resource::{GradeRange, ResourceKind};
use crate::search::Sort;

/// Most resources one selection holds (the deep-linking response's limit).
pub const MAX_SELECTED: usize = crate::search::service::MAX_LOOKUP_IDS;
/// Longest search text kept.
const MAX_QUERY_CHARS: usize = 300;
/// Most values kept of one filter.
const MAX_FILTER_VALUES: usize = 50;

/// The parsed parameters of `GET /lti/picker` (and of the insert's form post).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PickerParams {
    pub launch: String,
    /// The search box.
    pub query: String,
    /// Set once the teacher has used the form: the starting point from the course applies
    /// only to the first screen, never after the teacher cleared it.
    pub submitted: bool,
    pub publishers: Vec<String>,
    pub subjects: Vec<String>,
    pub languages: Vec<String>,
    pub licenses: Vec<String>,
    pub kinds: Vec<ResourceKind>,
    pub standards: Vec<String>,
    /// The text typed into the standards filter's search.
    pub standard_query: String,
    pub grade_min: Option<i8>,
    pub grade_max: Option<i8>,
    pub free_only: bool,
    /// `None`: best match with a query, newest without.
    pub sort: Option<Sort>,
    /// Zero-based page of results.
    pub page: usize,
    /// Ticked resource ids, in the order they were ticked, without repeats.
    pub selected: Vec<String>,
    /// The resource whose details are open (without script).
    pub preview: Option<String>,
}

/// A form field the parameters came from and go back into.
pub mod field {
    pub const LAUNCH: &str = "launch";
    pub const QUERY: &str = "q";
    pub const SUBMITTED: &str = "searched";
    pub const PUBLISHER: &str = "publisher";
    pub const SUBJECT: &str = "subject";
    pub const LANGUAGE: &str = "language";
    pub const LICENSE: &str = "license";
    pub const KIND: &str = "kind";
    pub const STANDARD: &str = "standard";
    pub const STANDARD_QUERY: &str = "standard_q";
    pub const GRADE_MIN: &str = "grade_min";
    pub const GRADE_MAX: &str = "grade_max";
    pub const FREE: &str = "free";
    pub const SORT: &str = "sort";
    pub const PAGE: &str = "page";
    pub const RESOURCE: &str = "resource";
    pub const PREVIEW: &str = "preview";
    /// Buttons: remove one ticked resource, add one, drop one filter (`<field>=<value>`), clear.
    pub const REMOVE: &str = "remove";
    pub const ADD: &str = "add";
    pub const DROP: &str = "drop";
    pub const CLEAR: &str = "clear";
}

impl PickerParams {
    /// Reads form pairs leniently: unknown fields are ignored, bad values dropped, lists capped.
    /// `multiple` is whether the platform takes several resources (a single choice keeps the
    /// last one ticked).
    pub fn parse(pairs: &[(String, String)], multiple: bool) -> Self {
        let first = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.trim().to_string());
        let all = |key: &str| -> Vec<String> {
            let mut values: Vec<String> = Vec::new();
            for (_, value) in pairs.iter().filter(|(k, _)| k == key) {
                let value = value.trim();
                if !value.is_empty() && !values.iter().any(|v| v == value) && values.len() < MAX_FILTER_VALUES {
                    values.push(value.to_string());
                }
            }
            values
        };
        let grade = |key: &str| {
            first(key)
                .and_then(|g| g.parse::<i8>().ok())
                .filter(|g| (GradeRange::PRE_K..=GradeRange::HIGHER_EDUCATION).contains(g))
        };
        let mut params = PickerParams {
            launch: first(field::LAUNCH).unwrap_or_default(),
            query: first(field::QUERY).map(|q| q.chars().take(MAX_QUERY_CHARS).collect()).unwrap_or_default(),
            submitted: first(field::SUBMITTED).is_some(),
            publishers: all(field::PUBLISHER),
            subjects: all(field::SUBJECT),
            languages: all(field::LANGUAGE),
            licenses: all(field::LICENSE),
            kinds: all(field::KIND).iter().filter_map(|k| ResourceKind::from_str_opt(k)).collect(),
            standards: all(field::STANDARD),
            standard_query: first(field::STANDARD_QUERY).map(|q| q.chars().take(40).collect()).unwrap_or_default(),
            grade_min: grade(field::GRADE_MIN),
            grade_max: grade(field::GRADE_MAX),
            free_only: first(field::FREE).is_some(),
            sort: first(field::SORT).and_then(|s| match s.as_str() {
                "relevance" => Some(Sort::Relevance),
                "newest" => Some(Sort::Newest),
                "title" => Some(Sort::Title),
                _ => None,
            }),
            page: first(field::PAGE)
                .and_then(|p| p.parse().ok())
                .unwrap_or(0)
                .min(crate::search::service::MAX_OFFSET / PAGE_SIZE),
            selected: Vec::new(),
            preview: first(field::PREVIEW).filter(|p| !p.is_empty()),
        };
        if let (Some(min), Some(max)) = (params.grade_min, params.grade_max) {
            if min > max {
                params.grade_min = Some(max);
                params.grade_max = Some(min);
            }
        }
        for (key, value) in pairs {
            let value = value.trim();
            if key == field::RESOURCE || key == field::ADD {
                params.select(value, multiple);
            }
        }
        if let Some(removed) = first(field::REMOVE) {
            params.selected.retain(|id| *id != removed);
        }
        if let Some(dropped) = first(field::DROP) {
            params.drop_filter(&dropped);
        }
        if let Some(clear) = first(field::CLEAR) {
            params.clear_filters();
            // "Show all resources": the search text goes too.
            if clear == "all" {
                params.query.clear();
            }
        }
        params
    }

    fn select(&mut self, id: &str, multiple: bool) {
        if id.is_empty() || id.len() > 512 {
            return;
        }
        if !multiple {
            self.selected.clear();
        }
        if !self.selected.iter().any(|s| s == id) && self.selected.len() < MAX_SELECTED {
            self.selected.push(id.to_string());
        }
    }

    /// Drops one filter value named `<field>=<value>` (the filter chips' buttons).
    fn drop_filter(&mut self, named: &str) {
        let Some((name, value)) = named.split_once('=') else { return };
        let keep = |list: &mut Vec<String>| list.retain(|v| v != value);
        match name {
            field::PUBLISHER => keep(&mut self.publishers),
            field::SUBJECT => keep(&mut self.subjects),
            field::LANGUAGE => keep(&mut self.languages),
            field::LICENSE => keep(&mut self.licenses),
            field::STANDARD => keep(&mut self.standards),
            field::KIND => self.kinds.retain(|k| k.as_str() != value),
            "grade" => {
                self.grade_min = None;
                self.grade_max = None;
            }
            field::FREE => self.free_only = false,
            field::QUERY => self.query.clear(),
            _ => {}
        }
        self.page = 0;
    }

    /// Every filter off; the search text stays.
    pub fn clear_filters(&mut self) {
        let query = std::mem::take(&mut self.query);
        let kept = PickerParams {
            launch: std::mem::take(&mut self.launch),
            query,
            submitted: true,
            selected: std::mem::take(&mut self.selected),
            sort: self.sort,
            ..PickerParams::default()
        };
        *self = kept;
    }

    /// How many filters are on (the grade range counts once).
    pub fn num_filters(&self) -> usize {
        self.publishers.len()
            + self.subjects.len()
            + self.languages.len()
            + self.licenses.len()
            + self.kinds.len()
            + self.standards.len()
            + usize::from(self.grade_min.is_some() || self.grade_max.is_some())
            + usize::from(self.free_only)
    }

    pub fn grade_range(&self) -> Option<GradeRange> {
        match (self.grade_min, self.grade_max) {
            (None, None) => None,
            (min, max) => {
                Some(GradeRange::new(min.unwrap_or(GradeRange::PRE_K), max.unwrap_or(GradeRange::HIGHER_EDUCATION)))
            }
        }
    }

    /// The order the sort menu shows: as asked, else best match. The menu is part of the
    /// search form, so what it shows is sent with the next search: a first screen showing
    /// "newest" would keep a teacher's later searches in date order.
    pub fn chosen_sort(&self) -> Sort {
        self.sort.unwrap_or(Sort::Relevance)
    }

    /// The order results come in: the chosen one, where best match with no words to rank by
    /// (a first screen, filters only) lists the newest first.
    pub fn effective_sort(&self) -> Sort {
        match self.chosen_sort() {
            Sort::Relevance if self.query.trim().is_empty() => Sort::Newest,
            chosen => chosen,
        }
    }

    pub fn is_selected(&self, id: &str) -> bool {
        self.selected.iter().any(|s| s == id)
    }
}

/// Results per page.
pub const PAGE_SIZE: usize = 20;

pub fn sort_param(sort: Sort) -> &'static str {
    match sort {
        Sort::Relevance => "relevance",
        Sort::Newest => "newest",
        Sort::Title => "title",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(raw: &str) -> Vec<(String, String)> {
        url::form_urlencoded::parse(raw.as_bytes()).into_owned().collect()
    }

    #[test]
    fn test_selection_travels_with_every_request() {
        let params = PickerParams::parse(
            &pairs("launch=L&q=+fractions+&searched=1&resource=a:1&resource=b:2&resource=a:1&add=c:3&remove=b:2"),
            true,
        );
        assert_eq!(params.launch, "L");
        assert_eq!(params.query, "fractions");
        assert!(params.submitted);
        assert_eq!(params.selected, vec!["a:1", "c:3"], "repeats once, removal applied, add appended");
        let single = PickerParams::parse(&pairs("resource=a:1&resource=b:2"), false);
        assert_eq!(single.selected, vec!["b:2"], "one choice: the last one ticked");
    }

    #[test]
    fn test_filters_read_leniently_and_drop_one_by_one() {
        let params = PickerParams::parse(
            &pairs("kind=LINK&kind=BOGUS&grade_min=5&grade_max=2&subject=Math&subject=Science&sort=title&page=3&drop=subject%3DMath"),
            true,
        );
        assert_eq!(params.kinds, vec![ResourceKind::Link]);
        assert_eq!((params.grade_min, params.grade_max), (Some(2), Some(5)), "a reversed range is put in order");
        assert_eq!(params.subjects, vec!["Science"]);
        assert_eq!(params.sort, Some(Sort::Title));
        assert_eq!(params.page, 0, "dropping a filter goes back to the first page");
        assert_eq!(params.num_filters(), 3);
        let cleared = PickerParams::parse(&pairs("q=x&kind=LINK&free=1&resource=a:1&clear=1"), true);
        assert_eq!((cleared.query.as_str(), cleared.num_filters(), cleared.selected.len()), ("x", 0, 1));
        let odd = PickerParams::parse(&pairs("grade_min=99&page=abc&sort=sideways"), true);
        assert_eq!((odd.grade_min, odd.page, odd.sort), (None, 0, None));
        assert_eq!(odd.effective_sort(), Sort::Newest, "nothing to rank by: newest first");
        assert_eq!(odd.chosen_sort(), Sort::Relevance, "the menu shows best match");
        // What the first screen's menu sends with the teacher's first search: best match.
        let searched = PickerParams::parse(&pairs("q=fractions&sort=relevance&searched=1"), true);
        assert_eq!(searched.effective_sort(), Sort::Relevance);
        let newest = PickerParams::parse(&pairs("q=fractions&sort=newest&searched=1"), true);
        assert_eq!(newest.effective_sort(), Sort::Newest, "a chosen order is kept");
    }
}
