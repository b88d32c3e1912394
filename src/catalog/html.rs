//! What the gateway reads from an HTML page: its JSON-LD blocks
//! (`<script type="application/ld+json">`), its `<title>`, and the URL the page says it has
//! (`<link rel="canonical">`, `<meta property="og:url">`, `<base href>`).
//!
//! A scanner, not a full HTML parser: these few elements are found the way the HTML tokenizer
//! finds them (tag names case-insensitive, attributes quoted or not, comments skipped, a
//! `<script>`'s text running to the next `</script`), which is all the gateway needs, in one
//! linear pass. The text of a JSON-LD script is raw text: character references are not
//! decoded there (HTML does not decode them either).

/// One JSON-LD block and where it starts, for diagnostics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonLdBlock<'a> {
    /// 1-based line of the `<script>` tag.
    pub line: usize,
    /// The script's text, with an enclosing `<!-- -->` or `<![CDATA[ ]]>` removed.
    pub json: &'a str,
}

/// What a page offers the catalog parsers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageFacts<'a> {
    pub json_ld: Vec<JsonLdBlock<'a>>,
    /// The `<title>` text, entity-decoded and whitespace-normalised.
    pub title: Option<String>,
    /// `<link rel="canonical" href>`.
    pub canonical: Option<String>,
    /// `<meta property="og:url" content>`.
    pub og_url: Option<String>,
    /// `<base href>`.
    pub base: Option<String>,
    /// `<html lang>`.
    pub lang: Option<String>,
}

/// Whether bytes look like an HTML page rather than JSON: after whitespace and a byte-order
/// mark, a `<` (a doctype, a comment or a tag).
pub fn looks_like_html(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<')
}

/// Scans a page once for the facts the parsers use.
pub fn scan(page: &str) -> PageFacts<'_> {
    let mut facts = PageFacts::default();
    let bytes = page.as_bytes();
    let mut at = 0;
    while let Some(offset) = page[at..].find('<') {
        let tag_start = at + offset;
        let rest = &page[tag_start..];
        if rest.starts_with("<!--") {
            at = rest.find("-->").map_or(page.len(), |end| tag_start + end + 3);
            continue;
        }
        let Some(tag) = read_tag(page, tag_start) else {
            at = tag_start + 1;
            continue;
        };
        at = tag.end;
        if tag.closing {
            continue;
        }
        match tag.name.as_str() {
            "script" => {
                let body_end = find_ignore_case(bytes, tag.end, b"</script").unwrap_or(page.len());
                let body = &page[tag.end..body_end];
                if tag.attr("type").is_some_and(is_json_ld_type) {
                    let line = 1 + bytes[..tag_start].iter().filter(|b| **b == b'\n').count();
                    facts.json_ld.push(JsonLdBlock { line, json: unwrap_script_text(body) });
                }
                at = body_end;
            }
            "style" | "textarea" => {
                let closing = format!("</{}", tag.name);
                at = find_ignore_case(bytes, tag.end, closing.as_bytes()).unwrap_or(page.len());
            }
            "title" if facts.title.is_none() => {
                let body_end = find_ignore_case(bytes, tag.end, b"</title").unwrap_or(page.len());
                let title = super::text::html_to_text(&page[tag.end..body_end]);
                facts.title = Some(title).filter(|t| !t.is_empty());
                at = body_end;
            }
            "link" if facts.canonical.is_none() => {
                let canonical = tag.attr("rel").is_some_and(|rel| {
                    rel.split_ascii_whitespace().any(|token| token.eq_ignore_ascii_case("canonical"))
                });
                if canonical {
                    facts.canonical = tag.attr("href").map(decode_attribute).filter(|h| !h.is_empty());
                }
            }
            "meta"
                if facts.og_url.is_none() && tag.attr("property").is_some_and(|p| p.eq_ignore_ascii_case("og:url")) =>
            {
                facts.og_url = tag.attr("content").map(decode_attribute).filter(|h| !h.is_empty());
            }
            "base" if facts.base.is_none() => {
                facts.base = tag.attr("href").map(decode_attribute).filter(|h| !h.is_empty());
            }
            "html" if facts.lang.is_none() => {
                facts.lang = tag.attr("lang").map(decode_attribute).filter(|l| !l.is_empty());
            }
            _ => {}
        }
    }
    facts
}

/// `application/ld+json`, case-insensitive, with optional parameters (`; charset=utf-8`).
fn is_json_ld_type(raw: &str) -> bool {
    raw.split(';').next().is_some_and(|media| media.trim().eq_ignore_ascii_case("application/ld+json"))
}

/// Some pages wrap script text in an HTML comment or a CDATA section (old XHTML habits).
fn unwrap_script_text(body: &str) -> &str {
    let trimmed = body.trim();
    for (open, close) in [("<!--", "-->"), ("<![CDATA[", "]]>"), ("//<![CDATA[", "//]]>")] {
        if let Some(inner) = trimmed.strip_prefix(open).and_then(|rest| rest.strip_suffix(close)) {
            return inner.trim();
        }
    }
    trimmed
}

/// Attribute values may carry character references (`&amp;` in URLs).
fn decode_attribute(raw: &str) -> String {
    super::text::html_to_text(raw)
}

/// One start or end tag.
struct Tag<'a> {
    /// Lowercase.
    name: String,
    closing: bool,
    /// `(lowercase name, raw value)`.
    attributes: Vec<(String, &'a str)>,
    /// Byte offset just past the `>`.
    end: usize,
}

impl Tag<'_> {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(key, _)| key == name).map(|(_, value)| *value)
    }
}

/// Most attributes one tag keeps; a tag with more keeps its first ones (they are only read
/// for the few names above).
const MAX_TAG_ATTRIBUTES: usize = 64;

/// Reads the tag starting at `start` (a `<`); `None` when it is not a tag (`<` followed by a
/// space or a digit, `<!DOCTYPE`, `<?xml`): the scanner then moves on by one character.
fn read_tag(page: &str, start: usize) -> Option<Tag<'_>> {
    let bytes = page.as_bytes();
    let mut at = start + 1;
    let closing = bytes.get(at) == Some(&b'/');
    if closing {
        at += 1;
    }
    let name_start = at;
    while bytes.get(at).is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b':') {
        at += 1;
    }
    if at == name_start || !bytes[name_start].is_ascii_alphabetic() {
        return None;
    }
    let name = page[name_start..at].to_ascii_lowercase();
    let mut attributes = Vec::new();
    loop {
        while bytes.get(at).is_some_and(|b| b.is_ascii_whitespace() || *b == b'/') {
            at += 1;
        }
        match bytes.get(at) {
            None => return Some(Tag { name, closing, attributes, end: page.len() }),
            Some(b'>') => return Some(Tag { name, closing, attributes, end: at + 1 }),
            Some(_) => {}
        }
        let key_start = at;
        while bytes.get(at).is_some_and(|b| !b.is_ascii_whitespace() && !matches!(b, b'=' | b'>' | b'/')) {
            at += 1;
        }
        let key = page[key_start..at].to_ascii_lowercase();
        while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
            at += 1;
        }
        let mut value = "";
        if bytes.get(at) == Some(&b'=') {
            at += 1;
            while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
                at += 1;
            }
            match bytes.get(at) {
                Some(&quote @ (b'"' | b'\'')) => {
                    let value_start = at + 1;
                    let value_end =
                        bytes[value_start..].iter().position(|b| *b == quote).map_or(page.len(), |i| value_start + i);
                    value = &page[value_start..value_end];
                    at = (value_end + 1).min(page.len());
                }
                _ => {
                    let value_start = at;
                    while bytes.get(at).is_some_and(|b| !b.is_ascii_whitespace() && *b != b'>') {
                        at += 1;
                    }
                    value = &page[value_start..at];
                }
            }
        }
        if key.is_empty() {
            at += 1;
            continue;
        }
        if attributes.len() < MAX_TAG_ATTRIBUTES {
            attributes.push((key, value));
        }
    }
}

/// The first position at or after `from` where `needle` (ASCII, lowercase) occurs, ignoring
/// ASCII case.
fn find_ignore_case(haystack: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    let first = needle.first()?;
    let mut at = from;
    while at + needle.len() <= haystack.len() {
        let offset = haystack[at..].iter().position(|b| b.to_ascii_lowercase() == *first)?;
        let candidate = at + offset;
        if candidate + needle.len() > haystack.len() {
            return None;
        }
        if haystack[candidate..candidate + needle.len()].eq_ignore_ascii_case(needle) {
            return Some(candidate);
        }
        at = candidate + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_finds_json_ld_blocks_title_and_urls() {
        let page = r#"<!DOCTYPE html>
<HTML lang="de-DE"><head>
<title>  Br&uuml;che &amp; Dezimalzahlen </title>
<!-- <script type="application/ld+json">{"commented": "out"}</script> -->
<link rel="stylesheet" href="/s.css"><LINK REL="Canonical" HREF="https://oer.example.org/a?x=1&amp;y=2">
<meta property="og:url" content='https://oer.example.org/og'>
<script type="text/javascript">var x = "<script type='application/ld+json'>";</script>
<script type="application/ld+json; charset=utf-8">
<!--
{"@context": "https://schema.org", "@type": "LearningResource", "name": "A</b>"}
-->
</script>
<SCRIPT TYPE=application/ld+json>[{"name": "B"}]</SCRIPT>
<script type="application/ld+json">
</head><body><p>no closing script</p>"#;
        let facts = scan(page);
        assert_eq!(facts.title.as_deref(), Some("Brüche & Dezimalzahlen"));
        assert_eq!(facts.canonical.as_deref(), Some("https://oer.example.org/a?x=1&y=2"));
        assert_eq!(facts.og_url.as_deref(), Some("https://oer.example.org/og"));
        assert_eq!(facts.lang.as_deref(), Some("de-DE"));
        let blocks: Vec<&str> = facts.json_ld.iter().map(|b| b.json).collect();
        assert_eq!(blocks.len(), 3, "{blocks:?}");
        assert!(blocks[0].starts_with('{') && blocks[0].contains("\"A</b>\""), "{}", blocks[0]);
        assert_eq!(blocks[1], r#"[{"name": "B"}]"#);
        assert!(blocks[2].starts_with("</head>"), "an unclosed script runs to the end");
        assert_eq!(facts.json_ld[0].line, 8);
    }

    #[test]
    fn test_odd_markup_does_not_confuse_the_scanner() {
        for page in ["<", "< p>", "<1>", "<a href=", "<a href='x", "<script", "<!--", "<title>x", "<<<>>>", "</>"] {
            let _ = scan(page);
        }
        assert!(looks_like_html(b"\xEF\xBB\xBF \n<!doctype html>"));
        assert!(!looks_like_html(b" {\"@graph\": []}"));
        let facts = scan("<p>a < b and c > d</p><script type=application/ld+json>{}</script>");
        assert_eq!(facts.json_ld.len(), 1);
    }

    #[test]
    fn test_scanning_is_linear_in_hostile_input() {
        // Many unclosed `<a` with long attribute lists and `<` everywhere: one pass each.
        let hostile = "<a b c d e f g h ".repeat(20_000) + &"<".repeat(100_000);
        let facts = scan(&hostile);
        assert!(facts.json_ld.is_empty());
    }
}
