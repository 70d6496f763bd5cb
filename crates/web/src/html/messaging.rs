//! Messaging pages. The unsubscribe page is public (the signed token in the link is the
//! proof): GET shows what will happen and changes nothing — mail scanners open links —
//! and POST confirms.

use super::{F, Q, i18n, render};
use crate::AppState;
use crate::session::lang_of;
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use dealerbase_domain::Lang;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "messaging_unsubscribe.html")]
struct UnsubscribePage {
    lang: Lang,
    token: String,
    email: String,
    valid: bool,
    done: bool,
    lang_href: String,
}

impl UnsubscribePage {
    fn t<'a>(&self, key: &'a str) -> &'a str {
        i18n::t(key, self.lang)
    }
    fn html_lang(&self) -> &'static str {
        super::html_lang(self.lang)
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TokenForm {
    token: String,
}

fn page(lang: Lang, token: &str, email: String, valid: bool, done: bool) -> Response {
    let status = if valid {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    let p = UnsubscribePage {
        lang,
        token: token.to_string(),
        email,
        valid,
        done,
        lang_href: format!(
            "/lang?to={}&next={}",
            if lang == Lang::Zh { "en" } else { "zh" },
            super::url_encode(&format!("/unsubscribe?token={}", super::url_encode(token)))
        ),
    };
    render(status, &p, lang)
}

pub async fn unsubscribe_page(
    State(s): State<AppState>,
    headers: HeaderMap,
    Q(q): Q<TokenForm>,
) -> Response {
    let lang = lang_of(&headers);
    match s.services.verify_unsubscribe_token(&q.token) {
        Ok((_, email)) => page(lang, &q.token, email, true, false),
        Err(_) => page(lang, &q.token, String::new(), false, false),
    }
}

pub async fn unsubscribe(
    State(s): State<AppState>,
    headers: HeaderMap,
    F(f): F<TokenForm>,
) -> Response {
    let lang = lang_of(&headers);
    match s.services.unsubscribe(&f.token).await {
        Ok(email) => page(lang, &f.token, email, true, true),
        Err(dealerbase_service::ServiceError::NotFound { .. }) => {
            page(lang, &f.token, String::new(), false, false)
        }
        Err(e) => super::PageError::service(e, lang).into_response(),
    }
}
