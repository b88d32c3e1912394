//! GraphQL object and input types: conversions from the domain model only.

use async_graphql::{Context, Enum, InputObject, Json, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

use crate::app::App;
use crate::catalog;
use crate::error::AppError;
use crate::ingest::IngestReport as DomainIngestReport;
use crate::registry::{self, IngestRecord};
use crate::resource::{self, ResourceRecord};
use crate::search::{self as index, Highlight as DomainHighlight};

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::resource::ResourceKind")]
pub enum ResourceKind {
    LtiResourceLink,
    Link,
    File,
    Html,
    Image,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::resource::CatalogFormat")]
pub enum CatalogFormat {
    CommonCartridge,
    ResourceSearch,
    Lrmi,
    OaiPmh,
    /// A sitemap (XML, sitemap index, gzip) of pages carrying LRMI / schema.org JSON-LD; pushed
    /// as a document, one such HTML page.
    Sitemap,
}

/// Result order.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
pub enum SearchSort {
    /// Best match first.
    #[default]
    Relevance,
    /// Alphabetical by title.
    Title,
    /// Most recently updated first.
    Newest,
}

impl From<SearchSort> for index::Sort {
    fn from(sort: SearchSort) -> Self {
        match sort {
            SearchSort::Relevance => index::Sort::Relevance,
            SearchSort::Title => index::Sort::Title,
            SearchSort::Newest => index::Sort::Newest,
        }
    }
}

/// How an ingested document relates to what its source already had.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum IngestMode {
    /// The document is the source's whole catalog: what it lacks is removed.
    Replace,
    /// The document adds and updates; only records it marks deleted are removed.
    Merge,
}

impl From<IngestMode> for resource::IngestMode {
    fn from(mode: IngestMode) -> Self {
        match mode {
            IngestMode::Replace => resource::IngestMode::Replace,
            IngestMode::Merge => resource::IngestMode::Merge,
        }
    }
}

/// Search filters: any value of one list matches; all lists must match.
#[derive(InputObject, Default, Debug)]
pub struct ResourceFilter {
    pub publishers: Option<Vec<ID>>,
    pub subjects: Option<Vec<String>>,
    pub resource_types: Option<Vec<String>>,
    /// BCP 47 tags; `en` also matches `en-US`.
    pub languages: Option<Vec<String>>,
    /// Canonical licence URLs or SPDX ids, as the `license` facet shows them.
    pub licenses: Option<Vec<String>>,
    pub kinds: Option<Vec<ResourceKind>>,
    /// CASE GUID or URI.
    pub alignments: Option<Vec<String>>,
    /// PK = -1, K = 0, grades 1..12, higher education = 13; matches on overlap.
    pub grade_min: Option<i32>,
    pub grade_max: Option<i32>,
    pub free_only: Option<bool>,
}

/// Values one filter list may hold: enough for any picker, small enough that an anonymous
/// caller cannot make one search cost thousands of term lookups per facet.
pub const MAX_FILTER_VALUES: usize = 50;

impl ResourceFilter {
    /// Refuses filter lists longer than [`MAX_FILTER_VALUES`].
    pub fn check(&self) -> Result<(), AppError> {
        let lengths = [
            ("publishers", self.publishers.as_ref().map(Vec::len)),
            ("subjects", self.subjects.as_ref().map(Vec::len)),
            ("resourceTypes", self.resource_types.as_ref().map(Vec::len)),
            ("languages", self.languages.as_ref().map(Vec::len)),
            ("licenses", self.licenses.as_ref().map(Vec::len)),
            ("kinds", self.kinds.as_ref().map(Vec::len)),
            ("alignments", self.alignments.as_ref().map(Vec::len)),
        ];
        for (name, length) in lengths {
            if length.unwrap_or(0) > MAX_FILTER_VALUES {
                return Err(AppError::bad_input(format!("filter.{name} may hold at most {MAX_FILTER_VALUES} values")));
            }
        }
        Ok(())
    }

    pub fn into_domain(self) -> index::Filter {
        let clamp = |g: i32| g.clamp(-1, 13) as i8;
        index::Filter {
            publishers: self.publishers.unwrap_or_default().into_iter().map(|id| id.to_string()).collect(),
            subjects: self.subjects.unwrap_or_default(),
            resource_types: self.resource_types.unwrap_or_default(),
            languages: self.languages.unwrap_or_default(),
            licenses: self
                .licenses
                .unwrap_or_default()
                .into_iter()
                .map(|l| catalog::vocab::license(&l).unwrap_or(l))
                .collect(),
            kinds: self.kinds.unwrap_or_default().into_iter().map(Into::into).collect(),
            alignments: self.alignments.unwrap_or_default(),
            standards: Vec::new(),
            grade_min: self.grade_min.map(clamp),
            grade_max: self.grade_max.map(clamp),
            free_only: self.free_only.unwrap_or(false),
        }
    }
}

/// A registered publisher.
pub struct Publisher(pub registry::Publisher);

#[Object]
impl Publisher {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn homepage(&self) -> Option<&str> {
        self.0.homepage.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Resources of this publisher currently searchable.
    async fn resource_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        let app = ctx.data::<std::sync::Arc<App>>()?;
        let counts = app.search.counts_by_publisher().await?;
        Ok(counts.get(self.0.id.as_str()).copied().unwrap_or(0) as i32)
    }
    /// This publisher's LTI tools (visible to its key and the admin).
    async fn tools(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<super::lti::PublisherTool>> {
        let app = ctx.data::<std::sync::Arc<App>>()?;
        let principal = ctx.data::<crate::auth::Principal>()?;
        let tools = app.lti.publisher_tools(principal, &self.0.id).await?;
        Ok(tools.into_iter().map(|t| super::lti::PublisherTool(t, app.public_url.clone())).collect())
    }

    /// The feeds the gateway harvests for this publisher (visible to this publisher's key and
    /// the admin: others get UNAUTHENTICATED or FORBIDDEN). Secrets are never shown.
    async fn sources(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<super::sources::CatalogSource>> {
        super::sources::publisher_sources(ctx, &self.0).await
    }
    /// The newest ingests (visible to this publisher's key and the admin).
    async fn ingests(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10, validator(minimum = 1, maximum = 100))] first: i32,
    ) -> async_graphql::Result<Vec<IngestRun>> {
        let app = ctx.data::<std::sync::Arc<App>>()?;
        let principal = ctx.data::<crate::auth::Principal>()?;
        let history = app.publishers.ingest_history(principal, &self.0.id, first as usize).await?;
        Ok(history.into_iter().map(IngestRun).collect())
    }
}

/// One past ingest of a publisher's catalog.
pub struct IngestRun(pub IngestRecord);

#[Object]
impl IngestRun {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn source_id(&self) -> &str {
        &self.0.source_id
    }
    async fn format(&self) -> CatalogFormat {
        self.0.format.into()
    }
    /// How the ingest ended.
    async fn outcome(&self) -> async_graphql::Result<IngestStatus> {
        Ok(IngestStatus::parse(&self.0.status)?)
    }
    /// SUCCEEDED, PARTIAL (some items rejected) or FAILED (nothing changed).
    #[graphql(deprecation = "Use `outcome`: the same values as the enum `IngestStatus`.")]
    async fn status(&self) -> &str {
        &self.0.status
    }
    async fn started_at(&self) -> DateTime<Utc> {
        self.0.started_at
    }
    async fn finished_at(&self) -> DateTime<Utc> {
        self.0.finished_at
    }
    async fn added(&self) -> i32 {
        self.0.added as i32
    }
    async fn updated(&self) -> i32 {
        self.0.updated as i32
    }
    async fn removed(&self) -> i32 {
        self.0.removed as i32
    }
    async fn rejected(&self) -> i32 {
        self.0.rejected as i32
    }
    async fn diagnostics(&self) -> async_graphql::Result<Vec<Diagnostic>> {
        Ok(Diagnostic::from_stored(&self.0.diagnostics)?)
    }
}

/// How an ingest ended.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::ingest::IngestStatus")]
pub enum IngestStatus {
    /// Every item was applied.
    Succeeded,
    /// Applied, but some items were rejected (see diagnostics).
    Partial,
    /// The document was refused; nothing changed.
    Failed,
}

impl IngestStatus {
    /// From the name stored in the ingest history.
    fn parse(stored: &str) -> Result<Self, AppError> {
        match stored {
            "SUCCEEDED" => Ok(Self::Succeeded),
            "PARTIAL" => Ok(Self::Partial),
            "FAILED" => Ok(Self::Failed),
            other => Err(AppError::internal(format!("unknown ingest status '{other}' in the history"))),
        }
    }
}

/// How bad a diagnostic is.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::catalog::Severity")]
pub enum DiagnosticSeverity {
    /// The item (or the whole document) was rejected.
    Error,
    /// Applied, but something should be fixed.
    Warning,
    Info,
}

impl DiagnosticSeverity {
    /// From the name stored in the history.
    fn parse(stored: &str) -> Result<Self, AppError> {
        match stored {
            "ERROR" => Ok(Self::Error),
            "WARNING" => Ok(Self::Warning),
            "INFO" => Ok(Self::Info),
            other => Err(AppError::internal(format!("unknown diagnostic severity '{other}' in the history"))),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Error => "ERROR",
            Self::Warning => "WARNING",
            Self::Info => "INFO",
        }
    }
}

/// Something a publisher can act on, tied to an item where possible.
#[derive(SimpleObject, Clone)]
pub struct Diagnostic {
    /// The item's identifier or a path such as `resources[1] (SL-9002)`.
    pub item: Option<String>,
    /// How bad it is: ERROR means the item (or the document) was rejected.
    pub level: DiagnosticSeverity,
    /// ERROR (the item or document was rejected), WARNING or INFO.
    #[graphql(deprecation = "Use `level`: the same values as the enum `DiagnosticSeverity`.")]
    pub severity: String,
    pub message: String,
}

impl Diagnostic {
    fn new(item: Option<String>, level: DiagnosticSeverity, message: String) -> Self {
        Self { item, level, severity: level.name().to_string(), message }
    }

    /// Diagnostics as the history stores them.
    pub fn from_stored(stored: &[registry::StoredDiagnostic]) -> Result<Vec<Self>, AppError> {
        stored
            .iter()
            .map(|d| Ok(Self::new(d.item.clone(), DiagnosticSeverity::parse(&d.severity)?, d.message.clone())))
            .collect()
    }
}

impl From<&catalog::Diagnostic> for Diagnostic {
    fn from(diagnostic: &catalog::Diagnostic) -> Self {
        Self::new(diagnostic.item.clone(), diagnostic.severity.into(), diagnostic.message.clone())
    }
}

/// What an ingest did.
#[derive(SimpleObject)]
pub struct IngestReport {
    pub added: i32,
    pub updated: i32,
    pub removed: i32,
    pub rejected: i32,
    pub diagnostics: Vec<Diagnostic>,
    /// How the ingest ended.
    pub outcome: IngestStatus,
    /// SUCCEEDED, PARTIAL (some items rejected) or FAILED (the document was refused; nothing changed).
    #[graphql(deprecation = "Use `outcome`: the same values as the enum `IngestStatus`.")]
    pub status: String,
    /// The catalog source the document replaced or merged into.
    pub source_id: String,
}

impl From<DomainIngestReport> for IngestReport {
    fn from(report: DomainIngestReport) -> Self {
        Self {
            added: report.added as i32,
            updated: report.updated as i32,
            removed: report.removed as i32,
            rejected: report.rejected as i32,
            diagnostics: report.diagnostics.iter().map(Diagnostic::from).collect(),
            outcome: report.status.into(),
            status: report.status.as_str().to_string(),
            source_id: report.source_id,
        }
    }
}

/// A publisher's key, shown once.
#[derive(SimpleObject)]
pub struct PublisherRegistration {
    pub publisher: Publisher,
    /// Send as `Authorization: Bearer <apiKey>`; only its hash is stored, so keep it safe.
    pub api_key: String,
}

/// A curriculum standard the resource is aligned to.
#[derive(SimpleObject)]
pub struct Alignment {
    pub framework: Option<String>,
    /// Human coding scheme, e.g. 3.NF.A.1.
    pub code: Option<String>,
    /// CASE CFItem identifier.
    pub guid: Option<String>,
    /// CASE CFItem URI.
    pub uri: Option<String>,
    pub alignment_type: Option<String>,
}

impl From<&resource::Alignment> for Alignment {
    fn from(a: &resource::Alignment) -> Self {
        Self {
            framework: a.framework.clone(),
            code: a.code.clone(),
            guid: a.guid.clone(),
            uri: a.uri.clone(),
            alignment_type: a.alignment_type.clone(),
        }
    }
}

/// A gradebook column the LMS may create.
#[derive(SimpleObject)]
pub struct LineItem {
    pub score_maximum: f64,
    pub label: Option<String>,
    /// The publisher tool's own id for what is graded.
    pub resource_id: Option<String>,
    pub tag: Option<String>,
}

/// How to launch a publisher's LTI tool.
pub struct LtiLink(pub resource::LtiLink);

#[Object]
impl LtiLink {
    async fn launch_url(&self) -> &str {
        &self.0.launch_url
    }
    /// Custom parameters as a JSON object of strings, passed on verbatim.
    async fn custom(&self) -> Json<std::collections::BTreeMap<String, String>> {
        Json(self.0.custom.clone())
    }
    async fn icon_url(&self) -> Option<&str> {
        self.0.icon_url.as_deref()
    }
    async fn vendor_code(&self) -> Option<&str> {
        self.0.vendor_code.as_deref()
    }
    async fn vendor_name(&self) -> Option<&str> {
        self.0.vendor_name.as_deref()
    }
    /// Present when the link is gradable.
    async fn line_item(&self) -> Option<LineItem> {
        self.0.line_item.as_ref().map(|l| LineItem {
            score_maximum: l.score_maximum,
            label: l.label.clone(),
            resource_id: l.resource_id.clone(),
            tag: l.tag.clone(),
        })
    }
}

/// A learning resource from any publisher.
pub struct Resource(pub ResourceRecord);

#[Object]
impl Resource {
    /// `<publisher id>:<the publisher's own identifier>`, stable across re-harvests.
    async fn id(&self) -> ID {
        ID(self.0.id().to_string())
    }
    async fn publisher(&self, ctx: &Context<'_>) -> async_graphql::Result<Publisher> {
        let app = ctx.data::<std::sync::Arc<App>>()?;
        let found = app.publishers.get(&self.0.publisher).await?;
        let publisher = found.unwrap_or_else(|| registry::Publisher {
            id: self.0.publisher.clone(),
            name: self.0.publisher.to_string(),
            homepage: None,
            created_at: DateTime::<Utc>::UNIX_EPOCH,
        });
        Ok(Publisher(publisher))
    }
    async fn source_id(&self) -> &str {
        &self.0.source_id
    }
    async fn format(&self) -> CatalogFormat {
        self.0.format.into()
    }
    async fn title(&self) -> &str {
        &self.0.resource.title
    }
    async fn description(&self) -> Option<&str> {
        self.0.resource.description.as_deref()
    }
    /// Where the resource lives (for LTI tools, the publisher's launch URL).
    async fn url(&self) -> &str {
        &self.0.resource.url
    }
    async fn kind(&self) -> ResourceKind {
        self.0.resource.kind.into()
    }
    async fn lti(&self) -> Option<LtiLink> {
        self.0.resource.lti.clone().map(LtiLink)
    }
    async fn keywords(&self) -> &[String] {
        &self.0.resource.keywords
    }
    async fn subjects(&self) -> &[String] {
        &self.0.resource.subjects
    }
    /// Normalised resource types.
    async fn resource_types(&self) -> &[String] {
        &self.0.resource.resource_types
    }
    /// The resource types exactly as the catalog sent them.
    async fn resource_types_raw(&self) -> &[String] {
        &self.0.resource.resource_types_raw
    }
    /// The subjects exactly as the catalog sent them (concept URIs or text).
    async fn subjects_raw(&self) -> &[String] {
        &self.0.resource.subjects_raw
    }
    /// BCP 47 tags.
    async fn languages(&self) -> &[String] {
        &self.0.resource.languages
    }
    async fn grade_min(&self) -> Option<i32> {
        self.0.resource.grades.map(|g| i32::from(g.min))
    }
    async fn grade_max(&self) -> Option<i32> {
        self.0.resource.grades.map(|g| i32::from(g.max))
    }
    /// Canonical licence URL or SPDX id.
    async fn license(&self) -> Option<&str> {
        self.0.resource.license.as_deref()
    }
    /// The licence statement as the catalog gave it.
    async fn license_raw(&self) -> Option<&str> {
        self.0.resource.license_raw.as_deref()
    }
    async fn free(&self) -> Option<bool> {
        self.0.resource.free
    }
    async fn thumbnail_url(&self) -> Option<&str> {
        self.0.resource.thumbnail_url.as_deref()
    }
    async fn alignments(&self) -> Vec<Alignment> {
        self.0.resource.alignments.iter().map(Alignment::from).collect()
    }
    async fn updated_at(&self) -> Option<DateTime<Utc>> {
        self.0.resource.updated_at
    }
    /// Meant for teachers only (answer keys, teacher guides).
    async fn teacher_only(&self) -> bool {
        self.0.resource.teacher_only
    }
}

/// A highlighted fragment: hits wrapped in `<mark>`, the rest HTML-escaped.
#[derive(SimpleObject)]
pub struct Highlight {
    pub field: String,
    pub snippet: String,
}

impl From<DomainHighlight> for Highlight {
    fn from(h: DomainHighlight) -> Self {
        Self { field: h.field, snippet: h.snippet }
    }
}

#[derive(SimpleObject)]
pub struct SearchEdge {
    pub cursor: String,
    pub score: f64,
    pub node: Resource,
    pub highlights: Vec<Highlight>,
}

#[derive(SimpleObject)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub has_previous_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}

/// A facet value and how many results have it.
#[derive(SimpleObject, Clone)]
pub struct FacetCount {
    pub value: String,
    /// A display name where the value is a code (publisher name, language name, grade name).
    pub label: Option<String>,
    pub count: i32,
}

/// Counts per value; each facet is counted under every filter but its own.
#[derive(SimpleObject, Default)]
pub struct Facets {
    pub publisher: Vec<FacetCount>,
    pub subject: Vec<FacetCount>,
    pub resource_type: Vec<FacetCount>,
    pub language: Vec<FacetCount>,
    pub license: Vec<FacetCount>,
    pub kind: Vec<FacetCount>,
    pub grade_level: Vec<FacetCount>,
}

/// Where results came from, per publisher.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum SourceState {
    /// The publisher's resources in the gateway's index.
    Index,
    /// A live source answered within the deadline.
    Live,
    /// A live source's recent answer was reused.
    Cached,
    /// A live source did not answer within the deadline.
    Timeout,
    /// A live source was not asked: it missed the deadline recently, and until a background
    /// check answers in time searches do not wait for it (see `message`).
    Unavailable,
    /// A live source failed (see `message`).
    Error,
}

/// How one source contributed to a search: one INDEX entry per publisher with indexed
/// resources, and one entry per live source asked.
#[derive(SimpleObject)]
pub struct SourceStatus {
    pub publisher: Publisher,
    pub status: SourceState,
    /// Milliseconds until the live source answered (or the deadline passed).
    pub took_ms: Option<i32>,
    /// Why a live source gave nothing (TIMEOUT, UNAVAILABLE, ERROR).
    pub message: Option<String>,
    /// The catalog source asked live (absent for INDEX).
    pub source_id: Option<ID>,
    /// INDEX: resources indexed for the publisher; live: hits it answered that match the filters.
    pub result_count: Option<i32>,
}

/// A page of search results with facets.
#[derive(SimpleObject)]
pub struct SearchConnection {
    /// Exact number of matching resources.
    pub total_count: i32,
    pub edges: Vec<SearchEdge>,
    pub page_info: PageInfo,
    pub facets: Facets,
    pub sources: Vec<SourceStatus>,
}
