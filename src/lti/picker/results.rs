//! The results column: the count, what the first screen started from, the filters in use as
//! removable chips, the result cards and the buttons for more.

use maud::{html, Markup};

use super::i18n::Strings;
use super::icons;
use super::labels;
use super::params::{field, sort_param, PAGE_SIZE};
use super::preview;
use super::view::{PickerPage, ResultCard};
use crate::search::Sort;

/// The part of the page the script swaps after a search (`#results-region`).
pub fn region(page: &PickerPage, strings: &Strings) -> Markup {
    let first = page.offset + 1;
    let last = page.offset + page.results.len();
    html! {
        div #results-region {
            div.results-head {
                h2 #result-count tabindex="-1" { (strings.count("result-count", page.total)) }
                div.sort {
                    label for="sort" { (strings.get("sort")) }
                    select #sort name=(field::SORT) {
                        @for (sort, id) in [(Sort::Relevance, "sort-relevance"), (Sort::Newest, "sort-newest"), (Sort::Title, "sort-title")] {
                            option value=(sort_param(sort)) selected[page.params.chosen_sort() == sort] { (strings.get(id)) }
                        }
                    }
                }
                @if page.offset > 0 && !page.results.is_empty() {
                    p.result-range {
                        (strings.args("result-range", &[("from", first.into()), ("to", last.into()), ("total", page.total.into())]))
                    }
                }
            }
            (started_note(page, strings))
            (chips(page, strings))
            @if let Some(notice) = page.notice {
                p.notice role="alert" { (strings.get(notice)) }
            }
            @if let Some(preview) = &page.preview {
                (preview::panel(preview, strings, false))
            }
            @if page.results.is_empty() {
                div.empty {
                    p { (strings.get("no-results-help")) }
                    @if page.params.num_filters() > 0 {
                        button.secondary type="submit" name=(field::CLEAR) value="1" { (strings.get("clear-filters")) }
                    }
                }
            }
            ol #result-list .cards start=(first) {
                @for (index, card) in page.results.iter().enumerate() {
                    (result_card(card, page.offset + index, page.multiple, strings))
                }
            }
            div #paging .paging {
                @if page.params.page > 0 {
                    button.secondary type="submit" name=(field::PAGE) value=(page.params.page - 1) data-paging="previous" {
                        (strings.get("previous-results"))
                    }
                }
                @if page.has_more() && (page.params.page + 1) * PAGE_SIZE <= crate::search::service::MAX_OFFSET {
                    button.secondary type="submit" name=(field::PAGE) value=(page.params.page + 1) data-paging="more" {
                        (strings.get("more-results"))
                    }
                }
            }
        }
    }
}

/// One result: a tick box labelled by the title, the picture, what it is, and its details.
pub fn result_card(card: &ResultCard, position: usize, multiple: bool, strings: &Strings) -> Markup {
    let pick = format!("pick-{position}");
    let meta = format!("meta-{position}");
    html! {
        li.card data-id=(card.id) {
            div.card-pick {
                input #(pick) type=(if multiple { "checkbox" } else { "radio" }) name=(field::RESOURCE) value=(card.id)
                    checked[card.selected] aria-describedby=(meta) data-title=(card.title);
            }
            (thumbnail(card.kind, card.thumbnail_url.as_deref(), "thumb"))
            div.card-body {
                h3.card-title { label for=(pick) { (card.title) } }
                p.card-meta #(meta) {
                    span.publisher { (card.publisher) }
                    span.facts-line {
                        span { (labels::kind(strings, card.kind)) }
                        @if let Some(grades) = card.grades { span { (labels::grades_short(strings, grades)) } }
                        @if let Some(license) = card.license.as_deref().and_then(labels::license_short) { span.license { (license) } }
                    }
                }
                @if let Some(description) = &card.description { p.card-desc { (description) } }
                @if !card.standards.is_empty() {
                    ul.codes aria-label=(strings.get("standards")) {
                        @for code in &card.standards { li { (code) } }
                    }
                }
            }
            button.details type="submit" name=(field::PREVIEW) value=(card.id)
                aria-label=(strings.with("details-of", "title", card.title.clone())) {
                (strings.get("details"))
            }
        }
    }
}

/// The picture of a resource over its placeholder: the kind's icon on a tinted tile, which
/// shows whenever there is no picture or the picture does not load (the script marks failed
/// ones; without script an image with empty `alt` that fails draws nothing over the tile).
pub fn thumbnail(kind: crate::resource::ResourceKind, url: Option<&str>, class: &str) -> Markup {
    html! {
        div class=(class) data-kind=(kind.as_str()) aria-hidden="true" {
            span.thumb-placeholder { (icons::kind(kind)) }
            @if let Some(url) = url {
                img.thumb-img src=(url) alt="" loading="lazy" decoding="async" referrerpolicy="no-referrer";
            }
        }
    }
}

/// What the first screen started from, with the way back to everything.
fn started_note(page: &PickerPage, strings: &Strings) -> Markup {
    let Some(start) = &page.started_from else { return html! {} };
    let from_request = start.query.is_some() && page.requested_text.as_deref() == start.query.as_deref();
    html! {
        p.started {
            @if from_request {
                (strings.with("started-from-request", "text", page.requested_text.clone().unwrap_or_default()))
            } @else if let Some(course) = &page.course {
                (strings.with("started-from-course", "course", course.clone()))
            }
            " "
            button.link type="submit" name=(field::CLEAR) value="all" { (strings.get("show-everything")) }
        }
    }
}

/// The filters in use, each a button that removes it (Algolia's "current refinements").
fn chips(page: &PickerPage, strings: &Strings) -> Markup {
    let params = &page.params;
    let mut chips: Vec<(String, String)> = Vec::new();
    if let Some(range) = params.grade_range() {
        chips.push(("grade=".to_string(), labels::grades(strings, range)));
    }
    for kind in &params.kinds {
        chips.push((format!("{}={}", field::KIND, kind.as_str()), labels::kind(strings, *kind)));
    }
    let label_of = |options: &[super::view::FacetOption], value: &str| {
        options.iter().find(|o| o.value == value).map(|o| o.label.clone()).unwrap_or_else(|| value.to_string())
    };
    for code in &params.standards {
        chips.push((format!("{}={code}", field::STANDARD), code.clone()));
    }
    for subject in &params.subjects {
        chips.push((format!("{}={subject}", field::SUBJECT), subject.clone()));
    }
    for publisher in &params.publishers {
        chips.push((format!("{}={publisher}", field::PUBLISHER), label_of(&page.facets.publishers, publisher)));
    }
    for language in &params.languages {
        chips.push((format!("{}={language}", field::LANGUAGE), labels::language(strings, language)));
    }
    for license in &params.licenses {
        chips.push((format!("{}={license}", field::LICENSE), labels::license_option(strings, license)));
    }
    if params.free_only {
        chips.push((format!("{}=1", field::FREE), strings.get("free-only")));
    }
    if chips.is_empty() {
        return html! {};
    }
    html! {
        ul.chips aria-label=(strings.get("active-filters")) {
            @for (value, label) in &chips {
                li {
                    button.chip type="submit" name=(field::DROP) value=(value)
                        aria-label=(strings.with("remove-filter", "label", label.clone())) {
                        (label) " " (icons::close())
                    }
                }
            }
            @if chips.len() > 1 {
                li { button.link type="submit" name=(field::CLEAR) value="1" { (strings.get("clear-filters")) } }
            }
        }
    }
}
