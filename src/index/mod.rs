//! The tantivy index in the data folder: schema, documents, the single writer task, searching.

pub mod backend;
pub mod collect;
pub mod columns;
pub mod document;
pub mod facets;
pub mod fuzzy;
pub mod generation;
pub mod merging;
pub mod query;
pub mod schema;
pub mod searcher;
pub mod store;
pub mod writer;

use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};

use tantivy::directory::MmapDirectory;
use tantivy::{Index, IndexReader, ReloadPolicy, Searcher, TantivyError};
use tokio::sync::oneshot;

pub use backend::TantivyBackend;
pub use searcher::{Filter, Highlight, IndexView, SearchHit, SearchRequest, SearchResults, Sort};
pub use writer::{IngestBatch, IngestCounts, IngestMode};

use crate::error::{ErrorCode, HasErrorCode};
use crate::resource::PublisherId;
use schema::Fields;

/// Memory the writer may buffer before flushing a segment (shared by its indexing threads).
pub const WRITER_MEMORY_BYTES: usize = 256 * 1024 * 1024;
/// Indexing threads of the writer: the deployment target has 2 cores.
pub const WRITER_THREADS: usize = 2;

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("search index error: {0}")]
    Tantivy(#[from] TantivyError),
    #[error("search index I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot store resource: {0}")]
    Payload(String),
    #[error("the index in {0} is in use by another process (a running gateway?): stop it, or send the catalog to the running gateway with POST /publishers/{{id}}/catalog")]
    Locked(PathBuf),
    #[error("the index writer has stopped")]
    WriterGone,
}

impl HasErrorCode for IndexError {
    fn error_code(&self) -> ErrorCode {
        match self {
            IndexError::Locked(_) | IndexError::WriterGone => ErrorCode::Unavailable,
            _ => ErrorCode::Internal,
        }
    }
}

/// Each facet dimension's values counted over every live resource of one generation.
pub type WholeIndexFacets = std::collections::HashMap<facets::Dimension, std::collections::HashMap<String, u64>>;

/// The fuzzy vocabulary in use and the generation being built, if any.
#[derive(Default)]
struct VocabularyState {
    current: Option<Arc<fuzzy::Vocabulary>>,
    building: Option<u64>,
}

/// The index: a reader for searches and a channel to the one writer thread.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    /// `None` once closed.
    jobs: Mutex<Option<mpsc::Sender<writer::Job>>>,
    writer_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// True when this open created the index afresh (first start, or a schema change).
    created: bool,
    /// The catalog log position of the last commit when the index was opened.
    opened_at_position: Option<u64>,
    /// What fuzzy words expand to, for the latest searcher generation (see [`fuzzy::Vocabulary`]).
    vocabulary: Arc<Mutex<VocabularyState>>,
    /// Every facet counted over the whole index, for one searcher generation (see
    /// [`SearchIndex::whole_index_facets`]).
    whole_index_facets: generation::PerGeneration<WholeIndexFacets>,
    /// The document stores hits are read from.
    stores: generation::PerGeneration<store::Stores>,
    /// The fast columns facets and filters read.
    columns: generation::PerGeneration<columns::SegmentColumns>,
    /// Multi-valued columns' ordinals laid out as arrays, kept across generations.
    laid_out_ords: Arc<columns::LaidOutOrds>,
}

impl SearchIndex {
    /// Opens the index in `dir`, creating it, or recreating it when its schema version is not
    /// [`schema::SCHEMA_VERSION`] (the caller then re-ingests the stored catalogs).
    pub fn open(dir: &Path) -> Result<Self, IndexError> {
        std::fs::create_dir_all(dir)?;
        let stamp_path = dir.join("schema-version");
        let stamp = std::fs::read_to_string(&stamp_path).ok();
        let current = schema::SCHEMA_VERSION.to_string();
        let has_index = dir.join("meta.json").exists();
        let (tantivy_schema, fields) = schema::build();
        let created = !has_index || stamp.as_deref().map(str::trim) != Some(current.as_str());
        if created && has_index {
            tracing::warn!(dir = %dir.display(), found = ?stamp, expected = %current, "index schema changed; rebuilding");
            for entry in std::fs::read_dir(dir)? {
                let path = entry?.path();
                if path.is_dir() {
                    std::fs::remove_dir_all(&path)?;
                } else {
                    std::fs::remove_file(&path)?;
                }
            }
        }
        let directory =
            MmapDirectory::open(dir).map_err(|err| IndexError::Io(std::io::Error::other(err.to_string())))?;
        let index = Index::builder().schema(tantivy_schema).settings(schema::settings()).open_or_create(directory)?;
        std::fs::write(&stamp_path, &current)?;
        schema::register_tokenizers(&index);
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let index_writer = match index.writer_with_num_threads(WRITER_THREADS, WRITER_MEMORY_BYTES) {
            Ok(writer) => writer,
            Err(TantivyError::LockFailure(_, _)) => return Err(IndexError::Locked(dir.to_path_buf())),
            Err(err) => return Err(err.into()),
        };
        let (sender, receiver) = mpsc::channel();
        let thread_fields = fields.clone();
        let shared_reader = reader.clone();
        let writer_thread = std::thread::Builder::new()
            .name("index-writer".into())
            .spawn(move || writer::run(index_writer, shared_reader, thread_fields, receiver))?;
        let opened_at_position = writer::committed_position(&index);
        Ok(Self {
            index,
            reader,
            fields,
            jobs: Mutex::new(Some(sender)),
            writer_thread: Mutex::new(Some(writer_thread)),
            created,
            opened_at_position,
            vocabulary: Arc::default(),
            whole_index_facets: Default::default(),
            stores: Default::default(),
            columns: Default::default(),
            laid_out_ords: Default::default(),
        })
    }

    /// Opens an existing index for searching only: no writer, so no lock, and it works beside
    /// a running gateway. For tools (the benchmark's in-process floor); ingests answer
    /// `WriterGone`. Refuses an index with another schema version rather than rebuilding it.
    pub fn open_read_only(dir: &Path) -> Result<Self, IndexError> {
        let stamp = std::fs::read_to_string(dir.join("schema-version"))?;
        if stamp.trim() != schema::SCHEMA_VERSION.to_string() {
            return Err(IndexError::Io(std::io::Error::other(format!(
                "index in {} has schema version {}, expected {}",
                dir.display(),
                stamp.trim(),
                schema::SCHEMA_VERSION
            ))));
        }
        let directory =
            MmapDirectory::open(dir).map_err(|err| IndexError::Io(std::io::Error::other(err.to_string())))?;
        let index = Index::open(directory)?;
        schema::register_tokenizers(&index);
        let (_, fields) = schema::build();
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        Ok(Self {
            index,
            reader,
            fields,
            jobs: Mutex::new(None),
            writer_thread: Mutex::new(None),
            created: false,
            opened_at_position: None,
            vocabulary: Arc::default(),
            whole_index_facets: Default::default(),
            stores: Default::default(),
            columns: Default::default(),
            laid_out_ords: Default::default(),
        })
    }

    /// The vocabulary of `searcher`'s generation, or `None` while it is being built: the first
    /// search of a new generation starts the build on its own thread (about 0.2 s at a million
    /// resources) and, like every search until it is ready, expands fuzzy words segment by
    /// segment instead of waiting.
    fn vocabulary(&self, searcher: &Searcher) -> Option<Arc<fuzzy::Vocabulary>> {
        let generation_id = searcher.generation().generation_id();
        let mut state = self.vocabulary.lock().ok()?;
        if let Some(current) = state.current.as_ref().filter(|v| v.generation_id == generation_id) {
            return Some(current.clone());
        }
        if state.building.is_some_and(|building| building >= generation_id) {
            return None;
        }
        state.building = Some(generation_id);
        drop(state);
        let shared = self.vocabulary.clone();
        let searcher = searcher.clone();
        let fuzzy_fields = query::TextQueryBuilder::fuzzy_fields(&self.fields);
        let native_fields: Vec<tantivy::schema::Field> = self.fields.native.iter().map(|(_, field)| *field).collect();
        let spawned = std::thread::Builder::new().name("vocabulary".into()).spawn(move || {
            let built = fuzzy::Vocabulary::build(&searcher, &fuzzy_fields, &native_fields);
            let Ok(mut state) = shared.lock() else { return };
            if state.building == Some(generation_id) {
                state.building = None;
            }
            match built {
                Ok(vocabulary) => {
                    if state.current.as_ref().is_none_or(|current| current.generation_id < generation_id) {
                        state.current = Some(Arc::new(vocabulary));
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, "building the fuzzy vocabulary failed; searches walk segments")
                }
            }
        });
        if let Err(err) = spawned {
            tracing::warn!(error = %err, "cannot start the vocabulary build; searches walk segments");
            if let Ok(mut state) = self.vocabulary.lock() {
                state.building = None;
            }
        }
        None
    }

    pub fn created(&self) -> bool {
        self.created
    }

    /// The catalog log position the index had when it was opened (`None`: new, or written
    /// before the catalog log existed).
    pub fn opened_at_position(&self) -> Option<u64> {
        self.opened_at_position
    }

    /// Whether the writer thread is there to take changes.
    pub fn writer_alive(&self) -> bool {
        let sender_open = self.jobs.lock().map(|jobs| jobs.is_some()).unwrap_or(false);
        let thread_running = self
            .writer_thread
            .lock()
            .map(|thread| thread.as_ref().is_some_and(|handle| !handle.is_finished()))
            .unwrap_or(false);
        sender_open && thread_running
    }

    fn send(&self, job: writer::Job) -> Result<(), IndexError> {
        let jobs = self.jobs.lock().map_err(|_| IndexError::WriterGone)?;
        let sender = jobs.as_ref().ok_or(IndexError::WriterGone)?;
        sender.send(job).map_err(|_| IndexError::WriterGone)
    }

    /// Stops the writer and waits for it to release the index lock, so another process (or a
    /// restarted gateway) can write. Searches keep working; ingests answer `WriterGone`.
    pub fn close(&self) {
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.take();
        }
        let thread = self.writer_thread.lock().ok().and_then(|mut t| t.take());
        if let Some(thread) = thread {
            if thread.join().is_err() {
                tracing::error!("the index writer thread panicked");
            }
        }
    }

    /// Applies a batch in one commit and waits for it to be searchable. The documents are
    /// built in the blocking pool first, so several ingests prepare in parallel while the
    /// writer thread commits.
    pub async fn ingest(&self, batch: IngestBatch, position: Option<u64>) -> Result<IngestCounts, IndexError> {
        let fields = self.fields.clone();
        let prepared = tokio::task::spawn_blocking(move || writer::PreparedBatch::prepare(&fields, batch))
            .await
            .map_err(|err| IndexError::Payload(err.to_string()))??;
        let (reply, answer) = oneshot::channel();
        self.send(writer::Job::Ingest(prepared, position, reply))?;
        answer.await.map_err(|_| IndexError::WriterGone)?
    }

    /// Takes every resource of a publisher out in one commit; answers how many there were.
    pub async fn remove_publisher(&self, publisher: &PublisherId, position: Option<u64>) -> Result<usize, IndexError> {
        let (reply, answer) = oneshot::channel();
        self.send(writer::Job::RemovePublisher(publisher.clone(), position, reply))?;
        answer.await.map_err(|_| IndexError::WriterGone)?
    }

    /// Records a catalog log position in a commit that changes no resource.
    pub async fn mark_applied(&self, position: u64) -> Result<(), IndexError> {
        let (reply, answer) = oneshot::channel();
        self.send(writer::Job::MarkApplied(position, reply))?;
        answer.await.map_err(|_| IndexError::WriterGone)?
    }
}
