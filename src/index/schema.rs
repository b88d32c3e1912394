//! The tantivy schema: which fields exist, how each is analysed, and the version stamp that
//! tells an old index from a current one.

use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, INDEXED, STORED, STRING,
};
use tantivy::store::Compressor;
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RawTokenizer, RemoveLongFilter, SimpleTokenizer, Stemmer, TextAnalyzer,
};
use tantivy::{Index, IndexSettings};

/// Bump when fields, analysers, index settings or the shape of the stored `ResourceRecord`
/// change: an index with another stamp is rebuilt from the catalog log.
/// 2: `title_sort` is a fast column only; the document store is zstd-compressed.
/// 3: the payload is postcard instead of JSON.
/// 4: `code` (standard codes as a filter and facet); accessibility in the payload.
/// 5: resources keep their raw subjects; line items their `resourceId` and `tag`; SITEMAP format.
/// 6: the document store is lz4-compressed again, in 4 KiB blocks.
/// 7: document-store blocks of 2 KiB.
/// 8: the document store is not compressed.
/// 9: `updated_at` is seconds and nanoseconds in the payload.
pub const SCHEMA_VERSION: u32 = 9;

/// How the index stores what it stores. The document store (each resource's payload, read for
/// the hits of a page) is not compressed: every hit used to decompress its whole block, and with
/// zstd that (a decompression context created per block, then the block) was a fifth of the
/// serving CPU at 100k; lz4 in blocks of 2 KiB brought it to 3%, and no compression to the copy
/// of the block (BENCHMARKS.md, issue 14). The price is disk and page cache: 83 MiB of store at
/// 100k instead of lz4's 48 (zstd's 25). Blocks stay at 2 KiB, two or three resources, as each
/// hit still copies its block.
pub fn settings() -> IndexSettings {
    IndexSettings {
        docstore_compression: Compressor::None,
        docstore_blocksize: DOCSTORE_BLOCK_BYTES,
        ..IndexSettings::default()
    }
}

/// Uncompressed bytes of documents per document-store block.
const DOCSTORE_BLOCK_BYTES: usize = 2 * 1024;

/// English-stemmed analyser for every text field.
pub const TOKENIZER_EN: &str = "en_stem_folded";
/// Whole-value, lowercased analyser for standard codes ("3.NF.A.1").
pub const TOKENIZER_CODE: &str = "code_lower";

/// Languages with a tantivy stemmer: a resource in one of them is also indexed with it.
pub const NATIVE_LANGUAGES: &[(&str, Language)] = &[
    ("es", Language::Spanish),
    ("fr", Language::French),
    ("de", Language::German),
    ("it", Language::Italian),
    ("pt", Language::Portuguese),
    ("nl", Language::Dutch),
    ("sv", Language::Swedish),
    ("da", Language::Danish),
    ("no", Language::Norwegian),
    ("fi", Language::Finnish),
    ("ru", Language::Russian),
    ("ro", Language::Romanian),
    ("hu", Language::Hungarian),
    ("tr", Language::Turkish),
    ("el", Language::Greek),
    ("ar", Language::Arabic),
];

/// Every field, resolved once.
#[derive(Clone)]
pub struct Fields {
    /// `<publisher>:<local id>`: the delete key.
    pub id: Field,
    /// `<publisher>/<source>`: what a replacing ingest deletes.
    pub source: Field,
    /// The whole [`crate::resource::ResourceRecord`] as JSON, for display.
    pub payload: Field,
    pub title: Field,
    pub description: Field,
    pub keywords: Field,
    pub subjects: Field,
    pub codes: Field,
    /// One field per native language: title, description and keywords with that stemmer.
    pub native: Vec<(String, Field)>,
    /// Lowercased title, for sorting by title.
    pub title_sort: Field,
    /// Seconds since the epoch, for sorting by newest.
    pub updated: Field,
    pub grade_min: Field,
    pub grade_max: Field,
    /// Filter keys and facet values (see [`super::facets::Dimension`]).
    pub publisher: Field,
    pub subject: Field,
    pub resource_type: Field,
    pub language: Field,
    pub license: Field,
    pub kind: Field,
    pub grade: Field,
    pub alignment: Field,
    /// Standard codes as written (`3.NF.A.1`): the picker's standards filter and facet.
    pub code: Field,
    pub free: Field,
}

fn text_options(tokenizer: &str) -> TextOptions {
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(tokenizer)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    )
}

/// Builds the schema and the field handles that go with it.
pub fn build() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let id = builder.add_text_field("id", STRING | FAST);
    let source = builder.add_text_field("source", STRING);
    let payload = builder.add_bytes_field("payload", STORED);
    let title = builder.add_text_field("title", text_options(TOKENIZER_EN));
    let description = builder.add_text_field("description", text_options(TOKENIZER_EN));
    let keywords = builder.add_text_field("keywords", text_options(TOKENIZER_EN));
    let subjects = builder.add_text_field("subjects", text_options(TOKENIZER_EN));
    let codes = builder.add_text_field("codes", text_options(TOKENIZER_CODE));
    let native = NATIVE_LANGUAGES
        .iter()
        .map(|(code, _)| {
            let name = format!("text_{code}");
            let field = builder.add_text_field(&name, text_options(&native_tokenizer(code)));
            (code.to_string(), field)
        })
        .collect();
    // Only sorted on, never searched: a term per resource in the dictionary would be built and
    // merged for nothing.
    let title_sort = builder.add_text_field("title_sort", FAST);
    let updated = builder.add_i64_field("updated", FAST);
    let grade_min = builder.add_i64_field("grade_min", INDEXED | FAST);
    let grade_max = builder.add_i64_field("grade_max", INDEXED | FAST);
    let mut facet = |name: &str| builder.add_text_field(name, STRING | FAST);
    let fields = Fields {
        id,
        source,
        payload,
        title,
        description,
        keywords,
        subjects,
        codes,
        native,
        title_sort,
        updated,
        grade_min,
        grade_max,
        publisher: facet("publisher"),
        subject: facet("subject"),
        resource_type: facet("resource_type"),
        language: facet("language"),
        license: facet("license"),
        kind: facet("kind"),
        grade: facet("grade"),
        alignment: facet("alignment"),
        code: facet("code"),
        free: facet("free"),
    };
    (builder.build(), fields)
}

/// The name of the analyser of a native-language field.
pub fn native_tokenizer(code: &str) -> String {
    format!("stem_{code}")
}

/// Registers the analysers the schema names; needed on every opened index.
pub fn register_tokenizers(index: &Index) {
    let manager = index.tokenizers();
    manager.register(TOKENIZER_EN, stemmed(Language::English));
    manager.register(
        TOKENIZER_CODE,
        TextAnalyzer::builder(RawTokenizer::default()).filter(RemoveLongFilter::limit(100)).filter(LowerCaser).build(),
    );
    for (code, language) in NATIVE_LANGUAGES {
        manager.register(&native_tokenizer(code), stemmed(*language));
    }
}

fn stemmed(language: Language) -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::new(language))
        .build()
}
