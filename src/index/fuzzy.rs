//! One query word in one field, with typo tolerance: the exact term scored by BM25, plus, for
//! documents holding a term within the edit distance (a neighbour), that term's BM25 times a
//! typo weight. A neighbour's BM25 uses the largest document frequency among the word's
//! neighbours (as Lucene's fuzzy query blends them), so a rare misspelling in the index never
//! outranks the common word the teacher meant, and each neighbour counts by the square root of
//! its share of that largest frequency (Typesense likewise prefers the more popular candidate
//! token), so the common word outranks a rare neighbour ("fraction" before the Spanish
//! "fraccion" for "fracion").
//!
//! Only the second pass of a search uses it (see [`super::searcher`]), for words rare enough
//! to be typos. Why not tantivy's `FuzzyTermQuery`: it walks every segment's term dictionary
//! with the Levenshtein automaton (once per field, segment and search) and scores every match
//! alike. Here:
//! - the automaton walks a [`Vocabulary`], every term of the fuzzy fields over all segments,
//!   built once per searcher generation in the background: one walk per word instead of one
//!   per field and segment; each segment then looks the few neighbours up by key. Until the
//!   vocabulary of a new generation is ready, segments walk their own dictionaries (exact,
//!   slower), so no search waits for the build;
//! - the exact term is read once, lazily, by its own scorer; the neighbours' postings are
//!   scored into a per-segment table.

use std::sync::{Arc, OnceLock};

use levenshtein_automata::{Distance, LevenshteinAutomatonBuilder, DFA, SINK_STATE};
use tantivy::query::{BitSetDocSet, Bm25Weight, EnableScoring, Explanation, Query, Scorer, TermQuery, Weight};
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
/// all of them, so a word costs one automaton walk), with its document frequency, and which
/// other text fields hold any term at all. Built on the first search after a reload; segments
/// never change, so it is exact for that generation.
pub struct Vocabulary {
    /// The searcher generation it was built from.
    pub generation_id: u64,
    /// Term → the most documents holding it in any one fuzzy field (deleted ones included,
    /// as tantivy's own document frequencies).
    terms: Map<Vec<u8>>,
    /// Checked fields without a single term in any segment: a query on them matches nothing.
    empty_fields: Vec<Field>,
}

impl Vocabulary {
    pub fn build(searcher: &Searcher, fuzzy_fields: &[Field], checked_fields: &[Field]) -> tantivy::Result<Self> {
        // (term, field position, documents in one segment), then summed per field and the
        // largest field kept.
        let mut entries: Vec<(Vec<u8>, usize, u64)> = Vec::new();
        for (position, field) in fuzzy_fields.iter().enumerate() {
            for segment in searcher.segment_readers() {
                let inverted_index = segment.inverted_index(*field)?;
                let mut stream = inverted_index.terms().stream()?;
                while stream.advance() {
                    entries.push((stream.key().to_vec(), position, u64::from(stream.value().doc_freq)));
                }
            }
        }
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut terms: Vec<(Vec<u8>, u64)> = Vec::new();
        let mut field_sum: Option<(usize, u64)> = None;
        for (key, position, doc_freq) in entries {
            match terms.last_mut() {
                Some((last, best)) if *last == key => match &mut field_sum {
                    Some((field, sum)) if *field == position => {
                        *sum += doc_freq;
                        *best = (*best).max(*sum);
                    }
                    _ => {
                        field_sum = Some((position, doc_freq));
                        *best = (*best).max(doc_freq);
                    }
                },
                _ => {
                    field_sum = Some((position, doc_freq));
                    terms.push((key, doc_freq));
                }
            }
        }
        let terms =
            Map::from_iter(terms).map_err(|err| tantivy::TantivyError::InternalError(format!("vocabulary: {err}")))?;
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

    /// The most documents holding `term` in any one fuzzy field (0 when no field has it).
    pub fn doc_freq(&self, term: &[u8]) -> u64 {
        self.terms.get(term).unwrap_or(0)
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

/// `exact_boost × BM25(term)` where the term occurs, plus `typo_boost × BM25(neighbour)` where
/// a neighbour (a term within the edit distance) occurs.
#[derive(Clone)]
pub struct FuzzyWordQuery {
    term: Term,
    expansion: Expansion,
    exact_boost: Score,
    typo_boost: Score,
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
            .field("typo_boost", &self.typo_boost)
            .finish()
    }
}

impl FuzzyWordQuery {
    /// `expansion` must come from the term's text (see [`Vocabulary::neighbours`]).
    pub fn new(term: Term, expansion: Expansion, exact_boost: Score, typo_boost: Score) -> Self {
        Self { term, expansion, exact_boost, typo_boost }
    }
}

/// Document frequencies of a word's neighbours, in the index the search runs on.
#[derive(Clone)]
struct NeighbourFreqs {
    /// The largest among them.
    most: u64,
    /// Each neighbour's, in the order of the expansion.
    each: Vec<u64>,
}

/// What a neighbour's BM25 is computed from.
#[derive(Clone)]
struct NeighbourStatistics {
    /// The largest document frequency among the neighbours and each neighbour's own; `None`
    /// when they are not known before a segment walks its dictionary (then that segment's own
    /// frequencies are used).
    doc_freqs: Option<NeighbourFreqs>,
    total_num_docs: u64,
    average_fieldnorm: Score,
}

impl Query for FuzzyWordQuery {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let exact = TermQuery::new(self.term.clone(), IndexRecordOption::WithFreqs).weight(enable_scoring)?;
        let field = self.term.field();
        let statistics = match enable_scoring {
            EnableScoring::Enabled { statistics_provider, .. } => {
                let total_num_docs = statistics_provider.total_num_docs()?.max(1);
                let total_num_tokens = statistics_provider.total_num_tokens(field)?;
                let doc_freqs = match &self.expansion {
                    Expansion::Neighbours(found) => {
                        let mut most = 0;
                        let mut each = Vec::with_capacity(found.len());
                        for neighbour in found.iter() {
                            let doc_freq = statistics_provider.doc_freq(&Term::from_field_bytes(field, neighbour))?;
                            most = most.max(doc_freq);
                            each.push(doc_freq);
                        }
                        Some(NeighbourFreqs { most, each })
                    }
                    Expansion::Walk(_) => None,
                };
                Some(NeighbourStatistics {
                    doc_freqs,
                    total_num_docs,
                    average_fieldnorm: total_num_tokens as Score / total_num_docs as Score,
                })
            }
            EnableScoring::Disabled { .. } => None,
        };
        Ok(Box::new(FuzzyWordWeight {
            field,
            exact_bytes: self.term.serialized_value_bytes().to_vec(),
            exact,
            expansion: self.expansion.clone(),
            exact_boost: self.exact_boost,
            typo_boost: self.typo_boost,
            statistics,
        }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        // As `TermQuery` does: snippets highlight the exact word (typo matches never were).
        visitor(&self.term, false);
    }
}

struct FuzzyWordWeight {
    field: Field,
    exact_bytes: Vec<u8>,
    exact: Box<dyn Weight>,
    expansion: Expansion,
    exact_boost: Score,
    typo_boost: Score,
    /// `None` when scoring is disabled.
    statistics: Option<NeighbourStatistics>,
}

/// The documents of a segment that hold a neighbour, ascending, with what the best neighbour
/// scores in each.
enum NeighbourDocs {
    /// Few postings against the segment's size: the documents and their scores as two lists.
    Sparse { docs: Vec<DocId>, scores: Vec<Score>, cursor: usize },
    /// Postings for a sizeable share of the segment: a bit set, and a score per document.
    Dense { docs: BitSetDocSet, scores: Vec<Score> },
}

/// The neighbours' postings are gathered as lists while they number at most a segment's
/// documents over this. A score per document of the segment is zeroed for every typo word in
/// every field: with the kit's typo queries, 9% of their CPU went to that allocation and its
/// zeroing at 100k resources, ten times more at 1M (BENCHMARKS.md, issue 14).
const SPARSE_SHARE: u64 = 32;

impl NeighbourDocs {
    /// From `(document, score)` postings in any order: each document once, with its best score.
    fn sparse(mut postings: Vec<(DocId, Score)>) -> Self {
        postings.sort_unstable_by_key(|(doc, _)| *doc);
        let mut docs: Vec<DocId> = Vec::with_capacity(postings.len());
        let mut scores: Vec<Score> = Vec::with_capacity(postings.len());
        for (doc, score) in postings {
            match (docs.last(), scores.last_mut()) {
                (Some(&last), Some(best)) if last == doc => *best = best.max(score),
                _ => {
                    docs.push(doc);
                    scores.push(score);
                }
            }
        }
        NeighbourDocs::Sparse { docs, scores, cursor: 0 }
    }

    fn doc(&self) -> DocId {
        match self {
            NeighbourDocs::Sparse { docs, cursor, .. } => docs.get(*cursor).copied().unwrap_or(TERMINATED),
            NeighbourDocs::Dense { docs, .. } => docs.doc(),
        }
    }

    fn advance(&mut self) -> DocId {
        match self {
            NeighbourDocs::Sparse { docs, cursor, .. } => {
                *cursor = (*cursor + 1).min(docs.len());
                docs.get(*cursor).copied().unwrap_or(TERMINATED)
            }
            NeighbourDocs::Dense { docs, .. } => docs.advance(),
        }
    }

    /// The first document at or after `target` (never moving back).
    fn seek(&mut self, target: DocId) -> DocId {
        match self {
            NeighbourDocs::Sparse { docs, cursor, .. } => {
                let rest = docs.get(*cursor..).unwrap_or(&[]);
                *cursor += rest.partition_point(|&doc| doc < target);
                docs.get(*cursor).copied().unwrap_or(TERMINATED)
            }
            NeighbourDocs::Dense { docs, .. } => {
                if docs.doc() < target {
                    docs.seek(target)
                } else {
                    docs.doc()
                }
            }
        }
    }

    fn size_hint(&self) -> u32 {
        match self {
            NeighbourDocs::Sparse { docs, .. } => u32::try_from(docs.len()).unwrap_or(u32::MAX),
            NeighbourDocs::Dense { docs, .. } => docs.size_hint(),
        }
    }

    /// What the neighbours score in the current document.
    fn score(&self) -> Score {
        match self {
            NeighbourDocs::Sparse { scores, cursor, .. } => scores.get(*cursor).copied().unwrap_or(0.0),
            NeighbourDocs::Dense { docs, scores } => scores.get(docs.doc() as usize).copied().unwrap_or(0.0),
        }
    }
}

impl FuzzyWordWeight {
    /// The neighbours' documents in this segment, or `None` when none occurs here.
    fn neighbour_docs(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Option<NeighbourDocs>> {
        let inverted_index = reader.inverted_index(self.field)?;
        // (the neighbour's postings here, its document frequency in the whole index).
        let mut term_infos = Vec::new();
        match &self.expansion {
            Expansion::Neighbours(found) => {
                for (position, neighbour) in found.iter().enumerate() {
                    if let Some(term_info) = inverted_index.terms().get(neighbour)? {
                        let global = self.statistics.as_ref().and_then(|statistics| {
                            statistics.doc_freqs.as_ref().and_then(|freqs| freqs.each.get(position)).copied()
                        });
                        let doc_freq = global.unwrap_or(u64::from(term_info.doc_freq));
                        term_infos.push((term_info, doc_freq));
                    }
                }
            }
            Expansion::Walk(automaton) => {
                let mut stream = inverted_index.terms().search(automaton.clone()).into_stream()?;
                while stream.advance() {
                    if stream.key() != self.exact_bytes.as_slice() {
                        term_infos.push((stream.value().clone(), u64::from(stream.value().doc_freq)));
                    }
                }
            }
        }
        if term_infos.is_empty() {
            return Ok(None);
        }
        let local_most = term_infos.iter().map(|(_, doc_freq)| *doc_freq).max().unwrap_or(0).max(1);
        let most = self
            .statistics
            .as_ref()
            .and_then(|statistics| statistics.doc_freqs.as_ref().map(|freqs| freqs.most))
            .unwrap_or(local_most)
            .max(1);
        let bm25 = self.statistics.as_ref().map(|statistics| {
            Bm25Weight::for_one_term_without_explain(most, statistics.total_num_docs, statistics.average_fieldnorm)
                .boost_by(boost * self.typo_boost)
        });
        let option = if bm25.is_some() { IndexRecordOption::WithFreqs } else { IndexRecordOption::Basic };
        let fieldnorms = reader.get_fieldnorms_reader(self.field)?;
        let num_postings: u64 = term_infos.iter().map(|(term_info, _)| u64::from(term_info.doc_freq)).sum();
        let sparse = num_postings.saturating_mul(SPARSE_SHARE) <= u64::from(reader.max_doc());
        let mut listed: Vec<(DocId, Score)> = Vec::new();
        let mut dense: Option<(BitSet, Vec<Score>)> = None;
        if sparse {
            listed.reserve(usize::try_from(num_postings).unwrap_or(0));
        } else {
            dense = Some((BitSet::with_max_value(reader.max_doc()), vec![0.0; reader.max_doc() as usize]));
        }
        for (term_info, doc_freq) in &term_infos {
            // The more common neighbour is the likelier meant word ("fraction", not the Spanish
            // "fraccion", for "fracion"): each scores in proportion to the square root of its
            // share of the most common one's documents.
            let likelihood = neighbour_likelihood(*doc_freq, most);
            let mut postings = inverted_index.read_block_postings_from_terminfo(term_info, option)?;
            loop {
                let block = postings.docs();
                if block.is_empty() {
                    break;
                }
                let freqs = postings.freqs();
                for (position, &doc) in block.iter().enumerate() {
                    let score = match &bm25 {
                        Some(bm25) => {
                            likelihood
                                * bm25.score(fieldnorms.fieldnorm_id(doc), freqs.get(position).copied().unwrap_or(1))
                        }
                        None => 0.0,
                    };
                    match &mut dense {
                        // A document with several neighbours counts the best one.
                        Some((docs, scores)) => {
                            docs.insert(doc);
                            if let Some(slot) = scores.get_mut(doc as usize) {
                                *slot = (*slot).max(score);
                            }
                        }
                        None => listed.push((doc, score)),
                    }
                }
                postings.advance();
            }
        }
        Ok(Some(match dense {
            Some((docs, scores)) => NeighbourDocs::Dense { docs: BitSetDocSet::from(docs), scores },
            None => NeighbourDocs::sparse(listed),
        }))
    }
}

/// How much a neighbour in `doc_freq` documents counts when the most common neighbour is in
/// `most` (1 for the most common one).
fn neighbour_likelihood(doc_freq: u64, most: u64) -> Score {
    (doc_freq.min(most) as Score / most.max(1) as Score).sqrt()
}

impl Weight for FuzzyWordWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let exact = self.exact.scorer(reader, boost * self.exact_boost)?;
        let neighbours = self.neighbour_docs(reader, boost)?;
        let mut scorer = FuzzyWordScorer { exact, neighbours, doc: 0 };
        scorer.doc = scorer.exact.doc().min(scorer.neighbours.as_ref().map_or(TERMINATED, |n| n.doc()));
        Ok(Box::new(scorer))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.seek(doc) != doc {
            return Err(tantivy::TantivyError::InvalidArgument(format!("document {doc} does not match")));
        }
        Ok(Explanation::new(
            "exact word (BM25) plus the best word within the edit distance (BM25, weighted)",
            scorer.score(),
        ))
    }
}

/// The union of the exact term's scorer and the neighbours' documents.
struct FuzzyWordScorer {
    exact: Box<dyn Scorer>,
    neighbours: Option<NeighbourDocs>,
    doc: DocId,
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
            next = next.min(neighbours.seek(target));
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
        let mut score = if self.exact.doc() == self.doc { self.exact.score() } else { 0.0 };
        if self.neighbours.as_ref().is_some_and(|n| n.doc() == self.doc) {
            score += self.neighbours.as_ref().map_or(0.0, NeighbourDocs::score);
        }
        score
    }
}

#[cfg(test)]
mod tests {
    use tantivy::collector::{Count, TopDocs};
    use tantivy::query::{
        Bm25StatisticsProvider, BooleanQuery, BoostQuery, DisjunctionMaxQuery, FuzzyTermQuery, Occur,
    };
    use tantivy::schema::{Schema, TEXT};
    use tantivy::{doc, Index, IndexWriter};

    use super::*;

    /// The searcher's statistics, except that every neighbour has the largest document
    /// frequency among them.
    struct Blended<'a> {
        searcher: &'a Searcher,
        neighbours: Vec<Term>,
    }

    impl Bm25StatisticsProvider for Blended<'_> {
        fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
            self.searcher.total_num_tokens(field)
        }
        fn total_num_docs(&self) -> tantivy::Result<u64> {
            self.searcher.total_num_docs()
        }
        fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
            if self.neighbours.contains(term) {
                let mut most = 0;
                for neighbour in &self.neighbours {
                    most = most.max(self.searcher.doc_freq(neighbour)?);
                }
                return Ok(most);
            }
            self.searcher.doc_freq(term)
        }
    }

    #[test]
    fn test_same_documents_as_term_or_fuzzy_term_scored_by_blended_bm25() {
        let mut builder = Schema::builder();
        let body = builder.add_text_field("body", TEXT);
        let index = Index::create_in_ram(builder.build());
        let mut writer: IndexWriter = index.writer_with_num_threads(1, 20_000_000).unwrap();
        let texts = [
            "fractions on a line",
            "fraction pizza fraction",
            "fractons typo",
            "factions and parties",
            "nothing",
            "a fraction among many other words in a long text",
        ];
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
        assert_eq!(
            vocabulary.doc_freq(b"fraction"),
            searcher.doc_freq(&Term::from_field_text(body, "fraction")).unwrap()
        );
        assert_eq!(vocabulary.doc_freq(b"absent"), 0);
        for word in ["fractions", "fraction", "fractons", "parties", "absent"] {
            let term = Term::from_field_text(body, word);
            let automaton = WordAutomaton::new(word, 1);
            let found = vocabulary.neighbours(&automaton, word.as_bytes());
            // The same documents as tantivy's own term-or-fuzzy query...
            let documents = BooleanQuery::new(vec![
                (Occur::Should, Box::new(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs))),
                (Occur::Should, Box::new(FuzzyTermQuery::new(term.clone(), 1, true))),
            ]);
            // ...scored as the exact term plus the best neighbour with blended statistics.
            let neighbour_terms: Vec<Term> = found.iter().map(|n| Term::from_field_bytes(body, n)).collect();
            let neighbour_queries: Vec<Box<dyn Query>> = neighbour_terms
                .iter()
                .map(|t| {
                    let most = neighbour_terms.iter().map(|n| searcher.doc_freq(n).unwrap()).max().unwrap_or(1);
                    let likelihood = neighbour_likelihood(searcher.doc_freq(t).unwrap(), most);
                    let term = Box::new(TermQuery::new(t.clone(), IndexRecordOption::WithFreqs));
                    Box::new(BoostQuery::new(term, likelihood)) as Box<dyn Query>
                })
                .collect();
            let reference = BooleanQuery::new(vec![
                (
                    Occur::Should,
                    Box::new(BoostQuery::new(
                        Box::new(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs)),
                        4.0,
                    )),
                ),
                (Occur::Should, Box::new(BoostQuery::new(Box::new(DisjunctionMaxQuery::new(neighbour_queries)), 0.8))),
            ]);
            let blended = Blended { searcher: &searcher, neighbours: neighbour_terms };
            let top = TopDocs::with_limit(20).order_by_score();
            let mut expected = searcher.search_with_statistics_provider(&reference, &top, &blended).unwrap();
            expected.sort_by_key(|(_, address)| *address);
            assert_eq!(expected.len(), searcher.search(&documents, &Count).unwrap(), "{word}");
            for (position, expansion) in
                [Expansion::neighbours(found.clone()), Expansion::Walk(automaton.clone())].into_iter().enumerate()
            {
                let ours = FuzzyWordQuery::new(term.clone(), expansion, 4.0, 0.8);
                let mut got = searcher.search(&ours, &top).unwrap();
                assert_eq!(searcher.search(&ours, &Count).unwrap(), expected.len(), "{word}");
                got.sort_by_key(|(_, address)| *address);
                assert_eq!(got.len(), expected.len(), "{word}");
                for ((got_score, got_address), (expected_score, expected_address)) in got.iter().zip(&expected) {
                    assert_eq!(got_address, expected_address, "{word}");
                    // A segment that walks its own dictionary blends its own frequencies.
                    if position == 0 {
                        assert!((got_score - expected_score).abs() < 1e-4, "{word}: {got_score} vs {expected_score}");
                    }
                }
            }
        }
    }

    #[test]
    fn test_listed_and_dense_neighbour_docs_agree() {
        let max_doc = 40;
        // Two neighbours' postings, overlapping in documents 3 and 17, out of order.
        let postings: Vec<(DocId, Score)> = vec![(17, 0.5), (3, 1.0), (30, 0.2), (3, 2.0), (17, 0.25), (0, 0.1)];
        let mut bits = BitSet::with_max_value(max_doc);
        let mut scores: Vec<Score> = vec![0.0; max_doc as usize];
        for &(doc, score) in &postings {
            bits.insert(doc);
            scores[doc as usize] = scores[doc as usize].max(score);
        }
        let walk = |mut docs: NeighbourDocs, seeks: &[DocId]| {
            let mut seen = vec![(docs.doc(), docs.score())];
            for &target in seeks {
                let doc = if target == 0 { docs.advance() } else { docs.seek(target) };
                seen.push((doc, if doc == TERMINATED { 0.0 } else { docs.score() }));
            }
            (docs.size_hint(), seen)
        };
        let seeks = [0, 4, 4, 0, 31, 0];
        let listed = walk(NeighbourDocs::sparse(postings), &seeks);
        let dense = walk(NeighbourDocs::Dense { docs: BitSetDocSet::from(bits), scores }, &seeks);
        assert_eq!(
            listed.1,
            vec![(0, 0.1), (3, 2.0), (17, 0.5), (17, 0.5), (30, 0.2), (TERMINATED, 0.0), (TERMINATED, 0.0)]
        );
        assert_eq!(listed, dense);
    }
}
