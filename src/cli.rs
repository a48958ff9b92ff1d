//! The command line: one binary, one role per subcommand.

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::{self, EXIT_CONFIG, Settings};
use crate::{db, seed, serve, simulate, supervisor, telemetry};

#[derive(Debug, Parser)]
#[command(
    name = "mes-dashboard",
    version,
    about = "MES Dashboard: WIP, holds and live equipment state"
)]
pub struct Cli {
    #[command(subcommand)]
    pub role: Option<Role>,
}

#[derive(Debug, Subcommand)]
pub enum Role {
    /// Serve the dashboard on BIND (the default role).
    Serve,
    /// Print every configuration diagnostic and exit non-zero on any error; binds nothing.
    CheckConfig,
    /// Print a fresh random SECRET_KEY.
    GenSecret,
    /// Read a password from standard input and print its argon2 hash for LOCAL_AUTH_USERS.
    HashPassword,
    /// Apply pending database migrations (safe to run again).
    Migrate,
    /// Fill the database with a deterministic synthetic factory.
    Seed(SeedArgs),
    /// Keep a demo factory alive: flip tool states and move lots in the database.
    Simulate(SimulateArgs),
    /// Internal: one worker process, started by `serve` with the listening socket and a
    /// control channel.
    #[command(hide = true)]
    Worker(supervisor::worker::WorkerArgs),
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// Random seed: the same seed and sizes give the same factory.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Lots in process.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u32).range(0..=2_000_000))]
    pub lots: u32,
    /// Tools (equipment).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub tools: u32,
    /// Days of history: equipment states, maintenance jobs, hold events.
    #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=3_650))]
    pub days: u32,
    /// New holds per day over the history (default: one lot in 25, 800 for 20 000 lots);
    /// `--days 365 --holds-per-day 822` makes about 300 000 hold events.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub holds_per_day: Option<u32>,
    /// Anchor time of every timestamp (RFC 3339); default now.
    #[arg(long)]
    pub now: Option<chrono::DateTime<chrono::Utc>>,
    /// Erase the factory tables first (they are never erased otherwise).
    #[arg(long)]
    pub replace: bool,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Changes per second (tool state flips and lot moves together), 0.01 to 1000.
    #[arg(long, default_value_t = 2.0, value_parser = parse_rate)]
    pub rate: f64,
    /// Random seed (default: from the clock); the same seed on the same factory makes the
    /// same choices.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Stop after this many seconds (default: run until SIGTERM or Ctrl-C).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=31_536_000))]
    pub duration: Option<u64>,
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(rate) if (0.01..=1000.0).contains(&rate) => Ok(rate),
        _ => Err(format!(
            "{s:?} is not a rate: give changes per second from 0.01 to 1000"
        )),
    }
}

/// Exit code when serving stopped but a shutdown hook failed or timed out.
pub const EXIT_UNCLEAN_SHUTDOWN: u8 = 3;

/// Runs the chosen role and returns the process exit code. The role is matched here, once:
/// each arm is the whole of its role.
pub fn run(cli: Cli) -> ExitCode {
    match cli.role.unwrap_or(Role::Serve) {
        Role::GenSecret => {
            println!("{}", config::secret::generate());
            ExitCode::SUCCESS
        }
        Role::CheckConfig => check_config(),
        Role::HashPassword => hash_password(),
        Role::Serve => in_runtime(serve::run),
        Role::Migrate => in_runtime(|settings| async { migrate(settings).await.map(|()| true) }),
        Role::Seed(args) => {
            in_runtime(|settings| async { seed_role(settings, args).await.map(|()| true) })
        }
        Role::Simulate(args) => {
            in_runtime(|settings| async { simulate_role(settings, args).await.map(|()| true) })
        }
        // The inherited fds are taken before any other thread exists: listenfd edits the
        // environment, and the log writer runs on a thread of its own.
        Role::Worker(args) => match supervisor::worker::Inherited::take() {
            Ok(inherited) => {
                in_runtime(|settings| supervisor::worker::run(settings, args, inherited))
            }
            Err(error) => {
                eprintln!("error: worker: cannot start: {error:#}");
                ExitCode::FAILURE
            }
        },
    }
}

/// What every role that touches the database or serves shares: the configuration (every
/// problem reported, exit 78, nothing started), logging, and the async runtime. `role`
/// answers whether it stopped cleanly (every shutdown hook finished).
fn in_runtime<F, Fut>(role: F) -> ExitCode
where
    F: FnOnce(Settings) -> Fut,
    Fut: Future<Output = anyhow::Result<bool>>,
{
    let Some(settings) = load_or_report() else {
        return ExitCode::from(EXIT_CONFIG);
    };
    // Held until the role ends: dropping it flushes every pending log line.
    let _log = telemetry::init(&settings);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(role(settings)) {
        Ok(true) => ExitCode::SUCCESS,
        // Serving stopped, but a shutdown hook failed or timed out (see the report).
        Ok(false) => ExitCode::from(EXIT_UNCLEAN_SHUTDOWN),
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "fatal");
            ExitCode::FAILURE
        }
    }
}

/// Loads the configuration; prints warnings, and on any error prints every error and
/// returns `None`.
fn load_or_report() -> Option<Settings> {
    let (settings, diag) = Settings::load_from_process();
    for warning in diag.warnings() {
        eprintln!("{warning}");
    }
    if diag.has_errors() {
        eprintln!(
            "mes-dashboard: refusing to start ({} mode): the configuration has errors",
            settings.mode
        );
        for error in diag.errors() {
            eprintln!("{error}");
        }
        return None;
    }
    Some(settings)
}

fn check_config() -> ExitCode {
    let (settings, diag) = Settings::load_from_process();
    println!("mode: {}", settings.mode);
    println!("bind: {}", settings.http.bind);
    println!("database: {}", settings.database.display_url());
    if diag.items.is_empty() {
        println!("configuration OK: no warnings, no errors");
        return ExitCode::SUCCESS;
    }
    print!("{diag}");
    let errors = diag.errors().count();
    let warnings = diag.warnings().count();
    println!("{errors} error(s), {warnings} warning(s)");
    if errors > 0 {
        ExitCode::from(EXIT_CONFIG)
    } else {
        ExitCode::SUCCESS
    }
}

async fn migrate(settings: Settings) -> anyhow::Result<()> {
    let database = db::Database::connect_lazy(&settings)?;
    let applied = db::migrate::run(&database.request).await?;
    println!(
        "migrations applied: {applied} (database {})",
        database.display_url
    );
    database.close().await;
    Ok(())
}

async fn seed_role(settings: Settings, args: SeedArgs) -> anyhow::Result<()> {
    let database = db::Database::connect_lazy(&settings)?;
    db::migrate::run(&database.request).await?;
    let (lots, tools) = seed::factory_size(&database.request).await?;
    if (lots > 0 || tools > 0) && !args.replace {
        anyhow::bail!(
            "the database already holds a factory ({lots} lots, {tools} tools); \
             pass --replace to erase it and seed again"
        );
    }
    let opts = seed::SeedOptions {
        seed: args.seed,
        lots: args.lots,
        tools: args.tools,
        days: args.days,
        holds_per_day: args.holds_per_day,
        now: args.now.unwrap_or_else(chrono::Utc::now),
    };
    let started = std::time::Instant::now();
    let factory = seed::generate(&opts);
    let generated = started.elapsed();
    seed::insert(&database.request, &factory, args.replace).await?;
    // The equipment history's per-day rollup of the days just written (PostgreSQL).
    let clock = crate::hold_history::PlantClock::new(
        settings.pages.time_zone,
        settings.reports.shift_day_start,
    );
    db::rollup::reset(&database.slow).await?;
    db::rollup::roll_up_all(&database.slow, &clock, opts.now).await?;
    println!(
        "seeded {} lots, {} tools, {} history spans, {} hold events, {} maintenance jobs \
         ({} transactions) over {} days (seed {}) in {:.1} s ({:.1} s generating, {:.1} s writing)",
        factory.lots.len(),
        factory.tools.len(),
        factory.history.len(),
        factory.hold_events.len(),
        factory.jobs.len(),
        factory.job_transactions.len(),
        opts.days,
        opts.seed,
        started.elapsed().as_secs_f64(),
        generated.as_secs_f64(),
        (started.elapsed() - generated).as_secs_f64()
    );
    database.close().await;
    Ok(())
}

async fn simulate_role(settings: Settings, args: SimulateArgs) -> anyhow::Result<()> {
    let database = db::Database::connect_lazy(&settings)?;
    let opts = simulate::SimulateOptions {
        rate: args.rate,
        seed: args.seed.unwrap_or_else(rand::random),
        duration: args.duration.map(std::time::Duration::from_secs),
    };
    println!(
        "simulating {} changes per second on {} (seed {}); stop with Ctrl-C",
        opts.rate, database.display_url, opts.seed
    );
    let stop = tokio_util::sync::CancellationToken::new();
    {
        let stop = stop.clone();
        tokio::spawn(async move {
            serve::wait_for_stop_signal().await;
            stop.cancel();
        });
    }
    let result = simulate::run(&database.request, &opts, stop).await;
    database.close().await;
    let report = result?;
    println!(
        "simulated {} tool flips, {} lot moves ({} holds, {} releases), {} maintenance job \
         steps ({} skipped)",
        report.flips, report.moves, report.holds, report.releases, report.job_steps, report.skipped
    );
    Ok(())
}

/// `hash-password`: one line from standard input (the password, without its newline) → the
/// argon2id PHC string, for `LOCAL_AUTH_USERS` entries `username:mail:hash`.
fn hash_password() -> ExitCode {
    let mut line = String::new();
    if let Err(error) = std::io::stdin().read_line(&mut line) {
        eprintln!("error: cannot read the password from standard input: {error}");
        return ExitCode::FAILURE;
    }
    let password = line.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        eprintln!(
            "error: give the password on standard input, e.g. `echo -n … | mes-dashboard hash-password`"
        );
        return ExitCode::FAILURE;
    }
    match crate::auth::provider::local::hash_password(password) {
        Ok(hash) => {
            println!("{hash}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }

    #[test]
    fn simulate_takes_a_rate_a_seed_and_a_duration() {
        use clap::Parser;
        let cli = Cli::try_parse_from([
            "mes-dashboard",
            "simulate",
            "--rate",
            "0.5",
            "--seed",
            "9",
            "--duration",
            "60",
        ])
        .unwrap();
        let Some(super::Role::Simulate(args)) = cli.role else {
            panic!("the simulate role");
        };
        assert_eq!(
            (args.rate, args.seed, args.duration),
            (0.5, Some(9), Some(60))
        );
        for bad in [["--rate", "0"], ["--rate", "fast"], ["--duration", "0"]] {
            let mut argv = vec!["mes-dashboard", "simulate"];
            argv.extend(bad);
            assert!(Cli::try_parse_from(argv).is_err(), "{bad:?}");
        }
    }
}
