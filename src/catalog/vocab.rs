//! Vocabulary normalisation shared by every format: grades, languages, licences, resource types.
//!
//! (Initial version: helper B replaces the bodies, keeping these signatures.)

use crate::resource::GradeRange;

/// A grade range from an age range ("8-9", "18-", "11-14"): grade = age - 5.
pub fn grades_from_age_range(raw: &str) -> Option<GradeRange> {
    let raw = raw.trim();
    let (lo, hi) = match raw.split_once('-') {
        Some((lo, hi)) => (lo.trim(), hi.trim()),
        None => (raw, raw),
    };
    let lo: i32 = lo.parse().ok()?;
    let hi: i32 = if hi.is_empty() { lo } else { hi.parse().ok()? };
    let to_grade = |age: i32| (age - 5).clamp(-1, 13) as i8;
    Some(GradeRange::new(to_grade(lo), to_grade(hi)))
}

/// A grade range from a level label: "Grade 3", "K", "Pre-K", "High School", "Higher
/// Education", ASN education level URIs, LOM `context` values.
pub fn grades_from_level(raw: &str) -> Option<GradeRange> {
    let lower = raw.trim().to_ascii_lowercase();
    match lower.as_str() {
        "k" | "kindergarten" => Some(GradeRange::single(0)),
        "pre-k" | "prek" | "pk" | "pre-kindergarten" => Some(GradeRange::single(-1)),
        "higher education" | "higher_education" => Some(GradeRange::single(13)),
        _ => lower
            .trim_start_matches("grade")
            .trim()
            .parse::<i8>()
            .ok()
            .map(GradeRange::single),
    }
}

/// A BCP 47 tag with a lowercase language subtag ("en-US" stays "en-US", "EN" → "en",
/// "Spanish" → "es"); `None` when the value names no language.
pub fn language(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    Some(raw.to_ascii_lowercase())
}

/// A canonical licence: a Creative Commons URL in `https://creativecommons.org/.../` form,
/// an SPDX id, or the URL found in the statement. `None` when nothing is recognised.
pub fn license(raw: &str) -> Option<String> {
    let raw = raw.trim();
    raw.split_whitespace()
        .find(|w| w.starts_with("http://") || w.starts_with("https://"))
        .map(|w| w.to_string())
}

/// One vocabulary of resource types for every format (RS enum, LRMI free text and URIs, LOM
/// learningResourceType, DC type): e.g. "Media/Video" and "video" both become `video`.
pub fn resource_type(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    Some(raw.to_ascii_lowercase())
}
