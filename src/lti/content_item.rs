//! LTI Deep Linking 2.0 content items made from resources.
//!
//! The same JSON objects go into a signed `LtiDeepLinkingResponse` and out through GraphQL
//! `contentItems`, so an LMS plugin and the picker insert identical links.

use serde_json::{json, Map, Value};

use crate::resource::{ResourceKind, ResourceRecord};

/// The custom parameter that carries the gateway's resource id through the LMS and back.
pub const RESOURCE_ID_PARAM: &str = "gateway_resource_id";

/// The item type a resource kind becomes (contract table).
pub fn item_type(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::LtiResourceLink => "ltiResourceLink",
        ResourceKind::Link => "link",
        ResourceKind::File => "file",
        ResourceKind::Image => "image",
        ResourceKind::Html => "html",
    }
}

/// Builds the content item of a resource. `launch_url` is the gateway's own LTI launch
/// endpoint: LTI tools are always reached through it.
pub fn content_item(record: &ResourceRecord, launch_url: &str) -> Value {
    let resource = &record.resource;
    let id = record.id().to_string();
    let mut item = Map::new();
    item.insert("type".into(), json!(item_type(resource.kind)));
    item.insert("title".into(), json!(resource.title));
    if let Some(text) = &resource.description {
        item.insert("text".into(), json!(truncate(text, 1000)));
    }
    if let Some(thumbnail) = &resource.thumbnail_url {
        item.insert("thumbnail".into(), json!({ "url": thumbnail }));
    }
    match resource.kind {
        ResourceKind::LtiResourceLink => {
            item.insert("url".into(), json!(launch_url));
            let mut custom = Map::new();
            if let Some(lti) = &resource.lti {
                for (name, value) in &lti.custom {
                    custom.insert(name.clone(), json!(value));
                }
                if let Some(icon) = &lti.icon_url {
                    item.insert("icon".into(), json!({ "url": icon }));
                }
                if let Some(line_item) = &lti.line_item {
                    let mut line = Map::new();
                    line.insert("scoreMaximum".into(), json!(line_item.score_maximum));
                    line.insert(
                        "label".into(),
                        json!(line_item.label.clone().unwrap_or_else(|| resource.title.clone())),
                    );
                    line.insert("resourceId".into(), json!(id));
                    if let Some(tag) = &line_item.tag {
                        line.insert("tag".into(), json!(tag));
                    }
                    item.insert("lineItem".into(), Value::Object(line));
                }
            }
            custom.insert(RESOURCE_ID_PARAM.into(), json!(id));
            item.insert("custom".into(), Value::Object(custom));
        }
        ResourceKind::Link | ResourceKind::File | ResourceKind::Image => {
            item.insert("url".into(), json!(resource.url));
            if let (ResourceKind::File, Some(media_type)) = (resource.kind, &resource.media_type) {
                item.insert("mediaType".into(), json!(media_type));
            }
        }
        ResourceKind::Html => {
            item.insert("html".into(), json!(html_fragment(&resource.url, &resource.title)));
        }
    }
    Value::Object(item)
}

/// An HTML item is a fragment the LMS embeds: a link to the page the gateway serves.
fn html_fragment(url: &str, title: &str) -> String {
    format!("<a href=\"{}\" target=\"_blank\" rel=\"noopener\">{}</a>", escape(url), escape(title))
}

fn escape(raw: &str) -> String {
    raw.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max_chars - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::{CatalogFormat, LineItem, LtiLink, PublisherId, Resource};

    fn record(kind: ResourceKind) -> ResourceRecord {
        let mut resource = Resource::new("R-1", "Fractions <intro>", "https://tool.example.com/launch", kind);
        if kind == ResourceKind::LtiResourceLink {
            let mut lti = LtiLink { launch_url: resource.url.clone(), ..Default::default() };
            lti.custom.insert("activity_id".into(), "42".into());
            lti.custom.insert("context".into(), "$Context.id".into());
            lti.line_item = Some(LineItem { score_maximum: 10.0, ..LineItem::default() });
            resource.lti = Some(lti);
        }
        ResourceRecord {
            publisher: PublisherId::parse("mathwise").unwrap(),
            source_id: "push".into(),
            format: CatalogFormat::CommonCartridge,
            resource,
        }
    }

    #[test]
    fn test_lti_item_goes_through_the_gateway_with_custom_and_line_item() {
        let item = content_item(&record(ResourceKind::LtiResourceLink), "https://gw.example.org/lti/launch");
        assert_eq!(item["type"], "ltiResourceLink");
        assert_eq!(item["url"], "https://gw.example.org/lti/launch");
        assert_eq!(item["custom"]["activity_id"], "42");
        assert_eq!(item["custom"]["context"], "$Context.id");
        assert_eq!(item["custom"][RESOURCE_ID_PARAM], "mathwise:R-1");
        assert_eq!(item["lineItem"]["scoreMaximum"], 10.0);
        assert_eq!(item["lineItem"]["resourceId"], "mathwise:R-1");
    }

    #[test]
    fn test_web_items_keep_their_url_and_html_is_escaped() {
        let link = content_item(&record(ResourceKind::Link), "x");
        assert_eq!(link["type"], "link");
        assert_eq!(link["url"], "https://tool.example.com/launch");
        let html = content_item(&record(ResourceKind::Html), "x");
        assert_eq!(html["type"], "html");
        assert!(html["html"].as_str().unwrap().contains("Fractions &lt;intro&gt;"));
        assert!(html.get("url").is_none());
    }
}
