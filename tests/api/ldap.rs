//! Login through the LDAP HTTP API against a small HTTPS double with its own certificate
//! authority, so `LDAP_CA_BUNDLE` is really exercised (DESIGN §4.3).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::helpers::{Backend, TestApp, assert_error, json};

pub const GOOD_PASSWORD: &str = "ldap-secret";

/// The HTTPS double: `slow` sleeps past the client's timeout, `garbage` answers malformed JSON,
/// any user with [`GOOD_PASSWORD`] succeeds, everyone else gets `success: false`.
pub struct LdapDouble {
    pub addr: SocketAddr,
    /// The CA certificate (PEM) in a file, for `LDAP_CA_BUNDLE`.
    pub ca_bundle: std::path::PathBuf,
    /// Every request body received.
    pub requests: Arc<Mutex<Vec<Value>>>,
    stop: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Drop for LdapDouble {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl LdapDouble {
    pub async fn start() -> LdapDouble {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
        };
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "MES test certificate authority");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_key = KeyPair::generate().unwrap();
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);

        let params =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &issuer).unwrap();

        let dir = tempfile::tempdir().unwrap();
        let ca_bundle = dir.path().join("ca.pem");
        std::fs::write(&ca_bundle, ca_cert.pem()).unwrap();

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = CancellationToken::new();
        let requests = Arc::new(Mutex::new(Vec::new()));
        {
            let stop = stop.clone();
            let requests = requests.clone();
            tokio::spawn(async move {
                loop {
                    let (stream, _) = tokio::select! {
                        () = stop.cancelled() => return,
                        accepted = listener.accept() => match accepted {
                            Ok(a) => a,
                            Err(_) => continue,
                        },
                    };
                    let acceptor = acceptor.clone();
                    let requests = requests.clone();
                    tokio::spawn(async move {
                        // A client that distrusts our CA hangs up during the handshake.
                        let Ok(tls) = acceptor.accept(stream).await else {
                            return;
                        };
                        let service =
                            hyper::service::service_fn(move |req| answer(req, requests.clone()));
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(tls), service)
                            .await;
                    });
                }
            });
        }
        LdapDouble {
            addr,
            ca_bundle,
            requests,
            stop,
            _dir: dir,
        }
    }

    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The settings that point the app at this double.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("LDAP_API_URL", self.url()),
            ("LDAP_ALLOWED_HOSTS", "127.0.0.1".into()),
            ("LDAP_CA_BUNDLE", self.ca_bundle.display().to_string()),
            ("LDAP_DOMAIN", "FAB".into()),
            ("LDAP_TIMEOUT_SECONDS", "1".into()),
            ("ADMIN_EMAILS", "lee@example.com".into()),
        ]
    }
}

async fn answer(
    req: hyper::Request<Incoming>,
    requests: Arc<Mutex<Vec<Value>>>,
) -> Result<hyper::Response<Full<bytes::Bytes>>, std::convert::Infallible> {
    let path = req.uri().path().to_string();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    requests
        .lock()
        .unwrap()
        .push(json!({"path": path, "body": request}));
    let username = request["username"].as_str().unwrap_or_default().to_string();
    let text = match username.as_str() {
        "slow" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            json!({"success": false}).to_string()
        }
        "garbage" => "{\"success\": tru".to_string(),
        _ if request["password"] == GOOD_PASSWORD => json!({
            "success": true,
            "user": {
                "username": username,
                "displayName": format!("{username} (LDAP)"),
                "mail": format!("{username}@example.com"),
                "department": "Assembly",
            }
        })
        .to_string(),
        _ => json!({"success": false, "message": "invalid credentials"}).to_string(),
    };
    Ok(hyper::Response::builder()
        .header("content-type", "application/json")
        .body(Full::new(bytes::Bytes::from(text)))
        .unwrap())
}

async fn app_with(double: &LdapDouble, drop_var: Option<&str>) -> TestApp {
    let mut builder = TestApp::builder(Backend::Sqlite).seed(None);
    for (k, v) in double.env() {
        if Some(k) != drop_var {
            builder = builder.env(k, &v);
        }
    }
    builder.start().await
}

async fn login(app: &TestApp, username: &str, password: &str) -> (u16, Value) {
    json(
        app.post_json_with_csrf(
            "/api/auth/login",
            &json!({"username": username, "password": password}),
        )
        .await,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ldap_user_logs_in_and_admins_come_from_admin_emails() {
    let double = LdapDouble::start().await;
    let app = app_with(&double, None).await;

    let (status, body) = login(&app, "lee", GOOD_PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    let (status, me) = json(app.get("/api/auth/me").await).await;
    assert_eq!(status, 200);
    assert_eq!(me["data"]["user"]["display_name"], "lee (LDAP)");
    assert_eq!(me["data"]["user"]["department"], "Assembly");
    assert_eq!(
        me["data"]["user"]["is_admin"], true,
        "lee@example.com is in ADMIN_EMAILS"
    );

    let sent = double.requests.lock().unwrap().last().unwrap().clone();
    assert_eq!(sent["path"], "/api/v1/ldap/auth");
    assert_eq!(sent["body"]["domain"], "FAB");
    assert_eq!(sent["body"]["username"], "lee");

    let other = app.another_instance(&[]).await;
    let (status, _) = login(&other, "kim", GOOD_PASSWORD).await;
    assert_eq!(status, 200);
    let (_, me) = json(other.get("/api/auth/me").await).await;
    assert_eq!(me["data"]["user"]["is_admin"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_a_timeout_and_a_malformed_answer_are_failed_logins() {
    let double = LdapDouble::start().await;
    let app = app_with(&double, None).await;

    let (status, body) = login(&app, "lee", "wrong").await;
    assert_error(status, &body, 401, "UNAUTHORIZED");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("wrong username or password")
    );

    let started = Instant::now();
    let (status, body) = login(&app, "slow", GOOD_PASSWORD).await;
    assert_error(status, &body, 401, "UNAUTHORIZED");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "LDAP_TIMEOUT_SECONDS bounds the call"
    );

    let (status, body) = login(&app, "garbage", GOOD_PASSWORD).await;
    assert_error(status, &body, 401, "UNAUTHORIZED");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("did not answer properly")
    );

    let (status, _) = json(app.get("/api/auth/me").await).await;
    assert_eq!(status, 401, "nobody is logged in");
    let (status, _) = login(&app, "lee", GOOD_PASSWORD).await;
    assert_eq!(status, 200, "the app keeps working after the failures");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ca_bundle_is_what_makes_the_ldap_certificate_trusted() {
    let double = LdapDouble::start().await;
    let app = app_with(&double, Some("LDAP_CA_BUNDLE")).await;

    let (status, body) = login(&app, "lee", GOOD_PASSWORD).await;
    assert_error(status, &body, 401, "UNAUTHORIZED");
    assert!(
        double.requests.lock().unwrap().is_empty(),
        "no password crossed an untrusted connection"
    );
}

#[test]
fn a_plain_http_ldap_url_is_refused_at_start_up() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_mes-dashboard"))
        .arg("serve")
        .env_clear()
        .env("MES_ENV", "testing")
        .env("BIND", "127.0.0.1:0")
        .env("LDAP_API_URL", "http://127.0.0.1:9")
        .env("LDAP_ALLOWED_HOSTS", "127.0.0.1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(78));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stderr.contains("LDAP_API_URL") || stdout.contains("LDAP_API_URL"),
        "{stderr}{stdout}"
    );
    assert!(format!("{stderr}{stdout}").contains("https"));
}
