//! CSV exports of the list APIs (PRODUCT §1): `?format=csv` or `Accept: text/csv`, a
//! byte-order mark, the header row in the request's language, every matching row (the API's
//! own total), a file name with the report and the time.

use reqwest::header;

use crate::helpers::{Backend, TestApp, assert_error, json};

/// (header row, data rows) of a CSV body after its byte-order mark.
fn parse(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    assert!(
        bytes.starts_with(b"\xEF\xBB\xBF"),
        "a byte-order mark first"
    );
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(&bytes[3..]);
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

async fn csv_of(app: &TestApp, path: &str, accept_language: &str) -> reqwest::Response {
    let response = app
        .client
        .get(app.url(path))
        .header(header::ACCEPT_LANGUAGE, accept_language)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/csv; charset=utf-8",
        "{path}"
    );
    response
}

#[tokio::test]
async fn each_list_api_exports_every_matching_row_as_csv_in_the_users_language() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.login_as_user().await;

    // Held lots: every one (paging does not apply), the API's total, oldest first.
    let (_, body) = json(app.get("/api/hold-overview/lots?page_size=1").await).await;
    let total = body["data"]["total"].as_u64().unwrap() as usize;
    assert!(total > 1, "the small factory has held lots: {body}");
    let first = body["data"]["lots"][0]["lot_id"]
        .as_str()
        .unwrap()
        .to_string();
    let response = csv_of(
        &app,
        "/api/hold-overview/lots?format=csv&page_size=1",
        "zh-TW",
    )
    .await;
    let disposition = response.headers()[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        disposition.starts_with("attachment; filename=\"hold_lots_")
            && disposition.ends_with(".csv\""),
        "{disposition}"
    );
    let stamp = &disposition["attachment; filename=\"hold_lots_".len()..][..13];
    assert!(
        stamp.as_bytes()[8] == b'-' && stamp.bytes().filter(u8::is_ascii_digit).count() == 12,
        "YYYYMMDD-HHMM: {stamp}"
    );
    let (header_row, rows) = parse(&response.bytes().await.unwrap());
    assert_eq!(header_row[0], "批號");
    assert_eq!(header_row[2], "數量 (pcs)");
    assert_eq!(rows.len(), total, "every held lot");
    assert_eq!(rows[0][0], first, "oldest hold first, as the API");

    // English headers for an English reader; the same rows.
    let response = csv_of(&app, "/api/hold-overview/lots?format=csv", "en").await;
    let (header_row, english_rows) = parse(&response.bytes().await.unwrap());
    assert_eq!(header_row[0], "Lot");
    assert_eq!(english_rows, rows);

    // Equipment status by Accept: text/csv, with its filter.
    let (_, body) = json(app.get("/api/resource/status?state=PRD,SBY").await).await;
    let tools = body["data"]["tools"].as_array().unwrap().len();
    let response = app
        .client
        .get(app.url("/api/resource/status?state=PRD,SBY"))
        .header(header::ACCEPT, "text/csv")
        .header(header::ACCEPT_LANGUAGE, "en")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/csv; charset=utf-8"
    );
    let (header_row, rows) = parse(&response.bytes().await.unwrap());
    assert_eq!(
        header_row[..8],
        [
            "Tool",
            "Workcenter group",
            "Workcenter",
            "Family",
            "Model",
            "Location",
            "Package group",
            "State"
        ]
    );
    assert_eq!(rows.len(), tools);
    assert!(
        rows.iter().all(|r| r[7] == "PRD" || r[7] == "SBY"),
        "{rows:?}"
    );

    // One workcenter's lots, filtered as the API filters them.
    let factory = app.factory.as_ref().unwrap();
    let workcenter = &factory.lots[0].workcenter_id;
    let path = format!("/api/wip/detail/{workcenter}?status=QUEUE");
    let (_, body) = json(app.get(&path).await).await;
    let count = body["data"]["count"].as_u64().unwrap() as usize;
    let response = csv_of(&app, &format!("{path}&format=csv"), "zh-TW").await;
    let (header_row, rows) = parse(&response.bytes().await.unwrap());
    assert_eq!(header_row[0], "批號");
    assert_eq!(rows.len(), count, "{path}");
    assert!(rows.iter().all(|r| r[4] == "QUEUE"), "{rows:?}");

    // A format we do not write is a 400 naming the parameter.
    let (status, body) = json(app.get("/api/hold-overview/lots?format=xlsx").await).await;
    assert_error(status, &body, 400, "VALIDATION_ERROR");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("format")
    );
}

#[tokio::test]
async fn an_export_past_the_cap_says_where_it_stopped() {
    let app = TestApp::builder(Backend::Sqlite)
        .env("CSV_EXPORT_MAX_ROWS", "2")
        .start()
        .await;
    app.login_as_user().await;
    let response = csv_of(&app, "/api/hold-overview/lots?format=csv", "en").await;
    let bytes = response.bytes().await.unwrap();
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "header, two rows, the note: {text}");
    assert!(
        lines[3].contains("stopped at 2 rows") && lines[3].contains("CSV_EXPORT_MAX_ROWS"),
        "{text}"
    );
}
