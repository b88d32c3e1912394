//! Small inline icons (24 px grid, drawn with the text colour): a resource's kind on its
//! placeholder picture and in the filters. Decorative: the kind is always also written.

use maud::{html, Markup, PreEscaped};

use crate::resource::ResourceKind;

fn svg(paths: &str) -> Markup {
    html! {
        svg class="icon" viewBox="0 0 24 24" width="24" height="24" aria-hidden="true" focusable="false"
            fill="none" stroke="currentColor" stroke-width="1.75" stroke-linecap="round" stroke-linejoin="round" {
            (PreEscaped(paths))
        }
    }
}

pub fn kind(kind: ResourceKind) -> Markup {
    svg(match kind {
        ResourceKind::LtiResourceLink => {
            r#"<rect x="3" y="4" width="18" height="14" rx="2"/><path d="M10 8.5l5 2.5-5 2.5z"/><path d="M8 21h8"/>"#
        }
        ResourceKind::Link => {
            r#"<circle cx="12" cy="12" r="9"/><path d="M3 12h18M12 3c2.5 2.6 3.8 5.6 3.8 9s-1.3 6.4-3.8 9c-2.5-2.6-3.8-5.6-3.8-9S9.5 5.6 12 3z"/>"#
        }
        ResourceKind::File => r#"<path d="M6 3h8l4 4v14H6z"/><path d="M14 3v4h4M9 12h6M9 16h6"/>"#,
        ResourceKind::Html => r#"<rect x="3" y="4" width="18" height="16" rx="2"/><path d="M3 9h18M7 13h6M7 16h9"/>"#,
        ResourceKind::Image => {
            r#"<rect x="3" y="4" width="18" height="16" rx="2"/><circle cx="9" cy="10" r="2"/><path d="M21 17l-5-5-9 8"/>"#
        }
    })
}

pub fn filter() -> Markup {
    svg(r#"<path d="M4 6h16M7 12h10M10 18h4"/>"#)
}

pub fn search() -> Markup {
    svg(r#"<circle cx="11" cy="11" r="6.5"/><path d="M16 16l4.5 4.5"/>"#)
}

pub fn close() -> Markup {
    svg(r#"<path d="M6 6l12 12M18 6L6 18"/>"#)
}

pub fn external() -> Markup {
    svg(r#"<path d="M14 4h6v6M20 4l-9 9M18 14v5a1 1 0 0 1-1 1H5a1 1 0 0 1-1-1V7a1 1 0 0 1 1-1h5"/>"#)
}

pub fn tray() -> Markup {
    svg(r#"<path d="M4 7h16M4 12h16M4 17h10"/>"#)
}
