//! The process allocator. mimalloc replaces glibc malloc: catalog parsing allocates many small
//! strings on several threads at once, and with glibc's per-thread arenas an ingest of a million
//! resources peaked at 1.3-1.5 GiB of RSS against 0.7 GiB with mimalloc (BENCHMARKS.md).
//! Transparent huge pages are off (the `no_thp` feature): with them, each thread's heap grows
//! in 2 MiB pages, and sixteen concurrent searches left the server holding 380 MiB of heap
//! instead of about 150 MiB.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
