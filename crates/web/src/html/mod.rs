//! The server-rendered web application: askama templates in `crates/web/templates`, one
//! stylesheet and the icon embedded from `crates/web/assets`, charts as server-side SVG.
//!
//! Handlers are thin: they read the request, call one service, and render. Every page
//! needs a session ([`Web`]); every POST checks the session's CSRF token first. Bad
//! ids, query strings and forms become 400/404 pages, never 500.

mod admin;
mod aftersales;
mod auth;
pub(crate) mod chart;
mod customers;
pub(crate) mod i18n;
mod imports;
mod loyalty;
mod management;
mod marketing;
mod messaging;
mod mining;
mod pages;
mod sales;

use crate::AppState;
use crate::session::{SignedIn, signed_in};
use askama::Template;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDate, Utc};
use dealerbase_domain::Lang;
use dealerbase_domain::model::Role;
use dealerbase_service::ServiceError;
use std::borrow::Borrow;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/lang", get(auth::switch_lang))
        .route(
            "/password",
            get(auth::password_page).post(auth::change_password),
        )
        .route("/today", get(pages::today))
        .route("/dashboard", get(pages::dashboard))
        .route("/customers", get(customers::list))
        .route(
            "/customers/new",
            get(customers::new_page).post(customers::create),
        )
        .route("/customers/{id}", get(customers::show))
        .route("/customers/{id}/reveal", post(customers::reveal))
        .route(
            "/customers/{id}/edit",
            get(customers::edit_page).post(customers::update),
        )
        .route(
            "/customers/{id}/vehicles/new",
            get(customers::new_vehicle_page).post(customers::create_vehicle),
        )
        .route(
            "/vehicles/{id}/edit",
            get(customers::edit_vehicle_page).post(customers::update_vehicle),
        )
        // messaging: the public unsubscribe page (issue 8)
        .route(
            "/unsubscribe",
            get(messaging::unsubscribe_page).post(messaging::unsubscribe),
        )
        .route("/messages", get(messaging::outbox))
        .route("/messages/{id}/retry", post(messaging::retry))
        .route(
            "/suppressions",
            get(messaging::suppressions).post(messaging::add_suppression),
        )
        .route(
            "/suppressions/{id}/remove",
            post(messaging::remove_suppression),
        )
        // showroom and leads (issue 5)
        .route("/showroom", get(sales::showroom).post(sales::log_visit))
        .route("/showroom/visits/{id}/left", post(sales::visit_left))
        .route("/showroom/stats", get(sales::showroom_stats))
        .route("/leads", get(sales::leads))
        .route(
            "/leads/new",
            get(sales::new_lead_page).post(sales::create_lead),
        )
        .route("/leads/{id}", get(sales::lead))
        .route("/leads/{id}/contact", post(sales::lead_contact))
        .route("/leads/{id}/assign", post(sales::lead_assign))
        .route("/leads/{id}/claim", post(sales::lead_claim))
        .route("/leads/{id}/test-drives", post(sales::lead_test_drive))
        .route("/test-drives/{id}/finish", post(sales::test_drive_finish))
        .route("/leads/{id}/invitations", post(sales::lead_invite))
        .route("/invitations/{id}/outcome", post(sales::invitation_outcome))
        .route("/leads/{id}/order", post(sales::lead_order))
        .route("/orders/{id}/deliver", post(sales::order_deliver))
        .route("/leads/{id}/defeat", post(sales::lead_defeat))
        .route("/defeats", get(sales::defeats))
        .route("/defeats/{id}/decide", post(sales::decide_defeat))
        .route(
            "/reports/daily",
            get(sales::daily_report).post(sales::submit_daily_report),
        )
        .route("/reports/daily/{id}", get(sales::one_daily_report))
        .route("/reports/daily/{id}/sign", post(sales::sign_daily_report))
        .route("/sales/analytics", get(sales::analytics))
        .route("/sales/tasks/{id}/complete", post(sales::complete_task))
        .route(
            "/settings/sales",
            get(sales::settings).post(sales::save_settings),
        )
        .route("/admin/users", get(admin::users))
        .route(
            "/admin/users/new",
            get(admin::new_user_page).post(admin::create_user),
        )
        .route(
            "/admin/users/{id}",
            get(admin::edit_user_page).post(admin::update_user),
        )
        .route("/admin/users/{id}/password", post(admin::reset_password))
        .route("/admin/stores", get(admin::stores))
        .route(
            "/admin/stores/new",
            get(admin::new_store_page).post(admin::create_store),
        )
        .route(
            "/admin/stores/{id}",
            get(admin::edit_store_page).post(admin::update_store),
        )
        .route("/admin/audit", get(admin::audit))
        // after-sales retention
        .route("/aftersales/calls", get(aftersales::calls))
        .route("/aftersales/tasks/{id}/outcome", post(aftersales::outcome))
        .route(
            "/aftersales/tasks/{id}/call",
            get(aftersales::call_form).post(aftersales::call_submit),
        )
        .route("/aftersales/renewals", get(aftersales::renewals))
        .route(
            "/aftersales/appointments",
            get(aftersales::appointments).post(aftersales::book),
        )
        .route(
            "/aftersales/appointments/{id}/status",
            post(aftersales::appointment_status),
        )
        .route("/aftersales/vehicles/{id}", get(aftersales::vehicle))
        .route(
            "/aftersales/complaints",
            get(aftersales::complaints).post(aftersales::create_complaint),
        )
        .route("/aftersales/complaints/{id}", get(aftersales::complaint))
        .route(
            "/aftersales/complaints/{id}/step",
            post(aftersales::complaint_step),
        )
        .route("/aftersales/kpi", get(aftersales::kpi))
        // mining dashboard and campaign target lists
        .route("/mining", get(mining::dashboard))
        .route("/mining/run", post(mining::run))
        .route("/mining/customers", get(mining::customers))
        .route("/mining/customers/call-list", post(mining::call_list))
        // imports and merges (issue 4)
        .route(
            "/imports",
            get(imports::page)
                .post(imports::upload)
                .layer(axum::extract::DefaultBodyLimit::max(
                    crate::upload::MAX_UPLOAD_BYTES,
                )),
        )
        .route("/imports/{id}", get(imports::run_page))
        .route("/imports/{id}/report", get(imports::report))
        .route(
            "/customers/{id}/merge",
            get(imports::merge_page).post(imports::merge),
        )
        .route("/merges", get(imports::merges))
        .route(
            "/aftersales/settings",
            get(aftersales::settings).post(aftersales::save_settings),
        )
        // management (issue 9)
        .route("/management/kpis", get(management::overview))
        .route("/management/kpis/{id}", get(management::kpi))
        .route(
            "/management/costs",
            get(management::costs).post(management::save_costs),
        )
        .route("/management/costs/import", post(management::import_costs))
        .route("/management/targets", get(management::targets))
        .route("/management/dashboard", get(management::dashboard))
        .route("/management/report", get(management::report))
        .route("/management/report.xlsx", get(management::report_xlsx))
        .route("/management/targets/split", post(management::split_targets))
        .route("/management/targets/set", post(management::set_target))
        // loyalty points and membership (issue 8)
        .route("/customers/{id}/loyalty", get(loyalty::page))
        .route("/customers/{id}/loyalty/redeem", post(loyalty::redeem))
        .route("/customers/{id}/loyalty/transfer", post(loyalty::transfer))
        .route("/customers/{id}/loyalty/adjust", post(loyalty::adjust))
        .route(
            "/loyalty/settings",
            get(loyalty::settings).post(loyalty::save_settings),
        )
        // marketing segments and campaigns (issue 8)
        .route("/marketing/segments", get(marketing::segments))
        .route(
            "/marketing/segments/new",
            get(marketing::new_segment).post(marketing::new_segment_action),
        )
        .route(
            "/marketing/segments/{id}",
            get(marketing::segment).post(marketing::segment_action),
        )
        .route("/marketing/segments/{id}/freeze", post(marketing::freeze))
        .route(
            "/marketing/segments/{id}/unfreeze",
            post(marketing::unfreeze),
        )
        .route("/marketing/segments/{id}/delete", post(marketing::delete))
        .route(
            "/marketing/campaigns",
            get(marketing::campaigns).post(marketing::create_campaign),
        )
        .route("/marketing/campaigns/{id}", get(marketing::campaign))
        .route(
            "/marketing/campaigns/{id}/prepare",
            post(marketing::prepare_campaign),
        )
        .route(
            "/marketing/campaigns/{id}/send",
            post(marketing::send_campaign),
        )
        .route(
            "/marketing/campaigns/{id}/invitation",
            post(marketing::invitation),
        )
        .route(
            "/marketing/campaigns/{id}/results",
            get(marketing::campaign_results),
        )
        .route("/marketing/results", get(marketing::results_overview))
        .route("/assets/app.css", get(asset_css))
        .route("/assets/icon.svg", get(asset_icon))
        .route("/assets/segment.js", get(asset_segment_js))
        .route("/favicon.ico", get(asset_icon))
}

async fn asset_css() -> Response {
    asset(
        include_str!("../../assets/app.css"),
        "text/css; charset=utf-8",
    )
}

async fn asset_segment_js() -> Response {
    asset(
        include_str!("../../assets/segment.js"),
        "text/javascript; charset=utf-8",
    )
}

async fn asset_icon() -> Response {
    asset(include_str!("../../assets/icon.svg"), "image/svg+xml")
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        body,
    )
        .into_response()
}

// ---- errors ------------------------------------------------------------------------------

/// Why a page could not be shown.
#[derive(Debug)]
pub enum PageError {
    /// No live session: go to the sign-in page and come back afterwards.
    SignIn { next: String },
    Status {
        status: StatusCode,
        lang: Lang,
        message: String,
    },
}

impl PageError {
    pub fn service(e: ServiceError, lang: Lang) -> PageError {
        if matches!(e, ServiceError::Unauthenticated) {
            return PageError::SignIn { next: "/".into() };
        }
        let status = crate::error::status_of(&e);
        if status.is_server_error() {
            tracing::error!(error = %e, "page failed");
        }
        PageError::Status {
            status,
            lang,
            message: e.message(lang),
        }
    }

    pub fn status(status: StatusCode, lang: Lang, key: &str) -> PageError {
        PageError::Status {
            status,
            lang,
            message: i18n::t(key, lang).to_string(),
        }
    }

    pub fn csrf(lang: Lang) -> PageError {
        PageError::status(StatusCode::FORBIDDEN, lang, "error.csrf")
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    lang: Lang,
    status: u16,
    message: String,
}

impl ErrorPage {
    fn t<'a>(&self, key: &'a str) -> &'a str {
        i18n::t(key, self.lang)
    }
    fn html_lang(&self) -> &'static str {
        html_lang(self.lang)
    }
}

pub fn html_lang(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "zh-CN",
        Lang::En => "en",
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::SignIn { next } => {
                Redirect::to(&format!("/login?next={}", url_encode(&next))).into_response()
            }
            PageError::Status {
                status,
                lang,
                message,
            } => {
                let page = ErrorPage {
                    lang,
                    status: status.as_u16(),
                    message,
                };
                match page.render() {
                    Ok(html) => (status, Html(html)).into_response(),
                    Err(_) => status.into_response(),
                }
            }
        }
    }
}

/// A rendered page with its content type.
pub struct Html(pub String);

impl IntoResponse for Html {
    fn into_response(self) -> Response {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            )],
            self.0,
        )
            .into_response()
    }
}

/// Renders a template, with a status (200 for pages, 422 for a rejected form).
pub fn render<T: Template>(status: StatusCode, page: &T, lang: Lang) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            PageError::service(ServiceError::Internal(e.to_string()), lang).into_response()
        }
    }
}

pub type PageResult = Result<Response, PageError>;

// ---- extractors --------------------------------------------------------------------------

/// A request from a signed-in browser, with where it came from (for the language switch
/// and for coming back after signing in again).
pub struct Web {
    pub user: SignedIn,
    pub path: String,
}

impl FromRequestParts<AppState> for Web {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let lang = crate::session::lang_of(&parts.headers);
        match signed_in(parts, state).await {
            Ok(Some(user)) => Ok(Web { user, path }),
            Ok(None) => Err(PageError::SignIn {
                next: if parts.method == axum::http::Method::GET {
                    path
                } else {
                    "/".into()
                },
            }),
            Err(e) => Err(PageError::service(e, lang)),
        }
    }
}

impl Web {
    pub fn lang(&self) -> Lang {
        self.user.lang
    }

    pub fn err(&self, e: ServiceError) -> PageError {
        PageError::service(e, self.user.lang)
    }

    /// Fails unless the form carried this session's CSRF token.
    pub fn check_csrf(&self, given: &str) -> Result<(), PageError> {
        if self.user.csrf_ok(given) {
            Ok(())
        } else {
            Err(PageError::csrf(self.user.lang))
        }
    }

    /// The layout context of a page; `active` names the navigation entry to highlight.
    pub fn ctx(&self, active: &'static str) -> Ctx {
        let a = &self.user.actor;
        Ctx {
            lang: self.user.lang,
            csrf: self.user.csrf_token.clone(),
            user_name: a.name.clone(),
            role_label: a.role.label(self.user.lang).to_string(),
            nav: nav_for(a.role)
                .iter()
                .map(|(href, key)| NavItem {
                    href,
                    key,
                    active: *key == active,
                })
                .collect(),
            lang_href: format!(
                "/lang?to={}&next={}",
                match self.user.lang {
                    Lang::Zh => "en",
                    Lang::En => "zh",
                },
                url_encode(&self.path)
            ),
            may_reveal: a.role.may_reveal_personal_data(),
            is_consultant: a.role == Role::SalesConsultant,
            may_import: dealerbase_service::import::may_import(a.role),
            group_wide: a.role.scope_level() == dealerbase_domain::model::ScopeLevel::Group,
        }
    }
}

/// A path segment id; anything else is a 404 page.
pub struct PathId(pub i64);

impl FromRequestParts<AppState> for PathId {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let lang = crate::session::lang_of(&parts.headers);
        match axum::extract::Path::<i64>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(id)) if id > 0 => Ok(PathId(id)),
            _ => Err(PageError::status(
                StatusCode::NOT_FOUND,
                lang,
                "error.not_found",
            )),
        }
    }
}

/// A query string into a struct of optional text fields; a malformed one is a 400 page.
pub struct Q<T>(pub T);

impl<T: serde::de::DeserializeOwned + Send> FromRequestParts<AppState> for Q<T> {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let lang = crate::session::lang_of(&parts.headers);
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Q(q.0))
            .map_err(|_| PageError::status(StatusCode::BAD_REQUEST, lang, "error.bad_request"))
    }
}

/// A urlencoded form; a malformed one is a 400 page.
pub struct F<T>(pub T);

impl<T: serde::de::DeserializeOwned + Send> axum::extract::FromRequest<AppState> for F<T> {
    type Rejection = PageError;

    async fn from_request(
        req: axum::extract::Request,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let lang = crate::session::lang_of(req.headers());
        axum::extract::Form::<T>::from_request(req, state)
            .await
            .map(|f| F(f.0))
            .map_err(|_| PageError::status(StatusCode::BAD_REQUEST, lang, "error.bad_request"))
    }
}

// ---- the layout context ------------------------------------------------------------------

pub struct NavItem {
    pub href: &'static str,
    pub key: &'static str,
    pub active: bool,
}

/// What every page's layout needs, and the small formatting helpers templates call.
pub struct Ctx {
    pub lang: Lang,
    pub csrf: String,
    pub user_name: String,
    pub role_label: String,
    pub nav: Vec<NavItem>,
    pub lang_href: String,
    pub may_reveal: bool,
    pub is_consultant: bool,
    pub group_wide: bool,
    /// Imports, exports of everything and merges of customers (administrators, managers).
    pub may_import: bool,
}

impl Ctx {
    pub fn t<'a>(&self, key: &'a str) -> &'a str {
        i18n::t(key, self.lang)
    }
    /// A label with `{}` replaced by a number (“第 {} 页”). Numbers come from templates
    /// by value or by reference, hence `Borrow`.
    pub fn tn(&self, key: &str, n: impl Borrow<i64>) -> String {
        self.t(key).replace("{}", &n.borrow().to_string())
    }
    pub fn code(&self, kind: &str, value: &str) -> String {
        i18n::code(kind, value, self.lang)
    }
    pub fn html_lang(&self) -> &'static str {
        html_lang(self.lang)
    }
    /// Money in fen as yuan: 1234500 → ¥12,345.00.
    pub fn yuan(&self, fen: impl Borrow<i64>) -> String {
        let fen = *fen.borrow();
        let sign = if fen < 0 { "-" } else { "" };
        let f = fen.unsigned_abs();
        format!("{sign}¥{}.{:02}", chart::number((f / 100) as f64), f % 100)
    }
    pub fn date(&self, d: &Option<NaiveDate>) -> String {
        d.map(|d| d.to_string()).unwrap_or_default()
    }
    /// A moment as China date and time.
    pub fn time(&self, t: &DateTime<Utc>) -> String {
        (*t + chrono::Duration::hours(8))
            .format("%Y-%m-%d %H:%M")
            .to_string()
    }
    pub fn opt(&self, s: &Option<String>) -> String {
        s.clone().unwrap_or_default()
    }
    pub fn num(&self, v: impl Borrow<i64>) -> String {
        chart::number(*v.borrow() as f64)
    }
}

fn nav_for(role: Role) -> &'static [(&'static str, &'static str)] {
    const TODAY: (&str, &str) = ("/today", "nav.today");
    const DASH: (&str, &str) = ("/dashboard", "nav.dashboard");
    const CUSTOMERS: (&str, &str) = ("/customers", "nav.customers");
    const LEADS: (&str, &str) = ("/leads", "nav.leads");
    const SHOWROOM: (&str, &str) = ("/showroom", "nav.showroom");
    const TRAFFIC: (&str, &str) = ("/showroom/stats", "nav.showroom_stats");
    const REPORT: (&str, &str) = ("/reports/daily", "nav.daily_report");
    const DEFEATS: (&str, &str) = ("/defeats", "nav.defeats");
    const ANALYTICS: (&str, &str) = ("/sales/analytics", "nav.analytics");
    const SETTINGS: (&str, &str) = ("/settings/sales", "nav.sales_settings");
    const USERS: (&str, &str) = ("/admin/users", "nav.users");
    const STORES: (&str, &str) = ("/admin/stores", "nav.stores");
    const AUDIT: (&str, &str) = ("/admin/audit", "nav.audit");
    // after-sales retention
    const CALLS: (&str, &str) = ("/aftersales/calls", "nav.calls");
    const RENEWALS: (&str, &str) = ("/aftersales/renewals", "nav.renewals");
    const APPTS: (&str, &str) = ("/aftersales/appointments", "nav.appointments");
    const COMPLAINTS: (&str, &str) = ("/aftersales/complaints", "nav.complaints");
    const AS_KPI: (&str, &str) = ("/aftersales/kpi", "nav.aftersales_kpi");
    const MINING: (&str, &str) = ("/mining", "nav.mining");
    const IMPORTS: (&str, &str) = ("/imports", "nav.imports");
    const KPIS: (&str, &str) = ("/management/kpis", "nav.kpis");
    const MGMT: (&str, &str) = ("/management/dashboard", "nav.mgmt_dashboard");
    const COSTS: (&str, &str) = ("/management/costs", "nav.costs");
    const TARGETS: (&str, &str) = ("/management/targets", "nav.targets");
    const SEGMENTS: (&str, &str) = ("/marketing/segments", "nav.segments");
    const CAMPAIGNS: (&str, &str) = ("/marketing/campaigns", "nav.campaigns");
    const MESSAGES: (&str, &str) = ("/messages", "nav.messages");
    const LOYALTY: (&str, &str) = ("/loyalty/settings", "nav.loyalty");
    match role {
        Role::SalesConsultant => &[TODAY, SHOWROOM, CUSTOMERS, LEADS, REPORT],
        Role::SalesManager => &[
            TODAY, DASH, SHOWROOM, CUSTOMERS, LEADS, DEFEATS, REPORT, ANALYTICS, TRAFFIC, CALLS,
            MINING, SETTINGS, IMPORTS, MGMT, KPIS, TARGETS, SEGMENTS, CAMPAIGNS, MESSAGES,
        ],
        Role::ServiceAdvisor => &[TODAY, CALLS, APPTS, CUSTOMERS, COMPLAINTS],
        Role::CareSpecialist => &[TODAY, CALLS, RENEWALS, COMPLAINTS, CUSTOMERS, AS_KPI, MGMT],
        Role::Marketing => &[DASH, CUSTOMERS, MINING, SEGMENTS, CAMPAIGNS, MESSAGES],
        Role::GeneralManager => &[
            DASH, TODAY, CUSTOMERS, LEADS, DEFEATS, ANALYTICS, TRAFFIC, COMPLAINTS, AS_KPI, MINING,
            SETTINGS, IMPORTS, MGMT, KPIS, COSTS, TARGETS, SEGMENTS, CAMPAIGNS, MESSAGES, LOYALTY,
        ],
        Role::Group => &[
            DASH, CUSTOMERS, LEADS, ANALYTICS, TRAFFIC, AS_KPI, MINING, IMPORTS, MGMT, KPIS, COSTS,
            TARGETS, SEGMENTS, CAMPAIGNS, MESSAGES, LOYALTY,
        ],
        Role::Admin => &[
            DASH, CUSTOMERS, LEADS, ANALYTICS, TRAFFIC, AS_KPI, MINING, SETTINGS, USERS, STORES,
            AUDIT, IMPORTS, MGMT, KPIS, COSTS, TARGETS, SEGMENTS, CAMPAIGNS, MESSAGES, LOYALTY,
        ],
    }
}

/// A form that carries only its CSRF token (buttons that post an action).
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct CsrfForm {
    #[serde(rename = "_csrf")]
    pub csrf: String,
}

/// The first page after signing in.
pub fn start_page(role: Role) -> &'static str {
    nav_for(role)
        .first()
        .map(|(h, _)| *h)
        .unwrap_or("/customers")
}

/// Percent-encodes a query value.
pub fn url_encode(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                o.push(b as char)
            }
            _ => o.push_str(&format!("%{b:02X}")),
        }
    }
    o
}

/// Only paths of this site are followed after signing in or switching language (no
/// open redirect to another site through `next`).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.starts_with("/login")
                && !n.chars().any(char::is_control) =>
        {
            n.to_string()
        }
        _ => "/".into(),
    }
}

/// Empty text as None.
pub fn nonempty(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A number typed into a filter; anything else is ignored rather than rejected.
pub fn parse_id(s: &Option<String>) -> Option<i64> {
    nonempty(s)
        .and_then(|s| s.parse::<i64>().ok())
        .filter(|v| *v > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/customers?q=1")), "/customers?q=1");
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "/login",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(url_encode("/c?q=京A 1"), "/c%3Fq%3D%E4%BA%ACA%201");
    }

    #[test]
    fn every_role_has_a_start_page() {
        for r in Role::ALL {
            assert!(start_page(*r).starts_with('/'));
        }
        assert_eq!(start_page(Role::SalesConsultant), "/today");
    }
}
