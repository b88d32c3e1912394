//! The deterministic synthetic corpus: publishers of skewed sizes whose catalogs are written as
//! LTI Resource Search JSON and LRMI JSON-LD documents, the formats the gateway ingests.
//!
//! Text is drawn from a vocabulary of real English and education words followed by a long tail
//! of generated words, with Zipf-like frequencies, so term statistics look like a catalog's:
//! a few words are everywhere, most are rare. Every resource carries a topic phrase ("the water
//! cycle") in its title, description and keywords, which the query mix searches as phrases.
//! The same seed gives the same bytes on every machine (no floats in the stream that decides,
//! except the precomputed cumulative tables, which are built the same way everywhere).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// A small, fast, seeded generator (SplitMix64): deterministic across platforms and releases,
/// unlike the `rand` crate's `StdRng`, whose algorithm may change between versions.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..bound` (`bound` > 0).
    pub fn below(&mut self, bound: usize) -> usize {
        ((u128::from(self.next_u64()) * bound as u128) >> 64) as usize
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// [`Self::pick`] for string lists, where inference would otherwise ask for `[str]`.
    pub fn pick_str<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Samples ranks 0..n with probability proportional to 1 / (rank + 1)^s.
#[derive(Debug, Clone)]
pub struct Zipf {
    /// Cumulative weights scaled to u64, so sampling needs no floating point.
    cumulative: Vec<u64>,
}

impl Zipf {
    pub fn new(n: usize, exponent: f64) -> Self {
        let weights: Vec<f64> = (0..n).map(|rank| 1.0 / ((rank + 1) as f64).powf(exponent)).collect();
        let total: f64 = weights.iter().sum();
        let mut running = 0.0;
        let scale = (u64::MAX / 2) as f64;
        let cumulative = weights
            .iter()
            .map(|weight| {
                running += weight / total;
                (running * scale) as u64
            })
            .collect();
        Self { cumulative }
    }

    pub fn sample(&self, rng: &mut Rng) -> usize {
        let last = *self.cumulative.last().unwrap_or(&0);
        let target = rng.next_u64() % last.max(1);
        self.cumulative.partition_point(|&c| c <= target).min(self.cumulative.len() - 1)
    }
}

/// Real words first (the frequent ones), in a rough frequency order.
#[rustfmt::skip]
const COMMON_WORDS: &[&str] = &[
    "students", "learn", "practice", "lesson", "activity", "explore", "understand", "using", "model", "example",
    "question", "reading", "writing", "number", "work", "class", "teacher", "group", "discuss", "create", "compare",
    "explain", "describe", "identify", "solve", "problem", "skills", "concept", "simple", "guided", "review", "build",
    "small", "world", "water", "energy", "story", "words", "answer", "support", "project", "interactive", "video",
    "worksheet", "quiz", "game", "lab", "investigate", "observe", "record", "data", "graph", "chart", "table", "map",
    "timeline", "evidence", "claim", "argument", "text", "passage", "paragraph", "sentence", "vocabulary", "grammar",
    "spelling", "phonics", "fluency", "comprehension", "analysis", "measure", "estimate", "predict", "test",
    "experiment", "design", "engineering", "planet", "animals", "plants", "cells", "forces", "motion", "light",
    "sound", "weather", "climate", "earth", "history", "government", "citizens", "community", "culture", "economy",
    "trade", "maps", "regions", "equations", "fractions", "decimals", "geometry", "angles", "shapes", "patterns",
    "algebra", "functions", "probability", "statistics", "multiplication", "division", "addition", "subtraction",
    "place", "value", "poetry", "novel", "author", "character", "setting", "theme", "plot", "narrative",
    "informational", "persuasive", "opinion", "research", "sources", "primary", "secondary", "documents", "letters",
    "speech", "music", "rhythm", "melody", "art", "drawing", "painting", "color", "health", "nutrition", "exercise",
    "safety", "computer", "coding", "algorithm", "programming", "internet", "digital", "media", "literacy", "spanish",
    "french", "culture", "travel", "family", "school", "food", "animals", "seasons", "holidays", "printable",
    "assessment", "rubric", "checklist", "organizer", "cards", "centers", "warmup", "exit", "ticket", "homework",
    "challenge", "enrichment", "intervention", "scaffold", "differentiated", "visual", "hands", "discovery",
    "inquiry", "collaborative", "independent", "partner", "whole", "real", "life", "connections", "careers",
    "science", "mathematics", "social", "studies", "language", "arts", "physical", "education", "technology",
    "chemistry", "physics", "biology", "ecology", "astronomy", "geology", "ocean", "river", "mountain", "desert",
    "forest", "habitat", "ecosystem", "food", "chain", "web", "predator", "prey", "volcano", "earthquake", "rocks",
    "minerals", "fossils", "dinosaurs", "solar", "system", "moon", "stars", "electricity", "magnets", "circuits",
    "matter", "atoms", "molecules", "reactions", "mixtures", "solutions", "heat", "temperature", "pressure",
    "gravity", "friction", "machines", "levers", "pulleys", "bridges", "ancient", "egypt", "rome", "greece", "china",
    "empire", "revolution", "war", "peace", "constitution", "rights", "democracy", "elections", "voting", "laws",
    "courts", "president", "congress", "immigration", "industrial", "civil", "movement", "explorers", "colonies",
    "independence", "geography", "population", "resources", "money", "budget", "banking", "saving", "interest",
    "percent", "ratio", "proportion", "area", "perimeter", "volume", "surface", "coordinate", "plane", "linear",
    "quadratic", "exponents", "integers", "rational", "irrational", "inequalities", "expressions", "variables",
    "slope", "triangles", "circles", "polygons", "symmetry", "transformations", "congruence", "similarity",
    "trigonometry", "calculus", "limits", "derivatives", "integrals", "vectors", "matrices", "sequences", "series",
    "logic", "proof", "reasoning", "counting", "money", "time", "clocks", "calendar", "length", "weight", "capacity",
    "photosynthesis", "respiration", "digestion", "skeleton", "muscles", "heart", "brain", "senses", "genetics",
    "evolution", "adaptation", "inheritance", "traits", "bacteria", "viruses", "immune", "microscope",
];

/// Subjects with their topic phrases.
const SUBJECTS: &[(&str, &[&str])] = &[
    (
        "Mathematics",
        &[
            "fractions on a number line",
            "equivalent fractions",
            "place value",
            "long division",
            "area and perimeter",
            "linear equations",
            "the pythagorean theorem",
            "order of operations",
            "ratios and proportions",
            "probability and chance",
        ],
    ),
    (
        "Science",
        &[
            "the water cycle",
            "states of matter",
            "the solar system",
            "food chains and food webs",
            "simple machines",
            "plate tectonics",
            "the scientific method",
            "weather and climate",
        ],
    ),
    (
        "Life Science",
        &["photosynthesis", "cell structure", "the human body", "plant life cycles", "animal adaptations"],
    ),
    ("Physical Science", &["forces and motion", "electric circuits", "light and sound waves", "chemical reactions"]),
    ("Earth Science", &["rocks and minerals", "volcanoes and earthquakes", "the rock cycle", "erosion and weathering"]),
    (
        "English Language Arts",
        &[
            "story elements",
            "main idea and details",
            "persuasive writing",
            "figurative language",
            "reading comprehension",
            "point of view",
            "poetry analysis",
        ],
    ),
    ("Reading", &["phonics and decoding", "sight words", "reading fluency", "context clues"]),
    ("Writing", &["narrative writing", "opinion writing", "research reports", "grammar and punctuation"]),
    (
        "Social Studies",
        &["the american revolution", "ancient civilizations", "the civil rights movement", "branches of government"],
    ),
    ("History", &["the industrial revolution", "world war two", "the cold war", "ancient egypt"]),
    ("Geography", &["map skills", "landforms and bodies of water", "continents and oceans"]),
    ("Computer Science", &["algorithms and loops", "internet safety", "block coding", "binary numbers"]),
    ("Arts", &["color theory", "music rhythm", "art history"]),
    ("Health", &["healthy eating", "personal safety", "physical fitness"]),
    ("World Languages", &["spanish greetings", "french numbers", "family vocabulary"]),
];

const RESOURCE_TYPES: &[&str] = &[
    "Lesson plan",
    "Worksheet",
    "Media/Video",
    "Interactive",
    "Assessment/Quiz",
    "Reading passage",
    "Activity/Experiment",
    "Simulation",
    "Game",
    "Presentation",
    "Primary source",
    "Graphic organizer",
];

/// Languages and their share in percent (the rest English).
const LANGUAGES: &[(&str, usize)] = &[("es", 8), ("fr", 4), ("de", 2), ("pt", 2), ("zh", 1), ("ar", 1)];

const LICENSES: &[&str] = &[
    "https://creativecommons.org/licenses/by/4.0/",
    "https://creativecommons.org/licenses/by-sa/4.0/",
    "https://creativecommons.org/licenses/by-nc-sa/4.0/",
    "https://creativecommons.org/licenses/by-nc/4.0/",
    "https://creativecommons.org/publicdomain/zero/1.0/",
];

const TITLE_TEMPLATES: &[&str] = &[
    "Introduction to {topic}",
    "{Topic}: {w} {w} practice",
    "Exploring {topic} with {w}",
    "{Topic} for grade {g}",
    "{W} {w}: {topic}",
    "Understanding {topic}",
    "{Topic} {w} and {w}",
    "Hands-on {topic} {w}",
];

const PUBLISHER_NAMES: &[&str] = &[
    "MathWise Learning",
    "ScienceLab Interactive",
    "OpenReaders Collective",
    "HistArchive",
    "Civic Classroom",
    "Number Garden",
    "Blue Planet Education",
    "Storyline Press",
    "Code Academy for Kids",
    "Atlas Geography",
    "Bright Futures Learning",
    "Prairie State OER",
    "Lumen Labs",
    "Quill and Ink",
    "Equation Works",
    "Field Notes Science",
    "Heritage Voices",
    "Pixel Arts Studio",
    "Healthy Minds",
    "Polyglot Primers",
];

/// The catalog formats the corpus is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DocFormat {
    ResourceSearch,
    Lrmi,
}

/// One publisher of the corpus.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PublisherSpec {
    pub id: String,
    pub name: String,
    pub format: DocFormat,
    pub num_resources: usize,
}

/// One catalog document written to disk.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DocumentSpec {
    pub publisher: String,
    pub format: DocFormat,
    /// The catalog source the document replaces (one per document: each is a whole catalog).
    pub source: String,
    pub path: PathBuf,
    pub num_resources: usize,
    pub num_bytes: u64,
}

/// What was generated, as the children read it back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub seed: u64,
    pub num_resources: usize,
    pub publishers: Vec<PublisherSpec>,
    pub documents: Vec<DocumentSpec>,
}

impl Manifest {
    pub fn num_bytes(&self) -> u64 {
        self.documents.iter().map(|d| d.num_bytes).sum()
    }

    pub fn read(dir: &Path) -> anyhow::Result<Self> {
        let bytes = std::fs::read(dir.join("manifest.json"))?;
        Ok(serde_json::from_slice(&bytes)?)
    }
}

/// The vocabulary and samplers shared by the corpus and the query mix.
pub struct Vocabulary {
    /// Rank order: real words first, then generated ones.
    pub words: Vec<String>,
    pub zipf: Zipf,
    subject_zipf: Zipf,
}

/// Words in the vocabulary (real ones plus generated ones).
pub const VOCABULARY_SIZE: usize = 30_000;

impl Vocabulary {
    pub fn new() -> Self {
        let mut words: Vec<String> = Vec::with_capacity(VOCABULARY_SIZE);
        let mut seen = std::collections::HashSet::new();
        for word in COMMON_WORDS {
            if seen.insert(word.to_string()) {
                words.push(word.to_string());
            }
        }
        // Generated words from syllables: pronounceable, distinct, deterministic.
        const ONSETS: &[&str] = &[
            "b", "c", "d", "f", "g", "l", "m", "n", "p", "r", "s", "t", "v", "br", "cr", "st", "tr", "pl", "gr", "sh",
        ];
        const VOWELS: &[&str] = &["a", "e", "i", "o", "u", "ai", "ea", "ou"];
        const CODAS: &[&str] = &["", "n", "r", "l", "s", "m", "x", "nd", "rt"];
        let mut rng = Rng::new(0x5EED_0F0B);
        while words.len() < VOCABULARY_SIZE {
            let syllables = 2 + rng.below(3);
            let mut word = String::new();
            for _ in 0..syllables {
                word.push_str(rng.pick_str(ONSETS));
                word.push_str(rng.pick_str(VOWELS));
            }
            word.push_str(rng.pick_str(CODAS));
            if seen.insert(word.clone()) {
                words.push(word);
            }
        }
        Self { zipf: Zipf::new(words.len(), 1.0), subject_zipf: Zipf::new(SUBJECTS.len(), 0.8), words }
    }

    pub fn word(&self, rng: &mut Rng) -> &str {
        let rank = self.zipf.sample(rng);
        &self.words[rank]
    }

    pub fn subject(&self, rng: &mut Rng) -> usize {
        self.subject_zipf.sample(rng)
    }

    /// Every topic phrase, with its subject.
    pub fn topics() -> impl Iterator<Item = (&'static str, &'static str)> {
        SUBJECTS.iter().flat_map(|(subject, topics)| topics.iter().map(move |t| (*subject, *t)))
    }

    pub fn subject_names() -> impl Iterator<Item = &'static str> {
        SUBJECTS.iter().map(|(s, _)| *s)
    }
}

/// One resource before it is written in a publisher's format.
struct Generated {
    local_id: String,
    title: String,
    description: String,
    keywords: Vec<String>,
    subjects: Vec<String>,
    grade_min: i32,
    grade_max: i32,
    language: &'static str,
    license: Option<&'static str>,
    resource_type: &'static str,
    lti: bool,
    free: Option<bool>,
    updated: String,
    standard: Option<(String, String)>,
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn sentence(vocabulary: &Vocabulary, rng: &mut Rng, topic: Option<&str>) -> String {
    let length = 8 + rng.below(9);
    let mut words: Vec<String> = Vec::with_capacity(length + 4);
    for _ in 0..length {
        words.push(vocabulary.word(rng).to_string());
    }
    if let Some(topic) = topic {
        let at = rng.below(words.len());
        words.insert(at, topic.to_string());
    }
    let mut text = capitalize(&words.join(" "));
    text.push('.');
    text
}

fn generate(vocabulary: &Vocabulary, rng: &mut Rng, publisher_index: usize, serial: usize) -> Generated {
    let subject_index = vocabulary.subject(rng);
    let (subject, topics) = SUBJECTS[subject_index];
    let topic = *rng.pick(topics);
    let grade_min = rng.below(14) as i32 - 1;
    let grade_max = (grade_min + rng.below(4) as i32).min(13);
    let template = *rng.pick(TITLE_TEMPLATES);
    let mut title = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        title.push_str(&rest[..start]);
        let end = rest[start..].find('}').map(|e| start + e).unwrap_or(rest.len() - 1);
        match &rest[start + 1..end] {
            "topic" => title.push_str(topic),
            "Topic" => title.push_str(&capitalize(topic)),
            "w" => title.push_str(vocabulary.word(rng)),
            "W" => title.push_str(&capitalize(vocabulary.word(rng))),
            "g" => title.push_str(&grade_min.max(1).to_string()),
            _ => {}
        }
        rest = &rest[end + 1..];
    }
    title.push_str(rest);
    let num_sentences = 2 + rng.below(3);
    let topic_sentence = rng.below(num_sentences);
    let description: Vec<String> = (0..num_sentences)
        .map(|i| sentence(vocabulary, rng, if i == topic_sentence { Some(topic) } else { None }))
        .collect();
    let mut keywords = vec![topic.to_string()];
    for _ in 0..1 + rng.below(3) {
        let word = vocabulary.word(rng).to_string();
        if !keywords.contains(&word) {
            keywords.push(word);
        }
    }
    let mut subjects = vec![subject.to_string()];
    if rng.chance(25) {
        let other = SUBJECTS[vocabulary.subject(rng)].0;
        if other != subject {
            subjects.push(other.to_string());
        }
    }
    let mut language = "en";
    let roll = rng.below(100);
    let mut threshold = 0;
    for (code, share) in LANGUAGES {
        threshold += share;
        if roll < threshold {
            language = code;
            break;
        }
    }
    let license = if rng.chance(75) { Some(*rng.pick(LICENSES)) } else { None };
    let free = match rng.below(10) {
        0..=5 => Some(true),
        6..=7 => Some(false),
        _ => None,
    };
    let standard = if rng.chance(30) {
        let grade = grade_min.clamp(1, 8);
        let domains = ["NF", "OA", "NBT", "MD", "G", "RL", "RI", "W", "LS1", "PS2", "ESS3"];
        let code = format!("{grade}.{}.{}.{}", rng.pick(&domains), ["A", "B", "C"][rng.below(3)], 1 + rng.below(6));
        let guid = format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            rng.next_u64() as u32,
            rng.next_u64() as u16,
            rng.next_u64() as u16 & 0xfff,
            rng.next_u64() as u16 & 0xfff,
            rng.next_u64() & 0xffff_ffff_ffff
        );
        Some((code, guid))
    } else {
        None
    };
    Generated {
        local_id: format!("P{publisher_index:02}-{serial:07}"),
        title,
        description: description.join(" "),
        keywords,
        subjects,
        grade_min,
        grade_max,
        language,
        license,
        resource_type: rng.pick_str(RESOURCE_TYPES),
        lti: rng.chance(40),
        free,
        updated: format!("20{:02}-{:02}-{:02}", 18 + rng.below(8), 1 + rng.below(12), 1 + rng.below(28)),
        standard,
    }
}

/// Ages are what both formats carry; grade = age - 5.
fn age_range(resource: &Generated) -> String {
    format!("{}-{}", resource.grade_min + 5, resource.grade_max + 5)
}

fn slug(text: &str) -> String {
    text.to_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

fn resource_search_item(publisher: &PublisherSpec, resource: &Generated) -> Value {
    let base = format!("https://{}.example.com", publisher.id);
    let url = format!("{base}/r/{}/{}", resource.local_id, slug(&resource.title));
    let mut item = json!({
        "id": resource.local_id,
        "name": resource.title,
        "description": resource.description,
        "subject": resource.subjects,
        "keywords": resource.keywords,
        "url": url,
        "learningResourceType": [resource.resource_type],
        "language": [resource.language],
        "typicalAgeRange": age_range(resource),
        "publisher": publisher.name,
        "publishDate": resource.updated,
        "thumbnailUrl": format!("{base}/thumbs/{}.jpg", resource.local_id),
    });
    if let Some(license) = resource.license {
        item["useRightsURL"] = json!(license);
    }
    if resource.lti {
        item["ltiLink"] = json!({
            "title": resource.title,
            "secure_launch_url": format!("{base}/lti/launch/{}", resource.local_id),
            "custom": { "resource": resource.local_id },
            "vendor": { "code": publisher.id, "name": publisher.name },
        });
    }
    if let Some((code, guid)) = &resource.standard {
        item["learningObjectives"] = json!([{
            "alignmentType": "teaches",
            "educationalFramework": "Common Core State Standards",
            "targetName": code,
            "caseItemGUID": guid,
            "caseItemUri": format!("https://case.example.org/ims/case/v1p0/CFItems/{guid}"),
        }]);
    }
    item
}

fn lrmi_item(publisher: &PublisherSpec, resource: &Generated) -> Value {
    let base = format!("https://{}.example.org", publisher.id);
    let mut alignments: Vec<Value> = resource
        .subjects
        .iter()
        .map(|s| json!({ "@type": "AlignmentObject", "alignmentType": "educationalSubject", "targetName": s }))
        .collect();
    if let Some((code, guid)) = &resource.standard {
        alignments.push(json!({
            "@type": "AlignmentObject",
            "alignmentType": "teaches",
            "educationalFramework": "Common Core State Standards",
            "targetName": code,
            "targetUrl": format!("https://case.example.org/ims/case/v1p0/CFItems/{guid}"),
        }));
    }
    let mut item = json!({
        "@context": "https://schema.org",
        "@type": "LearningResource",
        "identifier": resource.local_id,
        "name": resource.title,
        "description": resource.description,
        "url": format!("{base}/read/{}/{}", resource.local_id, slug(&resource.title)),
        "inLanguage": resource.language,
        "learningResourceType": resource.resource_type,
        "typicalAgeRange": age_range(resource),
        "educationalAlignment": alignments,
        "keywords": resource.keywords,
        "dateModified": resource.updated,
        "publisher": { "@type": "Organization", "name": publisher.name, "url": base },
    });
    if let Some(license) = resource.license {
        item["license"] = json!(license);
    }
    if let Some(free) = resource.free {
        item["isAccessibleForFree"] = json!(free);
    }
    item
}

/// How many resources each of `num_publishers` publishers gets: skewed 1/rank, every one ≥ 1.
pub fn publisher_sizes(num_resources: usize, num_publishers: usize) -> Vec<usize> {
    let weights: Vec<f64> = (0..num_publishers).map(|i| 1.0 / (i + 1) as f64).collect();
    let total: f64 = weights.iter().sum();
    let mut sizes: Vec<usize> =
        weights.iter().map(|w| ((num_resources as f64) * w / total).floor().max(1.0) as usize).collect();
    let assigned: usize = sizes.iter().sum();
    if assigned < num_resources {
        sizes[0] += num_resources - assigned;
    } else {
        let mut excess = assigned - num_resources;
        for size in sizes.iter_mut() {
            let take = excess.min(size.saturating_sub(1));
            *size -= take;
            excess -= take;
        }
    }
    sizes
}

/// Writes the corpus into `dir` (wiped first) and answers its manifest.
pub fn write_corpus(dir: &Path, num_resources: usize, per_document: usize, seed: u64) -> anyhow::Result<Manifest> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)?;
    let num_publishers = PUBLISHER_NAMES.len().min(num_resources.max(1));
    let sizes = publisher_sizes(num_resources, num_publishers);
    let publishers: Vec<PublisherSpec> = PUBLISHER_NAMES
        .iter()
        .zip(sizes)
        .enumerate()
        .map(|(index, (name, size))| PublisherSpec {
            id: slug(name),
            name: name.to_string(),
            format: if index % 2 == 0 { DocFormat::ResourceSearch } else { DocFormat::Lrmi },
            num_resources: size,
        })
        .collect();
    let vocabulary = Vocabulary::new();
    let mut rng = Rng::new(seed);
    let mut documents = Vec::new();
    for (publisher_index, publisher) in publishers.iter().enumerate() {
        let mut serial = 0;
        let mut part = 0;
        while serial < publisher.num_resources {
            let count = per_document.min(publisher.num_resources - serial);
            let items: Vec<Value> = (serial..serial + count)
                .map(|n| {
                    let resource = generate(&vocabulary, &mut rng, publisher_index, n);
                    match publisher.format {
                        DocFormat::ResourceSearch => resource_search_item(publisher, &resource),
                        DocFormat::Lrmi => lrmi_item(publisher, &resource),
                    }
                })
                .collect();
            let (extension, body) = match publisher.format {
                DocFormat::ResourceSearch => ("json", json!({ "resources": items })),
                DocFormat::Lrmi => ("jsonld", Value::Array(items)),
            };
            let path = dir.join(format!("{}-{part:04}.{extension}", publisher.id));
            let mut out = BufWriter::new(File::create(&path)?);
            serde_json::to_writer(&mut out, &body)?;
            out.flush()?;
            documents.push(DocumentSpec {
                publisher: publisher.id.clone(),
                format: publisher.format,
                source: format!("bench-{part:04}"),
                num_bytes: std::fs::metadata(&path)?.len(),
                path,
                num_resources: count,
            });
            serial += count;
            part += 1;
        }
    }
    let manifest = Manifest { seed, num_resources, publishers, documents };
    std::fs::write(dir.join("manifest.json"), serde_json::to_vec_pretty(&manifest)?)?;
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use resource_gateway::catalog::{self, Limits};
    use resource_gateway::resource::CatalogFormat;

    #[test]
    fn test_publisher_sizes_are_skewed_and_add_up() {
        let sizes = publisher_sizes(100_000, 20);
        assert_eq!(sizes.iter().sum::<usize>(), 100_000);
        assert!(sizes[0] > 5 * sizes[19], "{sizes:?}");
        assert_eq!(publisher_sizes(3, 3), vec![1, 1, 1]);
    }

    #[test]
    fn test_corpus_is_deterministic_and_every_item_parses() {
        let first = tempfile_dir("a");
        let second = tempfile_dir("b");
        let manifest = write_corpus(&first, 400, 50, 7).unwrap();
        write_corpus(&second, 400, 50, 7).unwrap();
        let mut total = 0;
        for document in &manifest.documents {
            let bytes = std::fs::read(&document.path).unwrap();
            let twin = std::fs::read(second.join(document.path.file_name().unwrap())).unwrap();
            assert_eq!(bytes, twin, "{}", document.path.display());
            let format = match document.format {
                DocFormat::ResourceSearch => CatalogFormat::ResourceSearch,
                DocFormat::Lrmi => CatalogFormat::Lrmi,
            };
            let parsed = catalog::parse(format, &bytes, &Limits::default()).unwrap();
            assert_eq!(parsed.rejected, 0, "{:?}", parsed.diagnostics);
            assert_eq!(parsed.resources.len(), document.num_resources);
            for resource in &parsed.resources {
                assert!(resource.grades.is_some() && !resource.subjects.is_empty(), "{resource:?}");
            }
            total += parsed.resources.len();
        }
        assert_eq!(total, 400);
        std::fs::remove_dir_all(&first).ok();
        std::fs::remove_dir_all(&second).ok();
    }

    fn tempfile_dir(tag: &str) -> PathBuf {
        std::env::temp_dir().join(format!("bench-corpus-test-{}-{tag}", std::process::id()))
    }
}
