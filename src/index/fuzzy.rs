//! One query word in one field, with typo tolerance: the exact term scored by BM25 plus a
//! constant for every document holding any term within the edit distance (the exact one
//! included), exactly what `TermQuery(exact) OR FuzzyTermQuery(exact)` scores.
//!
//! Why not those two queries: tantivy's fuzzy scorer walks every segment's term dictionary
//! with the Levenshtein automaton (once per field, segment and search) and gathers the postings
//! of every matching term into a bitset, the exact one included, which for a common word is
//! most of the index. At 100k resources that was two thirds of all search time. Here:
//! - the automaton walks a [`Vocabulary`], every term of the fuzzy fields over all segments,
//!   built once per searcher generation in the background: one walk per word instead of one
//!   per field and segment; each segment then looks the few neighbours up by key. Until the
//!   vocabulary of a new generation is ready, segments walk their own dictionaries (exact,
//!   slower), so no search waits for the build;
//! - the exact term is read once, lazily, by its own scorer; only the neighbours (typically
//!   rare) go into the bitset.

use std::sync::{Arc, OnceLock};

use levenshtein_automata::{Distance, LevenshteinAutomatonBuilder, DFA, SINK_STATE};
use tantivy::query::{BitSetDocSet, EnableScoring, Explanation, Query, Scorer, TermQuery, Weight};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{BitSet, DocId, DocSet, Score, Searcher, SegmentReader, Term, TERMINATED};
use tantivy_fst::{IntoStreamer, Map, Streamer};

/// Levenshtein automaton builders for distances 1 and 2 (transpositions count as one edit),
/// built once: building one is far costlier than building an automaton from it.
fn builder(distance: u8) -> &'static LevenshteinAutomatonBuilder {
    static BUILDERS: OnceLock<[LevenshteinAutomatonBuilder; 2]> = OnceLock::new();
    let builders =
        BUILDERS.get_or_init(|| [LevenshteinAutomatonBuilder::new(1, true), LevenshteinAutomatonBuilder::new(2, true)]);
    &builders[usize::from(distance.clamp(1, 2)) - 1]
}

/// The automaton of the words within the distance of one word, shared by every field and
/// segment of a search.
#[derive(Clone)]
pub struct WordAutomaton(Arc<DFA>);

impl WordAutomaton {
    pub fn new(word: &str, distance: u8) -> Self {
        Self(Arc::new(builder(distance).build_dfa(word)))
    }
}

impl tantivy_fst::Automaton for WordAutomaton {
    type State = u32;

    fn start(&self) -> u32 {
        self.0.initial_state()
    }

    fn is_match(&self, state: &u32) -> bool {
        matches!(self.0.distance(*state), Distance::Exact(_))
    }

    fn can_match(&self, state: &u32) -> bool {
        *state != SINK_STATE
    }

    fn accept(&self, state: &u32, byte: u8) -> u32 {
        self.0.transition(*state, byte)
    }
}

/// Every term of the fuzzy fields over all segments of one searcher generation (one map for
/// all of them, so a word costs one automaton walk), and which other text fields hold any term
/// at all. Built on the first search after a reload; segments never change, so it is exact for
/// that generation.
pub struct Vocabulary {
    /// The searcher generation it was built from.
    pub generation_id: u64,
    terms: Map<Vec<u8>>,
    /// Checked fields without a single term in any segment: a query on them matches nothing.
    empty_fields: Vec<Field>,
}

impl Vocabulary {
    pub fn build(searcher: &Searcher, fuzzy_fields: &[Field], checked_fields: &[Field]) -> tantivy::Result<Self> {
        let mut keys: Vec<Vec<u8>> = Vec::new();
        for field in fuzzy_fields {
            for segment in searcher.segment_readers() {
                let inverted_index = segment.inverted_index(*field)?;
                let mut stream = inverted_index.terms().stream()?;
                while stream.advance() {
                    keys.push(stream.key().to_vec());
                }
            }
        }
        keys.sort_unstable();
        keys.dedup();
        let terms = Map::from_iter(keys.into_iter().map(|key| (key, 0)))
            .map_err(|err| tantivy::TantivyError::InternalError(format!("vocabulary: {err}")))?;
        let mut empty_fields = Vec::new();
        for field in checked_fields {
            let mut num_terms = 0;
            for segment in searcher.segment_readers() {
                num_terms += segment.inverted_index(*field)?.terms().num_terms();
            }
            if num_terms == 0 {
                empty_fields.push(*field);
            }
        }
        Ok(Self { generation_id: searcher.generation().generation_id(), terms, empty_fields })
    }

    /// The terms of the fuzzy fields the automaton accepts, except `exact` (a field's scorer
    /// looks each up and skips those it does not have).
    pub fn neighbours(&self, automaton: &WordAutomaton, exact: &[u8]) -> Vec<Vec<u8>> {
        let mut stream = self.terms.search(automaton.clone()).into_stream();
        let mut out = Vec::new();
        while let Some((key, _)) = stream.next() {
            if key != exact {
                out.push(key.to_vec());
            }
        }
        out
    }

    /// False for a checked field without any term.
    pub fn has_terms(&self, field: Field) -> bool {
        !self.empty_fields.contains(&field)
    }
}

/// Where a fuzzy word finds its neighbours.
#[derive(Clone)]
pub enum Expansion {
    /// Already found in the [`Vocabulary`]: each segment looks them up.
    Neighbours(Arc<Vec<Vec<u8>>>),
    /// No vocabulary yet for this generation (it is being built): each segment walks its own
    /// term dictionary with the automaton. Slower, same result.
    Walk(WordAutomaton),
}

impl Expansion {
    /// A shared expansion for every field of one word.
    pub fn neighbours(found: Vec<Vec<u8>>) -> Self {
        Expansion::Neighbours(Arc::new(found))
    }
}

/// `exact_boost × BM25(term) + fuzzy_boost` where the term occurs, `fuzzy_boost` where only a
/// neighbour (a term within the edit distance) occurs.
#[derive(Clone)]
pub struct FuzzyWordQuery {
    term: Term,
    expansion: Expansion,
    exact_boost: Score,
    fuzzy_boost: Score,
}

impl std::fmt::Debug for FuzzyWordQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FuzzyWordQuery")
            .field("term", &self.term)
            .field(
                "num_neighbours",
                &match &self.expansion {
                    Expansion::Neighbours(found) => Some(found.len()),
                    Expansion::Walk(_) => None,
                },
            )
            .field("exact_boost", &self.exact_boost)
            .field("fuzzy_boost", &self.fuzzy_boost)
            .finish()
    }
}

impl FuzzyWordQuery {
    /// `expansion` must come from the term's text (see [`Vocabulary::neighbours`]).
    pub fn new(term: Term, expansion: Expansion, exact_boost: Score, fuzzy_boost: Score) -> Self {
        Self { term, expansion, exact_boost, fuzzy_boost }
    }
}

impl Query for FuzzyWordQuery {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let exact = TermQuery::new(self.term.clone(), IndexRecordOption::WithFreqs).weight(enable_scoring)?;
        Ok(Box::new(FuzzyWordWeight {
            field: self.term.field(),
            exact_bytes: self.term.serialized_value_bytes().to_vec(),
            exact,
            expansion: self.expansion.clone(),
            exact_boost: self.exact_boost,
            fuzzy_boost: self.fuzzy_boost,
        }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        // As `TermQuery` does: snippets highlight the exact word (fuzzy matches never were).
        visitor(&self.term, false);
    }
}

struct FuzzyWordWeight {
    field: Field,
    exact_bytes: Vec<u8>,
    exact: Box<dyn Weight>,
    expansion: Expansion,
    exact_boost: Score,
    fuzzy_boost: Score,
}

impl FuzzyWordWeight {
    /// The documents of the neighbouring terms in this segment, or `None` when none occurs here.
    fn neighbour_docs(&self, reader: &SegmentReader) -> tantivy::Result<Option<BitSet>> {
        let inverted_index = reader.inverted_index(self.field)?;
        let mut term_infos = Vec::new();
        match &self.expansion {
            Expansion::Neighbours(found) => {
                for neighbour in found.iter() {
                    if let Some(term_info) = inverted_index.terms().get(neighbour)? {
                        term_infos.push(term_info);
                    }
                }
            }
            Expansion::Walk(automaton) => {
                let mut stream = inverted_index.terms().search(automaton.clone()).into_stream()?;
                while stream.advance() {
                    if stream.key() != self.exact_bytes.as_slice() {
                        term_infos.push(stream.value().clone());
                    }
                }
            }
        }
        if term_infos.is_empty() {
            return Ok(None);
        }
        let mut docs = BitSet::with_max_value(reader.max_doc());
        for term_info in &term_infos {
            let mut postings = inverted_index.read_block_postings_from_terminfo(term_info, IndexRecordOption::Basic)?;
            loop {
                let block = postings.docs();
                if block.is_empty() {
                    break;
                }
                for &doc in block {
                    docs.insert(doc);
                }
                postings.advance();
            }
        }
        Ok(Some(docs))
    }
}

impl Weight for FuzzyWordWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let exact = self.exact.scorer(reader, boost * self.exact_boost)?;
        let neighbours = self.neighbour_docs(reader)?.map(BitSetDocSet::from);
        let mut scorer = FuzzyWordScorer { exact, neighbours, doc: 0, constant: boost * self.fuzzy_boost };
        scorer.doc = scorer.exact.doc().min(scorer.neighbours.as_ref().map_or(TERMINATED, |n| n.doc()));
        Ok(Box::new(scorer))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.seek(doc) != doc {
            return Err(tantivy::TantivyError::InvalidArgument(format!("document {doc} does not match")));
        }
        Ok(Explanation::new("exact word (BM25) plus a constant for any word within the edit distance", scorer.score()))
    }
}

/// The union of the exact term's scorer and the neighbours' documents.
struct FuzzyWordScorer {
    exact: Box<dyn Scorer>,
    neighbours: Option<BitSetDocSet>,
    doc: DocId,
    constant: Score,
}

impl DocSet for FuzzyWordScorer {
    fn advance(&mut self) -> DocId {
        if self.doc == TERMINATED {
            return TERMINATED;
        }
        let current = self.doc;
        let mut next = TERMINATED;
        if self.exact.doc() == current {
            self.exact.advance();
        }
        next = next.min(self.exact.doc());
        if let Some(neighbours) = &mut self.neighbours {
            if neighbours.doc() == current {
                neighbours.advance();
            }
            next = next.min(neighbours.doc());
        }
        self.doc = next;
        next
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.doc >= target {
            return self.doc;
        }
        let mut next = TERMINATED;
        if self.exact.doc() < target {
            self.exact.seek(target);
        }
        next = next.min(self.exact.doc());
        if let Some(neighbours) = &mut self.neighbours {
            if neighbours.doc() < target {
                neighbours.seek(target);
            }
            next = next.min(neighbours.doc());
        }
        self.doc = next;
        next
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        self.exact.size_hint().saturating_add(self.neighbours.as_ref().map_or(0, |n| n.size_hint()))
    }
}

impl Scorer for FuzzyWordScorer {
    fn score(&mut self) -> Score {
        if self.exact.doc() == self.doc {
            self.exact.score() + self.constant
        } else {
            self.constant
        }
    }
}

#[cfg(test)]
mod tests {
    use tantivy::collector::{Count, TopDocs};
    use tantivy::query::{BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, TermQuery};
    use tantivy::schema::{Schema, TEXT};
    use tantivy::{doc, Index, IndexWriter};

    use super::*;

    #[test]
    fn test_same_documents_and_scores_as_term_or_fuzzy_term() {
        let mut builder = Schema::builder();
        let body = builder.add_text_field("body", TEXT);
        let index = Index::create_in_ram(builder.build());
        let mut writer: IndexWriter = index.writer_with_num_threads(1, 20_000_000).unwrap();
        let texts = ["fractions on a line", "fraction pizza", "fractons typo", "factions and parties", "nothing"];
        for round in 0..3 {
            for (position, text) in texts.iter().enumerate() {
                if (round + position) % 2 == 0 {
                    writer.add_document(doc!(body => *text)).unwrap();
                }
            }
            writer.commit().unwrap();
        }
        let searcher = index.reader().unwrap().searcher();
        let vocabulary = Vocabulary::build(&searcher, &[body], &[]).unwrap();
        for word in ["fractions", "fraction", "fractons", "parties", "absent"] {
            let term = Term::from_field_text(body, word);
            let reference = BooleanQuery::new(vec![
                (
                    Occur::Should,
                    Box::new(BoostQuery::new(
                        Box::new(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs)),
                        4.0,
                    )),
                ),
                (Occur::Should, Box::new(BoostQuery::new(Box::new(FuzzyTermQuery::new(term.clone(), 1, true)), 0.8))),
            ]);
            let automaton = WordAutomaton::new(word, 1);
            let mut expected = searcher.search(&reference, &TopDocs::with_limit(20).order_by_score()).unwrap();
            expected.sort_by_key(|(_, address)| *address);
            for expansion in [
                Expansion::neighbours(vocabulary.neighbours(&automaton, word.as_bytes())),
                Expansion::Walk(automaton.clone()),
            ] {
                let ours = FuzzyWordQuery::new(term.clone(), expansion, 4.0, 0.8);
                let mut got = searcher.search(&ours, &TopDocs::with_limit(20).order_by_score()).unwrap();
                assert_eq!(searcher.search(&ours, &Count).unwrap(), expected.len(), "{word}");
                got.sort_by_key(|(_, address)| *address);
                assert_eq!(got.len(), expected.len(), "{word}");
                for ((got_score, got_address), (expected_score, expected_address)) in got.iter().zip(&expected) {
                    assert_eq!(got_address, expected_address, "{word}");
                    assert!((got_score - expected_score).abs() < 1e-5, "{word}: {got_score} vs {expected_score}");
                }
            }
        }
    }
}
