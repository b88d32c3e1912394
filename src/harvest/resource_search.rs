//! Harvesting an LTI Resource Search endpoint: `GET <url>/resources?limit=&offset=`, page by
//! page, following `Link: <…>; rel="next"` when the server sends it, else `X-Total-Count`,
//! else until an empty page. The pages together are the source's whole catalog (one commit).

use std::collections::HashSet;

use reqwest::header::HeaderMap;
use url::Url;

use super::{content_hash, HarvestContext, HarvestError, Harvested, HarvestedCatalog};
use crate::catalog::{Diagnostic, ParsedCatalog};
use crate::harvest::fetch::Fetched;
use crate::registry::HarvestCursor;
use crate::resource::IngestMode;

/// Resources asked per page (the RS maximum).
pub const PAGE_LIMIT: usize = 100;
/// Pages one harvest follows at most (a guard against endless paging).
const MAX_PAGES: usize = 10_000;

/// `<service base>/resources`.
pub fn resources_url(base: &str) -> String {
    format!("{}/resources", base.trim_end_matches('/'))
}

/// The `/resources` URL of one page, with any extra query parameters.
pub fn page_url(base: &str, limit: usize, offset: usize, extra: &[(&str, &str)]) -> String {
    let mut url = resources_url(base);
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("limit", &limit.to_string());
    query.append_pair("offset", &offset.to_string());
    for (name, value) in extra {
        query.append_pair(name, value);
    }
    url.push(if url.contains('?') { '&' } else { '?' });
    url.push_str(&query.finish());
    url
}

pub(super) async fn harvest(ctx: &mut HarvestContext<'_>) -> Result<Harvested, HarvestError> {
    let base = ctx.source.url.clone();
    let mut next = Some(page_url(&base, PAGE_LIMIT, 0, &[]));
    let mut merged = ParsedCatalog::default();
    let mut documents: Vec<Vec<u8>> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut offset = 0usize;
    while let Some(url) = next.take() {
        if documents.len() >= MAX_PAGES {
            return Err(HarvestError::Protocol(format!("more than {MAX_PAGES} pages; the harvest stopped")));
        }
        let body = match ctx.get(&url, "application/json", None).await? {
            Fetched::Body(body) => body,
            Fetched::NotModified => {
                return Err(HarvestError::Protocol(format!("{url} answered 304 to a request without validators")))
            }
        };
        let page_number = documents.len() + 1;
        let parsed = ctx.parse(&body.body, format!("page {page_number} (offset {offset})")).await?;
        let received = parsed.resources.len() + parsed.rejected;
        let new_ids = parsed.resources.iter().filter(|r| seen.insert(r.local_id.clone())).count();
        offset += received;
        let link_next = next_link(&body.headers, &body.url);
        let total = total_count(&body.headers);
        merge_into(&mut merged, parsed);
        documents.push(body.body);
        if received > 0 && new_ids == 0 {
            ctx.diagnostics.push(Diagnostic::warning(
                None,
                format!("page {page_number} repeated resources already received (does the server honour offset?); paging stopped there"),
            ));
            break;
        }
        next = match (link_next, total) {
            (Some(link), _) => Some(link),
            (None, _) if received == 0 => None,
            (None, Some(total)) => (offset < total).then(|| page_url(&base, PAGE_LIMIT, offset, &[])),
            (None, None) => Some(page_url(&base, PAGE_LIMIT, offset, &[])),
        };
    }
    let cursor = HarvestCursor {
        content_hash: Some(content_hash(documents.iter().map(Vec::as_slice))),
        ..HarvestCursor::default()
    };
    if cursor.content_hash == ctx.source.cursor.content_hash {
        return Ok(Harvested::Unchanged { cursor });
    }
    Ok(Harvested::Catalog(HarvestedCatalog {
        parsed: merged,
        mode: IngestMode::Replace,
        documents,
        cursor,
        pages: None,
    }))
}

pub(super) fn merge_into(target: &mut ParsedCatalog, parsed: ParsedCatalog) {
    target.merge(parsed);
}

/// `X-Total-Count`, when the server sends it.
fn total_count(headers: &HeaderMap) -> Option<usize> {
    headers.get("x-total-count")?.to_str().ok()?.trim().parse().ok()
}

/// The `rel="next"` target of a `Link` header, resolved against the page's URL.
pub fn next_link(headers: &HeaderMap, page: &Url) -> Option<String> {
    for value in headers.get_all(reqwest::header::LINK) {
        let Ok(text) = value.to_str() else { continue };
        for link in text.split(',') {
            let mut parts = link.split(';');
            let Some(target) = parts.next().map(str::trim) else {
                continue;
            };
            let Some(target) = target.strip_prefix('<').and_then(|t| t.strip_suffix('>')) else {
                continue;
            };
            let is_next = parts.any(|param| {
                let Some((name, value)) = param.split_once('=') else {
                    return false;
                };
                name.trim().eq_ignore_ascii_case("rel")
                    && value
                        .trim()
                        .trim_matches('"')
                        .split_ascii_whitespace()
                        .any(|rel| rel.eq_ignore_ascii_case("next"))
            });
            if is_next {
                return page.join(target).ok().map(String::from);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_page_urls_and_next_links() {
        assert_eq!(
            page_url("https://x.example.com/ims/rs/v1p0/", 100, 25, &[("filter", "search~'a b'")]),
            "https://x.example.com/ims/rs/v1p0/resources?limit=100&offset=25&filter=search%7E%27a+b%27"
        );
        let page = Url::parse("https://x.example.com/ims/rs/v1p0/resources?limit=25&offset=0").unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::LINK,
            "<https://x.example.com/ims/rs/v1p0/resources?limit=25&offset=25>; rel=\"next\", <resources?limit=25&offset=25>; rel=\"last\""
                .parse()
                .unwrap(),
        );
        assert_eq!(
            next_link(&headers, &page).as_deref(),
            Some("https://x.example.com/ims/rs/v1p0/resources?limit=25&offset=25")
        );
        headers.insert(reqwest::header::LINK, "<resources?offset=50>; rel=\"prev next\"".parse().unwrap());
        assert_eq!(
            next_link(&headers, &page).as_deref(),
            Some("https://x.example.com/ims/rs/v1p0/resources?offset=50")
        );
        headers.insert(reqwest::header::LINK, "<a>; rel=\"last\"".parse().unwrap());
        assert_eq!(next_link(&headers, &page), None);
        headers.insert("x-total-count", " 48 ".parse().unwrap());
        assert_eq!(total_count(&headers), Some(48));
    }
}
