//! systemd notifications: a fake `NOTIFY_SOCKET` (a Unix datagram socket the test binds)
//! receives READY, RELOADING with MONOTONIC_USEC, the WATCHDOG pings and STOPPING.

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use super::{BIN, Site, serving};

/// Reads datagrams until one contains `want`, bounded; returns everything read.
fn expect(socket: &UnixDatagram, want: &str, limit: Duration) -> String {
    let started = Instant::now();
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    while started.elapsed() < limit {
        if let Ok(n) = socket.recv(&mut buf) {
            let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
            seen.push_str(&msg);
            seen.push('|');
            if msg.contains(want) {
                return seen;
            }
        }
    }
    panic!("no {want:?} within {limit:?}; received: {seen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_supervisor_tells_systemd_ready_reloading_watchdog_and_stopping() {
    let site = Site::new().await;
    let path = site.dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let notify = path.to_str().unwrap();
    let mut sup = site
        .start(
            BIN.as_ref(),
            2,
            &[("NOTIFY_SOCKET", notify), ("WATCHDOG_USEC", "1000000")],
        )
        .await;

    let seen = expect(&socket, "READY=1", Duration::from_secs(10));
    assert!(
        seen.contains("STATUS=generation 1: 2/2 workers serving"),
        "{seen}"
    );
    expect(&socket, "WATCHDOG=1", Duration::from_secs(5));

    sup.signal("HUP");
    let seen = expect(&socket, "RELOADING=1", Duration::from_secs(10));
    assert!(seen.contains("MONOTONIC_USEC="), "{seen}");
    let seen = expect(&socket, "READY=1", Duration::from_secs(30));
    assert!(seen.contains("generation 2"), "{seen}");
    // Workers learn of the change with the next snapshot, a moment after systemd does.
    sup.wait_for("generation 2 serving", Duration::from_secs(10), |s| {
        serving(s, Some(2)).len() == 2
    })
    .await;

    sup.signal("TERM");
    expect(&socket, "STOPPING=1", Duration::from_secs(10));
    let (exit, _) = sup.wait_exit(Duration::from_secs(40));
    assert!(exit.success(), "{exit}");
}
