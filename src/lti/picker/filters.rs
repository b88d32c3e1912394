//! The filter panel: sort, the grade range, kinds, standards searchable by code, subjects,
//! publishers, languages and licences, each value with its count under the other filters.
//!
//! It is a `<details>`: a sidebar beside the results on a wide screen, a panel over them on
//! a narrow one, so it never pushes the results off the first screen.

use maud::{html, Markup};

use super::i18n::Strings;
use super::icons;
use super::labels;
use super::params::field;
use super::view::{FacetOption, PickerPage};
use crate::resource::{GradeRange, ResourceKind};

/// The panel (`#filters`); its body (`#filters-body`) is what the script swaps.
pub fn panel(page: &PickerPage, strings: &Strings) -> Markup {
    let active = page.params.num_filters();
    html! {
        aside.filters-aside aria-label=(strings.get("filters")) {
            details #filters .filters {
                summary.filters-toggle {
                    (icons::filter())
                    span { (strings.get("filters")) }
                    span #filters-badge .badge hidden[active == 0] { (active) }
                    @if active > 0 { span.visually-hidden { ", " (strings.count("filters-count", active)) } }
                }
                (body(page, strings))
            }
        }
    }
}

pub fn body(page: &PickerPage, strings: &Strings) -> Markup {
    let params = &page.params;
    let facets = &page.facets;
    html! {
        div #filters-body .filters-body {
            fieldset.group.grade-range {
                legend { (strings.get("grade")) }
                div.range {
                    (grade_select(field::GRADE_MIN, "grade-from", params.grade_min, &facets.grade_counts, strings))
                    (grade_select(field::GRADE_MAX, "grade-to", params.grade_max, &facets.grade_counts, strings))
                }
            }
            @if facets.kinds.iter().filter(|k| k.count > 0 || k.selected).count() > 1 {
                (kind_group(&facets.kinds, strings))
            }
            (standards_group(page, strings))
            (group(field::SUBJECT, &strings.get("subject"), &facets.subjects, strings))
            (group(field::PUBLISHER, &strings.get("publisher"), &facets.publishers, strings))
            (group(field::LANGUAGE, &strings.get("language"), &facets.languages, strings))
            fieldset.group {
                legend { (strings.get("license")) }
                (options(field::LICENSE, &facets.licenses, strings))
                div.option.free {
                    input #f-free type="checkbox" name=(field::FREE) value="1" checked[params.free_only];
                    label for="f-free" { (strings.get("free-only")) }
                }
            }
            div.filter-actions {
                button.secondary.apply type="submit" { (strings.get("apply-filters")) }
                @if params.num_filters() > 0 {
                    button.link type="submit" name=(field::CLEAR) value="1" { (strings.get("clear-filters")) }
                }
                button.primary.done type="button" data-action="close-filters" hidden { (strings.get("done-filters")) }
            }
        }
    }
}

fn grade_select(name: &str, label_id: &str, chosen: Option<i8>, counts: &[(i8, u64)], strings: &Strings) -> Markup {
    let id = format!("f-{name}");
    html! {
        div.field {
            label for=(id) { (strings.get(label_id)) }
            select #(id) name=(name) {
                option value="" selected[chosen.is_none()] { (strings.get("grade-any")) }
                @for level in GradeRange::PRE_K..=GradeRange::HIGHER_EDUCATION {
                    @let count = counts.iter().find(|(g, _)| *g == level).map(|(_, c)| *c);
                    option value=(level) selected[chosen == Some(level)] {
                        (labels::grade(strings, level))
                        @if let Some(count) = count { " (" (count) ")" }
                    }
                }
            }
        }
    }
}

fn kind_group(kinds: &[FacetOption], strings: &Strings) -> Markup {
    html! {
        fieldset.group {
            legend { (strings.get("kind")) }
            @for option in kinds.iter().filter(|k| k.count > 0 || k.selected) {
                @let id = option_id(field::KIND, &option.value);
                div.option {
                    input #(id) type="checkbox" name=(field::KIND) value=(option.value) checked[option.selected];
                    label for=(id) {
                        @if let Some(kind) = ResourceKind::from_str_opt(&option.value) { (icons::kind(kind)) }
                        span.option-label { (option.label) }
                        (count(option.count, strings))
                    }
                }
            }
        }
    }
}

fn standards_group(page: &PickerPage, strings: &Strings) -> Markup {
    let params = &page.params;
    let standards = &page.facets.standards;
    html! {
        fieldset.group.standards {
            legend { (strings.get("standards")) }
            label.small for="f-standard-q" { (strings.get("standards-search")) }
            div.inline-search {
                input #f-standard-q type="search" name=(field::STANDARD_QUERY) value=(params.standard_query)
                    placeholder=(strings.get("standards-placeholder")) autocomplete="off" spellcheck="false";
                button.secondary.find type="submit" { (strings.get("standards-find")) }
            }
            @if standards.iter().all(|o| o.selected) && !params.standard_query.is_empty() {
                p.small { (strings.with("standards-none", "text", params.standard_query.clone())) }
            }
            (options(field::STANDARD, standards, strings))
        }
    }
}

fn group(name: &str, legend: &str, values: &[FacetOption], strings: &Strings) -> Markup {
    if values.is_empty() {
        return html! {};
    }
    html! {
        fieldset.group {
            legend { (legend) }
            (options(name, values, strings))
        }
    }
}

fn options(name: &str, values: &[FacetOption], strings: &Strings) -> Markup {
    html! {
        @for option in values {
            @let id = option_id(name, &option.value);
            div.option {
                input #(id) type="checkbox" name=(name) value=(option.value) checked[option.selected];
                label for=(id) {
                    span.option-label { (option.label) }
                    (count(option.count, strings))
                }
            }
        }
    }
}

fn count(count: u64, strings: &Strings) -> Markup {
    html! {
        span.count aria-hidden="true" { (count) }
        span.visually-hidden { " (" (strings.with("facet-count", "count", count)) ")" }
    }
}

/// An element id for a filter value that stays the same from one page to the next, so focus
/// can be kept on it when the script swaps the panel.
fn option_id(name: &str, value: &str) -> String {
    // FNV-1a: stable across processes and releases (unlike the std hasher).
    let mut hash: u32 = 0x811c_9dc5;
    for byte in value.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    let slug: String =
        value.chars().filter(|c| c.is_ascii_alphanumeric()).take(24).collect::<String>().to_ascii_lowercase();
    format!("f-{name}-{slug}-{hash:08x}")
}
