use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    mes_dashboard::cli::run(mes_dashboard::cli::Cli::parse())
}
