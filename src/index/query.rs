//! Free-text query construction: field boosts, stemming through each field's own analyser,
//! typo tolerance for longer words, quoted phrases, and standard codes as whole values.

use tantivy::query::{AllQuery, BooleanQuery, BoostQuery, Occur, PhraseQuery, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::{TextAnalyzer, TokenizerManager};
use tantivy::Term;

use super::fuzzy::{Expansion, FuzzyWordQuery, Vocabulary};
use super::schema::{native_tokenizer, Fields, TOKENIZER_EN};

/// Words shorter than this must match exactly; from here on one edit is forgiven.
pub const FUZZY_MIN_CHARS: usize = 5;
/// From this length on two edits are forgiven.
pub const FUZZY_TWO_EDITS_CHARS: usize = 9;

const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "into", "is", "it", "of", "on", "or", "the",
    "to", "with", "about",
];

/// One piece of the user's query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryPart {
    Word(String),
    Phrase(String),
}

/// Splits on whitespace, keeping `"quoted phrases"` together; an unclosed quote ends at the end.
pub fn split_query(raw: &str) -> Vec<QueryPart> {
    let mut parts = Vec::new();
    let mut rest = raw;
    while let Some(start) = rest.find('"') {
        push_words(&rest[..start], &mut parts);
        let after = &rest[start + 1..];
        let (phrase, next) = match after.find('"') {
            Some(end) => (&after[..end], &after[end + 1..]),
            None => (after, ""),
        };
        if !phrase.trim().is_empty() {
            parts.push(QueryPart::Phrase(phrase.trim().to_string()));
        }
        rest = next;
    }
    push_words(rest, &mut parts);
    parts
}

fn push_words(text: &str, parts: &mut Vec<QueryPart>) {
    for word in text.split_whitespace() {
        let word = word.trim_matches(|c: char| !c.is_alphanumeric());
        if !word.is_empty() {
            parts.push(QueryPart::Word(word.to_string()));
        }
    }
}

/// Typo tolerance is used only where the exact words find fewer documents than this (under
/// the search's filters), and then only for words that occur in fewer documents than this
/// themselves: a word that common is taken as typed. The exact matches rank first; the typo
/// matches follow. Typesense's `typo_tokens_threshold` does the same at the query level (its
/// default, 1, only when nothing at all is found); here a first page's worth of exact matches
/// is what makes typos unnecessary.
pub const TYPO_THRESHOLD: usize = 10;

/// The English-analysed fields and their weights; all of them forgive typos.
const ENGLISH_FIELDS: usize = 4;
const ENGLISH_BOOSTS: [f32; ENGLISH_FIELDS] = [4.0, 2.0, 2.0, 1.0];
/// Weight of a native-language field (the resource's own language, with its stemmer).
const NATIVE_BOOST: f32 = 1.5;
/// Weight of a standard code ("3.NF.A.1") matched as a whole value.
const CODE_BOOST: f32 = 4.0;
/// What a typo match scores in a field, relative to an exact match of the same term there.
const TYPO_SCORE: f32 = 0.5;

/// Builds the relevance part of a search (no filters): every word must match somewhere.
pub struct TextQueryBuilder<'a> {
    fields: &'a Fields,
    tokenizers: &'a TokenizerManager,
    /// The vocabulary of the searcher the query will run on; `None` while it is being built.
    vocabulary: Option<&'a Vocabulary>,
}

impl<'a> TextQueryBuilder<'a> {
    pub fn new(fields: &'a Fields, tokenizers: &'a TokenizerManager, vocabulary: Option<&'a Vocabulary>) -> Self {
        Self { fields, tokenizers, vocabulary }
    }

    /// The fields whose words forgive typos (what a [`Vocabulary`] must cover), in the order of
    /// their weights.
    pub fn fuzzy_fields(fields: &Fields) -> [Field; ENGLISH_FIELDS] {
        [fields.title, fields.keywords, fields.subjects, fields.description]
    }

    /// Splits and analyses the text once; `None` or blank text matches everything.
    pub fn analyze(&self, text: Option<&str>) -> TextQuery {
        let parts = text.map(split_query).unwrap_or_default();
        let english_fields = Self::fuzzy_fields(self.fields);
        // A language no resource is in: its field matches nothing, so it is left out.
        let native_fields: Vec<(Field, String)> = self
            .fields
            .native
            .iter()
            .filter(|(_, field)| self.vocabulary.is_none_or(|vocabulary| vocabulary.has_terms(*field)))
            .map(|(code, field)| (*field, native_tokenizer(code)))
            .collect();
        let has_content_word = parts.iter().any(|part| match part {
            QueryPart::Word(word) => !is_stop_word(word),
            QueryPart::Phrase(_) => true,
        });
        let mut analyzed = Vec::with_capacity(parts.len());
        for part in &parts {
            let (occur, kind) = match part {
                QueryPart::Word(word) => {
                    let occur = if has_content_word && is_stop_word(word) { Occur::Should } else { Occur::Must };
                    let native = native_fields
                        .iter()
                        .map(|(field, tokenizer)| (*field, self.tokens(tokenizer, word)))
                        .filter(|(_, tokens)| !tokens.is_empty())
                        .collect();
                    let word = AnalyzedWord {
                        num_chars: word.chars().count(),
                        english: self.tokens(TOKENIZER_EN, word),
                        native,
                        code: Term::from_field_text(self.fields.codes, &word.to_lowercase()),
                    };
                    (occur, AnalyzedPart::Word(word))
                }
                QueryPart::Phrase(phrase) => {
                    let native = native_fields
                        .iter()
                        .map(|(field, tokenizer)| (*field, self.tokens(tokenizer, phrase)))
                        .filter(|(_, tokens)| !tokens.is_empty())
                        .collect();
                    (Occur::Must, AnalyzedPart::Phrase { english: self.tokens(TOKENIZER_EN, phrase), native })
                }
            };
            analyzed.push((occur, kind));
        }
        TextQuery { english_fields, parts: analyzed, empty: parts.is_empty() }
    }

    fn tokens(&self, tokenizer: &str, text: &str) -> Vec<String> {
        let Some(mut analyzer): Option<TextAnalyzer> = self.tokenizers.get(tokenizer) else {
            return Vec::new();
        };
        let mut stream = analyzer.token_stream(text);
        let mut tokens = Vec::new();
        while let Some(token) = stream.next() {
            tokens.push(token.text.clone());
        }
        tokens
    }
}

/// One word of the query, analysed for every field it is searched in.
struct AnalyzedWord {
    num_chars: usize,
    /// The English analyser's tokens, shared by the four English fields (usually one; several
    /// for "k-12", searched as a phrase).
    english: Vec<String>,
    /// Native-language fields where the word leaves tokens.
    native: Vec<(Field, Vec<String>)>,
    /// The word as a whole standard code.
    code: Term,
}

enum AnalyzedPart {
    Word(AnalyzedWord),
    Phrase { english: Vec<String>, native: Vec<(Field, Vec<String>)> },
}

/// An analysed query text: the exact query, and the typo-tolerant one where it is needed.
pub struct TextQuery {
    english_fields: [Field; ENGLISH_FIELDS],
    parts: Vec<(Occur, AnalyzedPart)>,
    /// No words at all: everything matches.
    empty: bool,
}

impl TextQuery {
    /// Every word as typed (after stemming), in any field.
    pub fn exact(&self) -> Box<dyn Query> {
        self.build(&[], &|_, _| None)
    }

    /// The words that may forgive a typo: at least [`FUZZY_MIN_CHARS`] letters, one English
    /// token, and in fewer than [`TYPO_THRESHOLD`] documents by `doc_freq` (of the stemmed
    /// token, the most of any English field). Positions in the query.
    pub fn typo_candidates(&self, doc_freq: impl Fn(&str) -> u64) -> Vec<usize> {
        let mut out = Vec::new();
        for (position, (_, part)) in self.parts.iter().enumerate() {
            let AnalyzedPart::Word(word) = part else { continue };
            if let [token] = word.english.as_slice() {
                if word.num_chars >= FUZZY_MIN_CHARS && doc_freq(token) < TYPO_THRESHOLD as u64 {
                    out.push(position);
                }
            }
        }
        out
    }

    /// The query where the words at `candidates` also match terms within their edit distance
    /// (one edit from [`FUZZY_MIN_CHARS`] letters, two when the word and its stem have
    /// [`FUZZY_TWO_EDITS_CHARS`]), found by
    /// `expand(stemmed token, distance)`.
    pub fn with_typos(&self, candidates: &[usize], expand: &dyn Fn(&str, u8) -> Expansion) -> Box<dyn Query> {
        self.build(candidates, &|token, num_chars| {
            // Counted on the shorter of the word and its stem: the automaton compares stems,
            // and two edits on a short stem ("equival") reach other words ("equal").
            let num_chars = num_chars.min(token.chars().count());
            let distance = if num_chars >= FUZZY_TWO_EDITS_CHARS { 2 } else { 1 };
            Some(expand(token, distance))
        })
    }

    fn build(&self, typo_words: &[usize], expansion: &dyn Fn(&str, usize) -> Option<Expansion>) -> Box<dyn Query> {
        if self.empty {
            return Box::new(AllQuery);
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::with_capacity(self.parts.len());
        for (position, (occur, part)) in self.parts.iter().enumerate() {
            let query = match part {
                AnalyzedPart::Word(word) => {
                    let typo = if typo_words.contains(&position) {
                        word.english.first().and_then(|token| expansion(token, word.num_chars))
                    } else {
                        None
                    };
                    Some(self.word_query(word, typo))
                }
                AnalyzedPart::Phrase { english, native } => self.phrase_query(english, native),
            };
            match query {
                Some(query) => clauses.push((*occur, query)),
                // A phrase no analyser keeps cannot match anything: the whole query matches nothing.
                None if *occur == Occur::Must => return Box::new(BooleanQuery::new(Vec::new())),
                None => {}
            }
        }
        Box::new(BooleanQuery::new(clauses))
    }

    fn word_query(&self, word: &AnalyzedWord, typo: Option<Expansion>) -> Box<dyn Query> {
        let mut alternatives: Vec<(Occur, Box<dyn Query>)> = Vec::with_capacity(ENGLISH_FIELDS + 2);
        for (field, boost) in self.english_fields.iter().zip(ENGLISH_BOOSTS) {
            match (word.english.as_slice(), &typo) {
                ([], _) => {}
                ([token], Some(expansion)) => {
                    let term = Term::from_field_text(*field, token);
                    // The exact term scored, plus the best term within the distance, weighted down.
                    let fuzzy = FuzzyWordQuery::new(term, expansion.clone(), boost, boost * TYPO_SCORE);
                    alternatives.push((Occur::Should, Box::new(fuzzy)));
                }
                (tokens, _) => alternatives.push((Occur::Should, boosted(terms_query(*field, tokens), boost))),
            }
        }
        for (field, tokens) in &word.native {
            alternatives.push((Occur::Should, boosted(terms_query(*field, tokens), NATIVE_BOOST)));
        }
        let code = TermQuery::new(word.code.clone(), IndexRecordOption::WithFreqs);
        alternatives.push((Occur::Should, boosted(Box::new(code), CODE_BOOST)));
        Box::new(BooleanQuery::new(alternatives))
    }

    fn phrase_query(&self, english: &[String], native: &[(Field, Vec<String>)]) -> Option<Box<dyn Query>> {
        let mut alternatives: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        if !english.is_empty() {
            for (field, boost) in self.english_fields.iter().zip(ENGLISH_BOOSTS) {
                alternatives.push((Occur::Should, boosted(terms_query(*field, english), boost)));
            }
        }
        for (field, tokens) in native {
            alternatives.push((Occur::Should, boosted(terms_query(*field, tokens), NATIVE_BOOST)));
        }
        if alternatives.is_empty() {
            return None;
        }
        Some(Box::new(BooleanQuery::new(alternatives)))
    }
}

/// One token as a term, several as a phrase (`tokens` is not empty).
fn terms_query(field: Field, tokens: &[String]) -> Box<dyn Query> {
    match tokens {
        [token] => Box::new(TermQuery::new(Term::from_field_text(field, token), IndexRecordOption::WithFreqs)),
        many => Box::new(PhraseQuery::new(many.iter().map(|t| Term::from_field_text(field, t)).collect())),
    }
}

fn boosted(query: Box<dyn Query>, boost: f32) -> Box<dyn Query> {
    Box::new(BoostQuery::new(query, boost))
}

fn is_stop_word(word: &str) -> bool {
    STOP_WORDS.contains(&word.to_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_split_query_keeps_phrases_and_strips_punctuation() {
        let parts = split_query("fractions, \"number line\" 3.NF.A.1 \"unclosed");
        assert_eq!(
            parts,
            vec![
                QueryPart::Word("fractions".into()),
                QueryPart::Phrase("number line".into()),
                QueryPart::Word("3.NF.A.1".into()),
                QueryPart::Phrase("unclosed".into()),
            ]
        );
        assert!(split_query("  !! ").is_empty());
    }
}
