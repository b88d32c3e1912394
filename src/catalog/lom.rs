//! IEEE LOM, as Common Cartridge manifests and OAI-PMH `lom` records carry it.
//!
//! Both formats use the same element names in different namespaces (`imsccv1p3/LOM/manifest`,
//! `.../LOM/resource`, `.../LOM/imscclti`, plain `http://ltsc.ieee.org/xsd/LOM`), so this reads
//! by local name. [`Lom::read`] gathers the raw facts; the methods turn them into the domain
//! model's vocabulary, so the cartridge and OAI parsers agree on what a LOM value means.

use crate::resource::{Alignment, GradeRange};

use super::text::{html_to_text, normalize_whitespace};
use super::vocab;
use super::xml::Element;

/// How a `classification` of purpose `discipline` becomes subjects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectRule {
    /// Every taxon entry of every path (Common Cartridge: each taxon is a subject).
    AllTaxa,
    /// The first taxon of each classification (OAI LOM: later taxa are sub-disciplines).
    FirstTaxon,
}

/// One `taxon`: `id` and the first `entry` string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Taxon {
    pub id: Option<String>,
    pub entry: Option<String>,
}

/// One `taxonPath`: its `source` string and its taxa in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaxonPath {
    pub source: Option<String>,
    pub taxa: Vec<Taxon>,
}

/// One `classification`: its purpose value (lowercase) and paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Classification {
    pub purpose: Option<String>,
    pub paths: Vec<TaxonPath>,
}

/// The LOM facts the gateway uses, as written (whitespace-normalised).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lom {
    /// `general/title`, first `string`.
    pub title: Option<String>,
    /// `general/description`, first `string`, markup untouched.
    pub description: Option<String>,
    pub keywords: Vec<String>,
    /// `general/language` values.
    pub languages: Vec<String>,
    /// `technical/location` values.
    pub locations: Vec<String>,
    /// `educational/learningResourceType` values.
    pub resource_types: Vec<String>,
    /// `educational/intendedEndUserRole` values.
    pub roles: Vec<String>,
    /// `educational/context` values.
    pub contexts: Vec<String>,
    /// `educational/typicalAgeRange` strings.
    pub age_ranges: Vec<String>,
    /// `rights/cost` value.
    pub cost: Option<String>,
    /// `rights/description`, first `string`.
    pub rights: Option<String>,
    pub classifications: Vec<Classification>,
}

/// Roles meaning "for teachers" in the CC role vocabulary (Instructor) and LOM (teacher).
const TEACHER_ROLES: [&str; 2] = ["instructor", "teacher"];
/// Roles meaning "for students".
const LEARNER_ROLES: [&str; 2] = ["learner", "student"];
/// LOM `context` values too broad to narrow a grade range ("school" spans K-12).
const GENERIC_CONTEXTS: [&str; 3] = ["school", "training", "other"];

impl Lom {
    /// Reads a `<lom>` element (any namespace).
    pub fn read(lom: &Element) -> Self {
        let general = lom.find_all(&["general"]);
        let educational = lom.find_all(&["educational"]);
        let from_general = |name: &str| -> Vec<&Element> { general.iter().flat_map(|g| g.children(name)).collect() };
        let from_educational =
            |name: &str| -> Vec<&Element> { educational.iter().flat_map(|e| e.children(name)).collect() };
        Self {
            title: from_general("title").into_iter().find_map(lang_string),
            description: from_general("description").into_iter().find_map(lang_string_raw),
            keywords: from_general("keyword").into_iter().filter_map(lang_string).collect(),
            languages: from_general("language").into_iter().filter_map(plain_text).collect(),
            locations: lom.find_all(&["technical", "location"]).into_iter().filter_map(plain_text).collect(),
            resource_types: from_educational("learningResourceType").into_iter().filter_map(vocabulary_value).collect(),
            roles: from_educational("intendedEndUserRole").into_iter().filter_map(vocabulary_value).collect(),
            contexts: from_educational("context").into_iter().filter_map(vocabulary_value).collect(),
            age_ranges: from_educational("typicalAgeRange").into_iter().filter_map(lang_string).collect(),
            cost: lom.find(&["rights", "cost"]).and_then(vocabulary_value),
            rights: lom.find(&["rights", "description"]).and_then(lang_string),
            classifications: lom.children("classification").map(read_classification).collect(),
        }
    }

    /// Fills every empty field from `other` (a LOM lower in precedence).
    pub fn fill_from(&mut self, other: &Lom) {
        fn fill<T: Clone>(mine: &mut Vec<T>, theirs: &[T]) {
            if mine.is_empty() {
                mine.extend_from_slice(theirs);
            }
        }
        if self.title.is_none() {
            self.title.clone_from(&other.title);
        }
        if self.description.is_none() {
            self.description.clone_from(&other.description);
        }
        if self.cost.is_none() {
            self.cost.clone_from(&other.cost);
        }
        if self.rights.is_none() {
            self.rights.clone_from(&other.rights);
        }
        fill(&mut self.keywords, &other.keywords);
        fill(&mut self.languages, &other.languages);
        fill(&mut self.locations, &other.locations);
        fill(&mut self.resource_types, &other.resource_types);
        fill(&mut self.roles, &other.roles);
        fill(&mut self.contexts, &other.contexts);
        fill(&mut self.age_ranges, &other.age_ranges);
        fill(&mut self.classifications, &other.classifications);
    }

    /// The description as plain text.
    pub fn description_text(&self) -> Option<String> {
        self.description.as_deref().map(html_to_text).filter(|text| !text.is_empty())
    }

    /// Normalised BCP 47 tags, deduplicated.
    pub fn languages(&self) -> Vec<String> {
        dedupe(self.languages.iter().filter_map(|raw| vocab::language(raw)))
    }

    /// Keywords, deduplicated in order.
    pub fn keywords(&self) -> Vec<String> {
        dedupe(self.keywords.iter().cloned())
    }

    /// Normalised resource types and the raw values.
    pub fn resource_types(&self) -> (Vec<String>, Vec<String>) {
        let normalised = dedupe(self.resource_types.iter().filter_map(|raw| vocab::resource_type(raw)));
        (normalised, dedupe(self.resource_types.iter().cloned()))
    }

    /// Meant for teachers only: a teacher role is named and no learner role is.
    pub fn teacher_only(&self) -> bool {
        let has = |roles: &[&str]| self.roles.iter().any(|role| roles.contains(&role.to_ascii_lowercase().as_str()));
        has(&TEACHER_ROLES) && !has(&LEARNER_ROLES)
    }

    /// Grades from `typicalAgeRange` and from a specific `context` ("higher education"),
    /// joined when both are given. Generic contexts ("school") do not widen the range.
    pub fn grades(&self) -> Option<GradeRange> {
        let from_ages = self.age_ranges.iter().filter_map(|raw| vocab::grades_from_age_range(raw));
        let from_contexts = self
            .contexts
            .iter()
            .filter(|c| !GENERIC_CONTEXTS.contains(&c.to_ascii_lowercase().as_str()))
            .filter_map(|raw| vocab::grades_from_level(raw));
        from_ages.chain(from_contexts).reduce(GradeRange::union)
    }

    /// `rights/cost`: "no" means free.
    pub fn free(&self) -> Option<bool> {
        match self.cost.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("no") => Some(true),
            Some("yes") => Some(false),
            _ => None,
        }
    }

    /// The licence statement as sent and its canonical form.
    pub fn license(&self) -> (Option<String>, Option<String>) {
        let canonical = self.rights.as_deref().and_then(vocab::license);
        (self.rights.clone(), canonical)
    }

    /// Subjects from classifications whose purpose is `discipline` (or unstated).
    pub fn subjects(&self, rule: SubjectRule) -> Vec<String> {
        let disciplines =
            self.classifications.iter().filter(|c| c.purpose.as_deref().is_none_or(|p| p == "discipline"));
        let entries: Vec<String> = match rule {
            SubjectRule::AllTaxa => disciplines
                .flat_map(|c| c.paths.iter().flat_map(|p| p.taxa.iter()))
                .filter_map(|t| t.entry.clone())
                .collect(),
            SubjectRule::FirstTaxon => disciplines
                .filter_map(|c| c.paths.iter().flat_map(|p| p.taxa.iter()).find_map(|t| t.entry.clone()))
                .collect(),
        };
        dedupe(entries)
    }

    /// Standards from classifications of purpose `educational objective`: taxon id = GUID,
    /// entry = code, path source = framework.
    pub fn alignments(&self) -> Vec<Alignment> {
        self.classifications
            .iter()
            .filter(|c| c.purpose.as_deref() == Some("educational objective"))
            .flat_map(|c| c.paths.iter())
            .flat_map(|path| {
                path.taxa.iter().map(|taxon| Alignment {
                    framework: path.source.clone(),
                    code: taxon.entry.clone(),
                    guid: taxon.id.as_deref().map(str::to_ascii_lowercase),
                    ..Alignment::default()
                })
            })
            .filter(|a| a.code.is_some() || a.guid.is_some())
            .collect()
    }
}

fn read_classification(classification: &Element) -> Classification {
    Classification {
        purpose: classification.child("purpose").and_then(vocabulary_value).map(|p| p.to_ascii_lowercase()),
        paths: classification
            .children("taxonPath")
            .map(|path| TaxonPath {
                source: path.child("source").and_then(lang_string),
                taxa: path
                    .children("taxon")
                    .map(|taxon| Taxon {
                        id: taxon.child("id").and_then(plain_text),
                        entry: taxon.child("entry").and_then(lang_string),
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// The first `string` of a LOM LangString, whitespace-normalised (or the element's own text).
pub fn lang_string(element: &Element) -> Option<String> {
    lang_string_raw(element).map(|raw| normalize_whitespace(&raw)).filter(|s| !s.is_empty())
}

/// The first `string` of a LangString, trimmed only (descriptions keep their line breaks).
fn lang_string_raw(element: &Element) -> Option<String> {
    match element.child("string") {
        Some(_) => element.children("string").find_map(Element::text_trimmed),
        None => element.text_trimmed(),
    }
}

/// A vocabulary element's `value` (or its own text when written without source/value).
pub fn vocabulary_value(element: &Element) -> Option<String> {
    match element.child("value") {
        Some(value) => plain_text(value),
        None => plain_text(element),
    }
}

fn plain_text(element: &Element) -> Option<String> {
    let text = normalize_whitespace(&element.text());
    (!text.is_empty()).then_some(text)
}

/// Removes repeats, keeping the first occurrence's position.
pub fn dedupe<T: PartialEq>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::xml;

    const LOM: &str = r#"<lom xmlns="http://ltsc.ieee.org/xsd/LOM">
      <general>
        <title><string language="fr">Titre  français</string><string language="en">English</string></title>
        <language>en</language><language>fr</language>
        <description><string>&lt;p&gt;Hello &amp;amp; bye&lt;/p&gt;</string></description>
        <keyword><string>a</string></keyword><keyword><string>b</string></keyword><keyword><string>a</string></keyword>
      </general>
      <technical><location>https://x.example/1</location><location>https://x.example/2</location></technical>
      <educational>
        <learningResourceType><source>LOMv1.0</source><value>narrative text</value></learningResourceType>
        <intendedEndUserRole><source>LOMv1.0</source><value>teacher</value></intendedEndUserRole>
        <context><source>LOMv1.0</source><value>higher education</value></context>
        <typicalAgeRange><string>18-</string></typicalAgeRange>
      </educational>
      <rights><cost><value>yes</value></cost><description><string>https://creativecommons.org/licenses/by/4.0/</string></description></rights>
      <classification><purpose><value>discipline</value></purpose>
        <taxonPath><source><string>T</string></source>
          <taxon><id>SS</id><entry><string>Social Studies</string></entry></taxon>
          <taxon><id>SS.UH</id><entry><string>U.S. History</string></entry></taxon>
        </taxonPath></classification>
      <classification><purpose><value>educational objective</value></purpose>
        <taxonPath><source><string>C3 Framework</string></source>
          <taxon><id>36EE564A-E398-5978-A545-403E293656D8</id><entry><string>D2.His.1.6-8</string></entry></taxon>
        </taxonPath></classification>
    </lom>"#;

    fn lom() -> Lom {
        Lom::read(&xml::parse(LOM.as_bytes()).unwrap())
    }

    #[test]
    fn test_reads_general_fields() {
        let lom = lom();
        assert_eq!(lom.title.as_deref(), Some("Titre français"));
        assert_eq!(lom.keywords(), ["a", "b"]);
        assert_eq!(lom.languages.len(), 2);
        assert_eq!(lom.locations.first().map(String::as_str), Some("https://x.example/1"));
        assert_eq!(lom.description_text().as_deref(), Some("Hello & bye"));
    }

    #[test]
    fn test_educational_rights_and_classification() {
        let lom = lom();
        assert!(lom.teacher_only());
        assert_eq!(lom.grades(), Some(GradeRange::single(13)));
        assert_eq!(lom.free(), Some(false));
        assert_eq!(lom.license().0.as_deref(), Some("https://creativecommons.org/licenses/by/4.0/"));
        assert_eq!(lom.resource_types().1, ["narrative text"]);
        assert_eq!(lom.subjects(SubjectRule::FirstTaxon), ["Social Studies"]);
        assert_eq!(lom.subjects(SubjectRule::AllTaxa), ["Social Studies", "U.S. History"]);
        let alignments = lom.alignments();
        assert_eq!(alignments.len(), 1);
        assert_eq!(alignments[0].guid.as_deref(), Some("36ee564a-e398-5978-a545-403e293656d8"));
        assert_eq!(alignments[0].code.as_deref(), Some("D2.His.1.6-8"));
        assert_eq!(alignments[0].framework.as_deref(), Some("C3 Framework"));
    }

    #[test]
    fn test_school_context_does_not_widen_age_range() {
        let doc = "<lom><educational><context><value>school</value></context>\
                   <typicalAgeRange><string>8-9</string></typicalAgeRange></educational></lom>";
        let lom = Lom::read(&xml::parse(doc.as_bytes()).unwrap());
        assert_eq!(lom.grades(), Some(GradeRange::new(3, 4)));
    }

    #[test]
    fn test_learner_and_teacher_is_not_teacher_only() {
        let doc = "<lom><educational><intendedEndUserRole><value>Learner</value></intendedEndUserRole>\
                   <intendedEndUserRole><value>Instructor</value></intendedEndUserRole></educational></lom>";
        assert!(!Lom::read(&xml::parse(doc.as_bytes()).unwrap()).teacher_only());
    }

    #[test]
    fn test_fill_from_keeps_own_values() {
        let mut item = Lom { languages: vec!["es".into()], ..Lom::default() };
        item.fill_from(&lom());
        assert_eq!(item.languages, ["es"]);
        assert_eq!(item.title.as_deref(), Some("Titre français"));
    }
}
