//! Vocabulary normalisation shared by every format: grades, languages, licences, resource types.
//!
//! Every catalog format names the same things differently ("Grade 3", an ASN URI, an age range
//! "8-9"; "Media/Video", "MovingImage", an LRMI vocabulary URI). The index, the facets and the
//! filters need one spelling, so every parser funnels its values through these functions. They
//! never fail loudly: a value that names nothing known gives `None` (or, for resource types, a
//! slug of the raw value) and the parser keeps the raw value where the model has room for it.

use crate::resource::GradeRange;

// ---------------------------------------------------------------------------------------------
// Grades
// ---------------------------------------------------------------------------------------------

/// The youngest age the scale maps to a grade: age 5 is kindergarten (grade 0).
const AGE_OF_KINDERGARTEN: i32 = 5;

/// A grade range from an age range, as LOM and LRMI feeds write it in any language: "8-9",
/// "8 – 9", "8 to 9", "ages 8-9", "8-9 years", "18-", "16+", "8 and up", "ab 10 Jahren",
/// "8 bis 10 Jahre", "de 8 à 10 ans", "de 6 a 8 años", "under 5", "up to 10", "6-18 months",
/// "P8Y", "adults". Grade = age - 5, clamped to the scale (PK = -1 .. higher education = 13).
///
/// An open upper end ("18-", "16+", "8 and up") is the single grade of its lower end: the
/// resource is pitched at that age. "Under 5" is ages up to 4. Text that is not an age range
/// ("teen", "8-x", "-5", "300") gives `None`.
pub fn grades_from_age_range(raw: &str) -> Option<GradeRange> {
    let reading = read_age_range(raw)?;
    let (low, high) = match (reading.numbers.as_slice(), reading.bound) {
        ([], _) if reading.adults => return Some(GradeRange::single(GradeRange::HIGHER_EDUCATION)),
        ([age], Bound::Below) => (0, age.saturating_sub(1)),
        ([age], Bound::UpTo) => (0, *age),
        ([age], _) => (*age, *age),
        ([low, high], _) => (*low, *high),
        _ => return None,
    };
    let to_years = |age: i32| if reading.months { age / 12 } else { age };
    Some(GradeRange::new(age_to_grade(to_years(low)), age_to_grade(to_years(high))))
}

/// How a lone age is bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    Exact,
    /// "8+", "ab 8", "8 and up", "18-".
    AtLeast,
    /// "under 5", "younger than 5": below the age.
    Below,
    /// "up to 10", "bis 10": up to and including the age.
    UpTo,
}

/// The ages and qualifiers of an age-range text.
struct AgeReading {
    numbers: Vec<i32>,
    bound: Bound,
    months: bool,
    adults: bool,
}

/// Words of age ranges that carry no number: units, connectives, decorations, in English,
/// German, French and Spanish. Anything else makes the text not an age range.
const AGE_FILLER_WORDS: &[&str] = &[
    "ages",
    "age",
    "aged",
    "years",
    "year",
    "yrs",
    "yr",
    "y",
    "yo",
    "old",
    "and",
    "or",
    "to",
    "from",
    "through",
    "thru",
    "between",
    "than",
    "ca",
    "approx",
    "approximately",
    "about",
    "alter",
    "alters",
    "jahre",
    "jahren",
    "jahr",
    "j",
    "und",
    "von",
    "zwischen",
    "etwa",
    "ans",
    "an",
    "de",
    "à",
    "a",
    "et",
    "entre",
    "años",
    "anos",
    "año",
    "y",
    "desde",
    "entre",
    "e",
    "anni",
    "da",
];
const AGE_MONTH_WORDS: &[&str] =
    &["months", "month", "mos", "mo", "m", "monate", "monaten", "monat", "mois", "meses", "mes"];
const AGE_AT_LEAST_WORDS: &[&str] = &[
    "up",
    "older",
    "over",
    "above",
    "plus",
    "ab",
    "älter",
    "aelter",
    "über",
    "mindestens",
    "dès",
    "des",
    "partir",
    "más",
    "mas",
    "oltre",
];
const AGE_BELOW_WORDS: &[&str] = &["under", "below", "younger", "unter", "jünger", "moins"];
const AGE_UP_TO_WORDS: &[&str] = &["until", "till", "bis", "hasta", "jusqu", "jusqu'à"];
const AGE_ADULT_WORDS: &[&str] = &["adult", "adults", "erwachsene", "adultes", "adultos"];

fn read_age_range(raw: &str) -> Option<AgeReading> {
    let lower = raw.trim().to_lowercase();
    if lower.is_empty() {
        return None;
    }
    let mut reading = AgeReading { numbers: Vec::new(), bound: Bound::Exact, months: false, adults: false };
    // "up to" is the one two-word marker whose first word ("up") also means "and up".
    let lower = lower.replace("up to", " until ");
    let mut dash_before_first_number = false;
    let mut trailing_dash = false;
    let mut rest = lower.as_str();
    while let Some(ch) = rest.chars().next() {
        if ch.is_ascii_digit() {
            let end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
            reading.numbers.push(parse_age(&rest[..end])?);
            trailing_dash = false;
            rest = &rest[end..];
            // "18m", "8y", "8j": a unit glued to the number.
            continue;
        }
        if matches!(ch, '-' | '–' | '—' | '‐' | '/') {
            if reading.numbers.is_empty() {
                dash_before_first_number = true;
            }
            trailing_dash = true;
            rest = &rest[ch.len_utf8()..];
            continue;
        }
        if ch == '+' {
            reading.bound = Bound::AtLeast;
            rest = &rest[1..];
            continue;
        }
        if ch.is_whitespace() || matches!(ch, ',' | '.' | ':' | ';' | '(' | ')' | '\'') {
            rest = &rest[ch.len_utf8()..];
            continue;
        }
        let end = rest.find(|c: char| !c.is_alphabetic() && c != '\'').unwrap_or(rest.len());
        let word = &rest[..end];
        if end == 0 {
            return None;
        }
        rest = &rest[end..];
        if AGE_MONTH_WORDS.contains(&word) {
            reading.months = true;
        } else if AGE_AT_LEAST_WORDS.contains(&word) {
            reading.bound = Bound::AtLeast;
        } else if AGE_BELOW_WORDS.contains(&word) {
            reading.bound = Bound::Below;
        } else if AGE_UP_TO_WORDS.contains(&word) {
            if reading.numbers.is_empty() {
                reading.bound = Bound::UpTo;
            }
        } else if AGE_ADULT_WORDS.contains(&word) {
            reading.adults = true;
        } else if word == "p" && rest.starts_with(|c: char| c.is_ascii_digit()) {
            // ISO 8601 durations: "P8Y", "P8Y/P10Y".
        } else if !AGE_FILLER_WORDS.contains(&word) {
            return None;
        }
    }
    if dash_before_first_number && reading.numbers.len() == 1 && reading.bound == Bound::Exact {
        return None;
    }
    if trailing_dash && reading.numbers.len() == 1 && reading.bound == Bound::Exact {
        reading.bound = Bound::AtLeast;
    }
    if reading.numbers.len() > 2 || (reading.numbers.is_empty() && !reading.adults) {
        return None;
    }
    Some(reading)
}

/// An age in years (or months); ages beyond a human lifetime are typos, not data.
fn parse_age(raw: &str) -> Option<i32> {
    let age: i32 = raw.trim().parse().ok()?;
    (0..=150).contains(&age).then_some(age)
}

fn age_to_grade(age: i32) -> i8 {
    let grade =
        (age - AGE_OF_KINDERGARTEN).clamp(i32::from(GradeRange::PRE_K), i32::from(GradeRange::HIGHER_EDUCATION));
    // The clamp above keeps the value inside i8.
    i8::try_from(grade).unwrap_or(GradeRange::HIGHER_EDUCATION)
}

/// Splits "a-b", "a – b", "a to b" into its two ends (the second may be empty: "18-").
fn split_range(raw: &str) -> Option<(&str, &str)> {
    if let Some((low, high)) = raw.split_once(" to ") {
        return Some((low.trim(), high.trim()));
    }
    if let Some((low, high)) = raw.split_once(" bis ") {
        return Some((low.trim(), high.trim()));
    }
    let position = raw.char_indices().skip(1).find(|(_, c)| matches!(c, '-' | '–' | '—'))?;
    let (index, dash) = position;
    Some((raw[..index].trim(), raw[index + dash.len_utf8()..].trim()))
}

/// A grade range from a level label: "Grade 3", "3rd grade", "K", "Pre-K", "Middle School",
/// "High School", "Higher Education", "Undergraduate", ASN education level URIs
/// (`http://purl.org/ASN/scheme/ASNEducationLevel/4`), ranges ("Grades 6-8", "K-2", "9-12"),
/// lists ("Grade 4, Grade 5") and LOM `context` values ("primary education", "school",
/// "higher education", "training"). Case-insensitive; `None` when the label names no level.
pub fn grades_from_level(raw: &str) -> Option<GradeRange> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return None;
    }
    if let Some(range) = super::concepts::grades(trimmed) {
        return Some(range);
    }
    if let Some(segment) = uri_last_segment(trimmed) {
        return grades_from_level(&split_camel_case(segment));
    }
    if trimmed.contains([',', ';']) {
        return trimmed.split([',', ';']).filter_map(grades_from_level).reduce(GradeRange::union);
    }
    let label = normalize_label(trimmed);
    named_level(&label)
        .or_else(|| grade_range_label(&label))
        .or_else(|| single_grade_label(&label).map(GradeRange::single))
}

/// Lowercase, `_` and runs of whitespace as one space, no trailing dot.
fn normalize_label(raw: &str) -> String {
    let lower = raw.to_lowercase().replace('_', " ");
    lower.split_whitespace().collect::<Vec<_>>().join(" ").trim_end_matches('.').to_string()
}

/// Levels that are names rather than numbers (school stages, LOM contexts).
fn named_level(label: &str) -> Option<GradeRange> {
    let range = |min: i8, max: i8| Some(GradeRange::new(min, max));
    match label {
        "pre-k"
        | "prek"
        | "pk"
        | "pre k"
        | "p-k"
        | "pre-kindergarten"
        | "prekindergarten"
        | "pre kindergarten"
        | "preschool"
        | "pre-school"
        | "nursery"
        | "nursery school"
        | "early childhood"
        | "early childhood education" => range(-1, -1),
        "k" | "kg" | "kindergarten" | "kindergarden" | "reception" => range(0, 0),
        "elementary" | "elementary school" | "primary" | "primary school" | "primary education" | "lower primary"
        | "grade school" => range(0, 5),
        "middle school"
        | "middle"
        | "junior high"
        | "junior high school"
        | "lower secondary"
        | "lower secondary education"
        | "intermediate" => range(6, 8),
        "high school" | "senior high" | "senior high school" | "upper secondary" | "upper secondary education" => {
            range(9, 12)
        }
        "secondary" | "secondary school" | "secondary education" => range(6, 12),
        "school" | "k-12" | "k12" | "k to 12" => range(0, 12),
        "higher education"
        | "higher ed"
        | "highered"
        | "undergraduate"
        | "graduate"
        | "postgraduate"
        | "post-graduate"
        | "college"
        | "university"
        | "postsecondary"
        | "post-secondary"
        | "post secondary"
        | "tertiary"
        | "tertiary education"
        | "adult"
        | "adult education"
        | "continuing education"
        | "training"
        | "vocational"
        | "vocational training"
        | "professional development"
        | "professional education"
        | "lifelong learning"
        | "higher education/postsecondary"
        // ISCED / KIM level names.
        | "post-secondary non-tertiary education"
        | "short-cycle tertiary education"
        | "bachelor or equivalent"
        | "master or equivalent"
        | "doctoral or equivalent"
        | "advanced training"
        | "preparatory service"
        | "vocational education"
        | "vocational education and training"
        | "further education"
        // German, French and Spanish names.
        | "hochschule"
        | "universität"
        | "fachhochschule"
        | "studium"
        | "berufliche bildung"
        | "berufsbildung"
        | "berufsschule"
        | "erwachsenenbildung"
        | "fortbildung"
        | "weiterbildung"
        | "vorbereitungsdienst"
        | "postsekundarer nicht-tertiärer bereich"
        | "bachelor oder äquivalent"
        | "master oder äquivalent"
        | "promotion oder äquivalent"
        | "université"
        | "enseignement supérieur"
        | "supérieur"
        | "formation professionnelle"
        | "universidad"
        | "educación superior"
        | "formación profesional" => range(13, 13),
        "elementarbereich" | "elementarstufe" | "frühkindliche bildung" | "kita" | "vorschule" | "école maternelle"
        | "maternelle" | "educación infantil" => range(-1, 0),
        "grundschule" | "primarstufe" | "primarbereich" => range(1, 4),
        "sekundarstufe i" | "sekundarstufe 1" | "sekundarbereich i" | "sek i" | "sek 1" => range(5, 10),
        "sekundarstufe ii" | "sekundarstufe 2" | "sekundarbereich ii" | "sek ii" | "sek 2" | "oberstufe"
        | "gymnasiale oberstufe" => range(11, 12),
        "mittelstufe" => range(7, 10),
        "unterstufe" | "orientierungsstufe" => range(5, 6),
        "école primaire" | "école élémentaire" | "primaire" | "élémentaire" => range(1, 5),
        "collège" => range(6, 9),
        "lycée" => range(10, 12),
        "educación primaria" | "primaria" => range(1, 6),
        "educación secundaria" | "secundaria" | "eso" => range(7, 10),
        "bachillerato" => range(11, 12),
        _ => None,
    }
}

/// "Grades 6-8", "K-2", "9-12", "grade 3 to 5".
fn grade_range_label(label: &str) -> Option<GradeRange> {
    let body = strip_grade_words(label);
    let (low, high) = split_range(body)?;
    let low = single_grade_label(low)?;
    let high = single_grade_label(high)?;
    Some(GradeRange::new(low, high))
}

/// One grade: "3", "grade 3", "gr. 3", "3rd grade", "third grade", "k", "pk", "Klasse 3",
/// "3. Klasse", "Jahrgangsstufe 3".
fn single_grade_label(label: &str) -> Option<i8> {
    let body = strip_grade_words(label.trim()).trim_end_matches('.').trim();
    match body {
        "k" | "kg" | "kindergarten" => return Some(0),
        "pk" | "pre-k" | "prek" | "pre-kindergarten" => return Some(-1),
        _ => {}
    }
    let number = body
        .strip_suffix("st")
        .or_else(|| body.strip_suffix("nd"))
        .or_else(|| body.strip_suffix("rd"))
        .or_else(|| body.strip_suffix("th"))
        .filter(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or(body);
    if let Ok(grade) = number.parse::<i8>() {
        return (0..=12).contains(&grade).then_some(grade);
    }
    ordinal_word(body)
}

fn ordinal_word(word: &str) -> Option<i8> {
    const ORDINALS: [&str; 12] = [
        "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "eleventh",
        "twelfth",
    ];
    let index = ORDINALS.iter().position(|ordinal| *ordinal == word)?;
    i8::try_from(index + 1).ok()
}

/// Drops "grade(s)"/"gr." before and "grade" after the number.
fn strip_grade_words(label: &str) -> &str {
    let mut body = label.trim();
    for prefix in [
        "grades",
        "grade level",
        "grade",
        "gr.",
        "gr",
        "jahrgangsstufen",
        "jahrgangsstufe",
        "jahrgang",
        "klassenstufen",
        "klassenstufe",
        "klassen",
        "klasse",
    ] {
        if let Some(rest) = body.strip_prefix(prefix) {
            if rest.is_empty() || rest.starts_with([' ', '-', ':']) || rest.starts_with(|c: char| c.is_ascii_digit()) {
                body = rest.trim_start_matches([' ', ':']).trim();
                break;
            }
        }
    }
    for suffix in [" grades", " grade", "-grade", " klasse", ". klasse", " klassen", ". schuljahr", " schuljahr"] {
        if let Some(rest) = body.strip_suffix(suffix) {
            body = rest.trim();
            break;
        }
    }
    body
}

// ---------------------------------------------------------------------------------------------
// Languages
// ---------------------------------------------------------------------------------------------

/// ISO 639-1 codes: a two-letter tag outside this list is not a language.
const ISO_639_1: &[&str] = &[
    "aa", "ab", "ae", "af", "ak", "am", "an", "ar", "as", "av", "ay", "az", "ba", "be", "bg", "bh", "bi", "bm", "bn",
    "bo", "br", "bs", "ca", "ce", "ch", "co", "cr", "cs", "cu", "cv", "cy", "da", "de", "dv", "dz", "ee", "el", "en",
    "eo", "es", "et", "eu", "fa", "ff", "fi", "fj", "fo", "fr", "fy", "ga", "gd", "gl", "gn", "gu", "gv", "ha", "he",
    "hi", "ho", "hr", "ht", "hu", "hy", "hz", "ia", "id", "ie", "ig", "ii", "ik", "io", "is", "it", "iu", "ja", "jv",
    "ka", "kg", "ki", "kj", "kk", "kl", "km", "kn", "ko", "kr", "ks", "ku", "kv", "kw", "ky", "la", "lb", "lg", "li",
    "ln", "lo", "lt", "lu", "lv", "mg", "mh", "mi", "mk", "ml", "mn", "mr", "ms", "mt", "my", "na", "nb", "nd", "ne",
    "ng", "nl", "nn", "no", "nr", "nv", "ny", "oc", "oj", "om", "or", "os", "pa", "pi", "pl", "ps", "pt", "qu", "rm",
    "rn", "ro", "ru", "rw", "sa", "sc", "sd", "se", "sg", "si", "sk", "sl", "sm", "sn", "so", "sq", "sr", "ss", "st",
    "su", "sv", "sw", "ta", "te", "tg", "th", "ti", "tk", "tl", "tn", "to", "tr", "ts", "tt", "tw", "ty", "ug", "uk",
    "ur", "uz", "ve", "vi", "vo", "wa", "wo", "xh", "yi", "yo", "za", "zh", "zu",
];

/// Deprecated two-letter codes still found in old feeds.
const DEPRECATED_639_1: &[(&str, &str)] = &[("iw", "he"), ("in", "id"), ("ji", "yi"), ("jw", "jv"), ("mo", "ro")];

/// ISO 639-2 (B and T) and 639-3 codes of common languages, with their two-letter code.
#[rustfmt::skip]
const ISO_639_2: &[(&str, &str)] = &[
    ("afr", "af"), ("amh", "am"), ("ara", "ar"), ("aze", "az"), ("bel", "be"), ("ben", "bn"),
    ("bos", "bs"), ("bul", "bg"), ("cat", "ca"), ("ces", "cs"), ("cze", "cs"), ("chi", "zh"),
    ("zho", "zh"), ("cmn", "zh"), ("cym", "cy"), ("wel", "cy"), ("dan", "da"), ("deu", "de"),
    ("ger", "de"), ("ell", "el"), ("gre", "el"), ("eng", "en"), ("epo", "eo"), ("est", "et"),
    ("eus", "eu"), ("baq", "eu"), ("fas", "fa"), ("per", "fa"), ("fin", "fi"), ("fra", "fr"),
    ("fre", "fr"), ("gle", "ga"), ("gla", "gd"), ("glg", "gl"), ("guj", "gu"), ("hat", "ht"),
    ("hau", "ha"), ("heb", "he"), ("hin", "hi"), ("hrv", "hr"), ("hun", "hu"), ("hye", "hy"),
    ("arm", "hy"), ("ibo", "ig"), ("ind", "id"), ("isl", "is"), ("ice", "is"), ("ita", "it"),
    ("jpn", "ja"), ("kat", "ka"), ("geo", "ka"), ("kaz", "kk"), ("khm", "km"), ("kor", "ko"),
    ("kur", "ku"), ("lao", "lo"), ("lat", "la"), ("lav", "lv"), ("lit", "lt"), ("ltz", "lb"),
    ("mkd", "mk"), ("mac", "mk"), ("mal", "ml"), ("mar", "mr"), ("mri", "mi"), ("mao", "mi"),
    ("msa", "ms"), ("may", "ms"), ("mlt", "mt"), ("mon", "mn"), ("mya", "my"), ("bur", "my"),
    ("nep", "ne"), ("nld", "nl"), ("dut", "nl"), ("nor", "no"), ("nob", "nb"), ("nno", "nn"),
    ("nav", "nv"), ("pan", "pa"), ("pol", "pl"), ("por", "pt"), ("pus", "ps"), ("que", "qu"),
    ("ron", "ro"), ("rum", "ro"), ("rus", "ru"), ("sin", "si"), ("slk", "sk"), ("slo", "sk"),
    ("slv", "sl"), ("smo", "sm"), ("som", "so"), ("spa", "es"), ("sqi", "sq"), ("alb", "sq"),
    ("srp", "sr"), ("swa", "sw"), ("swe", "sv"), ("tam", "ta"), ("tel", "te"), ("tgk", "tg"),
    ("tgl", "tl"), ("tha", "th"), ("tir", "ti"), ("tur", "tr"), ("ukr", "uk"), ("urd", "ur"),
    ("uzb", "uz"), ("vie", "vi"), ("xho", "xh"), ("yid", "yi"), ("yor", "yo"), ("zul", "zu"),
];

/// Three-letter codes with no two-letter equivalent that education feeds use.
const ISO_639_3_ONLY: &[&str] = &["fil", "haw", "yue", "ase", "bsl", "chr", "hmn", "smn", "sco", "ast", "nds", "gsw"];

/// English (and a few native) language names, with their tag.
#[rustfmt::skip]
const LANGUAGE_NAMES: &[(&str, &str)] = &[
    ("english", "en"), ("spanish", "es"), ("castilian", "es"), ("español", "es"), ("espanol", "es"),
    ("french", "fr"), ("français", "fr"), ("francais", "fr"), ("german", "de"), ("deutsch", "de"),
    ("italian", "it"), ("italiano", "it"), ("portuguese", "pt"), ("português", "pt"),
    ("portugues", "pt"), ("chinese", "zh"), ("mandarin", "zh"), ("mandarin chinese", "zh"),
    ("cantonese", "yue"), ("japanese", "ja"), ("korean", "ko"), ("arabic", "ar"), ("russian", "ru"),
    ("dutch", "nl"), ("flemish", "nl"), ("swedish", "sv"), ("norwegian", "no"), ("danish", "da"),
    ("finnish", "fi"), ("icelandic", "is"), ("polish", "pl"), ("czech", "cs"), ("slovak", "sk"),
    ("hungarian", "hu"), ("romanian", "ro"), ("bulgarian", "bg"), ("greek", "el"),
    ("turkish", "tr"), ("hebrew", "he"), ("hindi", "hi"), ("bengali", "bn"), ("bangla", "bn"),
    ("urdu", "ur"), ("punjabi", "pa"), ("tamil", "ta"), ("telugu", "te"), ("marathi", "mr"),
    ("gujarati", "gu"), ("vietnamese", "vi"), ("thai", "th"), ("indonesian", "id"), ("malay", "ms"),
    ("tagalog", "tl"), ("filipino", "fil"), ("swahili", "sw"), ("amharic", "am"), ("somali", "so"),
    ("ukrainian", "uk"), ("persian", "fa"), ("farsi", "fa"), ("latin", "la"), ("irish", "ga"),
    ("welsh", "cy"), ("catalan", "ca"), ("basque", "eu"), ("galician", "gl"), ("croatian", "hr"),
    ("serbian", "sr"), ("slovenian", "sl"), ("lithuanian", "lt"), ("latvian", "lv"),
    ("estonian", "et"), ("albanian", "sq"), ("armenian", "hy"), ("georgian", "ka"),
    ("haitian creole", "ht"), ("haitian", "ht"), ("navajo", "nv"), ("hawaiian", "haw"),
    ("maori", "mi"), ("māori", "mi"), ("yoruba", "yo"), ("igbo", "ig"), ("hausa", "ha"),
    ("zulu", "zu"), ("xhosa", "xh"), ("afrikaans", "af"), ("nepali", "ne"), ("khmer", "km"),
    ("burmese", "my"), ("lao", "lo"), ("mongolian", "mn"), ("kazakh", "kk"), ("uzbek", "uz"),
    ("esperanto", "eo"), ("yiddish", "yi"), ("american sign language", "ase"), ("asl", "ase"),
];

/// A BCP 47 tag: lowercase language, titlecase script, uppercase region ("EN" → "en", "en_us" →
/// "en-US", "zh-hant-tw" → "zh-Hant-TW"); ISO 639-2/3 codes of common languages become their
/// two-letter code ("eng" → "en", "fre" → "fr") and English names their tag ("Spanish" → "es").
/// `None` when the value names no language ("n/a", "zz", "english-ish", "und").
pub fn language(raw: &str) -> Option<String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return None;
    }
    let lower = trimmed.to_lowercase();
    if let Some((_, tag)) = LANGUAGE_NAMES.iter().find(|(name, _)| *name == lower) {
        return Some((*tag).to_string());
    }
    // POSIX locales ("en_US.UTF-8", "de_DE@euro") carry an encoding and modifier.
    let without_posix = trimmed.split(['.', '@']).next().unwrap_or(trimmed);
    let mut subtags = without_posix.split(['-', '_']);
    let primary = primary_language(subtags.next()?)?;
    let mut tag = primary;
    for subtag in subtags {
        match format_subtag(subtag) {
            Some(formatted) => {
                tag.push('-');
                tag.push_str(&formatted);
            }
            None => break,
        }
    }
    Some(tag)
}

/// The primary language subtag, lowercase and as short as ISO 639-1 allows.
fn primary_language(raw: &str) -> Option<String> {
    if !raw.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let lower = raw.to_ascii_lowercase();
    match lower.len() {
        2 => {
            if let Some((_, current)) = DEPRECATED_639_1.iter().find(|(old, _)| *old == lower) {
                return Some((*current).to_string());
            }
            ISO_639_1.contains(&lower.as_str()).then_some(lower)
        }
        3 => {
            if let Some((_, two)) = ISO_639_2.iter().find(|(three, _)| *three == lower) {
                return Some((*two).to_string());
            }
            ISO_639_3_ONLY.contains(&lower.as_str()).then_some(lower)
        }
        _ => None,
    }
}

/// A non-primary subtag in its canonical case, decided by its shape (RFC 5646 §2.1.1).
fn format_subtag(raw: &str) -> Option<String> {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let is_alpha = raw.bytes().all(|b| b.is_ascii_alphabetic());
    let is_digit = raw.bytes().all(|b| b.is_ascii_digit());
    match raw.len() {
        2 if is_alpha => Some(raw.to_ascii_uppercase()),
        3 if is_digit => Some(raw.to_string()),
        4 if is_alpha => {
            let lower = raw.to_ascii_lowercase();
            let mut chars = lower.chars();
            let first = chars.next()?.to_ascii_uppercase();
            Some(std::iter::once(first).chain(chars).collect())
        }
        // Extended language subtags ("zh-yue") and variants ("de-1996", "sl-rozaj").
        3 if is_alpha => Some(raw.to_ascii_lowercase()),
        4..=8 => Some(raw.to_ascii_lowercase()),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Licences
// ---------------------------------------------------------------------------------------------

const CC_LICENSES: &str = "https://creativecommons.org/licenses/";
const CC_ZERO: &str = "https://creativecommons.org/publicdomain/zero/1.0/";
const CC_PUBLIC_DOMAIN_MARK: &str = "https://creativecommons.org/publicdomain/mark/1.0/";

/// Creative Commons licence elements, in their canonical order.
const CC_CODES: &[&str] = &["by", "by-sa", "by-nd", "by-nc", "by-nc-sa", "by-nc-nd"];

/// SPDX ids of common non-CC licences, recognised case-insensitively, with the names people write.
const SPDX_LICENSES: &[(&str, &[&str])] = &[
    ("MIT", &["mit", "mit license", "the mit license"]),
    (
        "Apache-2.0",
        &[
            "apache-2.0",
            "apache 2.0",
            "apache license 2.0",
            "apache license, version 2.0",
            "apache license version 2.0",
        ],
    ),
    ("BSD-2-Clause", &["bsd-2-clause"]),
    ("BSD-3-Clause", &["bsd-3-clause"]),
    ("GPL-2.0-only", &["gpl-2.0", "gpl-2.0-only"]),
    ("GPL-3.0-only", &["gpl-3.0", "gpl-3.0-only", "gplv3"]),
    ("GPL-3.0-or-later", &["gpl-3.0-or-later", "gpl-3.0+"]),
    ("LGPL-3.0-only", &["lgpl-3.0", "lgpl-3.0-only"]),
    ("MPL-2.0", &["mpl-2.0", "mozilla public license 2.0"]),
    ("GFDL-1.3-only", &["gfdl-1.3", "gfdl-1.3-only"]),
    ("Unlicense", &["unlicense", "the unlicense"]),
];

/// SPDX ids (from [`SPDX_LICENSES`]) whose licence is open.
const OPEN_SPDX: &[&str] = &[
    "MIT",
    "Apache-2.0",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "GPL-2.0-only",
    "GPL-3.0-only",
    "GPL-3.0-or-later",
    "LGPL-3.0-only",
    "MPL-2.0",
    "GFDL-1.3-only",
    "Unlicense",
];

/// A canonical licence from a licence *statement* (LOM `rights/description`, `dc:rights`, a
/// cartridge's licence text), so that the licence facet groups equal licences however they are
/// written:
///
/// - a Creative Commons URL in the statement, in `https://creativecommons.org/licenses/<code>/<version>/`
///   form (http → https, `www.` dropped, trailing slash added, `legalcode` / `deed.xx` dropped),
///   CC0 as `https://creativecommons.org/publicdomain/zero/1.0/` and the Public Domain Mark as
///   `https://creativecommons.org/publicdomain/mark/1.0/`;
/// - an SPDX id for an SPDX, OSI, Apache or GNU licence URL or a common licence name ("MIT",
///   "Apache License, Version 2.0");
/// - the CC URLs for CC licences written as text or SPDX ids ("CC-BY-4.0", "CC BY-NC-SA 4.0",
///   "Creative Commons Attribution 4.0", "CC0") and for public-domain statements.
///
/// A statement that names no licence is no licence, even when it carries a URL: "Private
/// (Copyrighted) - http://en.wikipedia.org/wiki/Copyright" gives `None` (the parser keeps the
/// statement in `license_raw`). Fields that hold a licence URL by definition use
/// [`license_url`].
pub fn license(raw: &str) -> Option<String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return None;
    }
    if let Some(known) = urls(trimmed).find_map(known_license_url) {
        return Some(known);
    }
    cc_from_text(trimmed).or_else(|| spdx_from_text(trimmed)).or_else(|| public_domain_from_text(trimmed))
}

/// A canonical licence from a field that holds the licence's URL by definition (schema.org
/// `license`, RS `useRightsURL`): a known licence URL in canonical form, any other http(s) URL
/// as the publisher's own terms, unchanged. Text that is not a URL is read as a statement
/// ([`license`]).
pub fn license_url(raw: &str) -> Option<String> {
    let trimmed = raw.trim();
    let lower = trimmed.to_ascii_lowercase();
    let is_url =
        (lower.starts_with("http://") || lower.starts_with("https://")) && !trimmed.contains(char::is_whitespace);
    if !is_url {
        return license(trimmed);
    }
    Some(known_license_url(trimmed).unwrap_or_else(|| trimmed.to_string()))
}

/// Whether a canonical licence (from [`license`]) lets anyone use the resource: Creative Commons
/// licences, CC0, the Public Domain Mark and open-source SPDX licences.
pub fn license_is_open(canonical: &str) -> bool {
    canonical.starts_with(CC_LICENSES)
        || canonical.starts_with("https://creativecommons.org/publicdomain/")
        || OPEN_SPDX.contains(&canonical)
}

/// The http(s) URLs in a statement (and scheme-less creativecommons.org ones), without the
/// punctuation that closes the sentence around them.
fn urls(text: &str) -> impl Iterator<Item = &str> {
    text.split_whitespace()
        .map(|word| word.trim_start_matches(['(', '<', '[', '"', '\'']))
        .filter(|word| {
            let lower = word.to_ascii_lowercase();
            lower.starts_with("http://")
                || lower.starts_with("https://")
                || lower.starts_with("creativecommons.org/")
                || lower.starts_with("www.creativecommons.org/")
        })
        .map(|word| word.trim_end_matches([')', '>', ']', '"', '\'', '.', ',', ';', ':']))
        .filter(|word| !word.is_empty())
}

/// The canonical form of a URL that names a licence: a Creative Commons licence or dedication,
/// or an SPDX / OSI / Apache / GNU licence page. `None` for any other URL.
fn known_license_url(url: &str) -> Option<String> {
    let lower = url.to_ascii_lowercase();
    let without_scheme = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://")).unwrap_or(&lower);
    let without_www = without_scheme.strip_prefix("www.").unwrap_or(without_scheme);
    if let Some(path) = without_www.strip_prefix("creativecommons.org/") {
        return canonical_cc_path(path);
    }
    spdx_from_url(without_www)
}

/// `licenses/by-sa/4.0/legalcode` → the canonical URL; `None` for paths that are not a licence.
fn canonical_cc_path(path: &str) -> Option<String> {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        ["licenses", code, ..] if !is_cc_code(code) => None,
        ["licenses", code, version, rest @ ..] if is_cc_version(version) => {
            let mut canonical = format!("{CC_LICENSES}{code}/{version}/");
            // Ported licences ("by/3.0/us") are different licences: keep the jurisdiction.
            if let Some(jurisdiction) = rest.first() {
                let is_deed = jurisdiction.starts_with("deed") || jurisdiction.starts_with("legalcode");
                if !is_deed && jurisdiction.len() <= 5 && jurisdiction.bytes().all(|b| b.is_ascii_alphabetic()) {
                    canonical.push_str(jurisdiction);
                    canonical.push('/');
                }
            }
            Some(canonical)
        }
        ["licenses", code] | ["licenses", code, ..] => Some(format!("{CC_LICENSES}{code}/")),
        ["publicdomain", "zero", ..] => Some(CC_ZERO.to_string()),
        ["publicdomain", "mark", ..] => Some(CC_PUBLIC_DOMAIN_MARK.to_string()),
        _ => None,
    }
}

/// A licence code segment such as `by-nc-sa` (lowercase letters and `-`).
fn is_cc_code(segment: &str) -> bool {
    !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
}

fn is_cc_version(segment: &str) -> bool {
    let mut parts = segment.split('.');
    let major = parts.next().unwrap_or("");
    let minor = parts.next().unwrap_or("");
    parts.next().is_none()
        && !major.is_empty()
        && !minor.is_empty()
        && major.bytes().all(|b| b.is_ascii_digit())
        && minor.bytes().all(|b| b.is_ascii_digit())
}

/// An SPDX id (or the CC URL of a CC SPDX id) from an SPDX, OSI, Apache or GNU licence URL.
fn spdx_from_url(lower_url_without_scheme: &str) -> Option<String> {
    let path = lower_url_without_scheme.split(['?', '#']).next().unwrap_or(lower_url_without_scheme);
    let path = path.trim_end_matches('/');
    let id = path
        .strip_prefix("spdx.org/licenses/")
        .or_else(|| path.strip_prefix("opensource.org/licenses/"))
        .or_else(|| path.strip_prefix("opensource.org/license/"))
        .map(|id| id.trim_end_matches(".html").trim_end_matches(".php"));
    if let Some(id) = id {
        return spdx_from_text(id).or_else(|| cc_from_text(id));
    }
    match path {
        "apache.org/licenses/license-2.0"
        | "apache.org/licenses/license-2.0.html"
        | "apache.org/licenses/license-2.0.txt" => Some("Apache-2.0".to_string()),
        _ => {
            let gnu = path.strip_prefix("gnu.org/licenses/")?;
            let gnu = gnu.strip_prefix("old-licenses/").unwrap_or(gnu);
            let id = if gnu.starts_with("gpl-2") {
                "GPL-2.0-only"
            } else if gnu.starts_with("gpl-3") || gnu == "gpl" || gnu.starts_with("gpl.") {
                "GPL-3.0-only"
            } else if gnu.starts_with("lgpl-3") || gnu == "lgpl" || gnu.starts_with("lgpl.") {
                "LGPL-3.0-only"
            } else if gnu.starts_with("fdl") {
                "GFDL-1.3-only"
            } else {
                return None;
            };
            Some(id.to_string())
        }
    }
}

/// "CC-BY-4.0", "CC BY-NC-SA 4.0", "CC0 1.0", "Creative Commons Attribution-ShareAlike 4.0
/// International": the canonical URL. A CC licence without a version is not guessed.
fn cc_from_text(text: &str) -> Option<String> {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| c.is_whitespace() || matches!(c, '-' | '_' | ',' | '(' | ')' | '/' | ':' | ';'))
        .filter(|w| !w.is_empty())
        .collect();
    if words.iter().any(|w| *w == "cc0" || w.starts_with("cc0"))
        || lower.contains("cc zero")
        || lower.contains("cc-zero")
    {
        return Some(CC_ZERO.to_string());
    }
    let cc_start = words
        .iter()
        .position(|w| *w == "cc")
        .map(|i| i + 1)
        .or_else(|| words.windows(2).position(|pair| pair == ["creative", "commons"]).map(|i| i + 2))?;
    let mut elements: Vec<&str> = Vec::new();
    let mut version: Option<&str> = None;
    for word in &words[cc_start..] {
        match *word {
            "by" | "attribution" => elements.push("by"),
            "nc" | "noncommercial" => elements.push("nc"),
            "sa" | "sharealike" => elements.push("sa"),
            "nd" | "noderivatives" | "noderivs" => elements.push("nd"),
            "non" | "commercial" | "share" | "alike" | "no" | "derivatives" | "derivs" | "license" | "licence"
            | "international" | "generic" | "unported" => {}
            candidate if is_cc_version(candidate) => {
                version = Some(candidate);
                break;
            }
            _ => break,
        }
    }
    // Spelled-out names split "non commercial", "share alike", "no derivatives" into two words.
    let spelled = |first: &str, second: &str| words.windows(2).any(|pair| pair == [first, second]);
    if spelled("non", "commercial") {
        elements.push("nc");
    }
    if spelled("share", "alike") {
        elements.push("sa");
    }
    if spelled("no", "derivatives") || spelled("no", "derivs") {
        elements.push("nd");
    }
    let code = cc_code(&elements)?;
    let version = version?;
    Some(format!("{CC_LICENSES}{code}/{version}/"))
}

/// The canonical code for a set of CC elements ("by" + "nc" + "sa" → "by-nc-sa").
fn cc_code(elements: &[&str]) -> Option<&'static str> {
    if !elements.contains(&"by") {
        return None;
    }
    let nc = elements.contains(&"nc");
    let sa = elements.contains(&"sa");
    let nd = elements.contains(&"nd");
    let code = match (nc, sa, nd) {
        (false, false, false) => "by",
        (false, true, false) => "by-sa",
        (false, false, true) => "by-nd",
        (true, false, false) => "by-nc",
        (true, true, false) => "by-nc-sa",
        (true, false, true) => "by-nc-nd",
        // SA and ND exclude each other: no such licence.
        (_, true, true) => return None,
    };
    CC_CODES.iter().copied().find(|known| *known == code)
}

fn spdx_from_text(text: &str) -> Option<String> {
    let lower = text.trim().trim_end_matches('.').to_lowercase();
    if let Some((id, _)) = SPDX_LICENSES.iter().find(|(id, _)| id.to_lowercase() == lower) {
        return Some((*id).to_string());
    }
    SPDX_LICENSES.iter().find(|(_, names)| names.contains(&lower.as_str())).map(|(id, _)| (*id).to_string())
}

/// "Public domain", "No known copyright restrictions", "PDM": the Public Domain Mark.
fn public_domain_from_text(text: &str) -> Option<String> {
    let lower = text.to_lowercase();
    let denied = lower.contains("not in the public domain") || lower.contains("not public domain");
    let public_domain =
        lower.contains("public domain") || lower.contains("no known copyright restrictions") || lower.trim() == "pdm";
    (public_domain && !denied).then(|| CC_PUBLIC_DOMAIN_MARK.to_string())
}

// ---------------------------------------------------------------------------------------------
// Resource types
// ---------------------------------------------------------------------------------------------

/// The gateway's resource-type vocabulary: what [`resource_type`] maps known values to. Values
/// outside it are slugs of what the publisher sent (kept so that nothing is lost).
pub const RESOURCE_TYPES: &[&str] = &[
    "activity",
    "activity-plan",
    "animation",
    "article",
    "assessment",
    "audio",
    "book",
    "case-study",
    "chapter",
    "course",
    "curriculum-guide",
    "dataset",
    "document",
    "exercise",
    "experiment",
    "game",
    "image",
    "index",
    "interactive",
    "lecture",
    "lesson",
    "lesson-plan",
    "map",
    "other",
    "physical-object",
    "presentation",
    "primary-source",
    "reading-passage",
    "reference",
    "report",
    "rubric",
    "sheet-music",
    "simulation",
    "software",
    "study-guide",
    "table",
    "text",
    "textbook",
    "thesis",
    "unit",
    "unit-plan",
    "video",
    "website",
    "whiteboard",
    "worksheet",
];

/// Synonyms, keyed by the slug of the value (see [`type_slug`]), for every vocabulary the formats
/// use: the RS 1.0 enum, LRMI vocabulary terms and common free text, LOM `learningResourceType`
/// (LOMv1.0), the DCMI type vocabulary, and the labels of the KIM HCRT and COAR concepts in
/// English, German and French (concept URIs themselves go through [`super::concepts`]).
const RESOURCE_TYPE_SYNONYMS: &[(&str, &str)] = &[
    // LTI Resource Search 1.0 enum.
    ("assessment-item", "assessment"),
    ("assessment-formative", "assessment"),
    ("assessment-interim", "assessment"),
    ("assessment-preparation", "assessment"),
    ("assessment-summative", "assessment"),
    ("assessment-rubric", "rubric"),
    ("collection-course", "course"),
    ("collection-unit", "unit"),
    ("collection-curriculum-guide", "curriculum-guide"),
    ("collection-lesson", "lesson"),
    ("interactive-simulation", "simulation"),
    ("interactive-animation", "animation"),
    ("interactive-whiteboard", "whiteboard"),
    ("activity-worksheet", "worksheet"),
    ("activity-learning", "activity"),
    ("activity-experiment", "experiment"),
    ("text-book", "book"),
    ("text-chapter", "chapter"),
    ("text-document", "document"),
    ("text-article", "article"),
    ("text-passage", "reading-passage"),
    ("text-textbook", "textbook"),
    ("text-reference", "reference"),
    ("text-website", "website"),
    ("media-audio", "audio"),
    ("media-images-visuals", "image"),
    ("media-images", "image"),
    ("media-video", "video"),
    // LRMI vocabulary terms (after slugging their camelCase) and free text.
    ("educator-curriculum-guide", "curriculum-guide"),
    ("curriculum", "curriculum-guide"),
    ("supporting-document", "document"),
    ("reference-material", "reference"),
    ("passage", "reading-passage"),
    ("reading", "reading-passage"),
    ("learning-activity", "activity"),
    ("formative-assessment", "assessment"),
    ("summative-assessment", "assessment"),
    ("quiz", "assessment"),
    ("test", "assessment"),
    ("practice-quiz", "assessment"),
    ("web-page", "website"),
    ("webpage", "website"),
    ("web-site", "website"),
    ("podcast", "audio"),
    ("recording", "audio"),
    ("film", "video"),
    ("movie", "video"),
    ("photograph", "image"),
    ("photo", "image"),
    ("picture", "image"),
    ("illustration", "image"),
    ("chart", "image"),
    ("infographic", "image"),
    ("slideshow", "presentation"),
    ("slides", "presentation"),
    ("data-set", "dataset"),
    ("data", "dataset"),
    ("tutorial", "lesson"),
    ("ebook", "book"),
    ("e-book", "book"),
    ("application", "software"),
    ("app", "software"),
    // LOM learningResourceType (LOMv1.0).
    ("narrative-text", "text"),
    ("figure", "image"),
    ("diagram", "image"),
    ("graph", "image"),
    ("problem-statement", "exercise"),
    ("questionnaire", "assessment"),
    ("exam", "assessment"),
    ("self-assessment", "assessment"),
    ("slide", "presentation"),
    // DCMI types.
    ("still-image", "image"),
    ("moving-image", "video"),
    ("sound", "audio"),
    ("interactive-resource", "interactive"),
    // LRMI learningResourceType terms (and the misspelt `actvityPlan` the vocabulary defines).
    ("actvity-plan", "activity-plan"),
    ("physical-learning-resource", "physical-object"),
    ("recorded-lesson", "lecture"),
    // KIM HCRT, COAR and repository labels.
    ("drill-and-practice", "exercise"),
    ("educational-game", "game"),
    ("web-portal", "website"),
    ("portal", "website"),
    ("reference-work", "reference"),
    ("software-application", "software"),
    ("audio-recording", "audio"),
    ("cartographic-material", "map"),
    ("musical-notation", "sheet-music"),
    ("musical-composition", "sheet-music"),
    ("journal-article", "article"),
    ("research-article", "article"),
    ("review-article", "article"),
    ("conference-paper", "article"),
    ("conference-object", "article"),
    ("preprint", "article"),
    ("blog-post", "article"),
    ("conference-poster", "presentation"),
    ("poster", "presentation"),
    ("book-part", "chapter"),
    ("bachelor-thesis", "thesis"),
    ("master-thesis", "thesis"),
    ("doctoral-thesis", "thesis"),
    ("dissertation", "thesis"),
    ("technical-report", "report"),
    ("research-report", "report"),
    ("working-paper", "report"),
    ("bibliography", "reference"),
    ("learning-object", "activity"),
    // German and French labels of the same concepts (SKOS prefLabels in the resource's language).
    ("arbeitsblatt", "worksheet"),
    ("arbeitsmaterial", "worksheet"),
    ("übung", "exercise"),
    ("übungsmaterial", "exercise"),
    ("lernspiel", "game"),
    ("spiel", "game"),
    ("abbildung", "image"),
    ("bild", "image"),
    ("grafik", "image"),
    ("karte", "map"),
    ("präsentation", "presentation"),
    ("textdokument", "text"),
    ("lehrbuch", "textbook"),
    ("schulbuch", "textbook"),
    ("webseite", "website"),
    ("unterrichtsplanung", "lesson-plan"),
    ("unterrichtsentwurf", "lesson-plan"),
    ("kurs", "course"),
    ("daten", "dataset"),
    ("fallstudie", "case-study"),
    ("lernkontrolle", "assessment"),
    ("prüfung", "assessment"),
    ("softwareanwendung", "software"),
    ("anwendung", "software"),
    ("nachschlagewerk", "reference"),
    ("skript", "text"),
    ("vorlesung", "lecture"),
    ("musiknoten", "sheet-music"),
    ("fragebogen", "assessment"),
    ("sonstiges", "other"),
    ("diagramm", "image"),
    ("versuch", "experiment"),
    ("exercice", "exercise"),
    ("cours", "course"),
    ("vidéo", "video"),
    ("manuel", "textbook"),
    ("jeu-éducatif", "game"),
    ("carte", "map"),
];

/// One vocabulary of resource types for every format, so the type facet groups equal things:
/// "Media/Video", "video", "MovingImage" and an LRMI URI ending in `video` all become `video`
/// (see [`RESOURCE_TYPES`]). URIs contribute their last segment; camelCase, spaces, `_` and `/`
/// become `-`. Unknown values come back as that lowercase slug ("Writing prompt" →
/// `writing-prompt`) so nothing is lost; empty values give `None`.
pub fn resource_type(raw: &str) -> Option<String> {
    let trimmed = raw.trim();
    if let Some(canonical) = super::concepts::resource_type(trimmed) {
        return Some(canonical.to_string());
    }
    if super::concepts::is_known_type_scheme(trimmed) {
        // A concept of a known scheme the gateway does not map (or an `info:eu-repo` version):
        // its URI's last segment would be no type name.
        return None;
    }
    let term = uri_last_segment(trimmed).unwrap_or(trimmed);
    let slug = type_slug(term);
    if slug.is_empty() {
        return None;
    }
    if RESOURCE_TYPES.contains(&slug.as_str()) {
        return Some(slug);
    }
    let canonical = RESOURCE_TYPE_SYNONYMS
        .iter()
        .find(|(synonym, _)| *synonym == slug)
        .map(|(_, canonical)| (*canonical).to_string());
    Some(canonical.unwrap_or(slug))
}

/// Lowercase kebab case: camelCase humps, whitespace, `_`, `/` and other punctuation become one
/// `-`; letters of any script are kept ("fábulas" stays "fábulas").
fn type_slug(raw: &str) -> String {
    let spaced = split_camel_case(raw);
    let mut slug = String::with_capacity(spaced.len());
    for ch in spaced.chars().flat_map(char::to_lowercase) {
        if ch.is_alphanumeric() {
            slug.push(ch);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    while slug.ends_with('-') {
        slug.pop();
    }
    slug
}

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

/// The last non-empty path segment (or fragment) of an http(s) URI, if the value is one.
fn uri_last_segment(raw: &str) -> Option<&str> {
    let lower = raw.get(..8).unwrap_or(raw).to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return None;
    }
    let without_query = raw.split('?').next().unwrap_or(raw);
    let after_scheme = without_query.split_once("://").map_or(without_query, |(_, rest)| rest);
    let (_, path) = after_scheme.split_once('/')?;
    path.rsplit(['/', '#']).find(|segment| !segment.is_empty())
}

/// "HigherEducation" → "Higher Education", "lessonPlan" → "lesson Plan"; other text unchanged.
fn split_camel_case(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 4);
    let mut previous: Option<char> = None;
    for ch in raw.chars() {
        if let Some(prev) = previous {
            if prev.is_lowercase() && ch.is_uppercase() {
                out.push(' ');
            }
        }
        out.push(ch);
        previous = Some(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(min: i8, max: i8) -> Option<GradeRange> {
        Some(GradeRange::new(min, max))
    }

    #[test]
    fn test_grades_from_age_range() {
        assert_eq!(grades_from_age_range("8-9"), range(3, 4));
        assert_eq!(grades_from_age_range("18-"), range(13, 13));
        assert_eq!(grades_from_age_range("11-14"), range(6, 9));
        assert_eq!(grades_from_age_range("18-22"), range(13, 13));
        assert_eq!(grades_from_age_range("5"), range(0, 0));
        assert_eq!(grades_from_age_range("3-5"), range(-1, 0));
        assert_eq!(grades_from_age_range(" 14 – 18 "), range(9, 13));
        assert_eq!(grades_from_age_range("ages 8 to 10"), range(3, 5));
        assert_eq!(grades_from_age_range("16+"), range(11, 11));
        assert_eq!(grades_from_age_range("10-12 years"), range(5, 7));
        assert_eq!(grades_from_age_range("0-2"), range(-1, -1));
    }

    #[test]
    fn test_grades_from_age_range_in_every_written_form() {
        let cases = [
            ("8 – 9", range(3, 4)),
            ("8 to 9 years", range(3, 4)),
            ("from 8 to 10", range(3, 5)),
            ("Ages: 8-10", range(3, 5)),
            ("8-10 yrs", range(3, 5)),
            ("aged 8 and up", range(3, 3)),
            ("8 and older", range(3, 3)),
            ("18+ years", range(13, 13)),
            ("ab 10 Jahren", range(5, 5)),
            ("ab 10", range(5, 5)),
            ("8 bis 10 Jahre", range(3, 5)),
            ("von 6 bis 10 Jahren", range(1, 5)),
            ("de 8 à 10 ans", range(3, 5)),
            ("à partir de 12 ans", range(7, 7)),
            ("dès 6 ans", range(1, 1)),
            ("de 6 a 8 años", range(1, 3)),
            ("18 y más", range(13, 13)),
            ("under 5", range(-1, -1)),
            ("up to 10", range(-1, 5)),
            ("bis 12 Jahre", range(-1, 7)),
            ("6-18 months", range(-1, -1)),
            ("18m", range(-1, -1)),
            ("P8Y", range(3, 3)),
            ("P8Y/P10Y", range(3, 5)),
            ("adults", range(13, 13)),
            ("Erwachsene", range(13, 13)),
            ("8y", range(3, 3)),
            ("10 and 12", range(5, 7)),
        ];
        for (raw, expected) in cases {
            assert_eq!(grades_from_age_range(raw), expected, "{raw:?}");
        }
    }

    #[test]
    fn test_grades_from_german_and_kim_levels() {
        assert_eq!(grades_from_level("Klasse 5"), range(5, 5));
        assert_eq!(grades_from_level("5. Klasse"), range(5, 5));
        assert_eq!(grades_from_level("Klassen 5-6"), range(5, 6));
        assert_eq!(grades_from_level("Jahrgangsstufe 7"), range(7, 7));
        assert_eq!(grades_from_level("Grundschule"), range(1, 4));
        assert_eq!(grades_from_level("Sekundarstufe I"), range(5, 10));
        assert_eq!(grades_from_level("Sekundarstufe II"), range(11, 12));
        assert_eq!(grades_from_level("Hochschule"), range(13, 13));
        assert_eq!(grades_from_level("Berufliche Bildung"), range(13, 13));
        assert_eq!(grades_from_level("Bachelor or equivalent"), range(13, 13));
        assert_eq!(grades_from_level("https://w3id.org/kim/educationalLevel/level_1"), range(1, 4));
        assert_eq!(grades_from_level("https://w3id.org/kim/educationalLevel/level_06"), range(13, 13));
        assert_eq!(grades_from_level("collège"), range(6, 9));
    }

    #[test]
    fn test_resource_type_concept_schemes_and_labels() {
        let cases = [
            ("https://w3id.org/kim/hcrt/worksheet", Some("worksheet")),
            ("https://w3id.org/kim/hcrt/index", Some("reference")),
            ("http://purl.org/coar/resource_type/c_18cf", Some("text")),
            ("info:eu-repo/semantics/doctoralThesis", Some("thesis")),
            ("info:eu-repo/semantics/publishedVersion", None),
            ("Arbeitsblatt", Some("worksheet")),
            ("Lernspiel", Some("game")),
            ("journal article", Some("article")),
            ("Collection", Some("collection")),
            ("Software", Some("software")),
            ("http://purl.org/dcx/lrmi-vocabs/learningResourceType/actvityPlan", Some("activity-plan")),
        ];
        for (raw, expected) in cases {
            assert_eq!(resource_type(raw).as_deref(), expected, "{raw}");
        }
    }

    #[test]
    fn test_grades_from_age_range_rejects_garbage() {
        for raw in ["", "  ", "teen", "-", "a-b", "8-x", "99999999999-3", "-5", "300"] {
            assert_eq!(grades_from_age_range(raw), None, "{raw:?}");
        }
    }

    #[test]
    fn test_grades_from_level_names() {
        assert_eq!(grades_from_level("Grade 3"), range(3, 3));
        assert_eq!(grades_from_level("3rd grade"), range(3, 3));
        assert_eq!(grades_from_level("12th Grade"), range(12, 12));
        assert_eq!(grades_from_level("third grade"), range(3, 3));
        assert_eq!(grades_from_level(" k "), range(0, 0));
        assert_eq!(grades_from_level("Kindergarten"), range(0, 0));
        assert_eq!(grades_from_level("Pre-K"), range(-1, -1));
        assert_eq!(grades_from_level("Pre-Kindergarten"), range(-1, -1));
        assert_eq!(grades_from_level("PK"), range(-1, -1));
        assert_eq!(grades_from_level("Middle School"), range(6, 8));
        assert_eq!(grades_from_level("High School"), range(9, 12));
        assert_eq!(grades_from_level("Elementary"), range(0, 5));
        assert_eq!(grades_from_level("Primary"), range(0, 5));
        for higher in
            ["Higher Education", "Undergraduate", "College", "University", "Postsecondary", "higher_education"]
        {
            assert_eq!(grades_from_level(higher), range(13, 13), "{higher}");
        }
        assert_eq!(grades_from_level("7"), range(7, 7));
    }

    #[test]
    fn test_grades_from_level_asn_uris() {
        let asn = "http://purl.org/ASN/scheme/ASNEducationLevel/";
        assert_eq!(grades_from_level(&format!("{asn}4")), range(4, 4));
        assert_eq!(grades_from_level(&format!("{asn}K")), range(0, 0));
        assert_eq!(grades_from_level(&format!("{asn}Pre-K")), range(-1, -1));
        assert_eq!(grades_from_level(&format!("{asn}HigherEducation")), range(13, 13));
        assert_eq!(grades_from_level(&format!("{asn}Postsecondary")), range(13, 13));
        assert_eq!(grades_from_level("https://purl.org/ASN/scheme/ASNEducationLevel/12/"), range(12, 12));
        assert_eq!(grades_from_level(&format!("{asn}Nonsense")), None);
    }

    #[test]
    fn test_grades_from_level_ranges_and_lists() {
        assert_eq!(grades_from_level("Grades 6-8"), range(6, 8));
        assert_eq!(grades_from_level("K-2"), range(0, 2));
        assert_eq!(grades_from_level("9-12"), range(9, 12));
        assert_eq!(grades_from_level("PK–K"), range(-1, 0));
        assert_eq!(grades_from_level("grade 3 to 5"), range(3, 5));
        assert_eq!(grades_from_level("Grade 4, Grade 5"), range(4, 5));
    }

    #[test]
    fn test_grades_from_level_lom_contexts() {
        assert_eq!(grades_from_level("primary education"), range(0, 5));
        assert_eq!(grades_from_level("secondary education"), range(6, 12));
        assert_eq!(grades_from_level("higher education"), range(13, 13));
        assert_eq!(grades_from_level("school"), range(0, 12));
        assert_eq!(grades_from_level("training"), range(13, 13));
        assert_eq!(grades_from_level("other"), None);
    }

    #[test]
    fn test_grades_from_level_rejects_garbage() {
        for raw in ["", "Grade 15", "grade", "13", "-3", "advanced", "Grade three-ish", "x-y"] {
            assert_eq!(grades_from_level(raw), None, "{raw:?}");
        }
    }

    #[test]
    fn test_language_case_and_separators() {
        assert_eq!(language("EN").as_deref(), Some("en"));
        assert_eq!(language(" en ").as_deref(), Some("en"));
        assert_eq!(language("en_US").as_deref(), Some("en-US"));
        assert_eq!(language("en-us").as_deref(), Some("en-US"));
        assert_eq!(language("fr-CA").as_deref(), Some("fr-CA"));
        assert_eq!(language("zh-hant-tw").as_deref(), Some("zh-Hant-TW"));
        assert_eq!(language("es-419").as_deref(), Some("es-419"));
        assert_eq!(language("en_US.UTF-8").as_deref(), Some("en-US"));
        assert_eq!(language("iw").as_deref(), Some("he"));
    }

    #[test]
    fn test_language_three_letter_codes_and_names() {
        assert_eq!(language("eng").as_deref(), Some("en"));
        assert_eq!(language("spa").as_deref(), Some("es"));
        assert_eq!(language("fra").as_deref(), Some("fr"));
        assert_eq!(language("fre").as_deref(), Some("fr"));
        assert_eq!(language("deu").as_deref(), Some("de"));
        assert_eq!(language("GER").as_deref(), Some("de"));
        assert_eq!(language("fil").as_deref(), Some("fil"));
        assert_eq!(language("Spanish").as_deref(), Some("es"));
        assert_eq!(language("french").as_deref(), Some("fr"));
        assert_eq!(language("German").as_deref(), Some("de"));
        assert_eq!(language("English").as_deref(), Some("en"));
        assert_eq!(language("Italian").as_deref(), Some("it"));
        assert_eq!(language("Portuguese").as_deref(), Some("pt"));
        assert_eq!(language("Chinese").as_deref(), Some("zh"));
        assert_eq!(language("Japanese").as_deref(), Some("ja"));
        assert_eq!(language("Arabic").as_deref(), Some("ar"));
        assert_eq!(language("Español").as_deref(), Some("es"));
    }

    #[test]
    fn test_language_rejects_garbage() {
        for raw in ["", "  ", "zz", "xyz", "und", "n/a", "12", "english-ish", "e", "toolongcode", "??"] {
            assert_eq!(language(raw), None, "{raw:?}");
        }
        // A bad trailing subtag is dropped, the language kept.
        assert_eq!(language("en-US-!!").as_deref(), Some("en-US"));
    }

    #[test]
    fn test_license_creative_commons_urls() {
        let by4 = Some("https://creativecommons.org/licenses/by/4.0/".to_string());
        assert_eq!(license("https://creativecommons.org/licenses/by/4.0/"), by4);
        assert_eq!(license("http://creativecommons.org/licenses/by/4.0"), by4);
        assert_eq!(license("https://creativecommons.org/licenses/by/4.0/legalcode"), by4);
        assert_eq!(license("https://creativecommons.org/licenses/by/4.0/deed.fr"), by4);
        assert_eq!(license("https://creativecommons.org/licenses/by/4.0/deed"), by4);
        assert_eq!(license("http://www.creativecommons.org/licenses/BY/4.0/"), by4);
        assert_eq!(license("creativecommons.org/licenses/by/4.0"), by4);
        assert_eq!(
            license("https://creativecommons.org/licenses/by-nc-sa/4.0/").as_deref(),
            Some("https://creativecommons.org/licenses/by-nc-sa/4.0/")
        );
        assert_eq!(
            license("http://creativecommons.org/licenses/by-sa/3.0/us/legalcode").as_deref(),
            Some("https://creativecommons.org/licenses/by-sa/3.0/us/")
        );
        assert_eq!(license("https://creativecommons.org/publicdomain/zero/1.0/legalcode").as_deref(), Some(CC_ZERO));
        assert_eq!(license("http://creativecommons.org/publicdomain/mark/1.0").as_deref(), Some(CC_PUBLIC_DOMAIN_MARK));
    }

    #[test]
    fn test_license_statements_with_urls() {
        assert_eq!(
            license(
                "Public domain. No known copyright restrictions. https://creativecommons.org/publicdomain/mark/1.0/"
            )
            .as_deref(),
            Some(CC_PUBLIC_DOMAIN_MARK)
        );
        // A statement is a licence only when it names one: another URL in it is no licence.
        assert_eq!(
            license("Licensed to subscribing districts under the MathWise District Agreement - https://www.mathwise.example.com/legal/district-license"),
            None
        );
        assert_eq!(license("Private (Copyrighted) - http://en.wikipedia.org/wiki/Copyright"), None);
        assert_eq!(license("See (https://example.com/terms)."), None);
        assert_eq!(
            license("Public Domain - http://en.wikipedia.org/wiki/Public_domain").as_deref(),
            Some(CC_PUBLIC_DOMAIN_MARK)
        );
        assert_eq!(
            license("CC Attribution Share Alike - http://creativecommons.org/licenses/by-sa/4.0").as_deref(),
            Some("https://creativecommons.org/licenses/by-sa/4.0/")
        );
        assert_eq!(license("https://opensource.org/licenses/MIT").as_deref(), Some("MIT"));
        assert_eq!(license("https://spdx.org/licenses/Apache-2.0.html").as_deref(), Some("Apache-2.0"));
        assert_eq!(
            license("https://spdx.org/licenses/CC-BY-SA-4.0").as_deref(),
            Some("https://creativecommons.org/licenses/by-sa/4.0/")
        );
        assert_eq!(license("https://www.gnu.org/licenses/gpl-3.0.en.html").as_deref(), Some("GPL-3.0-only"));
    }

    #[test]
    fn test_license_urls_of_licence_fields() {
        // A field that holds the licence URL by definition keeps the publisher's own terms.
        assert_eq!(
            license_url("https://www.sciencelab.example.com/legal/subscription-terms").as_deref(),
            Some("https://www.sciencelab.example.com/legal/subscription-terms")
        );
        assert_eq!(
            license_url("http://creativecommons.org/licenses/by/4.0/deed.de").as_deref(),
            Some("https://creativecommons.org/licenses/by/4.0/")
        );
        assert_eq!(license_url("CC BY 4.0").as_deref(), Some("https://creativecommons.org/licenses/by/4.0/"));
        assert_eq!(license_url("all rights reserved"), None);
    }

    #[test]
    fn test_license_text_and_spdx() {
        assert_eq!(license("CC-BY-4.0").as_deref(), Some("https://creativecommons.org/licenses/by/4.0/"));
        assert_eq!(license("CC BY-NC-SA 4.0").as_deref(), Some("https://creativecommons.org/licenses/by-nc-sa/4.0/"));
        assert_eq!(license("cc-by-nd-3.0").as_deref(), Some("https://creativecommons.org/licenses/by-nd/3.0/"));
        assert_eq!(
            license("Creative Commons Attribution-NonCommercial-ShareAlike 4.0 International").as_deref(),
            Some("https://creativecommons.org/licenses/by-nc-sa/4.0/")
        );
        assert_eq!(
            license("Creative Commons Attribution Share Alike 4.0").as_deref(),
            Some("https://creativecommons.org/licenses/by-sa/4.0/")
        );
        assert_eq!(license("CC0").as_deref(), Some(CC_ZERO));
        assert_eq!(license("CC0-1.0").as_deref(), Some(CC_ZERO));
        assert_eq!(license("MIT").as_deref(), Some("MIT"));
        assert_eq!(license("Apache-2.0").as_deref(), Some("Apache-2.0"));
        assert_eq!(license("Apache License, Version 2.0").as_deref(), Some("Apache-2.0"));
        assert_eq!(license("Public Domain").as_deref(), Some(CC_PUBLIC_DOMAIN_MARK));
        assert_eq!(license("This work is in the public domain.").as_deref(), Some(CC_PUBLIC_DOMAIN_MARK));
    }

    #[test]
    fn test_license_unrecognised() {
        assert_eq!(license(""), None);
        assert_eq!(
            license("© 2024 HistArchive Digital Collections. Educational use permitted; no commercial reuse."),
            None
        );
        assert_eq!(license("All rights reserved"), None);
        assert_eq!(license("CC BY"), None, "no version: not guessed");
        assert_eq!(license("This work is not in the public domain"), None);
        assert_eq!(license("CC BY-SA-ND 4.0"), None);
    }

    #[test]
    fn test_license_is_open() {
        assert!(license_is_open("https://creativecommons.org/licenses/by-nc-nd/4.0/"));
        assert!(license_is_open(CC_ZERO));
        assert!(license_is_open(CC_PUBLIC_DOMAIN_MARK));
        assert!(license_is_open("MIT"));
        assert!(!license_is_open("https://www.sciencelab.example.com/legal/subscription-terms"));
    }

    #[test]
    fn test_resource_type_rs_enum() {
        let cases = [
            ("Media/Video", "video"),
            ("Assessment/Formative", "assessment"),
            ("Assessment/Item", "assessment"),
            ("Assessment/Rubric", "rubric"),
            ("Interactive/Simulation", "simulation"),
            ("Interactive/Animation", "animation"),
            ("Text/Article", "article"),
            ("Text/Passage", "reading-passage"),
            ("Activity/Worksheet", "worksheet"),
            ("Activity/Learning", "activity"),
            ("Activity/Experiment", "experiment"),
            ("Collection/Lesson", "lesson"),
            ("Collection/Curriculum Guide", "curriculum-guide"),
            ("Game", "game"),
            ("Lecture", "lecture"),
            ("Media/Images/Visuals", "image"),
            ("Media/Audio", "audio"),
            ("Text/Website", "website"),
            ("Other", "other"),
        ];
        for (raw, expected) in cases {
            assert_eq!(resource_type(raw).as_deref(), Some(expected), "{raw}");
        }
    }

    #[test]
    fn test_resource_type_lrmi() {
        let lrmi = "http://purl.org/dcx/lrmi-vocabs/learningResourceType/";
        assert_eq!(resource_type(&format!("{lrmi}lessonPlan")).as_deref(), Some("lesson-plan"));
        assert_eq!(resource_type(&format!("{lrmi}unitPlan")).as_deref(), Some("unit-plan"));
        assert_eq!(resource_type(&format!("{lrmi}assessmentItem")).as_deref(), Some("assessment"));
        assert_eq!(resource_type(&format!("{lrmi}educatorCurriculumGuide")).as_deref(), Some("curriculum-guide"));
        assert_eq!(resource_type(&format!("{lrmi}textbook")).as_deref(), Some("textbook"));
        assert_eq!(resource_type("lesson plan").as_deref(), Some("lesson-plan"));
        assert_eq!(resource_type("Reading passage").as_deref(), Some("reading-passage"));
        assert_eq!(resource_type("Audio").as_deref(), Some("audio"));
        assert_eq!(resource_type("Text/Chapter").as_deref(), Some("chapter"));
    }

    #[test]
    fn test_resource_type_lom_and_dc() {
        let cases = [
            ("narrative text", "text"),
            ("figure", "image"),
            ("diagram", "image"),
            ("graph", "image"),
            ("exercise", "exercise"),
            ("experiment", "experiment"),
            ("simulation", "simulation"),
            ("questionnaire", "assessment"),
            ("exam", "assessment"),
            ("self assessment", "assessment"),
            ("lecture", "lecture"),
            ("slide", "presentation"),
            ("table", "table"),
            ("index", "index"),
            ("problem statement", "exercise"),
            ("Text", "text"),
            ("Image", "image"),
            ("StillImage", "image"),
            ("Sound", "audio"),
            ("MovingImage", "video"),
            ("InteractiveResource", "interactive"),
            ("Dataset", "dataset"),
            ("PhysicalObject", "physical-object"),
            ("http://purl.org/dc/dcmitype/MovingImage", "video"),
        ];
        for (raw, expected) in cases {
            assert_eq!(resource_type(raw).as_deref(), Some(expected), "{raw}");
        }
    }

    #[test]
    fn test_resource_type_unknown_and_empty() {
        assert_eq!(resource_type("Writing prompt").as_deref(), Some("writing-prompt"));
        assert_eq!(resource_type("  Short  story ").as_deref(), Some("short-story"));
        assert_eq!(resource_type("fábulas").as_deref(), Some("fábulas"));
        assert_eq!(resource_type(""), None);
        assert_eq!(resource_type(" / "), None);
    }

    #[test]
    fn test_resource_types_list_is_sorted_and_canonical() {
        let mut sorted = RESOURCE_TYPES.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, RESOURCE_TYPES);
        for (synonym, canonical) in RESOURCE_TYPE_SYNONYMS {
            assert!(RESOURCE_TYPES.contains(canonical), "{synonym} → {canonical} is not in RESOURCE_TYPES");
            assert_eq!(type_slug(synonym), *synonym, "synonym keys are slugs");
        }
        for canonical in RESOURCE_TYPES {
            assert_eq!(resource_type(canonical).as_deref(), Some(*canonical));
        }
    }
}
