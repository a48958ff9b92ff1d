use std::process::ExitCode;

use clap::Parser;

/// mimalloc rather than the system allocator: the request path allocates a few dozen small
/// objects per request, and glibc's malloc/free was the largest single cost left on the
/// cached-data hot path (see bench/wip_summary.sh).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    mes_dashboard::cli::run(mes_dashboard::cli::Cli::parse())
}
