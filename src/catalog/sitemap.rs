//! Sitemaps (sitemaps.org 0.9) and the pages they list, for publishers whose catalog is their
//! web site: each page describes a resource in JSON-LD, the way OERSI collects many sources.
//!
//! - [`parse_sitemap`] reads a sitemap: a `<urlset>` of pages or a `<sitemapindex>` of further
//!   sitemaps (XML, gzip-compressed or not), a plain-text list of URLs, or an RSS / Atom feed,
//!   all of which the protocol allows. The harvest loop (`harvest::sitemap`) fetches them.
//! - [`parse_page`] reads one page: the `SITEMAP` format's document. A stored page starts with
//!   a comment naming the URL it was fetched from ([`archived_page`]), so that replaying it
//!   gives the resources the same URLs and ids as the harvest did. A harvest run that took
//!   resources out logs a removal record beside its pages ([`removal_record`]), which reads as
//!   those deletions.

use std::io::Read;

use super::xml::{self, Element};
use super::{json, lrmi, CatalogError, Diagnostic, Limits, ParsedCatalog};

/// Entries one sitemap may list (the protocol's own limit).
pub const MAX_SITEMAP_ENTRIES: usize = 50_000;

/// The gzip magic bytes.
const GZIP_MAGIC: &[u8] = b"\x1f\x8b";

/// The first line of a stored page: `<!-- resource-gateway page: <url> -->`.
const PAGE_MARKER_START: &str = "<!-- resource-gateway page: ";
const PAGE_MARKER_END: &str = " -->\n";
/// The first line of a removal record; a JSON array of the removed resources' ids follows.
const REMOVAL_MARKER: &str = "<!-- resource-gateway removed resources -->\n";

/// One `<url>` (or `<sitemap>`) entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SitemapEntry {
    /// The absolute http(s) URL of the page (or of the child sitemap).
    pub loc: String,
    /// `lastmod` as written (W3C datetime), when given.
    pub lastmod: Option<String>,
}

/// What a sitemap document lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sitemap {
    /// Pages.
    Pages(Vec<SitemapEntry>),
    /// Further sitemaps (a `<sitemapindex>`).
    Index(Vec<SitemapEntry>),
}

/// Reads one sitemap document (gzip is inflated first, at most `limits.max_entry_bytes`).
/// Entries whose `loc` is not an absolute http(s) URL are left out with a warning.
pub fn parse_sitemap(bytes: &[u8], limits: &Limits) -> Result<(Sitemap, Vec<Diagnostic>), CatalogError> {
    let inflated;
    let bytes = if bytes.starts_with(GZIP_MAGIC) {
        inflated = gunzip(bytes, limits.max_entry_bytes)?;
        inflated.as_slice()
    } else {
        bytes
    };
    let text = xml::decode_utf8(bytes)?;
    if text.trim().is_empty() {
        return Err(CatalogError::Empty);
    }
    let mut diagnostics = Vec::new();
    if !text.trim_start().starts_with('<') {
        let entries = text_sitemap(text, &mut diagnostics);
        return Ok((Sitemap::Pages(entries), diagnostics));
    }
    let root = xml::parse_limited(bytes, limits.max_xml_attributes)?;
    let sitemap = match root.name.as_str() {
        "urlset" => Sitemap::Pages(entries(&root, "url", &mut diagnostics)),
        "sitemapindex" => Sitemap::Index(entries(&root, "sitemap", &mut diagnostics)),
        "rss" | "RDF" => Sitemap::Pages(feed_entries(&root, &mut diagnostics)),
        "feed" => Sitemap::Pages(atom_entries(&root, &mut diagnostics)),
        other => {
            return Err(CatalogError::Structure(format!(
                "expected a sitemap (<urlset> or <sitemapindex>, sitemaps.org 0.9), found <{other}>"
            )))
        }
    };
    Ok((sitemap, diagnostics))
}

/// Inflates a gzip stream, refusing more than `limit` bytes.
fn gunzip(bytes: &[u8], limit: u64) -> Result<Vec<u8>, CatalogError> {
    let mut inflated = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .take(limit.saturating_add(1))
        .read_to_end(&mut inflated)
        .map_err(|err| CatalogError::Structure(format!("the gzip-compressed sitemap cannot be inflated: {err}")))?;
    if u64::try_from(inflated.len()).unwrap_or(u64::MAX) > limit {
        return Err(CatalogError::EntryTooLarge { name: "sitemap".to_string(), limit });
    }
    Ok(inflated)
}

/// `<url><loc>` / `<sitemap><loc>` entries with their `lastmod`.
fn entries(root: &Element, entry_name: &str, diagnostics: &mut Vec<Diagnostic>) -> Vec<SitemapEntry> {
    let mut out = Vec::new();
    for entry in root.children(entry_name) {
        let Some(loc) = entry.child_text("loc") else {
            diagnostics.push(Diagnostic::warning(None, format!("a <{entry_name}> without <loc> was skipped")));
            continue;
        };
        push_entry(&mut out, loc, entry.child_text("lastmod"), diagnostics);
    }
    out
}

/// RSS 2.0 / 1.0 items: `<link>` and `<pubDate>` (or `dc:date`).
fn feed_entries(root: &Element, diagnostics: &mut Vec<Diagnostic>) -> Vec<SitemapEntry> {
    let mut out = Vec::new();
    for item in root.descendants_named("item") {
        let Some(link) = item.child_text("link") else {
            continue;
        };
        let date = item.child_text("pubDate").or_else(|| item.child_text("date"));
        push_entry(&mut out, link, date, diagnostics);
    }
    out
}

/// Atom entries: `<link href>` (the `alternate` one) and `<updated>`.
fn atom_entries(root: &Element, diagnostics: &mut Vec<Diagnostic>) -> Vec<SitemapEntry> {
    let mut out = Vec::new();
    for entry in root.children("entry") {
        let link = entry
            .children("link")
            .find(|link| link.attr("rel").is_none_or(|rel| rel == "alternate"))
            .and_then(|link| link.attr_trimmed("href"));
        if let Some(link) = link {
            push_entry(&mut out, link, entry.child_text("updated"), diagnostics);
        }
    }
    out
}

/// A text sitemap: one URL per line.
fn text_sitemap(text: &str, diagnostics: &mut Vec<Diagnostic>) -> Vec<SitemapEntry> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#')) {
        push_entry(&mut out, line.to_string(), None, diagnostics);
    }
    out
}

fn push_entry(out: &mut Vec<SitemapEntry>, loc: String, lastmod: Option<String>, diagnostics: &mut Vec<Diagnostic>) {
    let loc = loc.trim().to_string();
    if !json::is_http_url(&loc) || loc.len() > 4_096 {
        let shown: String = loc.chars().take(100).collect();
        diagnostics.push(Diagnostic::warning(Some(shown), "not an absolute http(s) URL; skipped"));
        return;
    }
    if out.len() == MAX_SITEMAP_ENTRIES {
        if diagnostics.iter().all(|d| !d.message.contains("entries")) {
            diagnostics.push(Diagnostic::warning(
                None,
                format!("the sitemap lists more than {MAX_SITEMAP_ENTRIES} entries; the rest were skipped (split it with a sitemap index)"),
            ));
        }
        return;
    }
    out.push(SitemapEntry { loc, lastmod: lastmod.map(|m| m.trim().to_string()).filter(|m| !m.is_empty()) });
}

/// A fetched page as it is stored: its URL in a first-line comment, then the page.
pub fn archived_page(url: &str, page: &[u8]) -> Vec<u8> {
    let safe_url = url.replace("--", "%2D%2D");
    let mut stored = Vec::with_capacity(page.len() + safe_url.len() + 40);
    stored.extend_from_slice(PAGE_MARKER_START.as_bytes());
    stored.extend_from_slice(safe_url.as_bytes());
    stored.extend_from_slice(PAGE_MARKER_END.as_bytes());
    stored.extend_from_slice(page);
    stored
}

/// The resources (local ids) a harvest run removed, as a document of its catalog log entry:
/// [`parse_page`] reads it as those deletions (of the source's own resources only).
pub fn removal_record(local_ids: &[String]) -> Vec<u8> {
    let mut record = REMOVAL_MARKER.as_bytes().to_vec();
    record.extend_from_slice(serde_json::Value::from(local_ids.to_vec()).to_string().as_bytes());
    record
}

/// Reads one page of a sitemap source: its JSON-LD resources (see [`lrmi`]). `url` is where it
/// was fetched; a stored page says so itself ([`archived_page`]); otherwise the page's
/// canonical URL stands for it. A sitemap pushed as a page is refused: it lists pages to fetch,
/// which a catalog source does.
pub fn parse_page(bytes: &[u8], url: Option<&str>) -> Result<ParsedCatalog, CatalogError> {
    if is_sitemap_document(bytes) {
        return Err(CatalogError::Structure(
            "this is a sitemap: it lists pages to fetch, so register it as a catalog source \
             (addCatalogSource with format SITEMAP); a pushed SITEMAP document is one HTML page"
                .to_string(),
        ));
    }
    if let Some(ids) = bytes.strip_prefix(REMOVAL_MARKER.as_bytes()) {
        let deleted: Vec<String> = serde_json::from_slice(ids).map_err(|err| {
            CatalogError::Structure(format!("a removal record must list the removed ids as a JSON array: {err}"))
        })?;
        return Ok(ParsedCatalog { deleted, ..ParsedCatalog::default() });
    }
    let (stored_url, page) = match split_marker(bytes) {
        Some((stored, page)) => (Some(stored), page),
        None => (None, bytes),
    };
    let url = url.map(str::to_string).or(stored_url);
    Ok(lrmi::parse_page(page, url.as_deref()))
}

fn split_marker(bytes: &[u8]) -> Option<(String, &[u8])> {
    let rest = bytes.strip_prefix(PAGE_MARKER_START.as_bytes())?;
    let end = rest.windows(PAGE_MARKER_END.len()).position(|window| window == PAGE_MARKER_END.as_bytes())?;
    let url = std::str::from_utf8(&rest[..end]).ok()?.replace("%2D%2D", "--");
    Some((url, &rest[end + PAGE_MARKER_END.len()..]))
}

/// Whether bytes are a sitemap rather than a page: gzip, or XML whose root is `<urlset>` or
/// `<sitemapindex>`.
fn is_sitemap_document(bytes: &[u8]) -> bool {
    if bytes.starts_with(GZIP_MAGIC) {
        return true;
    }
    let head = &bytes[..bytes.len().min(2048)];
    let head = String::from_utf8_lossy(head);
    let mut rest = head.trim_start_matches('\u{feff}').trim_start();
    loop {
        if let Some(after) = rest.strip_prefix("<?") {
            rest = after.split_once("?>").map_or("", |(_, tail)| tail).trim_start();
        } else if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.split_once("-->").map_or("", |(_, tail)| tail).trim_start();
        } else {
            break;
        }
    }
    rest.starts_with("<urlset") || rest.starts_with("<sitemapindex")
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    const URLSET: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>https://oer.example.org/a</loc><lastmod>2025-03-01</lastmod><changefreq>weekly</changefreq></url>
  <url><loc> https://oer.example.org/b?x=1&amp;y=2 </loc></url>
  <url><loc>/relative</loc></url>
  <url><lastmod>2025-01-01</lastmod></url>
</urlset>"#;

    #[test]
    fn test_urlset_index_gzip_and_text() {
        let (sitemap, diagnostics) = parse_sitemap(URLSET.as_bytes(), &Limits::default()).unwrap();
        let Sitemap::Pages(pages) = sitemap else { panic!("pages expected") };
        assert_eq!(
            pages,
            [
                SitemapEntry { loc: "https://oer.example.org/a".into(), lastmod: Some("2025-03-01".into()) },
                SitemapEntry { loc: "https://oer.example.org/b?x=1&y=2".into(), lastmod: None },
            ]
        );
        assert_eq!(diagnostics.len(), 2);

        let index = r#"<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
            <sitemap><loc>https://oer.example.org/sitemap-1.xml.gz</loc><lastmod>2025-03-02T10:00:00+01:00</lastmod></sitemap>
            </sitemapindex>"#;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(index.as_bytes()).unwrap();
        let gzipped = encoder.finish().unwrap();
        let (sitemap, _) = parse_sitemap(&gzipped, &Limits::default()).unwrap();
        assert!(matches!(sitemap, Sitemap::Index(ref children) if children.len() == 1));
        let tight = Limits { max_entry_bytes: 16, ..Limits::default() };
        assert!(matches!(parse_sitemap(&gzipped, &tight), Err(CatalogError::EntryTooLarge { .. })));

        let (text, _) =
            parse_sitemap(b"https://oer.example.org/a\n\nhttps://oer.example.org/b\n", &Limits::default()).unwrap();
        assert!(matches!(text, Sitemap::Pages(ref pages) if pages.len() == 2));
        assert!(matches!(parse_sitemap(b"<rss2/>", &Limits::default()), Err(CatalogError::Structure(_))));
    }

    #[test]
    fn test_feeds_are_sitemaps_too() {
        let rss = r#"<rss version="2.0"><channel><item><link>https://oer.example.org/p1</link>
            <pubDate>Sat, 01 Mar 2025 10:00:00 GMT</pubDate></item></channel></rss>"#;
        let (sitemap, _) = parse_sitemap(rss.as_bytes(), &Limits::default()).unwrap();
        assert!(matches!(sitemap, Sitemap::Pages(ref pages) if pages[0].loc == "https://oer.example.org/p1"));
        let atom = r#"<feed xmlns="http://www.w3.org/2005/Atom"><entry><link rel="self" href="https://x.example/self"/>
            <link href="https://oer.example.org/p2"/><updated>2025-03-01T00:00:00Z</updated></entry></feed>"#;
        let (sitemap, _) = parse_sitemap(atom.as_bytes(), &Limits::default()).unwrap();
        assert!(matches!(sitemap, Sitemap::Pages(ref pages) if pages[0].loc == "https://oer.example.org/p2"));
    }

    #[test]
    fn test_pages_round_trip_through_the_archive_form() {
        let page = br#"<html><head><script type="application/ld+json">
            {"@context": "https://schema.org", "@type": "LearningResource", "name": "Bruchrechnen"}
            </script></head></html>"#;
        let url = "https://oer.example.org/a--b";
        let parsed = parse_page(&archived_page(url, page), None).unwrap();
        assert_eq!(parsed.resources.len(), 1, "{:?}", parsed.diagnostics);
        assert_eq!(parsed.resources[0].url, url, "the page is the resource's url");
        let direct = parse_page(page, Some(url)).unwrap();
        assert_eq!(direct.resources, parsed.resources);
        let none = parse_page(b"<html><body>no metadata</body></html>", Some(url)).unwrap();
        assert!(none.resources.is_empty());
        assert_eq!(none.skipped, 1);
        assert!(matches!(parse_page(URLSET.as_bytes(), None), Err(CatalogError::Structure(_))));
    }

    #[test]
    fn test_removal_records_read_as_deletions() {
        let ids = vec!["https://oer.example.org/a".to_string(), "line\nbreak \"quoted\"".to_string()];
        let parsed = parse_page(&removal_record(&ids), None).unwrap();
        assert_eq!(parsed.deleted, ids);
        assert!(parsed.resources.is_empty() && parsed.diagnostics.is_empty());
        let mut broken = REMOVAL_MARKER.as_bytes().to_vec();
        broken.extend_from_slice(b"{not a list}");
        assert!(matches!(parse_page(&broken, None), Err(CatalogError::Structure(_))));
    }
}
