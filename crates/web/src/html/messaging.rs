//! Messaging pages. The unsubscribe page is public (the signed token in the link is the
//! proof): GET shows what will happen and changes nothing — mail scanners open links —
//! and POST confirms.

use super::CsrfForm;
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

// ---- the outbox and the suppression list (administrators and managers) -------------------

use super::{PageResult, PathId, Web};
use axum::response::Redirect;
use dealerbase_domain::messaging::{Channel, OutboxStatus, Purpose, SkipReason, SuppressionSource};
use dealerbase_service::ServiceError;
use dealerbase_store::messaging::OutboxFilter;

/// One outbox row as the page shows it (labels in the user's language).
pub struct OutboxLine {
    pub id: i64,
    pub time: String,
    pub channel: String,
    pub purpose: String,
    pub to: String,
    pub status: String,
    pub status_label: String,
    pub reason: String,
    pub attempts: i64,
    pub body: String,
    pub error: String,
}

#[derive(Template)]
#[template(path = "messaging_outbox.html")]
struct OutboxPage {
    c: super::Ctx,
    q: OutboxParams,
    lines: Vec<OutboxLine>,
    statuses: Vec<(String, String)>,
    channels: Vec<(String, String)>,
    purposes: Vec<(String, String)>,
    error: Option<String>,
    prev_href: Option<String>,
    next_href: Option<String>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct OutboxParams {
    pub status: String,
    pub channel: String,
    pub purpose: String,
    pub page: String,
}

fn label<T: Copy>(
    parsed: Result<T, dealerbase_domain::ValidationError>,
    f: impl Fn(T) -> &'static str,
    raw: &str,
) -> String {
    parsed
        .map(f)
        .map(str::to_string)
        .unwrap_or_else(|_| raw.to_string())
}

pub async fn outbox(State(s): State<AppState>, web: Web, Q(q): Q<OutboxParams>) -> PageResult {
    let lang = web.lang();
    let page_no = q.page.parse::<u32>().unwrap_or(1).clamp(1, 100_000);
    let some = |v: &str| Some(v.to_string()).filter(|v| !v.is_empty());
    let filter = OutboxFilter {
        store_id: None,
        group_id: 0,
        status: some(&q.status),
        channel: some(&q.channel),
        purpose: some(&q.purpose),
        page: page_no,
        per_page: 50,
    };
    let (page, error, status) = match s.services.outbox(&web.user.actor, filter).await {
        Ok(p) => (Some(p), None, StatusCode::OK),
        Err(ServiceError::Invalid(list)) => (
            None,
            Some(
                list.iter()
                    .map(|e| e.message(lang))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => return Err(web.err(e)),
    };
    let c = web.ctx("nav.outbox");
    let lines = page
        .as_ref()
        .map(|p| {
            p.items
                .iter()
                .map(|r| OutboxLine {
                    id: r.id,
                    time: c.time(&r.next_attempt_at),
                    channel: label(
                        Channel::parse("", &r.channel),
                        |x| x.label(lang),
                        &r.channel,
                    ),
                    purpose: label(
                        Purpose::parse("", &r.purpose),
                        |x| x.label(lang),
                        &r.purpose,
                    ),
                    to: r.to_address.clone(),
                    status: r.status.clone(),
                    status_label: label(
                        OutboxStatus::parse("", &r.status),
                        |x| x.label(lang),
                        &r.status,
                    ),
                    reason: r
                        .skip_reason
                        .as_deref()
                        .map(|x| label(SkipReason::parse("", x), |y| y.label(lang), x))
                        .unwrap_or_default(),
                    attempts: r.attempts,
                    body: r.body.clone(),
                    error: r.last_error.clone().unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    let base = format!(
        "/messages?status={}&channel={}&purpose={}",
        super::url_encode(&q.status),
        super::url_encode(&q.channel),
        super::url_encode(&q.purpose)
    );
    let has_more = page.as_ref().is_some_and(|p| p.has_more);
    let p = OutboxPage {
        statuses: OutboxStatus::ALL
            .iter()
            .map(|x| (x.code().to_string(), x.label(lang).to_string()))
            .collect(),
        channels: Channel::ALL
            .iter()
            .map(|x| (x.code().to_string(), x.label(lang).to_string()))
            .collect(),
        purposes: Purpose::ALL
            .iter()
            .map(|x| (x.code().to_string(), x.label(lang).to_string()))
            .collect(),
        prev_href: (page_no > 1).then(|| format!("{base}&page={}", page_no - 1)),
        next_href: has_more.then(|| format!("{base}&page={}", page_no + 1)),
        c,
        q,
        lines,
        error,
    };
    Ok(render(status, &p, lang))
}

pub async fn retry(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
    F(f): F<CsrfForm>,
) -> PageResult {
    web.check_csrf(&f.csrf)?;
    s.services
        .retry_message(&web.user.actor, id)
        .await
        .map_err(|e| web.err(e))?;
    Ok(Redirect::to("/messages?status=queued").into_response())
}

pub struct SuppressionLine {
    pub id: i64,
    pub address: String,
    pub channel: String,
    pub source: String,
    pub reason: String,
    pub time: String,
}

#[derive(Template)]
#[template(path = "messaging_suppressions.html")]
struct SuppressionPage {
    c: super::Ctx,
    lines: Vec<SuppressionLine>,
    error: Option<String>,
    address: String,
    reason: String,
}

async fn suppression_page(
    s: &AppState,
    web: &Web,
    error: Option<String>,
    address: String,
    reason: String,
) -> PageResult {
    let lang = web.lang();
    let list = s
        .services
        .suppression_list(&web.user.actor, 1)
        .await
        .map_err(|e| web.err(e))?;
    let c = web.ctx("nav.suppressions");
    let lines = list
        .items
        .iter()
        .map(|r| SuppressionLine {
            id: r.id,
            address: r.address.clone(),
            channel: label(
                Channel::parse("", &r.channel),
                |x| x.label(lang),
                &r.channel,
            ),
            source: label(
                SuppressionSource::parse("", &r.source),
                |x| x.label(lang),
                &r.source,
            ),
            reason: r.reason.clone(),
            time: c.time(&r.created_at),
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(render(
        status,
        &SuppressionPage {
            c,
            lines,
            error,
            address,
            reason,
        },
        lang,
    ))
}

pub async fn suppressions(State(s): State<AppState>, web: Web) -> PageResult {
    suppression_page(&s, &web, None, String::new(), String::new()).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SuppressionForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    address: String,
    reason: String,
}

pub async fn add_suppression(
    State(s): State<AppState>,
    web: Web,
    F(f): F<SuppressionForm>,
) -> PageResult {
    web.check_csrf(&f.csrf)?;
    match s
        .services
        .add_suppression(&web.user.actor, &f.address, &f.reason)
        .await
    {
        Ok(_) => Ok(Redirect::to("/suppressions").into_response()),
        Err(ServiceError::Invalid(list)) => {
            let msg = list
                .iter()
                .map(|e| e.message(web.lang()))
                .collect::<Vec<_>>()
                .join("; ");
            suppression_page(&s, &web, Some(msg), f.address, f.reason).await
        }
        Err(e) => Err(web.err(e)),
    }
}

pub async fn remove_suppression(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
    F(f): F<CsrfForm>,
) -> PageResult {
    web.check_csrf(&f.csrf)?;
    s.services
        .remove_suppression(&web.user.actor, id)
        .await
        .map_err(|e| web.err(e))?;
    Ok(Redirect::to("/suppressions").into_response())
}
