//! The language of each request (PRODUCT §1): `?lang=zh-TW|en` (remembered in the `lang`
//! cookie), else the `lang` cookie, else `Accept-Language`, else `DEFAULT_LANGUAGE`.
//!
//! Run by the edge for every request, so it stays a few byte scans without allocation: the
//! error renderer writes `error.message` and error pages in the chosen language. Handlers that
//! need it (pages, CSV) take [`Lang`] as an extractor, which chooses again from the request's
//! headers; only a `?lang=` choice travels in the request's extensions (the edge takes
//! `lang=` out of the query), so the hot path allocates nothing for the language.

use std::sync::LazyLock;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use memchr::memmem;

use crate::app::AppState;
use crate::i18n::Lang;

/// The choice for one request.
#[derive(Debug, Clone, Copy)]
pub struct Choice {
    pub lang: Lang,
    /// Chosen by `?lang=`: the response sets the cookie.
    pub remember: bool,
}

/// Reads the request's language.
pub fn choose(uri: &Uri, headers: &HeaderMap, default: Lang) -> Choice {
    if let Some(lang) = uri.query().and_then(from_query) {
        return Choice {
            lang,
            remember: true,
        };
    }
    let chosen = from_cookie(headers).or_else(|| {
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(Lang::from_accept_language)
    });
    Choice {
        lang: chosen.unwrap_or(default),
        remember: false,
    }
}

fn from_query(query: &str) -> Option<Lang> {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("lang="))
        .and_then(Lang::parse)
}

fn from_cookie(headers: &HeaderMap) -> Option<Lang> {
    // Built once (`memmem::find` builds a searcher per call, dearer than this search).
    static LANG_COOKIE: LazyLock<memmem::Finder<'static>> =
        LazyLock::new(|| memmem::Finder::new(b"lang="));
    headers
        .get_all(header::COOKIE)
        .iter()
        // Most requests carry only the session cookie: look for the name in the bytes before
        // validating the header as text.
        .filter(|v| LANG_COOKIE.find(v.as_bytes()).is_some())
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix("lang="))
        .and_then(Lang::parse)
}

/// `uri` without its `lang=` parameter: the language is the edge's business, so the routes'
/// own query parsers (which refuse unknown parameters) never see it.
pub fn without_lang(uri: &Uri) -> Option<Uri> {
    let query = uri.query()?;
    if !query.split('&').any(|p| p.starts_with("lang=")) {
        return None;
    }
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| !p.starts_with("lang="))
        .collect();
    let path_and_query = if kept.is_empty() {
        uri.path().to_string()
    } else {
        format!("{}?{}", uri.path(), kept.join("&"))
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = path_and_query.parse().ok();
    Uri::from_parts(parts).ok()
}

/// `Set-Cookie` for a language chosen with `?lang=`: a year, the whole site, not for scripts.
pub fn remember(headers: &mut HeaderMap, lang: Lang) {
    let value = match lang {
        Lang::ZhTw => "lang=zh-TW; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly",
        Lang::En => "lang=en; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly",
    };
    headers.append(header::SET_COOKIE, HeaderValue::from_static(value));
}

/// Handlers take the request's language as `lang: Lang`: a `?lang=` choice the edge left in
/// the extensions, else the cookie, `Accept-Language`, `DEFAULT_LANGUAGE`.
impl FromRequestParts<AppState> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(lang) = parts.extensions.get::<Lang>() {
            return Ok(*lang);
        }
        Ok(choose(
            &parts.uri,
            &parts.headers,
            app.config.pages.default_language,
        )
        .lang)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(uri: &str, cookie: Option<&str>, accept: Option<&str>) -> Choice {
        let mut headers = HeaderMap::new();
        if let Some(c) = cookie {
            headers.insert(header::COOKIE, HeaderValue::from_str(c).unwrap());
        }
        if let Some(a) = accept {
            headers.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_str(a).unwrap());
        }
        choose(&uri.parse().unwrap(), &headers, Lang::ZhTw)
    }

    #[test]
    fn query_then_cookie_then_accept_language_then_the_default() {
        let c = pick("/?lang=en", Some("lang=zh-TW"), Some("zh-TW"));
        assert_eq!((c.lang, c.remember), (Lang::En, true));
        let c = pick("/?x=1&lang=zh-tw", None, Some("en"));
        assert_eq!((c.lang, c.remember), (Lang::ZhTw, true));
        let c = pick("/", Some("mes_session=abc; lang=en"), Some("zh-TW"));
        assert_eq!((c.lang, c.remember), (Lang::En, false));
        assert_eq!(pick("/", None, Some("fr, en-US;q=0.8")).lang, Lang::En);
        assert_eq!(
            pick("/", None, Some("en;q=0.5, zh-Hant-TW;q=0.9")).lang,
            Lang::ZhTw
        );
        assert_eq!(
            pick("/", None, Some("zh-CN, fr")).lang,
            Lang::ZhTw,
            "default"
        );
        assert_eq!(pick("/?lang=fr", Some("lang=xx"), None).lang, Lang::ZhTw);
        let mut headers = HeaderMap::new();
        let c = choose(&"/".parse().unwrap(), &headers, Lang::En);
        assert_eq!((c.lang, c.remember), (Lang::En, false));
        remember(&mut headers, Lang::En);
        let uri: Uri = "/api/x?a=1&lang=en&b=2".parse().unwrap();
        assert_eq!(without_lang(&uri).unwrap(), "/api/x?a=1&b=2");
        assert_eq!(without_lang(&"/x?lang=en".parse().unwrap()).unwrap(), "/x");
        assert!(without_lang(&"/x?a=1".parse().unwrap()).is_none());
        assert!(
            headers[header::SET_COOKIE]
                .to_str()
                .unwrap()
                .starts_with("lang=en;")
        );
    }
}
