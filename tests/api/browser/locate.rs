//! Finding the browser and its driver, and what happens when they are missing.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

/// The two programs a browser test runs.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
}

/// Debian's real browser binary. `/usr/bin/chromium` is a launcher script that adds desktop
/// flags and loads the system's extensions; tests want the browser with their flags only.
const DEBIAN_CHROMIUM: &[&str] = &["/usr/lib/chromium/chromium", "/usr/bin/chromium"];
const DEBIAN_CHROMEDRIVER: &[&str] = &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"];

/// The browser and its driver; `None` (with a message printed once) when either is missing
/// outside CI. Under `CI=true` a missing browser fails the test: CI installs them.
pub fn binaries() -> Option<Binaries> {
    // The test harness names each test's thread after the test.
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a browser test");
    static FOUND: LazyLock<Result<Binaries, String>> = LazyLock::new(find);
    match &*FOUND {
        Ok(found) => Some(found.clone()),
        Err(why) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!(
                    "{why}: the browser tests must run when CI=true (the {test} test needs a \
                     browser; .ci/run installs the chromium and chromium-driver packages)"
                );
            }
            // Straight to the process's stderr, past the test harness's capture, once: a
            // skipped suite must be visible.
            static ANNOUNCED: std::sync::Once = std::sync::Once::new();
            ANNOUNCED.call_once(|| {
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "\nSKIPPED: {why}, so the browser tests pass without running (first: \
                     {test}). Install chromium and chromedriver (Debian: chromium, \
                     chromium-driver) or set MES_TEST_CHROMIUM / MES_TEST_CHROMEDRIVER; CI=true \
                     makes this an error."
                );
            });
            None
        }
    }
}

fn find() -> Result<Binaries, String> {
    Ok(Binaries {
        chromium: find_one(
            "MES_TEST_CHROMIUM",
            DEBIAN_CHROMIUM,
            &["chromium", "chromium-browser", "google-chrome"],
        )?,
        chromedriver: find_one(
            "MES_TEST_CHROMEDRIVER",
            DEBIAN_CHROMEDRIVER,
            &["chromedriver"],
        )?,
    })
}

/// The program `var` names when set (and then only it), else the first of the Debian paths,
/// else the first of `names` on the `PATH`.
fn find_one(var: &str, debian: &[&str], names: &[&str]) -> Result<PathBuf, String> {
    if let Ok(value) = std::env::var(var)
        && !value.trim().is_empty()
    {
        let path = PathBuf::from(value);
        return if is_executable(&path) {
            Ok(path)
        } else {
            Err(format!(
                "{var}={} is not an executable file",
                path.display()
            ))
        };
    }
    let path_dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    debian
        .iter()
        .map(PathBuf::from)
        .chain(
            names
                .iter()
                .flat_map(|name| path_dirs.iter().map(move |dir| dir.join(name))),
        )
        .find(|p| is_executable(p))
        .ok_or_else(|| format!("no {} found (nor {var} set)", names[0]))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
