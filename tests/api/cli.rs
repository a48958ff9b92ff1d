//! The real binary as a process: the production secret guard, check-config, gen-secret, and
//! credentials kept out of logs.

use std::io::Read;
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_mes-dashboard");

/// A command with a clean, explicit environment (nothing inherited but PATH).
fn mes(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .current_dir(std::env::temp_dir());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_with_timeout(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("the process did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn production_with_a_weak_key_refuses_to_start_and_listens_on_nothing() {
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let weak = "changeme-but-this-part-is-secret-xyz";
    let mut child = mes(
        &["serve"],
        &[
            ("MES_ENV", "production"),
            ("SECRET_KEY", weak),
            ("BIND", &bind),
            ("DATABASE_URL", "postgres://mes@127.0.0.1:1/mes"),
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();

    let status = wait_with_timeout(&mut child, Duration::from_secs(10));
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();

    assert_eq!(
        status.code(),
        Some(78),
        "exit code EX_CONFIG; stderr:\n{stderr}"
    );
    assert!(stderr.contains("SECRET_KEY"), "{stderr}");
    assert!(stderr.contains("shorter than 50 characters"), "{stderr}");
    assert!(stderr.contains("insecure prefix"), "{stderr}");
    assert!(stderr.contains("gen-secret"), "{stderr}");
    for fragment in ["but-this-part", "secret-xyz", weak] {
        assert!(
            !stderr.contains(fragment),
            "key fragment {fragment:?} printed"
        );
    }
    assert!(
        TcpStream::connect_timeout(&bind.parse().unwrap(), Duration::from_millis(200)).is_err(),
        "nothing may listen on {bind}"
    );
}

#[test]
fn production_without_a_key_or_database_lists_every_problem() {
    let output = mes(
        &["serve"],
        &[("MES_ENV", "staging"), ("LOCAL_AUTH_USERS", "demo:x")],
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(78), "{stderr}");
    for variable in ["SECRET_KEY", "DATABASE_URL", "LOCAL_AUTH_USERS"] {
        assert!(
            stderr.contains(variable),
            "{variable} missing from:\n{stderr}"
        );
    }
    assert!(stderr.contains("missing or empty"), "{stderr}");
}

#[test]
fn check_config_prints_every_diagnostic_and_exits_non_zero_on_errors() {
    let output = mes(
        &["check-config"],
        &[
            ("MES_ENV", "production"),
            ("SECRET_KEY", "short"),
            ("DB_POOL_SIZE", "many"),
            ("DATABASE_URL", "sqlite://prod.db"),
            ("ALLOW_SQLITE_IN_PRODUCTION", "true"),
        ],
    )
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_ne!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("error: SECRET_KEY"), "{stdout}");
    assert!(stdout.contains("error: DB_POOL_SIZE"), "{stdout}");
    assert!(stdout.contains("warning: DATABASE_URL"), "{stdout}");
    assert!(stdout.contains("warning: LDAP_API_URL"), "{stdout}");
    assert!(
        stdout.contains("warning: NON_QUALITY_HOLD_REASONS"),
        "{stdout}"
    );
    assert!(stdout.contains("2 error(s), 3 warning(s)"), "{stdout}");
}

#[test]
fn check_config_passes_a_sound_production_configuration() {
    let key = String::from_utf8(mes(&["gen-secret"], &[]).output().unwrap().stdout).unwrap();
    let output = mes(
        &["check-config"],
        &[
            ("MES_ENV", "production"),
            ("SECRET_KEY", &key),
            ("DATABASE_URL", "postgres://mes:pw@db.internal/mes"),
        ],
    )
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("postgres://mes:***@db.internal/mes"),
        "{stdout}"
    );
    assert!(!stdout.contains(":pw@"), "{stdout}");
}

/// CSRF is enforced in every mode unless `CSRF_MODE` says otherwise, and `check-config` warns
/// whenever it is not (before: testing mode defaulted to report-only, silently).
#[test]
fn check_config_warns_whenever_csrf_is_not_enforced() {
    for mode in ["development", "testing"] {
        let output = mes(&["check-config"], &[("MES_ENV", mode)])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(!stdout.contains("CSRF_MODE"), "{mode}: {stdout}");

        let output = mes(
            &["check-config"],
            &[("MES_ENV", mode), ("CSRF_MODE", "report-only")],
        )
        .output()
        .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(0), "{stdout}");
        assert!(
            stdout.contains("warning: CSRF_MODE: report-only") && stdout.contains("not enforced"),
            "{mode}: {stdout}"
        );
    }
}

#[test]
fn gen_secret_prints_a_fresh_key_that_passes_the_guard() {
    let a = mes(&["gen-secret"], &[]).output().unwrap();
    let b = mes(&["gen-secret"], &[]).output().unwrap();
    let a = String::from_utf8(a.stdout).unwrap();
    let b = String::from_utf8(b.stdout).unwrap();
    assert_eq!(a.trim_end().chars().count(), 64);
    assert_ne!(a, b);
    assert!(mes_dashboard::config::secret::check(Some(&a)).is_empty());
}

#[test]
fn a_database_password_never_reaches_the_logs_even_when_the_database_is_down() {
    let password = "Pa55-w0rd-that-must-not-leak";
    let db_port = free_port(); // nothing listens there: every connection is refused
    let port = free_port();
    let mut child = mes(
        &["serve"],
        &[
            ("MES_ENV", "testing"),
            ("BIND", &format!("127.0.0.1:{port}")),
            (
                "DATABASE_URL",
                &format!("postgres://mes:{password}@127.0.0.1:{db_port}/mes"),
            ),
            ("DB_POOL_TIMEOUT", "1"),
            ("MIGRATE_ON_START", "true"),
            ("RUST_LOG", "debug"),
            ("LOG_FORMAT", "json"),
            ("LOCAL_AUTH_USERS", crate::helpers::local_auth_users()),
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();

    // Wait until it serves, then make a request that needs the database.
    let addr = format!("127.0.0.1:{port}");
    let started = Instant::now();
    while TcpStream::connect(&addr).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the server never listened"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    use std::io::Write;
    let exchange = |request: String| {
        let mut stream = TcpStream::connect(&addr).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    };
    // A CSRF token needs no database (an anonymous session lives in its cookie); a successful
    // login does: it stores the new session.
    let anonymous =
        exchange("GET /api/auth/csrf HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".into());
    let cookie = anonymous
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .expect("an anonymous session cookie")
        .to_string();
    let token: serde_json::Value =
        serde_json::from_str(&anonymous[anonymous.find("\r\n\r\n").unwrap() + 4..]).unwrap();
    let token = token["data"]["csrf_token"].as_str().unwrap();
    let login = format!(
        r#"{{"username": "{}", "password": "{}"}}"#,
        crate::helpers::USER,
        crate::helpers::TEST_PASSWORD
    );
    let answer = exchange(format!(
        "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: {cookie}\r\n\
         X-CSRF-Token: {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{login}",
        login.len()
    ));
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    // The login counts go to the database too (no Redis here), so by now the failed calls
    // may have opened the breaker.
    assert!(
        answer.contains("DB_CONNECTION_FAILED") || answer.contains("CIRCUIT_BREAKER_OPEN"),
        "{answer}"
    );

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = wait_with_timeout(&mut child, Duration::from_secs(15));
    let mut logs = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();

    assert!(status.success(), "clean exit after SIGTERM; logs:\n{logs}");
    assert!(
        logs.contains("cannot apply migrations"),
        "the failure was logged:\n{logs}"
    );
    assert!(
        logs.contains("DB_CONNECTION_FAILED") || logs.contains("CIRCUIT_BREAKER_OPEN"),
        "the request failure was logged:\n{logs}"
    );
    assert!(!logs.contains(password), "the password leaked:\n{logs}");
    assert!(!answer.contains(password));
}
