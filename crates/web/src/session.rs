//! Cookies, sessions and CSRF for the browser: which staff member is signed in, in which
//! language, and whether a state-changing request really comes from one of our pages.
//!
//! - Session cookie `dbsid`: `HttpOnly; SameSite=Lax; Path=/`, plus `Secure` when the
//!   request came over https (directly or through a proxy that says so in
//!   `X-Forwarded-Proto` / `Forwarded`). Its value is looked up by
//!   [`Services::session`](dealerbase_service::Services::session), which applies the
//!   expiry rules.
//! - CSRF: a per-session token (stored with the session) must come back in every form
//!   (`_csrf`) and, for the JSON API used with the session cookie, in `X-CSRF-Token`.
//!   The sign-in form has no session yet and uses a double-submit cookie (`dbpre`).
//! - Language cookie `dblang`: `zh` (default) or `en`, remembered for a year.

use crate::AppState;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use dealerbase_domain::Lang;
use dealerbase_service::session::SessionInfo;
use dealerbase_service::{Actor, ServiceError};

pub const SESSION_COOKIE: &str = "dbsid";
pub const LANG_COOKIE: &str = "dblang";
pub const PRE_SESSION_CSRF_COOKIE: &str = "dbpre";

/// The value of one cookie of the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
}

/// The language of the page: the remembered choice, else Chinese.
pub fn lang_of(headers: &HeaderMap) -> Lang {
    match cookie(headers, LANG_COOKIE).as_deref() {
        Some("en") => Lang::En,
        _ => Lang::Zh,
    }
}

/// Whether the browser reached us over https, directly or through a proxy.
pub fn is_https(headers: &HeaderMap) -> bool {
    let forwarded_proto = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
    let forwarded = headers
        .get("forwarded")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("proto=https"));
    forwarded_proto || forwarded
}

/// A `Set-Cookie` value. `max_age` None makes a browser-session cookie; 0 deletes it.
pub fn set_cookie(
    name: &str,
    value: &str,
    max_age: Option<i64>,
    https: bool,
    http_only: bool,
) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; SameSite=Lax");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if http_only {
        c.push_str("; HttpOnly");
    }
    if https {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

/// Compares two tokens in time that does not depend on where they differ.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && !a.is_empty()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A signed-in browser: the staff member, the session's CSRF token and the language.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub actor: Actor,
    pub csrf_token: String,
    pub token_hash: String,
    pub lang: Lang,
    pub https: bool,
}

impl SignedIn {
    pub fn from_session(s: SessionInfo, lang: Lang, https: bool) -> SignedIn {
        SignedIn {
            actor: s.actor,
            csrf_token: s.csrf_token,
            token_hash: s.token_hash,
            lang,
            https,
        }
    }

    pub fn csrf_ok(&self, given: &str) -> bool {
        same_token(&self.csrf_token, given)
    }
}

/// Resolves the session cookie of a request, if there is a live session.
pub async fn signed_in(parts: &Parts, state: &AppState) -> Result<Option<SignedIn>, ServiceError> {
    let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    match state.services.session(&token).await {
        Ok(s) => Ok(Some(SignedIn::from_session(
            s,
            lang_of(&parts.headers),
            is_https(&parts.headers),
        ))),
        Err(ServiceError::Unauthenticated) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The session, when there is one; never rejects.
pub struct MaybeSignedIn(pub Option<SignedIn>);

impl FromRequestParts<AppState> for MaybeSignedIn {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(MaybeSignedIn(signed_in(parts, state).await.ok().flatten()))
    }
}

/// Whether a method changes state and therefore needs the CSRF token.
pub fn is_state_changing(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Headers every response carries: a strict content policy (no inline script or style,
/// no framing), no MIME sniffing, and no caching of pages that show personal data.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let is_asset = req.uri().path().starts_with("/assets/");
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
             frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    if !is_asset && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; dblang=en; dbsid=xyz"),
        );
        assert_eq!(cookie(&h, "dbsid").as_deref(), Some("xyz"));
        assert_eq!(lang_of(&h), Lang::En);
        assert_eq!(cookie(&h, "b"), None);
    }

    #[test]
    fn cookie_flags() {
        let c = set_cookie("dbsid", "t", None, true, true);
        assert_eq!(c, "dbsid=t; Path=/; SameSite=Lax; HttpOnly; Secure");
        assert!(!same_token("", ""));
        assert!(same_token("abc", "abc") && !same_token("abc", "abd"));
    }
}
