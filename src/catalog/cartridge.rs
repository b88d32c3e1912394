//! IMS Common Cartridge and Thin Common Cartridge (1.0-1.4, the K-12 profiles included): an
//! `imsmanifest.xml` alone, a zipped `.imscc`, or a bare LTI link document
//! (`cartridge_basiclti_link` / `basic_lti_link`).
//!
//! Indexed: LTI links (`imsbasiclti_xmlv1p*`), web links (`imswl_xmlv1p*`) and, from a zipped
//! cartridge, web content (`webcontent`): what an organization item shows, and the pages and
//! documents no item shows that stand alone (LMS exports keep wiki pages and course files
//! there); images, stylesheets and other files a page needs are stored, not indexed, and each
//! such resource is named in an `Info`. Everything else (discussions, assessments, assignments,
//! course settings) gets one `Info` diagnostic. A manifest uploaded without its zip names
//! every resource it cannot read.
//!
//! Metadata: LOM at manifest level (languages, rights, cost, keywords, subject classifications
//! and educational levels apply to items that have none of their own) and item level;
//! curriculum standards (`csm:`; CC 1.4 adds the CASE `caseItemURI`); line items from Canvas's
//! `outcome` extension or a CC 1.4 / LTI Advantage `lineItem` on the link.
//!
//! Every namespace version is accepted: elements are matched by local name. A zip is treated as
//! hostile until checked: entry count, entry names, declared sizes and the bytes actually
//! inflated are all bounded by [`Limits`] before anything is trusted.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Cursor, Read};

use crate::resource::{Alignment, LineItem, LtiLink, Resource, ResourceKind};

use super::lom::{self, Lom, SubjectRule};
use super::text::{html_to_text, normalize_whitespace};
use super::xml::{self, Element};
use super::{CatalogError, Diagnostic, Limits, PackagedFile, ParsedCatalog};

/// Local file header signature: every zip starts with it.
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const MANIFEST_NAME: &str = "imsmanifest.xml";
/// Root elements of an LTI link document (CC `cartridge_basiclti_link`; bare `basic_lti_link`
/// as tool configurations and Moodle write it).
const LINK_ROOTS: [&str; 2] = ["cartridge_basiclti_link", "basic_lti_link"];
const WEB_LINK_ROOTS: [&str; 1] = ["webLink"];
const NO_LAUNCH_URL: &str = "LTI link has no launch_url or secure_launch_url";

/// Parses a cartridge upload: a zip (detected by its magic bytes), a manifest or an LTI link.
pub fn parse(bytes: &[u8], limits: &Limits) -> Result<ParsedCatalog, CatalogError> {
    if bytes.starts_with(ZIP_MAGIC) {
        let mut package = ZipPackage::open(bytes, limits)?;
        let manifest = package.manifest()?;
        return parse_with_files(&manifest, &mut package);
    }
    parse_with_files(bytes, &mut NoPackage)
}

/// Parses a manifest (or link document) whose referenced files come from `files`. [`parse`]
/// uses it with the zip's entries; other callers (tests, an unpacked upload) bring their own.
pub fn parse_with_files(document: &[u8], files: &mut dyn PackageFiles) -> Result<ParsedCatalog, CatalogError> {
    let root = xml::parse(document)?;
    if root.is("manifest") {
        return ManifestParser::new(&root, files).run();
    }
    if LINK_ROOTS.contains(&root.name.as_str()) {
        return Ok(bare_link(&root));
    }
    if WEB_LINK_ROOTS.contains(&root.name.as_str()) {
        return Ok(bare_web_link(&root));
    }
    Err(CatalogError::Structure(format!(
        "expected a Common Cartridge imsmanifest.xml (<manifest>), an LTI link \
         (<cartridge_basiclti_link>) or a zipped .imscc, found <{}>",
        root.name
    )))
}

/// The files of a cartridge that the manifest points at (link documents, web content).
pub trait PackageFiles {
    /// False when only the manifest was uploaded, so no referenced file can be read.
    fn available(&self) -> bool;

    /// The bytes at `path` (normalised, relative to the manifest's folder); `Ok(None)` when the
    /// package has no such file. An error (a size limit) refuses the whole upload.
    fn read(&mut self, path: &str) -> Result<Option<Vec<u8>>, CatalogError>;
}

/// A manifest uploaded on its own.
struct NoPackage;

impl PackageFiles for NoPackage {
    fn available(&self) -> bool {
        false
    }

    fn read(&mut self, _path: &str) -> Result<Option<Vec<u8>>, CatalogError> {
        Ok(None)
    }
}

// ---------------------------------------------------------------------------------------------
// Zip archives
// ---------------------------------------------------------------------------------------------

/// A checked `.imscc`: every entry name is safe and every declared size within the limits;
/// entries are inflated lazily, counting bytes against the limits as they come.
struct ZipPackage<'a> {
    archive: zip::ZipArchive<Cursor<&'a [u8]>>,
    limits: Limits,
    /// Normalised entry name → entry index.
    entries: HashMap<String, usize>,
    /// Folder of `imsmanifest.xml` inside the archive (`""` at the root, else ending in `/`).
    base: String,
    /// Bytes inflated so far.
    inflated: u64,
}

impl<'a> ZipPackage<'a> {
    fn open(bytes: &'a [u8], limits: &Limits) -> Result<Self, CatalogError> {
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|err| CatalogError::Zip(err.to_string()))?;
        if archive.len() > limits.max_zip_entries {
            return Err(CatalogError::TooManyEntries { limit: limits.max_zip_entries });
        }
        for index in 0..archive.len() {
            if let Some(name) = archive.name_for_index(index) {
                check_entry_name(name)?;
            }
        }
        let entries = index_entries(&mut archive, limits)?;
        let base = manifest_folder(&entries)?;
        Ok(Self { archive, limits: *limits, entries, base, inflated: 0 })
    }

    fn manifest(&mut self) -> Result<Vec<u8>, CatalogError> {
        let path = format!("{}{MANIFEST_NAME}", self.base);
        self.inflate(&path)?.ok_or_else(|| CatalogError::Structure(format!("the archive has no {MANIFEST_NAME}")))
    }

    /// Inflates one entry, reading at most one byte past what the limits allow.
    fn inflate(&mut self, name: &str) -> Result<Option<Vec<u8>>, CatalogError> {
        let Some(&index) = self.entries.get(name) else {
            return Ok(None);
        };
        let entry_limit = self.limits.max_entry_bytes;
        let total_limit = self.limits.max_total_bytes;
        let remaining = total_limit.saturating_sub(self.inflated);
        let cap = entry_limit.min(remaining);
        let mut file = self.archive.by_index(index).map_err(|err| CatalogError::Zip(format!("{name}: {err}")))?;
        let mut bytes = Vec::with_capacity(usize::try_from(file.size().min(cap).min(1 << 20)).unwrap_or(0));
        file.by_ref()
            .take(cap.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|err| CatalogError::Zip(format!("{name}: {err}")))?;
        let read = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        if read > entry_limit {
            return Err(CatalogError::EntryTooLarge { name: name.to_string(), limit: entry_limit });
        }
        self.inflated = self.inflated.saturating_add(read);
        if self.inflated > total_limit {
            return Err(CatalogError::ArchiveTooLarge { limit: total_limit });
        }
        Ok(Some(bytes))
    }
}

impl PackageFiles for ZipPackage<'_> {
    fn available(&self) -> bool {
        true
    }

    fn read(&mut self, path: &str) -> Result<Option<Vec<u8>>, CatalogError> {
        let name = format!("{}{path}", self.base);
        self.inflate(&name)
    }
}

/// Refuses entry names that could escape the extraction folder: `..` components, absolute
/// paths, backslashes (Windows separators), drive letters and NUL bytes.
fn check_entry_name(name: &str) -> Result<(), CatalogError> {
    let drive_letter = matches!(name.as_bytes(), [letter, b':', ..] if letter.is_ascii_alphabetic());
    let unsafe_name = name.contains('\\')
        || name.contains('\0')
        || name.starts_with('/')
        || drive_letter
        || name.split('/').any(|part| part == "..");
    if unsafe_name {
        return Err(CatalogError::UnsafeEntry(name.to_string()));
    }
    Ok(())
}

/// Checks declared sizes (entry and total) and maps normalised names to indexes.
fn index_entries(
    archive: &mut zip::ZipArchive<Cursor<&[u8]>>,
    limits: &Limits,
) -> Result<HashMap<String, usize>, CatalogError> {
    let mut entries = HashMap::new();
    let mut declared_total: u64 = 0;
    for index in 0..archive.len() {
        let entry = archive.by_index_raw(index).map_err(|err| CatalogError::Zip(err.to_string()))?;
        if entry.is_dir() {
            continue;
        }
        let name = entry.name().to_string();
        if entry.size() > limits.max_entry_bytes {
            return Err(CatalogError::EntryTooLarge { name, limit: limits.max_entry_bytes });
        }
        declared_total = declared_total.saturating_add(entry.size());
        if declared_total > limits.max_total_bytes {
            return Err(CatalogError::ArchiveTooLarge { limit: limits.max_total_bytes });
        }
        if let Some(path) = normalize_path(&name) {
            entries.entry(path).or_insert(index);
        }
    }
    Ok(entries)
}

/// Where `imsmanifest.xml` is: at the root, or in the single top-level folder a zipped folder has.
fn manifest_folder(entries: &HashMap<String, usize>) -> Result<String, CatalogError> {
    if entries.contains_key(MANIFEST_NAME) {
        return Ok(String::new());
    }
    let nested: Vec<&String> = entries
        .keys()
        .filter(|name| {
            name.strip_suffix(MANIFEST_NAME)
                .and_then(|folder| folder.strip_suffix('/'))
                .is_some_and(|folder| !folder.is_empty() && !folder.contains('/'))
        })
        .collect();
    match nested.as_slice() {
        [only] => Ok(only.trim_end_matches(MANIFEST_NAME).to_string()),
        _ => Err(CatalogError::Structure(format!(
            "the archive has no {MANIFEST_NAME} at its root: a cartridge must have one"
        ))),
    }
}

// ---------------------------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------------------------

/// Resolves `.` and `..` and drops empty segments; `None` when the path escapes the root or
/// is empty.
fn normalize_path(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// True for `http://...`, `mailto:...` and other references with a scheme.
fn has_scheme(reference: &str) -> bool {
    reference.split('/').next().is_some_and(|first| first.contains(':'))
}

/// Resolves an `href` against the `xml:base` values in scope (outermost first) to a normalised
/// path inside the package. `None` for URLs, absolute paths and paths escaping the package.
fn resolve_href(bases: &[String], href: &str) -> Option<String> {
    let href = href.trim();
    let href = href.split(['#', '?']).next().unwrap_or(href);
    if href.is_empty() || href.starts_with('/') || href.contains('\\') || has_scheme(href) {
        return None;
    }
    let mut joined = String::new();
    for base in bases {
        let base = base.trim();
        if base.is_empty() || has_scheme(base) || base.starts_with('/') {
            continue;
        }
        // A base that does not end in '/' names a file: its folder is the base.
        if let Some((folder, _file)) = base.rsplit_once('/') {
            joined.push_str(folder);
            joined.push('/');
        }
    }
    joined.push_str(href);
    normalize_path(&joined)
}

/// Decodes `%XX` escapes (hrefs are URI references; zip entry names are not escaped).
fn percent_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        if byte == b'%' {
            let hex = bytes.get(index + 1..index + 3)?;
            let value = u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
            out.push(value);
            index += 3;
        } else {
            out.push(byte);
            index += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Reads a package file by its path as written, then percent-decoded (and normalised again,
/// so `%2e%2e` cannot climb out). Returns the path that matched with the bytes.
fn read_package_file(files: &mut dyn PackageFiles, path: &str) -> Result<Option<(String, Vec<u8>)>, CatalogError> {
    if let Some(bytes) = files.read(path)? {
        return Ok(Some((path.to_string(), bytes)));
    }
    let decoded = percent_decode(path).and_then(|decoded| normalize_path(&decoded)).filter(|decoded| decoded != path);
    match decoded {
        Some(decoded) => Ok(files.read(&decoded)?.map(|bytes| (decoded, bytes))),
        None => Ok(None),
    }
}

/// "page" or "document" when packed content stands on its own (HTML, PDF, office and e-book
/// files); `None` for images, stylesheets, scripts, media and data that pages use.
fn standalone_kind(path: &str) -> Option<&'static str> {
    let extension = path.rsplit('/').next()?.rsplit_once('.')?.1.to_ascii_lowercase();
    match extension.as_str() {
        "html" | "htm" | "xhtml" => Some("page"),
        "pdf" | "doc" | "docx" | "odt" | "rtf" | "ppt" | "pptx" | "odp" | "xls" | "xlsx" | "ods" | "epub" => {
            Some("document")
        }
        _ => None,
    }
}

/// The resource kind and media type of packed web content, from its file extension.
fn content_kind(path: &str) -> (ResourceKind, Option<&'static str>) {
    let extension = path
        .rsplit('/')
        .next()
        .and_then(|file| file.rsplit_once('.'))
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "html" | "htm" => (ResourceKind::Html, Some("text/html")),
        "xhtml" => (ResourceKind::Html, Some("application/xhtml+xml")),
        "png" => (ResourceKind::Image, Some("image/png")),
        "jpg" | "jpeg" => (ResourceKind::Image, Some("image/jpeg")),
        "gif" => (ResourceKind::Image, Some("image/gif")),
        "svg" => (ResourceKind::Image, Some("image/svg+xml")),
        "webp" => (ResourceKind::Image, Some("image/webp")),
        "bmp" => (ResourceKind::Image, Some("image/bmp")),
        "tif" | "tiff" => (ResourceKind::Image, Some("image/tiff")),
        "pdf" => (ResourceKind::File, Some("application/pdf")),
        "mp3" => (ResourceKind::File, Some("audio/mpeg")),
        "mp4" => (ResourceKind::File, Some("video/mp4")),
        "txt" => (ResourceKind::File, Some("text/plain")),
        "docx" => (ResourceKind::File, Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document")),
        "pptx" => {
            (ResourceKind::File, Some("application/vnd.openxmlformats-officedocument.presentationml.presentation"))
        }
        "xlsx" => (ResourceKind::File, Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")),
        "odt" => (ResourceKind::File, Some("application/vnd.oasis.opendocument.text")),
        "epub" => (ResourceKind::File, Some("application/epub+zip")),
        _ => (ResourceKind::File, None),
    }
}

// ---------------------------------------------------------------------------------------------
// LTI links and web links (shared by manifests and bare documents)
// ---------------------------------------------------------------------------------------------

/// Refuses anything but absolute http(s) URLs (no `javascript:`, no relative paths).
fn check_http_url(raw: &str, what: &str) -> Result<(), String> {
    match url::Url::parse(raw) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(()),
        _ => Err(format!("{what} '{raw}' is not an absolute http(s) URL")),
    }
}

/// What an LTI link document says about itself.
struct LinkParts {
    title: Option<String>,
    description: Option<String>,
    lti: LtiLink,
}

/// Reads a `cartridge_basiclti_link` / `basic_lti_link` element.
fn read_lti(link: &Element) -> Result<LinkParts, String> {
    let launch_url = link
        .child_text("secure_launch_url")
        .or_else(|| link.child_text("launch_url"))
        .ok_or_else(|| NO_LAUNCH_URL.to_string())?;
    check_http_url(&launch_url, "launch URL")?;
    let title = link.child_text("title").map(|t| normalize_whitespace(&t)).filter(|t| !t.is_empty());
    let extensions = read_extensions(link);
    let line_item =
        declared_line_item(link, title.as_deref()).or_else(|| outcome_line_item(&extensions, title.as_deref()));
    let vendor = link.child("vendor");
    let lti = LtiLink {
        launch_url,
        custom: link.child("custom").map(read_properties).unwrap_or_default(),
        extensions,
        icon_url: link.child_text("secure_icon").or_else(|| link.child_text("icon")),
        vendor_code: vendor.and_then(|v| v.child_text("code")),
        vendor_name: vendor.and_then(|v| v.child_text("name")),
        line_item,
    };
    Ok(LinkParts {
        title,
        description: link.child_text("description").map(|d| html_to_text(&d)).filter(|d| !d.is_empty()),
        lti,
    })
}

/// `lticm:property name` children, values verbatim apart from surrounding whitespace
/// (substitution variables such as `$Context.id` pass through). `lticm:options name`
/// groups become `group.property`.
fn read_properties(container: &Element) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for child in container.elements() {
        let Some(name) = child.attr_trimmed("name") else {
            continue;
        };
        if child.is("property") {
            out.insert(name, child.text().trim().to_string());
        } else if child.is("options") {
            for (key, value) in read_properties(child) {
                out.insert(format!("{name}.{key}"), value);
            }
        }
    }
    out
}

/// `blti:extensions platform=...` blocks, merged per platform.
fn read_extensions(link: &Element) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for extension in link.children("extensions") {
        let platform = extension.attr_trimmed("platform").unwrap_or_default();
        out.entry(platform).or_default().extend(read_properties(extension));
    }
    out
}

/// Canvas marks a gradable link with an `outcome` extension property (the points possible).
/// Any platform's `outcome` is read: the property only exists to say the link is gradable.
fn outcome_line_item(extensions: &BTreeMap<String, BTreeMap<String, String>>, title: Option<&str>) -> Option<LineItem> {
    extensions
        .values()
        .filter_map(|properties| properties.get("outcome"))
        .filter_map(|raw| raw.trim().parse::<f64>().ok())
        .find(|points| points.is_finite() && *points > 0.0)
        .map(|score_maximum| LineItem { score_maximum, label: title.map(str::to_string), ..LineItem::default() })
}

/// A line item the link declares (CC 1.4 / LTI Advantage `lineItem`: `scoreMaximum`, `label`,
/// `resourceId`, `tag`, as elements or attributes), wherever in the link it sits.
fn declared_line_item(link: &Element, title: Option<&str>) -> Option<LineItem> {
    let declared = link.descendants_named("lineItem").chain(link.descendants_named("lineitem")).next()?;
    let field = |name: &str| declared.child_text(name).or_else(|| declared.attr_trimmed(name));
    let score_maximum = field("scoreMaximum")
        .and_then(|raw| raw.parse::<f64>().ok())
        .filter(|points| points.is_finite() && *points > 0.0)?;
    Some(LineItem {
        score_maximum,
        label: field("label").map(|label| normalize_whitespace(&label)).or_else(|| title.map(str::to_string)),
        resource_id: field("resourceId"),
        tag: field("tag"),
    })
}

/// The LOM inside a `<metadata>` element (resource metadata or `lticc:metadata`).
fn metadata_lom(metadata: Option<&Element>) -> Lom {
    metadata
        .and_then(|m| m.child("lom").or_else(|| m.descendants_named("lom").next()))
        .map(Lom::read)
        .unwrap_or_default()
}

/// Curriculum standards (`csm:curriculumStandardsMetadataSet`) inside a `<metadata>` element:
/// label = code, GUID = CASE identifier.
fn metadata_standards(metadata: Option<&Element>) -> Vec<Alignment> {
    let Some(metadata) = metadata else {
        return Vec::new();
    };
    metadata
        .descendants_named("curriculumStandardsMetadataSet")
        .flat_map(|set| set.descendants_named("labelledGUID"))
        .map(|labelled| {
            // CC 1.4 (csm v1p1) adds the CASE item's URI.
            let uri = labelled.child_text("caseItemURI").filter(|uri| super::json::is_http_url(uri));
            let guid = labelled
                .child_text("GUID")
                .map(|g| g.to_ascii_lowercase())
                .or_else(|| uri.as_deref().and_then(super::json::guid_from_uri));
            Alignment { code: labelled.child_text("label"), guid, uri, ..Alignment::default() }
        })
        .filter(|a| a.code.is_some() || a.guid.is_some() || a.uri.is_some())
        .collect()
}

/// Copies LOM facts onto a resource; `defaults` (the manifest's LOM) fill what the item lacks.
fn apply_metadata(resource: &mut Resource, item: &Lom, defaults: &Lom, standards: Vec<Alignment>) {
    resource.keywords = non_empty_or(item.keywords(), || defaults.keywords());
    resource.languages = non_empty_or(item.languages(), || defaults.languages());
    resource.subjects = non_empty_or(item.subjects(SubjectRule::AllTaxa), || defaults.subjects(SubjectRule::AllTaxa));
    let (types, raw_types) = item.resource_types();
    resource.resource_types = types;
    resource.resource_types_raw = raw_types;
    resource.grades = item.grades().or_else(|| defaults.grades());
    resource.teacher_only = item.teacher_only();
    let (license_raw, license) = if item.rights.is_some() { item.license() } else { defaults.license() };
    resource.license_raw = license_raw;
    resource.license = license;
    resource.free = item.free().or_else(|| defaults.free());
    resource.alignments = lom::dedupe(item.alignments().into_iter().chain(standards));
    if resource.description.is_none() {
        resource.description = item.description_text();
    }
}

fn non_empty_or<T>(values: Vec<T>, fallback: impl FnOnce() -> Vec<T>) -> Vec<T> {
    if values.is_empty() {
        fallback()
    } else {
        values
    }
}

/// Where an item's metadata comes from, and the titles to fall back on.
struct ItemContext<'a> {
    /// The `<resource>`'s `<metadata>`.
    metadata: Option<&'a Element>,
    /// The organization item's title.
    item_title: Option<String>,
    /// The manifest LOM (defaults).
    defaults: &'a Lom,
}

/// Builds an LTI resource from a link element; `Err` is the reason to reject it.
fn lti_resource(id: &str, link: &Element, context: &ItemContext) -> Result<Resource, String> {
    let parts = read_lti(link)?;
    let link_metadata = link.child("metadata");
    let mut item = metadata_lom(context.metadata);
    item.fill_from(&metadata_lom(link_metadata));
    let title = parts
        .title
        .or_else(|| context.item_title.clone())
        .or_else(|| item.title.clone())
        .ok_or("LTI link has no title")?;
    let mut resource = Resource::new(id, title, parts.lti.launch_url.clone(), ResourceKind::LtiResourceLink);
    resource.description = parts.description;
    let mut lti = parts.lti;
    if lti.line_item.is_none() {
        lti.line_item = context.metadata.and_then(|metadata| declared_line_item(metadata, Some(&resource.title)));
    }
    resource.lti = Some(lti);
    let mut standards = metadata_standards(context.metadata);
    standards.extend(metadata_standards(link_metadata));
    apply_metadata(&mut resource, &item, context.defaults, standards);
    Ok(resource)
}

/// Builds a web link resource from a `webLink` element.
fn web_link_resource(id: &str, link: &Element, context: &ItemContext) -> Result<Resource, String> {
    let href = link.child("url").and_then(|url| url.attr_trimmed("href")).ok_or("web link has no <url href>")?;
    check_http_url(&href, "web link URL")?;
    let item = metadata_lom(context.metadata);
    let title = link
        .child_text("title")
        .map(|t| normalize_whitespace(&t))
        .filter(|t| !t.is_empty())
        .or_else(|| context.item_title.clone())
        .or_else(|| item.title.clone())
        .ok_or("web link has no title")?;
    let mut resource = Resource::new(id, title, href, ResourceKind::Link);
    apply_metadata(&mut resource, &item, context.defaults, metadata_standards(context.metadata));
    Ok(resource)
}

/// FNV-1a: a hash that stays the same across builds and Rust versions (unlike `DefaultHasher`).
fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
}

/// A bare LTI link document yields one resource. Its local id is `lti-` and the FNV-1a hash of
/// the launch URL in hex: the launch URL is what identifies a tool placement, it survives
/// title and description edits, so re-uploading the same link updates the same resource.
fn bare_link(link: &Element) -> ParsedCatalog {
    let defaults = Lom::default();
    let context = ItemContext { metadata: None, item_title: None, defaults: &defaults };
    let launch = read_lti(link).map(|parts| parts.lti.launch_url);
    let id = launch.as_deref().map_or_else(|_| "lti".to_string(), |url| format!("lti-{:016x}", stable_hash(url)));
    single_outcome(&id, lti_resource(&id, link, &context))
}

/// A bare web link document: local id `wl-` and the FNV-1a hash of its URL (see [`bare_link`]).
fn bare_web_link(link: &Element) -> ParsedCatalog {
    let defaults = Lom::default();
    let context = ItemContext { metadata: None, item_title: None, defaults: &defaults };
    let href = link.child("url").and_then(|url| url.attr_trimmed("href")).unwrap_or_default();
    let id = format!("wl-{:016x}", stable_hash(&href));
    single_outcome(&id, web_link_resource(&id, link, &context))
}

fn single_outcome(id: &str, outcome: Result<Resource, String>) -> ParsedCatalog {
    let mut out = ParsedCatalog::default();
    match outcome {
        Ok(resource) => out.resources.push(resource),
        Err(message) => {
            out.diagnostics.push(Diagnostic::error(Some(id.to_string()), message));
            out.rejected += 1;
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Manifests
// ---------------------------------------------------------------------------------------------

/// What a `<resource type>` is to the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResourceType {
    Lti,
    WebLink,
    WebContent,
    /// Discussions, assessments, assignments, settings...: reported, not indexed.
    Other,
}

fn classify(raw_type: &str) -> ResourceType {
    let lower = raw_type.trim().to_ascii_lowercase();
    if lower.starts_with("imsbasiclti_xmlv1p") {
        ResourceType::Lti
    } else if lower.starts_with("imswl_xmlv1p") {
        ResourceType::WebLink
    } else if lower == "webcontent" {
        ResourceType::WebContent
    } else {
        ResourceType::Other
    }
}

/// One pass over a manifest, collecting resources, files and diagnostics.
struct ManifestParser<'a, 'f> {
    root: &'a Element,
    files: &'f mut dyn PackageFiles,
    out: ParsedCatalog,
    /// Requested path → the path stored in `out.files` (the entry that matched).
    stored: HashMap<String, String>,
    /// Manifest-level LOM: defaults for every item.
    defaults: Lom,
    /// `xml:base` of `<manifest>` and `<resources>`.
    bases: Vec<String>,
    /// Resource identifier → the `<resource>` (first of duplicates).
    by_id: HashMap<&'a str, &'a Element>,
    /// Identifiers other resources name in a `<dependency>`: parts of something else.
    dependencies: HashSet<&'a str>,
    /// Resource identifier → title of the first organization item showing it.
    referenced: HashMap<&'a str, Option<String>>,
}

impl<'a, 'f> ManifestParser<'a, 'f> {
    fn new(root: &'a Element, files: &'f mut dyn PackageFiles) -> Self {
        let defaults = metadata_lom(root.child("metadata"));
        let defaults = Lom {
            languages: defaults.languages,
            keywords: defaults.keywords,
            cost: defaults.cost,
            rights: defaults.rights,
            classifications: defaults.classifications,
            age_ranges: defaults.age_ranges,
            contexts: defaults.contexts,
            ..Lom::default()
        };
        let bases = [Some(root), root.child("resources")]
            .into_iter()
            .flatten()
            .filter_map(|e| e.attr_ns(Some(xml::XML_NAMESPACE), "base"))
            .map(str::to_string)
            .collect();
        Self {
            root,
            files,
            out: ParsedCatalog::default(),
            stored: HashMap::new(),
            defaults,
            bases,
            by_id: HashMap::new(),
            dependencies: HashSet::new(),
            referenced: HashMap::new(),
        }
    }

    fn run(mut self) -> Result<ParsedCatalog, CatalogError> {
        let resources: Vec<&'a Element> =
            self.root.child("resources").map(|r| r.children("resource").collect()).unwrap_or_default();
        if resources.is_empty() {
            self.warn(None, "the manifest lists no resources");
        }
        self.index_resources(&resources);
        self.index_organizations();
        for (position, resource) in resources.into_iter().enumerate() {
            self.resource(position, resource)?;
        }
        Ok(self.out)
    }

    fn index_resources(&mut self, resources: &[&'a Element]) {
        for resource in resources {
            let Some(id) = resource.attr("identifier").map(str::trim).filter(|id| !id.is_empty()) else {
                continue;
            };
            for dependency in resource.children("dependency") {
                if let Some(target) = dependency.attr("identifierref").map(str::trim) {
                    self.dependencies.insert(target);
                }
            }
            if self.by_id.contains_key(id) {
                self.warn(Some(id), "duplicate resource identifier: only the first resource with it is used");
                continue;
            }
            self.by_id.insert(id, resource);
        }
    }

    fn index_organizations(&mut self) {
        let Some(organizations) = self.root.child("organizations") else {
            return;
        };
        for item in organizations.descendants_named("item") {
            let Some(target) = item.attr("identifierref").map(str::trim).filter(|r| !r.is_empty()) else {
                continue;
            };
            if !self.by_id.contains_key(target) {
                let item_id = item.attr("identifier").unwrap_or("(no identifier)");
                let message = format!(
                    "organization item '{item_id}' points to resource '{target}', which the manifest does not define"
                );
                self.warn(Some(item_id), &message);
                continue;
            }
            let title = item.child_text("title").map(|t| normalize_whitespace(&t)).filter(|t| !t.is_empty());
            self.referenced.entry(target).or_insert(title);
        }
    }

    fn resource(&mut self, position: usize, resource: &'a Element) -> Result<(), CatalogError> {
        let Some(id) = resource.attr("identifier").map(str::trim).filter(|id| !id.is_empty()) else {
            let item = format!("resources[{position}]");
            self.warn(Some(&item), "a <resource> without identifier is skipped");
            return Ok(());
        };
        if !self.by_id.get(id).is_some_and(|first| std::ptr::eq(*first, resource)) {
            return Ok(()); // a duplicate, already reported
        }
        let raw_type = resource.attr("type").unwrap_or("").trim();
        match classify(raw_type) {
            ResourceType::Lti => self.linked(id, resource, &LINK_ROOTS, "LTI link", lti_resource),
            ResourceType::WebLink => self.linked(id, resource, &WEB_LINK_ROOTS, "web link", web_link_resource),
            ResourceType::WebContent => self.web_content(id, resource),
            ResourceType::Other => {
                let message = format!(
                    "resource type '{raw_type}' is not indexed (only LTI links, web links and web content are)"
                );
                self.info(id, &message);
                Ok(())
            }
        }
    }

    /// An LTI link or web link, inline in the `<resource>` or in one of its files.
    fn linked(
        &mut self,
        id: &str,
        resource: &'a Element,
        roots: &[&str],
        what: &str,
        build: fn(&str, &Element, &ItemContext) -> Result<Resource, String>,
    ) -> Result<(), CatalogError> {
        let loaded;
        let element = match resource.elements().find(|e| roots.contains(&e.name.as_str())) {
            Some(inline) => inline,
            None => match self.load_document(id, resource, roots, what)? {
                Some(document) => {
                    loaded = document;
                    &loaded
                }
                None => return Ok(()),
            },
        };
        let context = ItemContext {
            metadata: resource.child("metadata"),
            item_title: self.referenced.get(id).cloned().flatten(),
            defaults: &self.defaults,
        };
        match build(id, element, &context) {
            Ok(built) => self.out.resources.push(built),
            Err(message) => self.reject(id, &message),
        }
        Ok(())
    }

    /// Reads the link document a resource points at with `<file href>` (or `href`).
    fn load_document(
        &mut self,
        id: &str,
        resource: &Element,
        roots: &[&str],
        what: &str,
    ) -> Result<Option<Element>, CatalogError> {
        let hrefs = resource_hrefs(resource);
        let Some(first) = hrefs.first() else {
            self.reject(id, &format!("the {what} is neither inline nor referenced by a <file href>"));
            return Ok(None);
        };
        if !self.files.available() {
            let message = format!(
                "the {what} is in '{first}', which cannot be read from imsmanifest.xml alone: upload the zipped .imscc"
            );
            self.warn(Some(id), &message);
            return Ok(None);
        }
        let mut problems = Vec::new();
        for href in &hrefs {
            let Some(path) = self.resolve(resource, href) else {
                problems.push(format!("'{href}' is not a path inside the cartridge"));
                continue;
            };
            let Some((path, bytes)) = read_package_file(self.files, &path)? else {
                problems.push(format!("'{path}' is not in the cartridge"));
                continue;
            };
            match xml::parse(&bytes) {
                Ok(document) if roots.contains(&document.name.as_str()) => return Ok(Some(document)),
                Ok(document) => problems.push(format!("'{path}' holds <{}>, not a {what}", document.name)),
                Err(err) => problems.push(format!("'{path}': {err}")),
            }
        }
        self.reject(id, &format!("the {what} could not be read: {}", problems.join("; ")));
        Ok(None)
    }

    /// Web content: its files are stored; it is indexed when an organization item shows it, or
    /// when it is a page or document that stands alone ([`Self::unshown_content`]).
    fn web_content(&mut self, id: &str, resource: &'a Element) -> Result<(), CatalogError> {
        let referenced = self.referenced.contains_key(id);
        if !self.files.available() {
            if referenced {
                self.warn(
                    Some(id),
                    "web content is packed in the cartridge and cannot be read from imsmanifest.xml alone: \
                     upload the zipped .imscc to index it",
                );
            } else {
                let file = resource_hrefs(resource).into_iter().next().unwrap_or_default();
                self.info(
                    id,
                    &format!(
                        "web content '{file}' that no organization item shows cannot be read from \
                         imsmanifest.xml alone: upload the zipped .imscc to offer its pages and documents"
                    ),
                );
            }
            return Ok(());
        }
        let paths: Vec<String> =
            resource_hrefs(resource).iter().filter_map(|href| self.resolve(resource, href)).collect();
        let mut stored = Vec::with_capacity(paths.len());
        for path in &paths {
            stored.push(self.store_file(id, path)?);
        }
        if !referenced {
            return self.unshown_content(id, resource, stored.first().cloned().flatten());
        }
        self.store_dependencies(id, resource)?;
        let (Some(primary), Some(first_stored)) = (paths.first(), stored.first()) else {
            self.reject(id, "web content lists no file inside the cartridge");
            return Ok(());
        };
        let Some(primary_path) = first_stored else {
            self.reject(id, &format!("web content file '{primary}' is not in the cartridge"));
            return Ok(());
        };
        let built = self.web_content_resource(id, resource, primary_path);
        self.out.resources.push(built);
        Ok(())
    }

    /// Web content no organization item shows (an LMS export's wiki pages and course files):
    /// a page or document that stands alone is offered as a resource; a fallback of another
    /// resource, a file other resources depend on, or an image, stylesheet or script is only
    /// stored. Either way the report names it. A missing file was already reported.
    fn unshown_content(
        &mut self,
        id: &str,
        resource: &'a Element,
        primary: Option<String>,
    ) -> Result<(), CatalogError> {
        let Some(primary) = primary else {
            return Ok(());
        };
        if resource.child("variant").is_some() {
            self.info(id, &format!("web content '{primary}' is the fallback of another resource; stored, not offered"));
            return Ok(());
        }
        if self.dependencies.contains(id) {
            self.info(id, &format!("web content '{primary}' is a file other resources use; stored, not offered"));
            return Ok(());
        }
        let Some(what) = standalone_kind(&primary) else {
            self.info(
                id,
                &format!(
                    "web content '{primary}' is no page or document; stored for the pages that use it, not offered"
                ),
            );
            return Ok(());
        };
        self.store_dependencies(id, resource)?;
        let built = self.web_content_resource(id, resource, &primary);
        self.info(id, &format!("{what} '{primary}' is shown by no organization item; offered as a resource"));
        self.out.resources.push(built);
        Ok(())
    }

    fn web_content_resource(&self, id: &str, resource: &Element, path: &str) -> Resource {
        let metadata = resource.child("metadata");
        let item = metadata_lom(metadata);
        let file_name = path.rsplit('/').next().unwrap_or(path).to_string();
        let (kind, media_type) = content_kind(path);
        let page_title = || {
            if kind != ResourceKind::Html {
                return None;
            }
            let file = self.out.files.iter().find(|file| file.path == path)?;
            super::html::scan(&String::from_utf8_lossy(&file.bytes)).title
        };
        let title = self
            .referenced
            .get(id)
            .cloned()
            .flatten()
            .or_else(|| item.title.clone())
            .or_else(page_title)
            .unwrap_or(file_name);
        let mut built = Resource::new(id, title, path, kind);
        built.packaged_path = Some(path.to_string());
        built.media_type = media_type.map(str::to_string);
        apply_metadata(&mut built, &item, &self.defaults, metadata_standards(metadata));
        built
    }

    /// Stores the files of the web content a page depends on (images, stylesheets), following
    /// `<dependency identifierref>` transitively. Only content resources are followed.
    fn store_dependencies(&mut self, id: &str, resource: &'a Element) -> Result<(), CatalogError> {
        let mut pending: Vec<&'a Element> = vec![resource];
        let mut seen: HashSet<*const Element> = HashSet::new();
        while let Some(current) = pending.pop() {
            if !seen.insert(current as *const Element) {
                continue;
            }
            for dependency in current.children("dependency") {
                let Some(target) = dependency.attr("identifierref").map(str::trim) else {
                    continue;
                };
                let Some(&next) = self.by_id.get(target) else {
                    self.warn(Some(id), &format!("dependency '{target}' is not defined in the manifest"));
                    continue;
                };
                let content = next.attr("type").map(str::trim).is_some_and(|t| {
                    t.eq_ignore_ascii_case("webcontent") || t.to_ascii_lowercase().starts_with("associatedcontent")
                });
                if !content {
                    continue;
                }
                let paths: Vec<String> =
                    resource_hrefs(next).iter().filter_map(|href| self.resolve(next, href)).collect();
                for path in &paths {
                    self.store_file(id, path)?;
                }
                pending.push(next);
            }
        }
        Ok(())
    }

    /// Copies one package file into `out.files` (once) under the path of the entry that
    /// matched (percent escapes decoded). A missing file is a warning and gives `None`.
    fn store_file(&mut self, id: &str, path: &str) -> Result<Option<String>, CatalogError> {
        if let Some(actual) = self.stored.get(path) {
            return Ok(Some(actual.clone()));
        }
        match read_package_file(self.files, path)? {
            Some((actual, bytes)) => {
                self.stored.insert(path.to_string(), actual.clone());
                if !self.out.files.iter().any(|f| f.path == actual) {
                    self.out.files.push(PackagedFile { path: actual.clone(), bytes });
                }
                Ok(Some(actual))
            }
            None => {
                self.warn(Some(id), &format!("file '{path}' listed by the manifest is not in the cartridge"));
                Ok(None)
            }
        }
    }

    /// Resolves an href of `resource` against the `xml:base` chain.
    fn resolve(&self, resource: &Element, href: &str) -> Option<String> {
        let mut bases = self.bases.clone();
        if let Some(base) = resource.attr_ns(Some(xml::XML_NAMESPACE), "base") {
            bases.push(base.to_string());
        }
        resolve_href(&bases, href)
    }

    fn reject(&mut self, id: &str, message: &str) {
        self.out.diagnostics.push(Diagnostic::error(Some(id.to_string()), message));
        self.out.rejected += 1;
    }

    fn warn(&mut self, id: Option<&str>, message: &str) {
        self.out.diagnostics.push(Diagnostic::warning(id.map(str::to_string), message));
    }

    fn info(&mut self, id: &str, message: &str) {
        self.out.diagnostics.push(Diagnostic::info(Some(id.to_string()), message));
    }
}

/// The resource's `href` and its `<file href>`s, in order, without repeats.
fn resource_hrefs(resource: &Element) -> Vec<String> {
    let own = resource.attr_trimmed("href");
    let files = resource.children("file").filter_map(|f| f.attr_trimmed("href"));
    lom::dedupe(own.into_iter().chain(files))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::io::Write;
    use std::path::Path;

    use serde_json::Value;

    use super::*;
    use crate::catalog::{vocab, Severity};
    use crate::resource::GradeRange;

    use crate::catalog::fixtures::{
        assert_spot_check_common, expected, find, primary_languages, read as fixture, strings, FIXTURES,
    };

    fn parse_default(bytes: &[u8]) -> ParsedCatalog {
        parse(bytes, &Limits::default()).unwrap()
    }

    fn ids_of_kind(parsed: &ParsedCatalog, kind: ResourceKind) -> Vec<String> {
        parsed.resources.iter().filter(|r| r.kind == kind).map(|r| r.local_id.clone()).collect()
    }

    /// Every fact of a COMMON_CARTRIDGE entry in catalogs/expected.json.
    fn assert_catalog_facts(parsed: &ParsedCatalog, facts: &Value) {
        assert_eq!(parsed.rejected, 0, "{:?}", parsed.diagnostics);
        assert_eq!(parsed.resources.len() as u64, facts["resources"].as_u64().unwrap());
        let ids: Vec<String> = parsed.resources.iter().map(|r| r.local_id.clone()).collect();
        assert_eq!(ids, strings(&facts["ids"]));
        assert_eq!(ids_of_kind(parsed, ResourceKind::LtiResourceLink), strings(&facts["lti_link_ids"]));
        assert_eq!(ids_of_kind(parsed, ResourceKind::Link), strings(&facts["link_ids"]));
        assert!(parsed.deleted.is_empty());
        let titles: Vec<&str> = parsed.resources.iter().map(|r| r.title.as_str()).collect();
        for title in strings(&facts["sample_titles"]) {
            assert!(titles.contains(&title.as_str()), "missing title {title}");
        }
        let subjects: BTreeSet<String> = parsed.resources.iter().flat_map(|r| r.subjects.clone()).collect();
        assert_eq!(subjects, strings(&facts["distinct_subjects"]).into_iter().collect());
        let languages = primary_languages(parsed.resources.iter().flat_map(|r| &r.languages));
        assert_eq!(languages, primary_languages(&strings(&facts["languages"])));
        let licence = facts["license"].as_str().unwrap();
        assert!(parsed.resources.iter().all(|r| r.license_raw.as_deref() == Some(licence)));
        let teacher_only: Vec<String> =
            parsed.resources.iter().filter(|r| r.teacher_only).map(|r| r.local_id.clone()).collect();
        assert_eq!(teacher_only, strings(&facts["instructor_only_ids"]));
        let higher_ed: Vec<String> = parsed
            .resources
            .iter()
            .filter(|r| r.grades.is_some_and(|g| g.max == GradeRange::HIGHER_EDUCATION))
            .map(|r| r.local_id.clone())
            .collect();
        assert_eq!(higher_ed, strings(&facts["higher_education_ids"]));
        assert_line_items(parsed, &facts["with_line_item"]);
        for check in facts["spot_checks"].as_array().unwrap() {
            assert_spot_check(parsed, check);
        }
    }

    fn assert_line_items(parsed: &ParsedCatalog, expected: &Value) {
        let expected = expected.as_object().unwrap();
        for resource in &parsed.resources {
            let line_item = resource.lti.as_ref().and_then(|l| l.line_item.as_ref());
            match expected.get(&resource.local_id) {
                Some(points) => {
                    let line_item = line_item.unwrap_or_else(|| panic!("{} not gradable", resource.local_id));
                    assert_eq!(line_item.score_maximum, points.as_f64().unwrap());
                    assert_eq!(line_item.label.as_deref(), Some(resource.title.as_str()));
                }
                None => assert!(line_item.is_none(), "{} gradable", resource.local_id),
            }
        }
    }

    fn assert_spot_check(parsed: &ParsedCatalog, check: &Value) {
        let resource = assert_spot_check_common(parsed, check);
        let id = &resource.local_id;
        if let Some(custom) = check["custom"].as_object() {
            let lti = resource.lti.as_ref().unwrap();
            let expected: BTreeMap<String, String> =
                custom.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())).collect();
            assert_eq!(lti.custom, expected, "{id}");
        }
        if let Some(role) = check["intended_role"].as_str() {
            assert_eq!(resource.teacher_only, role == "Instructor", "{id}");
        }
    }

    /// Zips a list of (name, bytes) in memory with DEFLATE.
    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in entries {
            writer.start_file(*name, options).unwrap();
            writer.write_all(bytes).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    /// Zips a fixture folder, as a publisher would upload it.
    fn zip_folder(folder: &str) -> Vec<u8> {
        fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
            let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
            entries.sort();
            for path in entries {
                if path.is_dir() {
                    walk(root, &path, out);
                } else {
                    let name = path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
                    out.push((name, std::fs::read(&path).unwrap()));
                }
            }
        }
        let root = Path::new(FIXTURES).join(folder);
        let mut files = Vec::new();
        walk(&root, &root, &mut files);
        let borrowed: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
        zip_of(&borrowed)
    }

    /// Every `<resource>` of a manifest is indexed or named by a diagnostic, except web content
    /// no organization item shows (never a resource: at most its files are stored).
    fn assert_every_resource_accounted_for(manifest: &[u8], parsed: &ParsedCatalog) {
        let root = xml::parse(manifest).unwrap();
        let shown: BTreeSet<&str> = root.descendants_named("item").filter_map(|i| i.attr("identifierref")).collect();
        for resource in root.descendants_named("resource") {
            let id = resource.attr("identifier").unwrap();
            let indexed = parsed.resources.iter().any(|r| r.local_id == id);
            let reported = parsed.diagnostics.iter().any(|d| d.item.as_deref() == Some(id));
            let unshown_content = resource.attr("type") == Some("webcontent") && !shown.contains(id);
            assert!(indexed || reported || unshown_content, "{id} neither indexed nor reported");
        }
    }

    fn errors(parsed: &ParsedCatalog) -> Vec<&Diagnostic> {
        parsed.diagnostics.iter().filter(|d| d.severity == Severity::Error).collect()
    }

    const MANIFEST_HEAD: &str = r#"<manifest identifier="M" xmlns="http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1"
        xmlns:lticc="http://www.imsglobal.org/xsd/imslticc_v1p0" xmlns:blti="http://www.imsglobal.org/xsd/imsbasiclti_v1p0"
        xmlns:lticm="http://www.imsglobal.org/xsd/imslticm_v1p0" xmlns:lticp="http://www.imsglobal.org/xsd/imslticp_v1p0">"#;

    fn manifest(organizations: &str, resources: &str) -> String {
        format!(
            "{MANIFEST_HEAD}<organizations><organization identifier=\"O\"><item identifier=\"root\">{organizations}\
             </item></organization></organizations><resources>{resources}</resources></manifest>"
        )
    }

    fn inline_link(id: &str, body: &str) -> String {
        format!(
            "<resource identifier=\"{id}\" type=\"imsbasiclti_xmlv1p0\"><lticc:cartridge_basiclti_link>{body}\
             </lticc:cartridge_basiclti_link></resource>"
        )
    }

    // --- catalog fixtures -------------------------------------------------------------------

    #[test]
    fn test_mathwise_thin_cc_manifest_matches_expected_facts() {
        let parsed = parse_default(&fixture("catalogs/mathwise-thin-cc.xml"));
        assert_catalog_facts(&parsed, &expected("catalogs", "mathwise-thin-cc.xml"));
        assert!(errors(&parsed).is_empty());
        assert!(parsed.files.is_empty());
    }

    #[test]
    fn test_mathwise_imscc_matches_expected_facts() {
        let bytes = fixture("catalogs/mathwise-thin-cc.imscc");
        let parsed = parse_default(&bytes);
        let facts = expected("catalogs", "mathwise-thin-cc.imscc");
        assert_catalog_facts(&parsed, &facts);
        let archive = zip::ZipArchive::new(Cursor::new(&bytes[..])).unwrap();
        assert_eq!(archive.len() as u64, facts["zip_entries"].as_u64().unwrap());
    }

    #[test]
    fn test_mathwise_xml_and_imscc_describe_the_same_resources() {
        let xml = parse_default(&fixture("catalogs/mathwise-thin-cc.xml"));
        let zip = parse_default(&fixture("catalogs/mathwise-thin-cc.imscc"));
        for (a, b) in xml.resources.iter().zip(&zip.resources) {
            assert_eq!(a.local_id, b.local_id);
            assert_eq!(a.title, b.title);
            assert_eq!(a.url, b.url);
            assert_eq!(a.subjects, b.subjects);
            assert_eq!(a.alignments, b.alignments, "{}", a.local_id);
            assert_eq!(a.lti.as_ref().map(|l| &l.custom), b.lti.as_ref().map(|l| &l.custom));
            assert_eq!(a.grades, b.grades, "{}", a.local_id);
        }
    }

    #[test]
    fn test_mathwise_noise_titles_and_descriptions() {
        let parsed = parse_default(&fixture("catalogs/mathwise-thin-cc.xml"));
        assert_eq!(find(&parsed, "MW-3-002").title, "Fractions on the Number Line: Locating 1/4, 1/2 and 3/4");
        assert_eq!(find(&parsed, "MW-6-003").title, "Dot Plots, Histograms & Box Plots");
        assert_eq!(find(&parsed, "MW-FR-001").title, "Les fractions sur la droite numérique");
        let guide = find(&parsed, "MW-TG-001").description.clone().unwrap();
        assert!(guide.starts_with("This guide accompanies"), "{guide}");
        assert!(!guide.contains("<p>") && guide.len() > 1_500);
    }

    #[test]
    fn test_mathwise_lti_details() {
        let parsed = parse_default(&fixture("catalogs/mathwise-thin-cc.xml"));
        let k1 = find(&parsed, "MW-K-001");
        let lti = k1.lti.as_ref().unwrap();
        assert!(lti.launch_url.starts_with("https://"), "secure_launch_url wins");
        assert_eq!(lti.icon_url.as_deref(), Some("https://cdn.mathwise.example.com/icons/mathwise-64.png"));
        assert_eq!(lti.vendor_code.as_deref(), Some("mathwise.example.com"));
        assert_eq!(lti.vendor_name.as_deref(), Some("MathWise Learning"));
        assert_eq!(k1.keywords, ["counting", "ten-frame", "cardinality", "kindergarten"]);
        assert_eq!(k1.grades, Some(GradeRange::new(0, 1)));
        assert_eq!(k1.free, None, "the manifest has no rights/cost");
        let quiz = find(&parsed, "MW-8-004").lti.as_ref().unwrap();
        assert_eq!(quiz.extensions["canvas.instructure.com"]["privacy_level"], "public");
        let cs = find(&parsed, "MW-CS-001");
        assert_eq!(cs.subjects, ["Mathematics", "Computer Science"]);
        let codes: Vec<_> = cs.alignments.iter().filter_map(|a| a.code.as_deref()).collect();
        assert_eq!(codes, ["5.G.A.1", "1B-AP-10"]);
        let web = find(&parsed, "MW-WL-001");
        assert_eq!(web.subjects, ["Mathematics"], "manifest classification is the default");
        assert!(web.lti.is_none());
    }

    // --- bad fixtures ---------------------------------------------------------------------

    #[test]
    fn test_bad_truncated_manifest_is_xml_error() {
        match parse(&fixture("bad/truncated-manifest.xml"), &Limits::default()) {
            Err(CatalogError::Xml { line, column, message }) => {
                assert!(line > 1 && column >= 1);
                assert!(message.contains("unexpected end"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn test_bad_billion_laughs_is_refused() {
        let err = parse(&fixture("bad/billion-laughs-manifest.xml"), &Limits::default()).unwrap_err();
        assert!(matches!(err, CatalogError::DtdNotAllowed { .. }), "{err:?}");
    }

    #[test]
    fn test_bad_zip_bomb_is_refused_by_declared_size() {
        let err = parse(&fixture("bad/zip-bomb.imscc"), &Limits::default()).unwrap_err();
        assert_eq!(
            err,
            CatalogError::EntryTooLarge { name: "imsmanifest.xml".into(), limit: Limits::default().max_entry_bytes }
        );
        let tight_total = Limits { max_entry_bytes: u64::MAX, max_total_bytes: 1 << 20, ..Limits::default() };
        let err = parse(&fixture("bad/zip-bomb.imscc"), &tight_total).unwrap_err();
        assert_eq!(err, CatalogError::ArchiveTooLarge { limit: 1 << 20 });
    }

    /// Sets the uncompressed size fields of every local and central header to `size`.
    fn lie_about_sizes(mut bytes: Vec<u8>, size: u32) -> Vec<u8> {
        let mut at = 0;
        while at + 46 <= bytes.len() {
            let field = match &bytes[at..at + 4] {
                b"PK\x03\x04" => Some(at + 22),
                b"PK\x01\x02" => Some(at + 24),
                _ => None,
            };
            if let Some(field) = field {
                bytes[field..field + 4].copy_from_slice(&size.to_le_bytes());
            }
            at += 1;
        }
        bytes
    }

    #[test]
    fn test_entry_size_is_counted_while_inflating() {
        let honest = zip_of(&[("imsmanifest.xml", &vec![b' '; 50_000])]);
        let lying = lie_about_sizes(honest, 10);
        let limits = Limits { max_entry_bytes: 1_000, ..Limits::default() };
        let err = parse(&lying, &limits).unwrap_err();
        assert_eq!(err, CatalogError::EntryTooLarge { name: "imsmanifest.xml".into(), limit: 1_000 });
    }

    #[test]
    fn test_total_is_counted_while_inflating() {
        let imscc = fixture("catalogs/mathwise-thin-cc.imscc");
        let lying = lie_about_sizes(imscc, 1);
        let limits = Limits { max_total_bytes: 100_000, ..Limits::default() };
        assert_eq!(parse(&lying, &limits).unwrap_err(), CatalogError::ArchiveTooLarge { limit: 100_000 });
    }

    #[test]
    fn test_entry_count_is_capped() {
        let bytes = fixture("catalogs/mathwise-thin-cc.imscc");
        let at = |max_zip_entries| Limits { max_zip_entries, ..Limits::default() };
        assert_eq!(parse(&bytes, &at(42)).unwrap_err(), CatalogError::TooManyEntries { limit: 42 });
        assert_eq!(parse(&bytes, &at(43)).unwrap().resources.len(), 42);
    }

    #[test]
    fn test_bad_path_traversal_rejects_the_upload() {
        let facts = expected("bad", "path-traversal.imscc");
        let err = parse(&fixture("bad/path-traversal.imscc"), &Limits::default()).unwrap_err();
        assert_eq!(err, CatalogError::UnsafeEntry(strings(&facts["unsafe_entries"])[0].clone()));
        assert!(err.to_string().contains("../../evil.xml"));
    }

    #[test]
    fn test_unsafe_entry_names() {
        for name in ["../x.xml", "a/../../x.xml", "/etc/passwd", "a\\b.xml", "C:/x.xml", "c:x", "a/..", "x\0y"] {
            assert_eq!(check_entry_name(name), Err(CatalogError::UnsafeEntry(name.to_string())), "{name}");
        }
        for name in ["imsmanifest.xml", "lti/a.xml", "./a.xml", "a/b/", "a..b/c..d.xml", "weird:name.xml"] {
            assert!(check_entry_name(name).is_ok(), "{name}");
        }
        let zipped = zip_of(&[("imsmanifest.xml", b"<manifest/>"), ("lti\\evil.xml", b"<x/>")]);
        assert_eq!(parse(&zipped, &Limits::default()).unwrap_err(), CatalogError::UnsafeEntry("lti\\evil.xml".into()));
    }

    #[test]
    fn test_bad_lti_link_missing_launch_url_is_partial() {
        let facts = expected("bad", "lti-link-missing-launch-url.xml");
        let parsed = parse_default(&fixture("bad/lti-link-missing-launch-url.xml"));
        let ids: Vec<String> = parsed.resources.iter().map(|r| r.local_id.clone()).collect();
        assert_eq!(ids, strings(&facts["accepted_ids"]));
        assert_eq!(parsed.rejected as u64, facts["rejected"].as_u64().unwrap());
        let errors = errors(&parsed);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].item.as_deref(), Some("MW-3-002"));
        assert_eq!(errors[0].message, NO_LAUNCH_URL);
        let good = find(&parsed, "MW-3-001");
        assert_eq!(good.title, "Fraction Strips: Comparing Unit Fractions");
        assert_eq!(good.url, "https://lti.mathwise.example.com/lti13/activities/fraction-strips-unit-fractions");
        assert!(!good.alignments.is_empty());
    }

    #[test]
    fn test_bad_empty_is_empty() {
        assert_eq!(parse(&fixture("bad/empty.xml"), &Limits::default()).unwrap_err(), CatalogError::Empty);
        let via_dispatch = crate::catalog::parse(
            crate::resource::CatalogFormat::CommonCartridge,
            &fixture("bad/empty.xml"),
            &Limits::default(),
        );
        assert_eq!(via_dispatch.unwrap_err(), CatalogError::Empty);
    }

    // --- real-world exports ---------------------------------------------------------------

    #[test]
    fn test_real_moodle_bare_lti_link() {
        let bytes = fixture("real/moodle/ims_cartridge_basic_lti_link.xml");
        let parsed = parse_default(&bytes);
        assert_eq!(parsed.resources.len(), 1);
        let link = &parsed.resources[0];
        assert_eq!(link.kind, ResourceKind::LtiResourceLink);
        assert_eq!(link.title, "Example tool");
        assert_eq!(link.description.as_deref(), Some("Example tool description"));
        assert_eq!(link.url, "https://www.example.com/lti/provider.php");
        let lti = link.lti.as_ref().unwrap();
        assert_eq!(lti.icon_url.as_deref(), Some("https://download.moodle.org/unittest/test.jpg"));
        assert_eq!(lti.vendor_code.as_deref(), Some("moodle.org"));
        assert_eq!(lti.vendor_name.as_deref(), Some("Moodle"));
        assert_eq!(lti.extensions["my.lms.com"].len(), 2);
        assert_eq!(link.local_id, format!("lti-{:016x}", stable_hash("https://www.example.com/lti/provider.php")));
        assert_eq!(parse_default(&bytes).resources[0].local_id, link.local_id, "stable id");
    }

    #[test]
    fn test_real_canvas_importer_manifest_alone_and_zipped() {
        let manifest = fixture("real/canvas-importer/imsmanifest.xml");
        let alone = parse_default(&manifest);
        assert!(alone.resources.is_empty());
        assert_eq!(alone.rejected, 0);
        assert_every_resource_accounted_for(&manifest, &alone);
        let warning =
            alone.diagnostics.iter().find(|d| d.item.as_deref() == Some("g534facc599d2202cf67dce042ee3105b")).unwrap();
        assert_eq!(warning.severity, Severity::Warning);

        let zipped = parse_default(&zip_folder("real/canvas-importer"));
        assert_eq!(zipped.resources.len(), 1);
        assert_every_resource_accounted_for(&manifest, &zipped);
        let link = &zipped.resources[0];
        assert_eq!(link.local_id, "g534facc599d2202cf67dce042ee3105b");
        assert_eq!(link.title, "LTI 1.3 a30691c6");
        assert_eq!(link.url, "http://lti13testtool.docker/launch");
        let lti = link.lti.as_ref().unwrap();
        assert_eq!(lti.custom.len(), 8);
        assert_eq!(lti.custom["param8"], "+1(855)552-2338");
        assert_eq!(lti.extensions["canvas.instructure.com"]["lookup_uuid"], "1b302c1e-c0a2-42dc-88b6-c029699a7c7a");
        assert_eq!(link.license_raw.as_deref(), Some("Public Domain - http://en.wikipedia.org/wiki/Public_domain"));
        let infos = zipped.diagnostics.iter().filter(|d| d.severity == Severity::Info).count();
        assert_eq!(infos, 2, "course settings and tool profile");
    }

    #[test]
    fn test_real_ccv_course_manifest_alone_and_zipped() {
        let manifest = fixture("real/ccv-course-1/imsmanifest.xml");
        let alone = parse_default(&manifest);
        assert!(alone.resources.is_empty());
        assert_every_resource_accounted_for(&manifest, &alone);
        let dangling =
            alone.diagnostics.iter().find(|d| d.message.contains("i2a43afb3f81390abba3db9c894444d1d")).unwrap();
        assert_eq!(dangling.severity, Severity::Warning);
        let web_content_warnings = alone
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning && d.message.contains("web content"))
            .count();
        assert_eq!(web_content_warnings, 4, "pages, photo and PDF shown by organization items");

        // Only the manifest and three item files are in the fixture: the weblink is indexed,
        // the web content an item shows is rejected because its files are missing.
        let zipped = parse_default(&zip_folder("real/ccv-course-1"));
        assert_every_resource_accounted_for(&manifest, &zipped);
        assert_eq!(zipped.resources.len(), 1);
        let link = &zipped.resources[0];
        assert_eq!(link.local_id, "i694d024f7e7bb0de4335817c9d4649f1");
        assert_eq!(link.kind, ResourceKind::Link);
        assert_eq!(link.url, "http://google.com");
        assert_eq!(link.title, "First Module External URL 1");
        assert_eq!(zipped.rejected, 4);
        let infos = zipped.diagnostics.iter().filter(|d| d.severity == Severity::Info).count();
        assert_eq!(infos, 8, "settings, assignments, discussion, quiz and their metadata");
    }

    #[test]
    fn test_real_imscc_latex_indexes_its_pages() {
        let parsed = parse_default(&fixture("real/imscc/latex.imscc"));
        assert_eq!(parsed.rejected, 0);
        let titles: Vec<_> = parsed.resources.iter().map(|r| r.title.as_str()).collect();
        assert_eq!(titles, ["Page 1", "Page 2"]);
        let page = &parsed.resources[0];
        assert_eq!(page.kind, ResourceKind::Html);
        assert_eq!(page.url, "wiki_content/page-1.html");
        assert_eq!(page.packaged_path.as_deref(), Some("wiki_content/page-1.html"));
        assert_eq!(page.media_type.as_deref(), Some("text/html"));
        assert_eq!(page.license_raw.as_deref(), Some("Private (Copyrighted) - http://en.wikipedia.org/wiki/Copyright"));
        assert_eq!(page.license, None, "a copyright statement names no licence, whatever URL it carries");
        let paths: Vec<_> = parsed.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["wiki_content/page-1.html", "wiki_content/page-2.html"]);
        assert!(parsed.files.iter().all(|f| !f.bytes.is_empty()));
    }

    #[test]
    fn test_real_imscc_single_page_offers_the_wiki_page_no_item_shows() {
        // Issue 15: a wiki page no organization item points at is named in the report and,
        // standing alone, offered as a resource (before, it was only stored).
        let parsed = parse_default(&fixture("real/imscc/single-page.imscc"));
        let paths: Vec<_> = parsed.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["wiki_content/our-purpose.html"]);
        assert_eq!(parsed.resources.len(), 1);
        let page = &parsed.resources[0];
        assert_eq!((page.local_id.as_str(), page.kind), ("i21fcf1e322b1d8263285fb6012b2b46c", ResourceKind::Html));
        assert_eq!(page.title, "Our Purpose", "the page's own <title>");
        assert_eq!(page.license.as_deref(), Some("https://creativecommons.org/publicdomain/mark/1.0/"));
        let named: Vec<_> =
            parsed.diagnostics.iter().filter(|d| d.item.as_deref() == Some(page.local_id.as_str())).collect();
        assert_eq!(named.len(), 1);
        assert!(named[0].message.contains("shown by no organization item"), "{}", named[0].message);
        assert!(parsed.diagnostics.iter().all(|d| d.severity == Severity::Info));
    }

    #[test]
    fn test_real_imscc_canvas_gem_course_reports_every_resource() {
        let parsed = parse_default(&fixture("real/imscc/canvas_cc_gem_course.imscc"));
        assert!(parsed.resources.is_empty());
        assert!(parsed.files.is_empty());
        assert_eq!(parsed.rejected, 0);
        assert_eq!(parsed.diagnostics.len(), 5);
        assert!(parsed
            .diagnostics
            .iter()
            .all(|d| d.severity == Severity::Info && d.message.contains("learning-application-resource")));
    }

    // --- inline edge cases ----------------------------------------------------------------

    #[test]
    fn test_launch_url_choice_and_rejection() {
        let doc = manifest(
            "",
            &[
                inline_link(
                    "A",
                    "<blti:title>A</blti:title><blti:launch_url>http://t.example/a</blti:launch_url>\
                     <blti:secure_launch_url>https://t.example/a</blti:secure_launch_url>",
                ),
                inline_link("B", "<blti:title>B</blti:title><blti:launch_url> http://t.example/b </blti:launch_url>"),
                inline_link("C", "<blti:title>C</blti:title><blti:secure_launch_url/>"),
                inline_link("D", "<blti:title>D</blti:title><blti:launch_url>javascript:alert(1)</blti:launch_url>"),
            ]
            .concat(),
        );
        let parsed = parse_default(doc.as_bytes());
        let urls: Vec<_> = parsed.resources.iter().map(|r| r.url.as_str()).collect();
        assert_eq!(urls, ["https://t.example/a", "http://t.example/b"]);
        assert_eq!(parsed.rejected, 2);
        let rejected: Vec<_> = errors(&parsed).iter().filter_map(|d| d.item.clone()).collect();
        assert_eq!(rejected, ["C", "D"]);
    }

    #[test]
    fn test_title_precedence_link_then_item_then_lom() {
        let lom_title = "<metadata><lom><general><title><string>From LOM</string></title></general></lom></metadata>";
        let resources = [
            inline_link(
                "A",
                "<blti:title> Link\n title </blti:title><blti:launch_url>https://x.example/a</blti:launch_url>",
            ),
            inline_link("B", "<blti:launch_url>https://x.example/b</blti:launch_url>"),
            format!(
                "<resource identifier=\"C\" type=\"imsbasiclti_xmlv1p3\">{lom_title}<cartridge_basiclti_link>\
                 <launch_url>https://x.example/c</launch_url></cartridge_basiclti_link></resource>"
            ),
            inline_link("D", "<blti:launch_url>https://x.example/d</blti:launch_url>"),
        ]
        .concat();
        let items = "<item identifier=\"i1\" identifierref=\"A\"><title>Item A</title></item>\
                     <item identifier=\"i2\" identifierref=\"B\"><title>  Item\tB </title></item>";
        let parsed = parse_default(manifest(items, &resources).as_bytes());
        let titles: Vec<_> = parsed.resources.iter().map(|r| r.title.as_str()).collect();
        assert_eq!(titles, ["Link title", "Item B", "From LOM"]);
        assert_eq!(errors(&parsed)[0].item.as_deref(), Some("D"));
    }

    #[test]
    fn test_custom_properties_options_and_substitution_variables() {
        let body = "<blti:title>T</blti:title><blti:custom>\
            <lticm:property name=\"ctx\">$Context.id</lticm:property>\
            <lticm:property name=\"who\">$Person.address.locality</lticm:property></blti:custom>\
            <blti:extensions platform=\"canvas.instructure.com\"><lticm:property name=\"outcome\">2.5</lticm:property>\
            <lticm:options name=\"course_navigation\"><lticm:property name=\"text\">Nav</lticm:property></lticm:options>\
            </blti:extensions><blti:launch_url>https://x.example</blti:launch_url>\
            <blti:icon>http://x.example/i.png</blti:icon>";
        let parsed = parse_default(manifest("", &inline_link("A", body)).as_bytes());
        let lti = parsed.resources[0].lti.clone().unwrap();
        assert_eq!(lti.custom["ctx"], "$Context.id");
        assert_eq!(lti.custom["who"], "$Person.address.locality");
        assert_eq!(lti.extensions["canvas.instructure.com"]["course_navigation.text"], "Nav");
        assert_eq!(
            lti.line_item,
            Some(LineItem { score_maximum: 2.5, label: Some("T".into()), ..LineItem::default() })
        );
        assert_eq!(lti.icon_url.as_deref(), Some("http://x.example/i.png"));
    }

    #[test]
    fn test_item_metadata_overrides_manifest_defaults() {
        let doc = format!(
            "{MANIFEST_HEAD}<metadata><lom><general><language>de</language></general>\
             <rights><cost><value>no</value></cost><description><string>CC BY https://creativecommons.org/licenses/by/4.0/</string></description></rights>\
             <classification><purpose><value>discipline</value></purpose><taxonPath><taxon><entry><string>Science</string></entry></taxon></taxonPath></classification>\
             </lom></metadata><resources>{}{}</resources></manifest>",
            "<resource identifier=\"A\" type=\"imswl_xmlv1p3\"><webLink><title>A</title><url href=\"https://a.example\"/></webLink></resource>",
            "<resource identifier=\"B\" type=\"imswl_xmlv1p3\"><metadata><lom><general><language>fr</language>\
             <keyword><string>x</string></keyword><keyword><string>x</string></keyword></general>\
             <educational><intendedEndUserRole><value>Instructor</value></intendedEndUserRole>\
             <learningResourceType><value>Lecture</value></learningResourceType></educational>\
             <rights><cost><value>yes</value></cost></rights></lom></metadata>\
             <webLink><title>B</title><url href=\"https://b.example\"/></webLink></resource>",
        );
        let parsed = parse_default(doc.as_bytes());
        let (a, b) = (find(&parsed, "A"), find(&parsed, "B"));
        assert_eq!(primary_languages(&a.languages), primary_languages(&["de".to_string()]));
        assert_eq!(a.free, Some(true));
        assert_eq!(a.subjects, ["Science"]);
        assert!(a.license_raw.as_deref().unwrap().starts_with("CC BY"));
        assert_eq!(a.license, vocab::license(a.license_raw.as_deref().unwrap()));
        assert_eq!(primary_languages(&b.languages), primary_languages(&["fr".to_string()]));
        assert_eq!(b.free, Some(false));
        assert_eq!(b.keywords, ["x"]);
        assert!(b.teacher_only);
        assert_eq!(b.resource_types_raw, ["Lecture"]);
        assert_eq!(b.license_raw, a.license_raw, "licence from the manifest");
    }

    #[test]
    fn test_dangling_identifierref_and_duplicates_warn() {
        let items = "<item identifier=\"i1\" identifierref=\"NOPE\"><title>x</title></item>";
        let resources = "<resource identifier=\"W\" type=\"imswl_xmlv1p1\"><webLink><title>1</title><url href=\"https://1.example\"/></webLink></resource>\
                         <resource identifier=\"W\" type=\"imswl_xmlv1p1\"><webLink><title>2</title><url href=\"https://2.example\"/></webLink></resource>";
        let parsed = parse_default(manifest(items, resources).as_bytes());
        assert_eq!(parsed.resources.len(), 1);
        assert_eq!(parsed.resources[0].title, "1");
        let warnings: Vec<_> = parsed.diagnostics.iter().filter(|d| d.severity == Severity::Warning).collect();
        assert_eq!(warnings.len(), 2);
        assert!(warnings.iter().any(|d| d.message.contains("NOPE")));
    }

    #[test]
    fn test_unsupported_types_get_one_info_each() {
        let resources = "<resource identifier=\"D\" type=\"imsdt_xmlv1p3\"><file href=\"d.xml\"/></resource>\
                         <resource identifier=\"Q\" type=\"imsqti_xmlv1p2/imscc_xmlv1p3/assessment\"/>";
        let parsed = parse_default(manifest("", resources).as_bytes());
        let infos: Vec<_> = parsed.diagnostics.iter().map(|d| (d.severity, d.item.clone().unwrap())).collect();
        assert_eq!(infos, [(Severity::Info, "D".to_string()), (Severity::Info, "Q".to_string())]);
        assert!(parsed.diagnostics[0].message.contains("imsdt_xmlv1p3"));
    }

    #[test]
    fn test_web_content_alone_is_warned_and_skipped() {
        let items = "<item identifier=\"i\" identifierref=\"P\"><title>Page</title></item>";
        let resources =
            "<resource identifier=\"P\" type=\"webcontent\" href=\"p.html\"><file href=\"p.html\"/></resource>\
                         <resource identifier=\"S\" type=\"webcontent\"><file href=\"s.css\"/></resource>";
        let parsed = parse_default(manifest(items, resources).as_bytes());
        assert!(parsed.resources.is_empty() && parsed.files.is_empty());
        assert_eq!(parsed.diagnostics.len(), 2, "every item it cannot read is named");
        assert_eq!(parsed.diagnostics[0].severity, Severity::Warning);
        assert_eq!(parsed.diagnostics[0].item.as_deref(), Some("P"));
        assert_eq!(parsed.diagnostics[1].severity, Severity::Info);
        assert_eq!(parsed.diagnostics[1].item.as_deref(), Some("S"));
        assert!(parsed.diagnostics[1].message.contains("s.css"));
    }

    #[test]
    fn test_web_content_in_zip_with_dependencies_and_xml_base() {
        let items = "<item identifier=\"i1\" identifierref=\"PAGE\"><title>Lesson page</title></item>\
                     <item identifier=\"i2\" identifierref=\"IMG\"><title>Diagram</title></item>\
                     <item identifier=\"i3\" identifierref=\"DOC\"><title>Worksheet</title></item>\
                     <item identifier=\"i4\" identifierref=\"LINK\"><title>Tool</title></item>";
        let resources = "<resource identifier=\"PAGE\" type=\"webcontent\" href=\"pages/lesson%201.html\">\
                           <file href=\"pages/lesson%201.html\"/><dependency identifierref=\"CSS\"/></resource>\
                         <resource identifier=\"CSS\" type=\"associatedcontent/imscc_xmlv1p1/learning-application-resource\">\
                           <file href=\"shared/./style.css\"/></resource>\
                         <resource identifier=\"IMG\" type=\"webcontent\" xml:base=\"media/\"><file href=\"diagram.PNG\"/></resource>\
                         <resource identifier=\"DOC\" type=\"webcontent\"><file href=\"docs/sheet.pdf\"/></resource>\
                         <resource identifier=\"LINK\" type=\"imsbasiclti_xmlv1p0\" xml:base=\"lti/\"><file href=\"tool.xml\"/></resource>\
                         <resource identifier=\"LOOSE\" type=\"webcontent\"><file href=\"loose/extra.js\"/><file href=\"missing.txt\"/></resource>";
        let link = "<cartridge_basiclti_link xmlns=\"http://www.imsglobal.org/xsd/imslticc_v1p1\" \
                    xmlns:blti=\"http://www.imsglobal.org/xsd/imsbasiclti_v1p0\"><blti:title>Tool</blti:title>\
                    <blti:launch_url>https://tool.example/launch</blti:launch_url></cartridge_basiclti_link>";
        let doc = manifest(items, resources);
        let zipped = zip_of(&[
            ("imsmanifest.xml", doc.as_bytes()),
            ("pages/lesson 1.html", b"<html>lesson</html>"),
            ("shared/style.css", b"body{}"),
            ("media/diagram.PNG", b"png"),
            ("docs/sheet.pdf", b"%PDF"),
            ("lti/tool.xml", link.as_bytes()),
            ("loose/extra.js", b"js"),
            ("course_settings/secret.xml", b"<secret/>"),
        ]);
        let parsed = parse_default(&zipped);
        let kinds: Vec<_> = parsed.resources.iter().map(|r| (r.local_id.as_str(), r.kind)).collect();
        assert_eq!(
            kinds,
            [
                ("PAGE", ResourceKind::Html),
                ("IMG", ResourceKind::Image),
                ("DOC", ResourceKind::File),
                ("LINK", ResourceKind::LtiResourceLink)
            ]
        );
        let page = find(&parsed, "PAGE");
        assert_eq!(page.url, "pages/lesson 1.html");
        assert_eq!(page.packaged_path.as_deref(), Some("pages/lesson 1.html"));
        assert_eq!(find(&parsed, "IMG").url, "media/diagram.PNG");
        assert_eq!(find(&parsed, "DOC").media_type.as_deref(), Some("application/pdf"));
        assert_eq!(find(&parsed, "LINK").url, "https://tool.example/launch");
        let mut paths: Vec<_> = parsed.files.iter().map(|f| f.path.as_str()).collect();
        paths.sort();
        assert_eq!(
            paths,
            ["docs/sheet.pdf", "loose/extra.js", "media/diagram.PNG", "pages/lesson 1.html", "shared/style.css"]
        );
        let missing = parsed.diagnostics.iter().find(|d| d.message.contains("missing.txt")).unwrap();
        assert_eq!(missing.severity, Severity::Warning);
        assert_eq!(parsed.rejected, 0);
    }

    #[test]
    fn test_link_file_problems_reject_the_item() {
        let resources = "<resource identifier=\"GONE\" type=\"imsbasiclti_xmlv1p3\"><file href=\"lti/gone.xml\"/></resource>\
                         <resource identifier=\"WRONG\" type=\"imsbasiclti_xmlv1p3\"><file href=\"lti/wrong.xml\"/></resource>\
                         <resource identifier=\"BROKEN\" type=\"imswl_xmlv1p3\"><file href=\"wl/broken.xml\"/></resource>\
                         <resource identifier=\"OUT\" type=\"imswl_xmlv1p3\"><file href=\"../../etc/passwd\"/></resource>\
                         <resource identifier=\"NONE\" type=\"imswl_xmlv1p3\"/>";
        let doc = manifest("", resources);
        let zipped = zip_of(&[
            ("imsmanifest.xml", doc.as_bytes()),
            ("lti/wrong.xml", b"<topic/>"),
            ("wl/broken.xml", b"<webLink><title>x</title>"),
        ]);
        let parsed = parse_default(&zipped);
        assert!(parsed.resources.is_empty());
        assert_eq!(parsed.rejected, 5);
        let by_item =
            |id: &str| errors(&parsed).into_iter().find(|d| d.item.as_deref() == Some(id)).unwrap().message.clone();
        assert!(by_item("GONE").contains("not in the cartridge"));
        assert!(by_item("WRONG").contains("<topic>"));
        assert!(by_item("BROKEN").contains("XML syntax error"));
        assert!(by_item("OUT").contains("not a path inside the cartridge"));
        assert!(by_item("NONE").contains("neither inline"));
    }

    #[test]
    fn test_manifest_in_a_single_top_level_folder() {
        let doc = manifest(
            "",
            &inline_link("A", "<blti:title>A</blti:title><blti:launch_url>https://a.example</blti:launch_url>"),
        );
        let zipped = zip_of(&[("course/imsmanifest.xml", doc.as_bytes())]);
        assert_eq!(parse_default(&zipped).resources.len(), 1);
        let two = zip_of(&[("a/imsmanifest.xml", doc.as_bytes()), ("b/imsmanifest.xml", doc.as_bytes())]);
        assert!(matches!(parse(&two, &Limits::default()), Err(CatalogError::Structure(_))));
    }

    #[test]
    fn test_not_a_cartridge() {
        assert!(matches!(parse(b"<rss/>", &Limits::default()), Err(CatalogError::Structure(_))));
        assert!(matches!(parse(b"PK\x03\x04garbage", &Limits::default()), Err(CatalogError::Zip(_))));
        let no_manifest = zip_of(&[("readme.txt", b"hi")]);
        assert!(matches!(parse(&no_manifest, &Limits::default()), Err(CatalogError::Structure(_))));
    }

    #[test]
    fn test_bare_link_without_launch_url_is_rejected_item() {
        let doc = b"<basic_lti_link xmlns=\"http://www.imsglobal.org/xsd/imsbasiclti_v1p0\"><title>T</title></basic_lti_link>";
        let parsed = parse_default(doc);
        assert!(parsed.resources.is_empty());
        assert_eq!(parsed.rejected, 1);
        assert_eq!(parsed.diagnostics[0].message, NO_LAUNCH_URL);
    }

    #[test]
    fn test_bare_web_link() {
        let doc = br#"<webLink xmlns="http://www.imsglobal.org/xsd/imsccv1p3/imswl_v1p3"><title>Site</title><url href="https://s.example/"/></webLink>"#;
        let parsed = parse_default(doc);
        assert_eq!(parsed.resources[0].kind, ResourceKind::Link);
        assert!(parsed.resources[0].local_id.starts_with("wl-"));
    }

    /// A package that records every path asked for.
    struct Recorder(Vec<String>);

    impl PackageFiles for Recorder {
        fn available(&self) -> bool {
            true
        }

        fn read(&mut self, path: &str) -> Result<Option<Vec<u8>>, CatalogError> {
            self.0.push(path.to_string());
            Ok(None)
        }
    }

    #[test]
    fn test_escaped_dot_dot_never_reaches_the_package() {
        let items = "<item identifier=\"i\" identifierref=\"P\"><title>P</title></item>";
        let resources = "<resource identifier=\"P\" type=\"webcontent\">\
                         <file href=\"a/%2e%2e/%2E%2E/etc/passwd\"/><file href=\"a/%2e%2e/b%20c.html\"/></resource>";
        let mut recorder = Recorder(Vec::new());
        let parsed = parse_with_files(manifest(items, resources).as_bytes(), &mut recorder).unwrap();
        assert_eq!(recorder.0, ["a/%2e%2e/%2E%2E/etc/passwd", "a/%2e%2e/b%20c.html", "b c.html"]);
        assert_eq!(parsed.rejected, 1);
    }

    #[test]
    fn test_truncated_and_corrupted_inputs_never_panic() {
        let limits = Limits::default();
        for file in ["catalogs/mathwise-thin-cc.xml", "real/moodle/ims_cartridge_basic_lti_link.xml"] {
            let bytes = fixture(file);
            for cut in (0..bytes.len()).step_by(509) {
                let _ = parse(&bytes[..cut], &limits);
            }
        }
        let zipped = fixture("catalogs/mathwise-thin-cc.imscc");
        for cut in (0..zipped.len()).step_by(331) {
            let _ = parse(&zipped[..cut], &limits);
            let mut flipped = zipped.clone();
            flipped[cut] ^= 0x5a;
            let _ = parse(&flipped, &limits);
        }
    }

    #[test]
    fn test_paths() {
        assert_eq!(normalize_path("a/./b//c/../d.xml").as_deref(), Some("a/b/d.xml"));
        assert_eq!(normalize_path("../x"), None);
        assert_eq!(normalize_path("./"), None);
        let bases = |b: &[&str]| b.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(resolve_href(&bases(&["lti/"]), "a.xml").as_deref(), Some("lti/a.xml"));
        assert_eq!(resolve_href(&bases(&["x/", "y/z.xml"]), "a.xml#top").as_deref(), Some("x/y/a.xml"));
        assert_eq!(resolve_href(&bases(&["http://cdn.example/"]), "a.xml").as_deref(), Some("a.xml"));
        assert_eq!(resolve_href(&[], "https://x.example/a.xml"), None);
        assert_eq!(resolve_href(&[], "/abs.xml"), None);
        assert_eq!(resolve_href(&[], "../up.xml"), None);
        assert_eq!(percent_decode("a%20b%C3%A9").as_deref(), Some("a bé"));
        assert_eq!(percent_decode("bad%2"), None);
        assert_eq!(content_kind("a/B.JPEG").0, ResourceKind::Image);
        assert_eq!(content_kind("noext").0, ResourceKind::File);
    }
}
