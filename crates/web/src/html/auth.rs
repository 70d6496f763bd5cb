//! Signing in and out, the language switch, and changing one's password.

use super::CsrfForm;
use super::{Ctx, F, PageError, PageResult, Q, Web, i18n, render, safe_next, start_page};
use crate::AppState;
use crate::session::{
    LANG_COOKIE, MaybeSignedIn, PRE_SESSION_CSRF_COOKIE, SESSION_COOKIE, cookie, is_https, lang_of,
    same_token, set_cookie,
};
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use dealerbase_domain::Lang;
use dealerbase_service::auth::{hex, random_bytes};
use dealerbase_service::session::{SESSION_ABSOLUTE, SignInFailure};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    lang: Lang,
    csrf: String,
    login: String,
    next: String,
    error: Option<String>,
    lang_href: String,
}

impl LoginPage {
    fn t<'a>(&self, key: &'a str) -> &'a str {
        i18n::t(key, self.lang)
    }
    fn html_lang(&self) -> &'static str {
        super::html_lang(self.lang)
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NextQuery {
    next: Option<String>,
}

/// The sign-in form. It has no session yet, so its CSRF token is a double-submit cookie.
fn login_response(
    headers: &HeaderMap,
    status: StatusCode,
    login: String,
    next: String,
    error: Option<String>,
) -> Response {
    let lang = lang_of(headers);
    let token = match random_bytes::<24>() {
        Ok(b) => hex(&b),
        Err(e) => return PageError::service(e, lang).into_response(),
    };
    let page = LoginPage {
        lang,
        csrf: token.clone(),
        lang_href: format!(
            "/lang?to={}&next={}",
            if lang == Lang::Zh { "en" } else { "zh" },
            super::url_encode(&format!("/login?next={}", super::url_encode(&next)))
        ),
        login,
        next,
        error,
    };
    let mut resp = render(status, &page, lang);
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            PRE_SESSION_CSRF_COOKIE,
            &token,
            Some(3600),
            is_https(headers),
            true,
        ),
    );
    resp
}

pub async fn login_page(
    headers: HeaderMap,
    MaybeSignedIn(user): MaybeSignedIn,
    Q(q): Q<NextQuery>,
) -> Response {
    if let Some(u) = user {
        return Redirect::to(start_page(u.actor.role)).into_response();
    }
    let next = safe_next(q.next.as_deref());
    login_response(&headers, StatusCode::OK, String::new(), next, None)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginForm {
    login: String,
    password: String,
    next: String,
    #[serde(rename = "_csrf")]
    csrf: String,
}

pub async fn login(State(s): State<AppState>, headers: HeaderMap, F(f): F<LoginForm>) -> Response {
    let lang = lang_of(&headers);
    let next = safe_next(Some(&f.next));
    let pre = cookie(&headers, PRE_SESSION_CSRF_COOKIE).unwrap_or_default();
    if !same_token(&pre, &f.csrf) {
        let msg = i18n::t("error.csrf", lang).to_string();
        return login_response(&headers, StatusCode::FORBIDDEN, f.login, next, Some(msg));
    }
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match s.services.sign_in(&f.login, &f.password, ua).await {
        Ok(session) => {
            let https = is_https(&headers);
            let target = if next == "/" {
                start_page(session.actor.role).to_string()
            } else {
                next
            };
            let mut resp = Redirect::to(&target).into_response();
            let h = resp.headers_mut();
            h.append(
                header::SET_COOKIE,
                set_cookie(
                    SESSION_COOKIE,
                    &session.token,
                    Some(SESSION_ABSOLUTE.num_seconds()),
                    https,
                    true,
                ),
            );
            h.append(
                header::SET_COOKIE,
                set_cookie(PRE_SESSION_CSRF_COOKIE, "", Some(0), https, true),
            );
            resp
        }
        Err(failure) => {
            let status = match &failure {
                SignInFailure::BadCredentials { delay } => {
                    // Held back here, not in the service: the service says how long.
                    tokio::time::sleep(*delay).await;
                    StatusCode::UNAUTHORIZED
                }
                SignInFailure::Locked { .. } => StatusCode::TOO_MANY_REQUESTS,
                SignInFailure::Internal(e) => crate::error::status_of(e),
            };
            if let SignInFailure::Internal(e) = &failure {
                tracing::error!(error = %e, "sign-in failed");
            }
            login_response(&headers, status, f.login, next, Some(failure.message(lang)))
        }
    }
}

pub async fn logout(
    State(s): State<AppState>,
    headers: HeaderMap,
    web: Web,
    F(f): F<CsrfForm>,
) -> PageResult {
    web.check_csrf(&f.csrf)?;
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        s.services.sign_out(&token).await.map_err(|e| web.err(e))?;
    }
    let mut resp = Redirect::to("/login").into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", Some(0), web.user.https, true),
    );
    Ok(resp)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LangQuery {
    to: Option<String>,
    next: Option<String>,
}

/// Remembers the language for a year. Only a preference cookie changes, nothing stored.
pub async fn switch_lang(headers: HeaderMap, Q(q): Q<LangQuery>) -> Response {
    let lang = Lang::parse(q.to.as_deref().unwrap_or("zh"));
    let mut resp = Redirect::to(&safe_next(q.next.as_deref())).into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            LANG_COOKIE,
            lang.code(),
            Some(365 * 24 * 3600),
            is_https(&headers),
            true,
        ),
    );
    resp
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    c: Ctx,
    error_field: String,
    error: Option<String>,
    done: bool,
}

pub async fn password_page(web: Web) -> PageResult {
    let page = PasswordPage {
        c: web.ctx(""),
        error_field: String::new(),
        error: None,
        done: false,
    };
    Ok(render(StatusCode::OK, &page, web.lang()))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PasswordForm {
    current_password: String,
    new_password: String,
    confirm_password: String,
    #[serde(rename = "_csrf")]
    csrf: String,
}

pub async fn change_password(
    State(s): State<AppState>,
    web: Web,
    F(f): F<PasswordForm>,
) -> PageResult {
    web.check_csrf(&f.csrf)?;
    let result = s
        .services
        .change_password(
            &web.user.actor,
            Some(&web.user.token_hash),
            &f.current_password,
            &f.new_password,
            &f.confirm_password,
        )
        .await;
    let (status, page) = match result {
        Ok(()) => (
            StatusCode::OK,
            PasswordPage {
                c: web.ctx(""),
                error_field: String::new(),
                error: None,
                done: true,
            },
        ),
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            PasswordPage {
                c: web.ctx(""),
                error_field: e.field().to_string(),
                error: Some(e.message(web.lang())),
                done: false,
            },
        ),
    };
    Ok(render(status, &page, web.lang()))
}
