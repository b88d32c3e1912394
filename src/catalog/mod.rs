//! Catalog parsers: bytes in, resources plus diagnostics out.
//!
//! Pure functions: no HTTP, no tantivy, no file system. Each format lives in its own module;
//! [`parse`] dispatches on [`CatalogFormat`]. A document that cannot be read at all is an
//! [`CatalogError`]; an item that cannot be read is a [`Diagnostic`] and the rest still count.

pub mod cartridge;
pub mod concepts;
#[cfg(test)]
mod fixture_facts;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod html;
mod json;
pub mod jsonld;
mod limits;
mod lom;
pub mod lrmi;
pub mod oai_pmh;
pub mod resource_search;
pub mod sitemap;
pub mod text;
pub mod vocab;
pub mod xml;

pub use limits::Limits;

use serde::Serialize;

use crate::resource::{CatalogFormat, Resource};

/// How bad a diagnostic is: `Error` means the item was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

/// Something a publisher can act on, tied to an item where possible.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The item's identifier, or a path such as `resources[1]`, when known.
    pub item: Option<String>,
    pub severity: Severity,
    pub message: String,
}

impl Diagnostic {
    pub fn error(item: Option<String>, message: impl Into<String>) -> Self {
        Self { item, severity: Severity::Error, message: message.into() }
    }

    pub fn warning(item: Option<String>, message: impl Into<String>) -> Self {
        Self { item, severity: Severity::Warning, message: message.into() }
    }

    pub fn info(item: Option<String>, message: impl Into<String>) -> Self {
        Self { item, severity: Severity::Info, message: message.into() }
    }
}

/// A file packed inside an uploaded cartridge (HTML page, PDF, image) that the gateway serves
/// at `/content/{publisher}/{path}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackagedFile {
    /// Normalised relative path inside the cartridge (no `..`, no leading `/`).
    pub path: String,
    pub bytes: Vec<u8>,
}

/// What a document yielded.
#[derive(Debug, Default)]
pub struct ParsedCatalog {
    pub resources: Vec<Resource>,
    /// Publisher identifiers the document says were deleted (OAI-PMH `status="deleted"`).
    pub deleted: Vec<String>,
    pub diagnostics: Vec<Diagnostic>,
    /// Items that were recognised but could not be accepted (each has an `Error` diagnostic).
    pub rejected: usize,
    /// Items that were read but are not resources the gateway indexes (a JSON-LD node that is
    /// no learning resource, a page without JSON-LD); each has an `Info` diagnostic saying why.
    /// A document whose every item was rejected or skipped changes nothing.
    pub skipped: usize,
    /// Web content packed in a zipped cartridge.
    pub files: Vec<PackagedFile>,
    /// OAI-PMH `resumptionToken` when the list continues on another page.
    pub resumption_token: Option<String>,
}

/// Why a whole document was refused. Messages are written for the publisher who sent it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    #[error("document is empty")]
    Empty,
    #[error("invalid UTF-8 at byte {offset} (line {line}): the document must be encoded as UTF-8 as it declares")]
    Encoding { offset: usize, line: usize },
    #[error("XML syntax error at line {line}, column {column}: {message}")]
    Xml { line: usize, column: usize, message: String },
    #[error("DOCTYPE / entity declarations are not allowed (line {line}): remove the DTD")]
    DtdNotAllowed { line: usize },
    #[error("JSON syntax error at line {line}, column {column}: {message}")]
    Json { line: usize, column: usize, message: String },
    #[error("not a valid zip archive: {0}")]
    Zip(String),
    #[error("unsafe entry name '{0}' in the archive: entries must stay inside the cartridge")]
    UnsafeEntry(String),
    #[error("archive entry '{name}' exceeds the size limit of {limit} bytes")]
    EntryTooLarge { name: String, limit: u64 },
    #[error("archive inflates to more than the limit of {limit} bytes")]
    ArchiveTooLarge { limit: u64 },
    #[error("archive has more than {limit} entries")]
    TooManyEntries { limit: usize },
    #[error("OAI-PMH error {code}: {message}")]
    OaiError { code: String, message: String },
    /// The document is well-formed but not the format it was sent as.
    #[error("{0}")]
    Structure(String),
}

impl ParsedCatalog {
    /// Appends another page of the same catalog.
    pub fn merge(&mut self, page: ParsedCatalog) {
        self.resources.extend(page.resources);
        self.deleted.extend(page.deleted);
        self.diagnostics.extend(page.diagnostics);
        self.rejected += page.rejected;
        self.skipped += page.skipped;
        self.files.extend(page.files);
    }

    /// Pages (a paged feed, a list with resumption tokens) as one catalog. A catalog that
    /// replaces its source's set is whole: records it marks deleted are simply not in it.
    pub fn from_pages(pages: impl IntoIterator<Item = ParsedCatalog>, replaces: bool) -> ParsedCatalog {
        let mut merged = ParsedCatalog::default();
        for page in pages {
            merged.merge(page);
        }
        if replaces && !merged.deleted.is_empty() {
            let deleted: std::collections::HashSet<String> = merged.deleted.drain(..).collect();
            merged.resources.retain(|resource| !deleted.contains(&resource.local_id));
        }
        merged
    }
}

/// Parses the documents of one ingest (one, or the pages of a harvest) into one catalog: what
/// every replica applies for a catalog log entry, so all of them index the same.
pub fn parse_documents(
    format: CatalogFormat,
    documents: &[Vec<u8>],
    replaces: bool,
    limits: &Limits,
) -> Result<ParsedCatalog, CatalogError> {
    let mut pages = Vec::with_capacity(documents.len());
    for document in documents {
        pages.push(parse(format, document, limits)?);
    }
    Ok(ParsedCatalog::from_pages(pages, replaces))
}

/// Parses one catalog document of the given format, then applies the field caps of `limits`
/// ([`Limits::enforce`]).
pub fn parse(format: CatalogFormat, bytes: &[u8], limits: &Limits) -> Result<ParsedCatalog, CatalogError> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(CatalogError::Empty);
    }
    let mut parsed = match format {
        CatalogFormat::CommonCartridge => cartridge::parse(bytes, limits),
        CatalogFormat::ResourceSearch => resource_search::parse(bytes),
        CatalogFormat::Lrmi => lrmi::parse(bytes),
        CatalogFormat::OaiPmh => oai_pmh::parse_with_limits(bytes, limits),
        CatalogFormat::Sitemap => sitemap::parse_page(bytes, None),
    }?;
    limits.enforce(&mut parsed);
    Ok(parsed)
}

impl ParsedCatalog {
    /// Whether the document had items and none of them can be indexed (all rejected or
    /// skipped), and it deletes nothing: applying it would only take resources away.
    pub fn nothing_indexable(&self) -> bool {
        self.resources.is_empty() && self.deleted.is_empty() && self.rejected + self.skipped > 0
    }
}
