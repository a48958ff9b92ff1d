//! Starting one worker process: the binary on disk, the hidden `worker` role, the listening
//! socket as fd 3 (`LISTEN_FDS`, read by listenfd in the worker) and its end of a fresh control
//! socket pair as fd 4. Passing the fds is command-fds' job (it maps them between fork and
//! exec, which needs code this crate does not write by hand).

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::process::Stdio;

use command_fds::{CommandFdExt, FdMapping};
use tokio::net::UnixStream;
use tokio::process::{Child, Command};

use super::protocol::{CONTROL_FD, LISTEN_FD};

/// A worker just started.
pub struct Spawned {
    pub child: Child,
    pub pid: u32,
    /// The supervisor's end of the control channel.
    pub control: UnixStream,
}

/// Variables a worker must not inherit: the supervisor alone speaks to systemd, and the
/// `LISTEN_*` protocol is set here for the worker's own fds.
const SCRUBBED: &[&str] = &[
    "NOTIFY_SOCKET",
    "WATCHDOG_USEC",
    "WATCHDOG_PID",
    "LISTEN_PID",
    "LISTEN_FDS",
    "LISTEN_FDNAMES",
    "LISTEN_FDS_FIRST_FD",
];

/// mimalloc's delay before it hands freed memory back to the system. Its default (v3: one
/// second, and only once the freeing thread calls the allocator again) kept what a WIP load
/// frees resident on threads that then sat idle: one worker three seconds after its load,
/// PostgreSQL, 200 000 lots, read 85–102 MiB RSS with the default and 61–62 MiB with 0
/// (twice each, alternated); 20 000 lots on SQLite 31–34 against 29–31 MiB. The request path
/// showed no cost (`bench/csrf_post.sh` 18.8 against 20.1 µs of CPU per request with the
/// default, `bench/pages.sh`'s hold list 26.9 against 28.6: the noise). Workers get 0 unless
/// the environment sets its own.
const PURGE_DELAY: (&str, &str) = ("MIMALLOC_PURGE_DELAY", "0");

pub fn spawn_worker(
    exe: &Path,
    listener: &std::net::TcpListener,
    generation: u64,
    slot: usize,
    env: &[(&str, &str)],
) -> io::Result<Spawned> {
    let (ours, theirs) = std::os::unix::net::UnixStream::pair()?;
    let listen: OwnedFd = listener.as_fd().try_clone_to_owned()?;
    let mut cmd = Command::new(exe);
    cmd.arg("worker")
        .arg("--generation")
        .arg(generation.to_string())
        .arg("--slot")
        .arg(slot.to_string())
        .stdin(Stdio::null())
        // Its own process group: a Ctrl-C in the terminal reaches the supervisor only, which
        // then stops the workers in order.
        .process_group(0)
        .kill_on_drop(false);
    for var in SCRUBBED {
        cmd.env_remove(var);
    }
    if std::env::var_os(PURGE_DELAY.0).is_none() {
        cmd.env(PURGE_DELAY.0, PURGE_DELAY.1);
    }
    cmd.envs(env.iter().copied());
    cmd.env("LISTEN_FDS", "2");
    cmd.fd_mappings(vec![
        FdMapping {
            parent_fd: listen,
            child_fd: LISTEN_FD,
        },
        FdMapping {
            parent_fd: OwnedFd::from(theirs),
            child_fd: CONTROL_FD,
        },
    ])
    .map_err(io::Error::other)?;
    let child = cmd.spawn()?;
    // Dropping the command closes our copies of the worker's fds: the control channel then
    // reports EOF as soon as the worker is gone.
    drop(cmd);
    let pid = child
        .id()
        .ok_or_else(|| io::Error::other("the worker exited at once"))?;
    ours.set_nonblocking(true)?;
    Ok(Spawned {
        child,
        pid,
        control: UnixStream::from_std(ours)?,
    })
}

/// Sends `signal` to `pid`; a process already gone is not an error.
pub fn signal(pid: u32, signal: rustix::process::Signal) {
    let Some(p) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return;
    };
    if let Err(error) = rustix::process::kill_process(p, signal)
        && error != rustix::io::Errno::SRCH
    {
        tracing::warn!(pid, %error, "cannot signal the worker");
    }
}
