//! The station page (SPEC §14 `GET /`): one HTML page, its script and its style, all
//! compiled into the binary (`include_str!`), so it works with no Internet and needs no
//! front-end build. The page reads the same API as everyone else (`/api/v1/status`,
//! `plan`, `asrun`, `report`) and polls the status once a second while it is visible:
//! a status answer is a clone of what the engine already published, so an open page
//! costs the playout nothing (the API runs on the daemon's runtime, never on the playout
//! thread). Polling rather than server-sent events: nothing held open per viewer, and it
//! passes every proxy a 4G operator puts in the way.
//!
//! Off loopback the page is a read like any other: it needs the `[api] token`, given as
//! a Bearer header or, from a browser, as the `loaxa_token` cookie the login form sets.
//! The script and style hold no station data and are served to anyone who passes the
//! Host check, so the login form can load them.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

const INDEX: &str = include_str!("page/index.html");
const LOGIN: &str = include_str!("page/login.html");
const APP_JS: &str = include_str!("page/app.js");
const LOGIN_JS: &str = include_str!("page/login.js");
const APP_CSS: &str = include_str!("page/app.css");

/// Nothing but this station may be asked for anything, and no inline code runs.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The assets anyone past the Host check may fetch (they hold no station data).
pub fn is_public_asset(path: &str) -> bool {
    matches!(path, "/ui/app.js" | "/ui/app.css" | "/ui/login.js")
}

pub async fn index() -> Response {
    html(StatusCode::OK, INDEX)
}

/// What a browser gets instead of the page when the token is missing or wrong.
pub fn login() -> Response {
    html(StatusCode::UNAUTHORIZED, LOGIN)
}

pub async fn app_js() -> Response {
    asset("text/javascript; charset=utf-8", APP_JS)
}

pub async fn login_js() -> Response {
    asset("text/javascript; charset=utf-8", LOGIN_JS)
}

pub async fn app_css() -> Response {
    asset("text/css; charset=utf-8", APP_CSS)
}

fn html(status: StatusCode, body: &'static str) -> Response {
    embedded(
        status,
        "text/html; charset=utf-8",
        body,
        "no-cache",
        Some(POLICY),
    )
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    // A new binary may bring a new page: check again after a few minutes.
    embedded(StatusCode::OK, kind, body, "max-age=300", None)
}

/// A file compiled into the binary, with the headers every page of loaxa's carries (the
/// station's, and the province's fleet page): its type, how long it may be cached, no
/// sniffing, no referrer, and for a page the `policy` that keeps it to its own host.
pub fn embedded(
    status: StatusCode,
    kind: &'static str,
    body: &'static str,
    cache: &'static str,
    policy: Option<&'static str>,
) -> Response {
    let mut response = (status, body).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Some(policy) = policy {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(policy),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// The `loaxa_token` cookie's value, if the request carries one.
pub fn cookie_token(cookies: &str) -> Option<String> {
    cookies
        .split(';')
        .filter_map(|c| c.trim().strip_prefix("loaxa_token="))
        .next()
        .and_then(percent_decode)
}

/// `encodeURIComponent` undone; `None` for a broken escape or bytes that are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_gives_back_what_the_login_form_encoded() {
        assert_eq!(
            cookie_token("a=1; loaxa_token=abc%3B%25def; b=2").as_deref(),
            Some("abc;%def")
        );
        assert_eq!(cookie_token("loaxa_token=plain").as_deref(), Some("plain"));
        assert_eq!(cookie_token("other=1"), None);
        assert_eq!(cookie_token("loaxa_token=bad%zz"), None);
        assert_eq!(cookie_token("loaxa_token=cut%4"), None);
    }

    #[test]
    fn the_page_fetches_nothing_from_elsewhere() {
        for text in [INDEX, LOGIN, APP_JS, LOGIN_JS, APP_CSS] {
            // The SVG namespace is a name, not an address anything is fetched from.
            let text = text.replace("'http://www.w3.org/2000/svg'", "");
            for far in ["http://", "https://", "//cdn", "@import", "url("] {
                assert!(!text.contains(far), "{far} in the page");
            }
        }
        let weight = [INDEX, APP_JS, APP_CSS]
            .iter()
            .map(|t| t.len())
            .sum::<usize>();
        assert!(weight < 150 * 1024, "page weight {weight} bytes");
    }
}
