//! One chromedriver process per test, in a process group of its own.
//!
//! The group holds chromedriver and every Chromium process it starts, so dropping the
//! [`Driver`] — when the test ends, passes or panics — kills them all with one signal and
//! leaves no orphan behind.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::poll_until;
use crate::helpers::capture_output;

/// Generous bound on chromedriver's start on a loaded machine.
const STARTUP: Duration = Duration::from_secs(30);

pub struct Driver {
    /// The WebDriver endpoint, `http://127.0.0.1:<port>/`.
    pub url: String,
    child: Child,
    output: Arc<Mutex<String>>,
}

impl Driver {
    /// Starts chromedriver on a port the system picks and waits until `/status` says ready.
    ///
    /// With `--port=0` chromedriver binds a free IPv4 port, then the same port on IPv6; when
    /// another process holds that one there, it exits with "Address already in use" (seen
    /// once in a full run). That start is retried on a new port; any other failure panics.
    pub async fn start(program: &Path) -> Driver {
        const ATTEMPTS: usize = 5;
        for attempt in 1..=ATTEMPTS {
            match Self::try_start(program).await {
                Ok(driver) => return driver,
                Err(output) if attempt < ATTEMPTS && output.contains("Address already in use") => {
                    eprintln!("chromedriver's port was taken (attempt {attempt}); starting again");
                }
                Err(output) => panic!("chromedriver exited; its output:\n{output}"),
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    /// One start: the driver once ready, or its output when it exited before announcing a
    /// port.
    async fn try_start(program: &Path) -> Result<Driver, String> {
        use std::os::unix::process::CommandExt;
        let mut child = Command::new(program)
            // Port 0: chromedriver binds a free port and prints it; no race for a port with
            // the other tests.
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", program.display()));
        let output = capture_output(&mut child);
        let mut driver = Driver {
            url: String::new(),
            child,
            output,
        };
        let port = poll_until(STARTUP, async || driver.announced_port()).await;
        let port = match port {
            Some(Ok(port)) => port,
            Some(Err(output)) => return Err(output),
            None => panic!(
                "chromedriver did not announce its port within {STARTUP:?}; its output:\n{}",
                driver.output()
            ),
        };
        driver.url = format!("http://127.0.0.1:{port}/");

        let client = crate::helpers::bare_client();
        let status = format!("{}status", driver.url);
        let ready = poll_until(STARTUP, async || {
            let response = client.get(&status).send().await.ok()?;
            let body: serde_json::Value = response.json().await.ok()?;
            (body["value"]["ready"] == true).then_some(())
        })
        .await;
        if ready.is_none() {
            panic!(
                "chromedriver on port {port} was not ready within {STARTUP:?}; its output:\n{}",
                driver.output()
            );
        }
        Ok(driver)
    }

    /// The port from "… started successfully on port N." once printed, or the driver's
    /// output (with its exit status) if it exited instead.
    fn announced_port(&mut self) -> Option<Result<u16, String>> {
        if let Ok(Some(exit)) = self.child.try_wait() {
            // What it printed last may still be on its way through the pipe readers.
            std::thread::sleep(Duration::from_millis(100));
            return Some(Err(format!("({exit})\n{}", self.output())));
        }
        let output = self.output();
        let rest = output.split("started successfully on port ").nth(1)?;
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok().map(Ok)
    }

    /// Everything chromedriver printed so far (for failure messages).
    pub fn output(&self) -> String {
        self.output
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let Some(group) = i32::try_from(self.child.id())
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        else {
            return;
        };
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        let _ = self.child.wait();
        // The browser's processes are not our children: wait (bounded) until the group is
        // empty so the profile directory is not removed under a process still writing it.
        let until = Instant::now() + Duration::from_secs(5);
        while rustix::process::test_kill_process_group(group).is_ok() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
