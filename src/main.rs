use std::process::ExitCode;

use clap::Parser;

/// mimalloc rather than the system allocator: the request path allocates a few dozen small
/// objects per request, and glibc's malloc/free was the largest single cost left on the
/// cached-data hot path (see bench/wip_summary.sh). Built with `no_thp`: otherwise mimalloc
/// asks for transparent huge pages on its arenas, and every touched 2 MiB region becomes
/// resident — about 10 MiB more per worker for nothing (bench/wip_summary.sh reports RSS).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    mes_dashboard::cli::run(mes_dashboard::cli::Cli::parse())
}
