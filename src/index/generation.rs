//! What is worked out once per searcher generation: a generation's segments never change, so
//! whatever is read or opened from them holds until the next commit or merge.

use std::sync::{Arc, Mutex};

use tantivy::Searcher;

/// One value, kept for the newest generation that asked for it.
pub struct PerGeneration<T> {
    latest: Mutex<Option<(u64, Arc<T>)>>,
}

impl<T> Default for PerGeneration<T> {
    fn default() -> Self {
        Self { latest: Mutex::new(None) }
    }
}

impl<T> PerGeneration<T> {
    /// The value for `searcher`'s generation: the one kept, or made now by `make`. An older
    /// generation's value (a live search paging on its snapshot) is made but does not push out
    /// the newest one's.
    pub fn get_or_try_make<E>(&self, searcher: &Searcher, make: impl FnOnce() -> Result<T, E>) -> Result<Arc<T>, E> {
        let generation_id = searcher.generation().generation_id();
        if let Ok(latest) = self.latest.lock() {
            if let Some((_, value)) = latest.as_ref().filter(|(generation, _)| *generation == generation_id) {
                return Ok(value.clone());
            }
        }
        let value = Arc::new(make()?);
        if let Ok(mut latest) = self.latest.lock() {
            if latest.as_ref().is_none_or(|(generation, _)| *generation < generation_id) {
                *latest = Some((generation_id, value.clone()));
            }
        }
        Ok(value)
    }
}

impl<T> PerGeneration<T> {
    /// The value for `searcher`'s generation: the one kept, or made now by `make`.
    pub fn get_or_make(&self, searcher: &Searcher, make: impl FnOnce() -> T) -> Arc<T> {
        match self.get_or_try_make(searcher, || Ok::<T, std::convert::Infallible>(make())) {
            Ok(value) => value,
            Err(never) => match never {},
        }
    }
}
