//! Concept schemes publishers name by URI, mapped to the gateway's vocabulary.
//!
//! Open-education catalogs (OERSI, WirLernenOnline, repositories harvested over OAI-PMH) name
//! resource types, educational levels and subjects with SKOS concepts of a few shared schemes
//! rather than with text. The tables below map the concepts of those schemes:
//!
//! - resource types: KIM Hochschulcampus Ressourcentypen (`https://w3id.org/kim/hcrt/…`), COAR
//!   resource types (`http://purl.org/coar/resource_type/c_…`) and the `info:eu-repo/semantics/…`
//!   types of the OpenAIRE guidelines;
//! - educational levels: KIM Bildungsstufen (`https://w3id.org/kim/educationalLevel/level_…`),
//!   the OpenEduHub educational contexts and ISCED 2011 / 1997 levels;
//! - subjects: the Destatis classification of study subjects as KIM publishes it
//!   (`https://w3id.org/kim/hochschulfaechersystematik/n…`: subject groups, areas and
//!   subjects) and the KIM school subjects (`http://w3id.org/kim/schulfaecher/s…`).
//!
//! The mappings and the English and German subject names are the gateway's own; the scheme
//! URIs and codes are the schemes' public identifiers.

use crate::resource::GradeRange;

/// The part of a URI after one of `bases` (either scheme, with or without `www.`), without
/// query, fragment or trailing slash.
fn code_after<'a>(uri: &'a str, bases: &[&str]) -> Option<&'a str> {
    let trimmed = uri.trim();
    let without_scheme =
        trimmed.strip_prefix("https://").or_else(|| trimmed.strip_prefix("http://")).unwrap_or(trimmed);
    let without_www = without_scheme.strip_prefix("www.").unwrap_or(without_scheme);
    let code = bases.iter().find_map(|base| without_www.strip_prefix(base))?;
    let code = code.split(['?', '#']).next().unwrap_or(code).trim_end_matches('/');
    (!code.is_empty() && !code.contains('/')).then_some(code)
}

// ---------------------------------------------------------------------------------------------
// Resource types
// ---------------------------------------------------------------------------------------------

/// KIM HCRT concept → gateway resource type.
const HCRT: &[(&str, &str)] = &[
    ("application", "software"),
    ("assessment", "assessment"),
    ("audio", "audio"),
    ("case_study", "case-study"),
    ("course", "course"),
    ("data", "dataset"),
    ("diagram", "image"),
    ("drill_and_practice", "exercise"),
    ("educational_game", "game"),
    ("experiment", "experiment"),
    ("image", "image"),
    ("index", "reference"),
    ("lesson_plan", "lesson-plan"),
    ("map", "map"),
    ("portal", "website"),
    ("questionnaire", "assessment"),
    ("script", "text"),
    ("sheet_music", "sheet-music"),
    ("simulation", "simulation"),
    ("slide", "presentation"),
    ("text", "text"),
    ("textbook", "textbook"),
    ("video", "video"),
    ("web_page", "website"),
    ("worksheet", "worksheet"),
    ("other", "other"),
];

/// COAR resource type concept (`c_…`) → gateway resource type.
const COAR: &[(&str, &str)] = &[
    ("c_6501", "article"),
    ("c_2df8fbb1", "article"),
    ("c_dcae04bc", "article"),
    ("c_545b", "article"),
    ("c_b239", "article"),
    ("c_beb9", "article"),
    ("c_3e5a", "article"),
    ("c_ba08", "article"),
    ("c_efa0", "article"),
    ("c_816b", "article"),
    ("c_6947", "article"),
    ("c_5794", "article"),
    ("c_18cp", "article"),
    ("c_c94f", "article"),
    ("c_f744", "book"),
    ("c_2f33", "book"),
    ("c_3248", "chapter"),
    ("c_86bc", "reference"),
    ("c_8042", "report"),
    ("c_93fc", "report"),
    ("c_18gh", "report"),
    ("c_18ws", "report"),
    ("c_18hj", "report"),
    ("c_18op", "report"),
    ("c_186u", "report"),
    ("c_18wq", "report"),
    ("c_18wz", "report"),
    ("c_18ww", "report"),
    ("c_ba1f", "report"),
    ("c_baaf", "report"),
    ("c_71bd", "document"),
    ("c_15cd", "document"),
    ("c_0857", "document"),
    ("c_1162", "document"),
    ("c_6670", "presentation"),
    ("c_18co", "presentation"),
    ("c_7a1f", "thesis"),
    ("c_bdcc", "thesis"),
    ("c_db06", "thesis"),
    ("c_46ec", "thesis"),
    ("c_8544", "lecture"),
    ("c_18cf", "text"),
    ("c_18cw", "sheet-music"),
    ("c_18cd", "sheet-music"),
    ("c_18cc", "audio"),
    ("c_12ce", "video"),
    ("c_8a7e", "video"),
    ("c_ecc8", "image"),
    ("c_c513", "image"),
    ("c_12cd", "map"),
    ("c_12cc", "map"),
    ("c_5ce6", "software"),
    ("c_c950", "software"),
    ("c_ddb1", "dataset"),
    ("c_e9a0", "interactive"),
    ("c_7ad9", "website"),
    ("c_393c", "other"),
    ("c_1843", "other"),
];

/// `info:eu-repo/semantics/<term>` publication types → gateway resource type. The same
/// namespace also names versions and access rights, which are no types (see [`eu_repo_type`]).
const EU_REPO_TYPES: &[(&str, &str)] = &[
    ("article", "article"),
    ("bachelorthesis", "thesis"),
    ("masterthesis", "thesis"),
    ("doctoralthesis", "thesis"),
    ("book", "book"),
    ("bookpart", "chapter"),
    ("review", "article"),
    ("conferenceobject", "article"),
    ("conferencepaper", "article"),
    ("conferenceposter", "presentation"),
    ("conferenceproceedings", "book"),
    ("lecture", "lecture"),
    ("workingpaper", "report"),
    ("preprint", "article"),
    ("report", "report"),
    ("researchproposal", "report"),
    ("technicaldocumentation", "document"),
    ("annotation", "document"),
    ("contributiontoperiodical", "article"),
    ("patent", "document"),
    ("dataset", "dataset"),
    ("other", "other"),
];

/// `info:eu-repo/semantics/` terms that are versions or access rights, not types.
const EU_REPO_NOT_TYPES: &[&str] = &[
    "draft",
    "submittedversion",
    "acceptedversion",
    "publishedversion",
    "updatedversion",
    "openaccess",
    "embargoedaccess",
    "restrictedaccess",
    "closedaccess",
];

/// What an `info:eu-repo/semantics/…` value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EuRepoTerm {
    /// A publication type, with the gateway's resource type.
    Type(&'static str),
    /// A version or access right (not a type); `Some(free)` for access rights.
    NotAType { free: Option<bool> },
}

/// Reads an `info:eu-repo/semantics/<term>` value (case-insensitive term).
pub fn eu_repo_term(raw: &str) -> Option<EuRepoTerm> {
    let term = raw.trim().strip_prefix("info:eu-repo/semantics/")?.trim_end_matches('/').to_ascii_lowercase();
    if let Some((_, canonical)) = EU_REPO_TYPES.iter().find(|(name, _)| *name == term) {
        return Some(EuRepoTerm::Type(canonical));
    }
    if EU_REPO_NOT_TYPES.contains(&term.as_str()) {
        let free = match term.as_str() {
            "openaccess" => Some(true),
            "closedaccess" | "restrictedaccess" | "embargoedaccess" => Some(false),
            _ => None,
        };
        return Some(EuRepoTerm::NotAType { free });
    }
    None
}

/// The gateway resource type of a concept of a known resource-type scheme (HCRT, COAR,
/// `info:eu-repo`), `None` for other values.
pub fn resource_type(uri: &str) -> Option<&'static str> {
    if let Some(code) = code_after(uri, &["w3id.org/kim/hcrt/"]) {
        return HCRT.iter().find(|(name, _)| *name == code).map(|(_, canonical)| *canonical);
    }
    if let Some(code) = code_after(uri, &["purl.org/coar/resource_type/"]) {
        let code = code.to_ascii_lowercase();
        return COAR.iter().find(|(name, _)| *name == code).map(|(_, canonical)| *canonical);
    }
    match eu_repo_term(uri) {
        Some(EuRepoTerm::Type(canonical)) => Some(canonical),
        _ => None,
    }
}

/// Whether a value names a concept of a resource-type scheme the gateway knows, including
/// the `info:eu-repo` versions that are not types (so callers do not slug them).
pub fn is_known_type_scheme(uri: &str) -> bool {
    code_after(uri, &["w3id.org/kim/hcrt/", "purl.org/coar/resource_type/"]).is_some() || eu_repo_term(uri).is_some()
}

// ---------------------------------------------------------------------------------------------
// Educational levels
// ---------------------------------------------------------------------------------------------

/// Grades of a KIM Bildungsstufe (the German school system: primary is grades 1-4, lower
/// secondary 5-10, upper secondary 11-12; university, vocational and further education are
/// higher education).
fn kim_level(code: &str) -> Option<GradeRange> {
    let code = code.strip_prefix("level_")?;
    let code = if code.len() > 1 { code.trim_start_matches('0') } else { code };
    let range = match code {
        "" | "0" => (GradeRange::PRE_K, 0),
        "1" => (1, 4),
        "2" => (5, 10),
        "3" => (11, 12),
        "4" | "5" | "6" | "7" | "8" | "A" | "B" | "C" => (GradeRange::HIGHER_EDUCATION, GradeRange::HIGHER_EDUCATION),
        _ => return None,
    };
    Some(GradeRange::new(range.0, range.1))
}

/// Grades of an OpenEduHub educational context.
fn openeduhub_context(code: &str) -> Option<GradeRange> {
    let (min, max) = match code {
        "elementarbereich" => (GradeRange::PRE_K, 0),
        "grundschule" => (1, 4),
        "sekundarstufe_1" => (5, 10),
        "sekundarstufe_2" => (11, 12),
        "hochschule" | "berufliche_bildung" | "fortbildung" | "erwachsenenbildung" => {
            (GradeRange::HIGHER_EDUCATION, GradeRange::HIGHER_EDUCATION)
        }
        _ => return None,
    };
    Some(GradeRange::new(min, max))
}

/// Grades of an ISCED level (the international programme levels: primary is grades 1-6,
/// lower secondary 7-9, upper secondary 10-12).
fn isced_level(code: &str, isced_1997: bool) -> Option<GradeRange> {
    let level: u8 = code.strip_prefix("level")?.trim_start_matches(['_', '-']).parse().ok()?;
    let (min, max) = match level {
        0 => (GradeRange::PRE_K, 0),
        1 => (1, 6),
        2 => (7, 9),
        3 => (10, 12),
        4..=8 if !isced_1997 || level <= 6 => (GradeRange::HIGHER_EDUCATION, GradeRange::HIGHER_EDUCATION),
        _ => return None,
    };
    Some(GradeRange::new(min, max))
}

/// The grade range of an educational-level concept of a known scheme.
pub fn grades(uri: &str) -> Option<GradeRange> {
    if let Some(code) = code_after(uri, &["w3id.org/kim/educationalLevel/"]) {
        return kim_level(code);
    }
    if let Some(code) = code_after(uri, &["w3id.org/openeduhub/vocabs/educationalContext/"]) {
        return openeduhub_context(code);
    }
    if let Some(code) = code_after(uri, &["w3id.org/kim/isced-2011/"]) {
        return isced_level(code, false);
    }
    if let Some(code) = code_after(uri, &["w3id.org/kim/isced-1997/"]) {
        return isced_level(code, true);
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Subjects
// ---------------------------------------------------------------------------------------------

/// A subject of a known scheme: the gateway's (English) name and its German name, for
/// resources in German whose catalog gave no label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subject {
    pub name: &'static str,
    pub name_de: &'static str,
}

const fn subject(name: &'static str, name_de: &'static str) -> Subject {
    Subject { name, name_de }
}

/// Destatis subject groups (one digit) and subject areas (two digits).
#[rustfmt::skip]
const DESTATIS_GROUPS_AND_AREAS: &[(&str, Subject)] = &[
    ("0", subject("Interdisciplinary Studies", "Fachübergreifend")),
    ("1", subject("Humanities", "Geisteswissenschaften")),
    ("2", subject("Physical Education", "Sport")),
    ("3", subject("Social Sciences", "Rechts-, Wirtschafts- und Sozialwissenschaften")),
    ("4", subject("Science", "Mathematik, Naturwissenschaften")),
    ("5", subject("Health", "Humanmedizin/Gesundheitswissenschaften")),
    ("7", subject("Agriculture", "Agrar-, Forst- und Ernährungswissenschaften, Veterinärmedizin")),
    ("8", subject("Engineering", "Ingenieurwissenschaften")),
    ("9", subject("Arts", "Kunst, Kunstwissenschaft")),
    ("01", subject("Humanities", "Geisteswissenschaften allgemein")),
    ("02", subject("Religion", "Evangelische Theologie")),
    ("03", subject("Religion", "Katholische Theologie")),
    ("04", subject("Philosophy", "Philosophie")),
    ("05", subject("History", "Geschichte")),
    ("06", subject("Library Science", "Informations- und Bibliothekswissenschaften")),
    ("07", subject("Linguistics", "Literatur- und Sprachwissenschaft")),
    ("08", subject("Classics", "Altphilologie")),
    ("09", subject("German", "Germanistik")),
    ("10", subject("English", "Anglistik, Amerikanistik")),
    ("11", subject("World Languages", "Romanistik")),
    ("12", subject("World Languages", "Slawistik, Baltistik, Finno-Ugristik")),
    ("13", subject("World Languages", "Sonstige Sprach- und Kulturwissenschaften")),
    ("14", subject("Cultural Studies", "Kulturwissenschaften")),
    ("18", subject("Religion", "Islamische Studien")),
    ("19", subject("Media Studies", "Medienwissenschaft")),
    ("22", subject("Physical Education", "Sport, Sportwissenschaft")),
    ("23", subject("Social Sciences", "Rechts-, Wirtschafts- und Sozialwissenschaften allgemein")),
    ("24", subject("Social Studies", "Regionalwissenschaften")),
    ("25", subject("Political Science", "Politikwissenschaft")),
    ("26", subject("Social Sciences", "Sozialwissenschaften")),
    ("27", subject("Social Work", "Sozialwesen")),
    ("28", subject("Law", "Rechtswissenschaften")),
    ("29", subject("Public Administration", "Verwaltungswissenschaften")),
    ("30", subject("Economics", "Wirtschaftswissenschaften")),
    ("31", subject("Business", "Wirtschaftsingenieurwesen")),
    ("32", subject("Psychology", "Psychologie")),
    ("33", subject("Education", "Erziehungswissenschaften")),
    ("34", subject("Communication", "Kommunikationswissenschaft/Publizistik")),
    ("35", subject("Physical Education", "Sport, Sportwissenschaft")),
    ("36", subject("Science", "Mathematik, Naturwissenschaften allgemein")),
    ("37", subject("Mathematics", "Mathematik")),
    ("39", subject("Physics", "Physik, Astronomie")),
    ("40", subject("Chemistry", "Chemie")),
    ("41", subject("Pharmacy", "Pharmazie")),
    ("42", subject("Biology", "Biologie")),
    ("43", subject("Earth Science", "Geowissenschaften")),
    ("44", subject("Geography", "Geographie")),
    ("48", subject("Health", "Gesundheitswissenschaften")),
    ("49", subject("Medicine", "Humanmedizin")),
    ("50", subject("Medicine", "Zahnmedizin")),
    ("51", subject("Veterinary Medicine", "Veterinärmedizin")),
    ("57", subject("Environmental Science", "Landespflege, Umweltgestaltung")),
    ("58", subject("Agriculture", "Agrarwissenschaften, Lebensmittel- und Getränketechnologie")),
    ("59", subject("Agriculture", "Forstwissenschaft, Holzwirtschaft")),
    ("60", subject("Nutrition", "Ernährungs- und Haushaltswissenschaften")),
    ("61", subject("Engineering", "Ingenieurwesen allgemein")),
    ("62", subject("Engineering", "Bergbau, Hüttenwesen")),
    ("63", subject("Engineering", "Maschinenbau/Verfahrenstechnik")),
    ("64", subject("Engineering", "Elektrotechnik und Informationstechnik")),
    ("65", subject("Engineering", "Verkehrstechnik, Nautik")),
    ("66", subject("Architecture", "Architektur, Innenarchitektur")),
    ("67", subject("Architecture", "Raumplanung")),
    ("68", subject("Engineering", "Bauingenieurwesen")),
    ("69", subject("Engineering", "Vermessungswesen")),
    ("70", subject("Business", "Wirtschaftsingenieurwesen")),
    ("71", subject("Computer Science", "Informatik")),
    ("72", subject("Engineering", "Materialwissenschaft und Werkstofftechnik")),
    ("74", subject("Arts", "Kunst, Kunstwissenschaft allgemein")),
    ("75", subject("Arts", "Bildende Kunst")),
    ("76", subject("Arts", "Gestaltung")),
    ("77", subject("Arts", "Darstellende Kunst, Film und Fernsehen, Theaterwissenschaft")),
    ("78", subject("Music", "Musik, Musikwissenschaft")),
    ("79", subject("Arts", "Kunstwissenschaft")),
    ("80", subject("Music", "Musikwissenschaft")),
];

/// Destatis study subjects (three or more digits) the gateway names, by number.
#[rustfmt::skip]
const DESTATIS_SUBJECTS: &[(u16, Subject)] = &[
    (8, subject("English", "Anglistik/Englisch")),
    (14, subject("Physics", "Astrophysik und Astronomie")),
    (21, subject("Business", "Betriebswirtschaftslehre")),
    (25, subject("Chemistry", "Biochemie")),
    (26, subject("Biology", "Biologie")),
    (29, subject("Physical Education", "Sportwissenschaft")),
    (32, subject("Chemistry", "Chemie")),
    (39, subject("Earth Science", "Geowissenschaften allgemein")),
    (50, subject("Geography", "Geographie/Erdkunde")),
    (52, subject("Education", "Erziehungswissenschaft (Pädagogik)")),
    (53, subject("Religion", "Evangelische Theologie")),
    (59, subject("French", "Französisch")),
    (65, subject("Earth Science", "Geologie/Paläontologie")),
    (67, subject("German", "Germanistik/Deutsch")),
    (68, subject("History", "Geschichte")),
    (70, subject("Ancient Greek", "Griechisch")),
    (79, subject("Computer Science", "Informatik")),
    (84, subject("Italian", "Italienisch")),
    (86, subject("Religion", "Katholische Theologie")),
    (91, subject("Arts", "Kunsterziehung")),
    (92, subject("Arts", "Kunstgeschichte, Kunstwissenschaft")),
    (95, subject("Latin", "Latein")),
    (98, subject("Physical Education", "Sportpädagogik/Sportpsychologie")),
    (105, subject("Mathematics", "Mathematik")),
    (107, subject("Medicine", "Medizin")),
    (110, subject("Earth Science", "Meteorologie")),
    (113, subject("Music", "Musikerziehung")),
    (114, subject("Music", "Musikwissenschaft/-geschichte")),
    (115, subject("Education", "Grundschul-/Primarstufenpädagogik")),
    (121, subject("Computer Science", "Medieninformatik")),
    (123, subject("Computer Science", "Technische Informatik")),
    (126, subject("Pharmacy", "Pharmazie")),
    (127, subject("Philosophy", "Philosophie")),
    (128, subject("Physics", "Physik")),
    (129, subject("Political Science", "Politikwissenschaft/Politologie")),
    (131, subject("Portuguese", "Portugiesisch")),
    (132, subject("Psychology", "Psychologie")),
    (135, subject("Law", "Rechtswissenschaft")),
    (136, subject("Religion", "Religionswissenschaft")),
    (139, subject("Russian", "Russisch")),
    (148, subject("Social Sciences", "Sozialwissenschaften")),
    (149, subject("Social Sciences", "Soziologie")),
    (150, subject("Spanish", "Spanisch")),
    (169, subject("Ethics", "Ethik")),
    (175, subject("Economics", "Volkswirtschaftslehre")),
    (190, subject("Education", "Sonderpädagogik")),
    (206, subject("Polish", "Polnisch")),
    (221, subject("Computer Science", "Bioinformatik")),
    (237, subject("Mathematics", "Mathematische Statistik/Wahrscheinlichkeitsrechnung")),
    (247, subject("Computer Science", "Medizinische Informatik")),
    (271, subject("German", "Deutsch als Fremdsprache oder Zweitsprache")),
    (276, subject("Mathematics", "Wirtschaftsmathematik")),
    (277, subject("Computer Science", "Wirtschaftsinformatik")),
    (292, subject("Religion", "Islamische Studien/Islamische Theologie")),
    (312, subject("Mathematics", "Statistik")),
    (361, subject("Education", "Schulpädagogik")),
    (365, subject("Education", "Pädagogik der frühen Kindheit")),
];

/// KIM school subjects.
#[rustfmt::skip]
const KIM_SCHOOL_SUBJECTS: &[(&str, Subject)] = &[
    ("s1000", subject("Ancient Greek", "Alt-Griechisch")),
    ("s1001", subject("Biology", "Biologie")),
    ("s1002", subject("Chemistry", "Chemie")),
    ("s1003", subject("Chinese", "Chinesisch")),
    ("s1004", subject("Drama", "Darstellendes Spiel")),
    ("s1005", subject("German", "Deutsch")),
    ("s1006", subject("German as a Second Language", "Deutsch als Zweitsprache")),
    ("s1007", subject("English", "Englisch")),
    ("s1008", subject("Ethics", "Ethik")),
    ("s1009", subject("French", "Französisch")),
    ("s1010", subject("Geography", "Geografie")),
    ("s1011", subject("History", "Geschichte")),
    ("s1012", subject("Health", "Gesundheit")),
    ("s1013", subject("Computer Science", "Informatik")),
    ("s1014", subject("Italian", "Italienisch")),
    ("s1015", subject("Arts", "Kunst")),
    ("s1016", subject("Latin", "Latein")),
    ("s1017", subject("Mathematics", "Mathematik")),
    ("s1019", subject("STEM", "MINT")),
    ("s1020", subject("Music", "Musik")),
    ("s1021", subject("Philosophy", "Philosophie")),
    ("s1022", subject("Physics", "Physik")),
    ("s1023", subject("Civics", "Politik")),
    ("s1024", subject("Religion", "Religionslehre (evangelische)")),
    ("s1025", subject("Religion", "Religionslehre (islamisch)")),
    ("s1026", subject("Religion", "Religionslehre (jüdisch)")),
    ("s1027", subject("Russian", "Russisch")),
    ("s1028", subject("General Studies", "Sachunterricht")),
    ("s1029", subject("Health", "Sexualerziehung")),
    ("s1030", subject("Spanish", "Spanisch")),
    ("s1031", subject("Physical Education", "Sport")),
    ("s1032", subject("Turkish", "Türkisch")),
    ("s1033", subject("Economics", "Wirtschaftskunde")),
    ("s1034", subject("Hebrew", "Hebräisch")),
    ("s1035", subject("Japanese", "Japanisch")),
    ("s1036", subject("Modern Greek", "Neugriechisch")),
    ("s1037", subject("Polish", "Polnisch")),
    ("s1038", subject("Portuguese", "Portugiesisch")),
    ("s1039", subject("Sorbian", "Sorbisch")),
    ("s1040", subject("Astronomy", "Astronomie")),
    ("s1041", subject("German Sign Language", "Deutsche Gebärdensprache")),
    ("s1042", subject("Social Studies", "Gesellschaftswissenschaften")),
    ("s1043", subject("Psychology", "Psychologie")),
    ("s1044", subject("Nutrition", "Ernährung")),
    ("s1045", subject("Education", "Erziehungswissenschaften")),
    ("s1046", subject("Media Literacy", "Medienbildung")),
    ("s1047", subject("Home Economics", "Hauswirtschaft")),
    ("s1048", subject("Career Education", "Arbeitslehre")),
    ("s1049", subject("Career Education", "Berufs- und Studienorientierung")),
    ("s1050", subject("World Languages", "Fremdsprachen")),
    ("s1051", subject("World Languages", "Herkunftssprachen")),
    ("s1052", subject("Science", "Naturwissenschaften")),
    ("s1053", subject("Low German", "Niederdeutsch")),
    ("s1054", subject("Law", "Recht")),
    ("s1055", subject("Religion", "Religion")),
    ("s1056", subject("Religion", "Religionslehre (alevitisch)")),
    ("s1057", subject("Religion", "Religionslehre (katholische)")),
    ("s1058", subject("Social Studies", "Sozialkunde")),
    ("s1059", subject("Technology", "Technik")),
    ("s1060", subject("Arts", "Textiles Gestalten")),
    ("s1061", subject("Arts", "Werken und Gestalten")),
];

/// The subject a concept of a known subject scheme names.
pub fn subject_of(uri: &str) -> Option<Subject> {
    if let Some(code) = code_after(uri, &["w3id.org/kim/hochschulfaechersystematik/"]) {
        let digits = code.strip_prefix('n')?;
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if digits.len() <= 2 {
            return DESTATIS_GROUPS_AND_AREAS.iter().find(|(key, _)| *key == digits).map(|(_, subject)| *subject);
        }
        let number: u16 = digits.parse().ok()?;
        return DESTATIS_SUBJECTS.iter().find(|(key, _)| *key == number).map(|(_, subject)| *subject);
    }
    if let Some(code) = code_after(uri, &["w3id.org/kim/schulfaecher/"]) {
        return KIM_SCHOOL_SUBJECTS.iter().find(|(key, _)| *key == code).map(|(_, subject)| *subject);
    }
    None
}

/// Whether the URI belongs to a subject scheme the gateway reads (known or not in its table).
pub fn is_subject_scheme(uri: &str) -> bool {
    code_after(uri, &["w3id.org/kim/hochschulfaechersystematik/", "w3id.org/kim/schulfaecher/"]).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_resource_type_schemes() {
        assert_eq!(resource_type("https://w3id.org/kim/hcrt/video"), Some("video"));
        assert_eq!(resource_type("http://w3id.org/kim/hcrt/drill_and_practice/"), Some("exercise"));
        assert_eq!(resource_type("https://w3id.org/kim/hcrt/index"), Some("reference"));
        assert_eq!(resource_type("https://w3id.org/kim/hcrt/unknown"), None);
        assert_eq!(resource_type("http://purl.org/coar/resource_type/c_6501"), Some("article"));
        assert_eq!(resource_type("https://purl.org/coar/resource_type/C_2F33"), Some("book"));
        assert_eq!(resource_type("http://purl.org/coar/resource_type/c_bdcc"), Some("thesis"));
        assert_eq!(resource_type("info:eu-repo/semantics/masterThesis"), Some("thesis"));
        assert_eq!(resource_type("info:eu-repo/semantics/bookPart"), Some("chapter"));
        assert_eq!(resource_type("info:eu-repo/semantics/publishedVersion"), None);
        assert!(is_known_type_scheme("info:eu-repo/semantics/publishedVersion"));
        assert_eq!(eu_repo_term("info:eu-repo/semantics/openAccess"), Some(EuRepoTerm::NotAType { free: Some(true) }));
        assert_eq!(
            eu_repo_term("info:eu-repo/semantics/embargoedAccess"),
            Some(EuRepoTerm::NotAType { free: Some(false) })
        );
        assert_eq!(resource_type("https://example.org/hcrt/video"), None);
    }

    #[test]
    fn test_educational_level_schemes() {
        let kim = "https://w3id.org/kim/educationalLevel/";
        assert_eq!(grades(&format!("{kim}level_0")), Some(GradeRange::new(-1, 0)));
        assert_eq!(grades(&format!("{kim}level_1")), Some(GradeRange::new(1, 4)));
        assert_eq!(grades(&format!("{kim}level_2")), Some(GradeRange::new(5, 10)));
        assert_eq!(grades(&format!("{kim}level_3")), Some(GradeRange::new(11, 12)));
        for higher in ["level_A", "level_6", "level_06", "level_7", "level_8", "level_B", "level_C", "level_4"] {
            assert_eq!(grades(&format!("{kim}{higher}")), Some(GradeRange::single(13)), "{higher}");
        }
        assert_eq!(grades(&format!("{kim}level_Z")), None);
        assert_eq!(
            grades("http://w3id.org/openeduhub/vocabs/educationalContext/grundschule"),
            Some(GradeRange::new(1, 4))
        );
        assert_eq!(grades("https://w3id.org/kim/isced-2011/level2"), Some(GradeRange::new(7, 9)));
        assert_eq!(grades("https://w3id.org/kim/isced-1997/level6"), Some(GradeRange::single(13)));
        assert_eq!(grades("https://w3id.org/kim/isced-1997/level8"), None);
    }

    #[test]
    fn test_subject_schemes() {
        let hfs = "https://w3id.org/kim/hochschulfaechersystematik/";
        assert_eq!(subject_of(&format!("{hfs}n105")).map(|s| s.name), Some("Mathematics"));
        assert_eq!(subject_of(&format!("{hfs}n0128")).map(|s| s.name), Some("Physics"));
        assert_eq!(subject_of(&format!("{hfs}n079")).map(|s| s.name_de), Some("Informatik"));
        assert_eq!(subject_of(&format!("{hfs}n71")).map(|s| s.name), Some("Computer Science"));
        assert_eq!(subject_of(&format!("{hfs}n4")).map(|s| s.name), Some("Science"));
        assert_eq!(subject_of(&format!("{hfs}n999")), None);
        assert!(is_subject_scheme(&format!("{hfs}n999")));
        assert_eq!(subject_of("http://w3id.org/kim/schulfaecher/s1017").map(|s| s.name), Some("Mathematics"));
        assert_eq!(subject_of("https://w3id.org/kim/schulfaecher/s1009").map(|s| s.name_de), Some("Französisch"));
        assert_eq!(subject_of("https://example.org/subjects/math"), None);
    }
}
