//! Free-text query construction: field boosts, stemming through each field's own analyser,
//! typo tolerance for longer words, quoted phrases, and standard codes as whole values.

use tantivy::query::{AllQuery, BooleanQuery, BoostQuery, Occur, PhraseQuery, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::{TextAnalyzer, TokenizerManager};
use tantivy::Term;

use super::fuzzy::{Expansion, FuzzyWordQuery, Vocabulary, WordAutomaton};
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

/// A field searched by free text, with its weight.
struct TextField {
    field: Field,
    tokenizer: String,
    boost: f32,
    fuzzy: bool,
}

/// Builds the relevance part of a search (no filters): every word must match somewhere.
pub struct TextQueryBuilder<'a> {
    fields: &'a Fields,
    tokenizers: &'a TokenizerManager,
    /// The terms fuzzy words expand to (of the searcher the query will run on); `None` while
    /// it is being built.
    vocabulary: Option<&'a Vocabulary>,
}

impl<'a> TextQueryBuilder<'a> {
    pub fn new(fields: &'a Fields, tokenizers: &'a TokenizerManager, vocabulary: Option<&'a Vocabulary>) -> Self {
        Self { fields, tokenizers, vocabulary }
    }

    /// The fields whose words forgive typos (what a [`Vocabulary`] must cover).
    pub fn fuzzy_fields(fields: &Fields) -> [Field; 4] {
        [fields.title, fields.keywords, fields.subjects, fields.description]
    }

    fn text_fields(&self) -> Vec<TextField> {
        let english = |field, boost| TextField { field, tokenizer: TOKENIZER_EN.to_string(), boost, fuzzy: true };
        let mut out = vec![
            english(self.fields.title, 4.0),
            english(self.fields.keywords, 2.0),
            english(self.fields.subjects, 2.0),
            english(self.fields.description, 1.0),
        ];
        for (code, field) in &self.fields.native {
            // A language no resource is in: its field matches nothing, so it is left out.
            if self.vocabulary.is_none_or(|vocabulary| vocabulary.has_terms(*field)) {
                out.push(TextField { field: *field, tokenizer: native_tokenizer(code), boost: 1.5, fuzzy: false });
            }
        }
        out
    }

    /// `None` or blank text matches everything.
    pub fn build(&self, text: Option<&str>) -> Box<dyn Query> {
        let parts = text.map(split_query).unwrap_or_default();
        if parts.is_empty() {
            return Box::new(AllQuery);
        }
        let has_content_word = parts.iter().any(|part| match part {
            QueryPart::Word(word) => !is_stop_word(word),
            QueryPart::Phrase(_) => true,
        });
        let text_fields = self.text_fields();
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for part in &parts {
            let (query, occur) = match part {
                QueryPart::Word(word) => {
                    let occur = if has_content_word && is_stop_word(word) { Occur::Should } else { Occur::Must };
                    (self.word_query(word, &text_fields), occur)
                }
                QueryPart::Phrase(phrase) => (self.phrase_query(phrase, &text_fields), Occur::Must),
            };
            match query {
                Some(query) => clauses.push((occur, query)),
                // A word no analyser keeps cannot match anything: the whole query matches nothing.
                None if occur == Occur::Must => return Box::new(BooleanQuery::new(Vec::new())),
                None => {}
            }
        }
        Box::new(BooleanQuery::new(clauses))
    }

    fn word_query(&self, word: &str, text_fields: &[TextField]) -> Option<Box<dyn Query>> {
        let mut alternatives: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let num_chars = word.chars().count();
        let mut expansion: Option<(String, Expansion)> = None;
        for text_field in text_fields {
            let tokens = self.analyze(&text_field.tokenizer, word);
            match tokens.as_slice() {
                [] => {}
                [token] => {
                    let term = Term::from_field_text(text_field.field, token);
                    if text_field.fuzzy && num_chars >= FUZZY_MIN_CHARS {
                        let distance = if num_chars >= FUZZY_TWO_EDITS_CHARS { 2 } else { 1 };
                        // The English fields share one analyser, hence one walk of the vocabulary.
                        let expansion = match &expansion {
                            Some((text, found)) if text == token => found.clone(),
                            _ => {
                                let automaton = WordAutomaton::new(token, distance);
                                let found = match self.vocabulary {
                                    Some(vocabulary) => {
                                        Expansion::neighbours(vocabulary.neighbours(&automaton, token.as_bytes()))
                                    }
                                    None => Expansion::Walk(automaton),
                                };
                                expansion = Some((token.clone(), found.clone()));
                                found
                            }
                        };
                        // The exact term scored, plus a constant for any term within the distance.
                        let word = FuzzyWordQuery::new(term, expansion, text_field.boost, text_field.boost * 0.2);
                        alternatives.push((Occur::Should, Box::new(word)));
                    } else {
                        let exact = TermQuery::new(term, IndexRecordOption::WithFreqs);
                        alternatives
                            .push((Occur::Should, Box::new(BoostQuery::new(Box::new(exact), text_field.boost))));
                    }
                }
                many => {
                    let terms = many.iter().map(|t| Term::from_field_text(text_field.field, t)).collect();
                    let phrase = PhraseQuery::new(terms);
                    alternatives.push((Occur::Should, Box::new(BoostQuery::new(Box::new(phrase), text_field.boost))));
                }
            }
        }
        let code = Term::from_field_text(self.fields.codes, &word.to_lowercase());
        let code_query = TermQuery::new(code, IndexRecordOption::WithFreqs);
        alternatives.push((Occur::Should, Box::new(BoostQuery::new(Box::new(code_query), 4.0))));
        Some(Box::new(BooleanQuery::new(alternatives)))
    }

    fn phrase_query(&self, phrase: &str, text_fields: &[TextField]) -> Option<Box<dyn Query>> {
        let mut alternatives: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for text_field in text_fields {
            let tokens = self.analyze(&text_field.tokenizer, phrase);
            let query: Box<dyn Query> = match tokens.as_slice() {
                [] => continue,
                [token] => Box::new(TermQuery::new(
                    Term::from_field_text(text_field.field, token),
                    IndexRecordOption::WithFreqs,
                )),
                many => Box::new(PhraseQuery::new(
                    many.iter().map(|t| Term::from_field_text(text_field.field, t)).collect(),
                )),
            };
            alternatives.push((Occur::Should, Box::new(BoostQuery::new(query, text_field.boost))));
        }
        if alternatives.is_empty() {
            return None;
        }
        Some(Box::new(BooleanQuery::new(alternatives)))
    }

    fn analyze(&self, tokenizer: &str, text: &str) -> Vec<String> {
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
