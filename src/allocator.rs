//! Handing the allocator's free memory back to the operating system after a WIP load.
//!
//! The binary allocates with mimalloc (`src/main.rs`). mimalloc keeps memory it has freed for
//! reuse: a thread keeps its emptied pages ("retired") until it allocates again, and freed
//! ranges are returned to the OS only after a delay, by a later allocation or free. A WIP load
//! frees tens of megabytes at once (the interning maps, the load's growing buffers, the
//! previous snapshot) and the worker may then idle for minutes: without this call that memory
//! stayed resident (figures in README, Performance, `bench/wip_scale.sh`).

/// Frees this thread's emptied pages and returns every freed range of the process to the OS
/// now. Costs a walk of this thread's pages (well under a millisecond); meant for the end of
/// a load, not for the request path. Only the calling thread's pages are visited, so the load
/// runs on one thread of its own and calls this there (`cache::updater`).
#[expect(
    unsafe_code,
    reason = "mimalloc's mi_collect is a C function; it takes a bool and touches no Rust data"
)]
pub fn release_free_memory() {
    // SAFETY: `mi_collect` has no preconditions; it may be called from any thread at any time
    // (it is a no-op for a thread that never allocated with mimalloc).
    unsafe { libmimalloc_sys::mi_collect(true) }
}
