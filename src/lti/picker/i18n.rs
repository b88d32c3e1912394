//! The picker's languages: one Fluent catalog per language (`locales/<tag>.ftl`), the choice of
//! one from the launch's `launch_presentation.locale`, then `Accept-Language`, then English.
//!
//! A message missing from a translation falls back to English, so a partial translation still
//! gives a working page; a unit test lists what each translation lacks.

use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use fluent_langneg::{accepted_languages, negotiate_languages, NegotiationStrategy};
use unic_langid::LanguageIdentifier;

/// Every catalog, English first (the reference and the fallback).
const CATALOGS: &[(&str, &str)] = &[("en", include_str!("locales/en.ftl")), ("es", include_str!("locales/es.ftl"))];

struct Catalog {
    tag: &'static str,
    id: LanguageIdentifier,
    bundle: FluentBundle<FluentResource>,
}

static LOADED: LazyLock<Vec<Catalog>> =
    LazyLock::new(|| CATALOGS.iter().filter_map(|(tag, text)| load(tag, text)).collect());

fn load(tag: &'static str, text: &str) -> Option<Catalog> {
    let id: LanguageIdentifier = tag.parse().ok()?;
    let resource = FluentResource::try_new(text.to_string()).unwrap_or_else(|(partial, errors)| {
        tracing::error!(
            language = tag,
            ?errors,
            "picker catalog has syntax errors; those messages fall back to English"
        );
        partial
    });
    let mut bundle = FluentBundle::new_concurrent(vec![id.clone()]);
    // Only left-to-right languages so far: no bidi isolation marks inside attributes and URLs.
    bundle.set_use_isolating(false);
    if let Err(errors) = bundle.add_resource(resource) {
        tracing::error!(language = tag, ?errors, "picker catalog has duplicate messages");
    }
    Some(Catalog { tag, id, bundle })
}

/// The language a page is shown in: an index into the loaded catalogs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Strings {
    index: usize,
}

impl Default for Strings {
    fn default() -> Self {
        Self::english()
    }
}

impl Strings {
    pub fn english() -> Self {
        Self { index: 0 }
    }

    /// Chooses from the LMS's locale (`es`, `es-MX`, Moodle's `es_mx`), else the browser's
    /// `Accept-Language`, else English.
    pub fn negotiate(launch_locale: Option<&str>, accept_language: Option<&str>) -> Self {
        let from_launch = launch_locale
            .map(|locale| locale.trim().replace('_', "-"))
            .and_then(|locale| locale.parse::<LanguageIdentifier>().ok())
            .map(|id| vec![id])
            .unwrap_or_default();
        let from_browser = accept_language.map(accepted_languages::parse).unwrap_or_default();
        let available: Vec<&LanguageIdentifier> = LOADED.iter().map(|c| &c.id).collect();
        for requested in [from_launch, from_browser] {
            let chosen = negotiate_languages(&requested, &available, None, NegotiationStrategy::Filtering);
            if let Some(first) = chosen.first() {
                if let Some(index) = LOADED.iter().position(|c| &c.id == **first) {
                    return Self { index };
                }
            }
        }
        Self::english()
    }

    /// The BCP 47 tag of the page (`<html lang>`).
    pub fn lang(&self) -> &'static str {
        LOADED.get(self.index).map(|c| c.tag).unwrap_or("en")
    }

    /// A message without arguments.
    pub fn get(&self, id: &str) -> String {
        self.format(id, None)
    }

    /// A message with one argument.
    pub fn with(&self, id: &str, name: &'static str, value: impl Into<FluentValue<'static>>) -> String {
        let mut args = FluentArgs::new();
        args.set(name, value.into());
        self.format(id, Some(&args))
    }

    /// A message with several arguments.
    pub fn args(&self, id: &str, values: &[(&'static str, FluentValue<'static>)]) -> String {
        let mut args = FluentArgs::new();
        for (name, value) in values {
            args.set(*name, value.clone());
        }
        self.format(id, Some(&args))
    }

    /// A message with a count (plural variants follow the language's rules).
    pub fn count(&self, id: &str, count: usize) -> String {
        self.with(id, "count", count)
    }

    /// Whether this language (or English, the fallback) has the message.
    pub fn has(&self, id: &str) -> bool {
        self.catalog().is_some_and(|c| c.bundle.has_message(id))
            || LOADED.first().is_some_and(|c| c.bundle.has_message(id))
    }

    fn catalog(&self) -> Option<&'static Catalog> {
        LOADED.get(self.index)
    }

    fn format(&self, id: &str, args: Option<&FluentArgs>) -> String {
        let catalogs = [self.catalog(), LOADED.first()];
        for catalog in catalogs.into_iter().flatten() {
            if let Some(pattern) = catalog.bundle.get_message(id).and_then(|m| m.value()) {
                let mut errors = Vec::new();
                let text = catalog.bundle.format_pattern(pattern, args, &mut errors);
                if !errors.is_empty() {
                    tracing::warn!(
                        message = id,
                        language = catalog.tag,
                        ?errors,
                        "picker message formatted with errors"
                    );
                }
                return text.into_owned();
            }
        }
        tracing::warn!(message = id, "picker message missing from every catalog");
        id.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message_ids(text: &str) -> Vec<String> {
        text.lines()
            .filter(|line| line.chars().next().is_some_and(|c| c.is_ascii_alphabetic()))
            .filter_map(|line| line.split_once(" =").map(|(id, _)| id.trim().to_string()))
            .collect()
    }

    /// Every `$variable` a catalog uses, so a new placeholder needs no edit here.
    fn variable_names(text: &str) -> Vec<String> {
        let mut names: Vec<String> = text
            .split('$')
            .skip(1)
            .map(|rest| rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect())
            .filter(|name: &String| !name.is_empty())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    #[test]
    fn test_every_catalog_parses_and_has_every_english_message() {
        for (tag, text) in CATALOGS {
            assert!(FluentResource::try_new(text.to_string()).is_ok(), "{tag}.ftl has syntax errors");
        }
        let english = message_ids(CATALOGS[0].1);
        assert!(english.len() > 100, "{} messages", english.len());
        for (tag, text) in &CATALOGS[1..] {
            let translated = message_ids(text);
            let missing: Vec<&String> = english.iter().filter(|id| !translated.contains(id)).collect();
            assert!(missing.is_empty(), "{tag}.ftl lacks {missing:?}");
        }
        for (index, catalog) in LOADED.iter().enumerate() {
            let strings = Strings { index };
            for id in &english {
                let mut args = FluentArgs::new();
                for name in variable_names(CATALOGS[0].1) {
                    args.set(name, FluentValue::from(2));
                }
                let pattern = catalog.bundle.get_message(id).and_then(|m| m.value()).unwrap();
                let mut errors = Vec::new();
                catalog.bundle.format_pattern(pattern, Some(&args), &mut errors);
                assert!(errors.is_empty(), "{}: {id}: {errors:?}", catalog.tag);
                assert!(strings.has(id));
            }
        }
    }

    #[test]
    fn test_language_is_chosen_from_the_launch_then_the_browser() {
        assert_eq!(Strings::negotiate(Some("es_MX"), Some("en-US,en;q=0.9")).lang(), "es");
        assert_eq!(Strings::negotiate(Some("en"), Some("es")).lang(), "en");
        assert_eq!(Strings::negotiate(None, Some("fr-CA,es;q=0.8,en;q=0.5")).lang(), "es");
        assert_eq!(Strings::negotiate(Some("fr"), Some("es-ES")).lang(), "es", "no French: the browser decides");
        assert_eq!(Strings::negotiate(Some("fr"), None).lang(), "en");
        assert_eq!(Strings::negotiate(Some("not a tag!"), None).lang(), "en");
        assert_eq!(Strings::negotiate(None, None).lang(), "en");
    }

    #[test]
    fn test_plurals_follow_each_language() {
        let en = Strings::english();
        let es = Strings::negotiate(Some("es"), None);
        assert_eq!(en.count("result-count", 0), "No resources found");
        assert_eq!(en.count("result-count", 1), "1 resource");
        assert_eq!(en.count("result-count", 128), "128 resources");
        assert_eq!(es.count("result-count", 1), "1 recurso");
        assert_eq!(es.count("selection-count", 3), "3 seleccionados");
        assert_eq!(es.get("no-such-message"), "no-such-message");
    }
}
