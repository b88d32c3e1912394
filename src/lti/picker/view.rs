//! What one picker page shows, in domain terms; the renderers name things in the teacher's
//! language.

use chrono::{DateTime, Utc};

use super::params::PickerParams;
use super::start::Start;
use crate::resource::{Accessibility, Alignment, GradeRange, ResourceKind, ResourceRecord};

/// One result card.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultCard {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub publisher: String,
    pub kind: ResourceKind,
    pub grades: Option<GradeRange>,
    pub license: Option<String>,
    pub free: bool,
    /// An http(s) picture; anything else is not shown.
    pub thumbnail_url: Option<String>,
    /// The first standard codes, for a glance.
    pub standards: Vec<String>,
    pub selected: bool,
}

/// A facet value the teacher can tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FacetOption {
    pub value: String,
    pub label: String,
    pub count: u64,
    pub selected: bool,
}

/// The counts behind the filter panel.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FacetPanel {
    pub kinds: Vec<FacetOption>,
    pub publishers: Vec<FacetOption>,
    pub subjects: Vec<FacetOption>,
    pub languages: Vec<FacetOption>,
    pub licenses: Vec<FacetOption>,
    /// Standards matching the standards search (or the most common ones), ticked ones first.
    pub standards: Vec<FacetOption>,
    /// Resources per grade level under the other filters.
    pub grade_counts: Vec<(i8, u64)>,
}

/// A resource in the selection tray.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayItem {
    pub id: String,
    pub title: String,
    /// Whether its tick box is on this page (otherwise the tray carries it in the form).
    pub on_page: bool,
}

/// Everything the details of one resource show.
#[derive(Debug, Clone, PartialEq)]
pub struct Preview {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub publisher: String,
    pub kind: ResourceKind,
    pub grades: Option<GradeRange>,
    pub license: Option<String>,
    pub free: Option<bool>,
    pub languages: Vec<String>,
    pub subjects: Vec<String>,
    pub standards: Vec<Alignment>,
    pub accessibility: Accessibility,
    pub thumbnail_url: Option<String>,
    /// Where the resource opens in a new tab: web resources only (LTI tools launch from the course).
    pub open_url: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
    pub selected: bool,
}

impl Preview {
    pub fn from_record(record: &ResourceRecord, publisher: String, selected: bool) -> Self {
        let resource = &record.resource;
        let open_url =
            (resource.kind != ResourceKind::LtiResourceLink && is_web_url(&resource.url)).then(|| resource.url.clone());
        Self {
            id: record.id().to_string(),
            title: resource.title.clone(),
            description: resource.description.clone(),
            publisher,
            kind: resource.kind,
            grades: resource.grades,
            license: resource.license.clone(),
            free: resource.free,
            languages: resource.languages.clone(),
            subjects: resource.subjects.clone(),
            standards: resource.alignments.clone(),
            accessibility: resource.accessibility.clone(),
            thumbnail_url: resource.thumbnail_url.clone().filter(|u| is_web_url(u)),
            open_url,
            updated_at: resource.updated_at,
            selected,
        }
    }
}

/// Only http(s) URLs are handed to the browser (never `javascript:` or `data:`).
pub fn is_web_url(url: &str) -> bool {
    url.starts_with("https://") || url.starts_with("http://")
}

/// The whole page.
#[derive(Debug, Clone, Default)]
pub struct PickerPage {
    /// The state of the form as shown (the starting point applied on the first screen).
    pub params: PickerParams,
    pub course: Option<String>,
    /// What the first screen started from, when it started from the launch.
    pub started_from: Option<Start>,
    /// The text the LMS sent that the first query came from.
    pub requested_text: Option<String>,
    pub multiple: bool,
    pub total: usize,
    pub offset: usize,
    pub results: Vec<ResultCard>,
    pub facets: FacetPanel,
    pub selection: Vec<TrayItem>,
    pub preview: Option<Preview>,
    /// A message id of the catalog to show above the results (e.g. nothing chosen).
    pub notice: Option<&'static str>,
}

impl PickerPage {
    pub fn has_more(&self) -> bool {
        self.offset + self.results.len() < self.total
    }
}
