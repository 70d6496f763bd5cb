//! Administration pages: users and roles, stores, and the audit log. The services refuse
//! anyone but an administrator; these handlers only translate.

use super::{Ctx, F, PageError, PageResult, PathId, Q, Web, nonempty, parse_id, render};
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use dealerbase_domain::Lang;
use dealerbase_domain::model::{Role, ScopeLevel};
use dealerbase_service::ServiceError;
use dealerbase_service::admin::{AuditQuery, NewUserInput, StoreInput, UserUpdate};
use dealerbase_store::web::{AuditRow, StaffRow};
use dealerbase_store::{Brand, Page, Store};
use serde::Deserialize;

type FieldErrors = Vec<(String, String)>;

fn form_errors(e: ServiceError, lang: Lang) -> Result<FieldErrors, PageError> {
    match e {
        ServiceError::Invalid(list) => Ok(list
            .iter()
            .map(|e| (e.field.clone(), e.rule.message(lang)))
            .collect()),
        ServiceError::Conflict { field, .. } => {
            let f = if field == "store code" { "code" } else { field };
            Ok(vec![(f.to_string(), e.message(lang))])
        }
        other => Err(PageError::service(other, lang)),
    }
}

fn first_error(errors: &FieldErrors, field: &str) -> Option<String> {
    errors
        .iter()
        .find(|(f, _)| f == field)
        .map(|(_, m)| m.clone())
}

fn scope_key(role: &str) -> &'static str {
    match Role::parse("", role).map(|r| r.scope_level()) {
        Ok(ScopeLevel::Own) => "scope.own",
        Ok(ScopeLevel::Store) => "scope.store",
        _ => "scope.group",
    }
}

// ---- users -------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    c: Ctx,
    users: Vec<StaffRow>,
}

impl UsersPage {
    fn scope_of(&self, role: &str) -> &str {
        self.c.t(scope_key(role))
    }
}

pub async fn users(State(s): State<AppState>, web: Web) -> PageResult {
    let users = s
        .services
        .users(&web.user.actor)
        .await
        .map_err(|e| web.err(e))?;
    let page = UsersPage {
        c: web.ctx("nav.users"),
        users,
    };
    Ok(render(StatusCode::OK, &page, web.lang()))
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct UserForm {
    login: String,
    name: String,
    role: String,
    store_id: String,
    password: String,
    active: Option<String>,
    #[serde(rename = "_csrf")]
    csrf: String,
}

#[derive(Template)]
#[template(path = "admin_user_form.html")]
struct UserFormPage {
    c: Ctx,
    /// None for a new user.
    id: Option<i64>,
    f: UserForm,
    errors: FieldErrors,
    roles: Vec<(String, String)>,
    stores: Vec<Store>,
    notice: Option<String>,
}

impl UserFormPage {
    fn err(&self, field: &str) -> Option<String> {
        first_error(&self.errors, field)
    }
}

async fn user_form(
    s: &AppState,
    web: &Web,
    id: Option<i64>,
    f: UserForm,
    errors: FieldErrors,
    notice: Option<String>,
) -> PageResult {
    let lang = web.lang();
    let stores = s
        .services
        .stores(&web.user.actor)
        .await
        .map_err(|e| web.err(e))?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = UserFormPage {
        c: web.ctx("nav.users"),
        id,
        f,
        errors,
        roles: Role::ALL
            .iter()
            .map(|r| (r.code().to_string(), r.label(lang).to_string()))
            .collect(),
        stores,
        notice,
    };
    Ok(render(status, &page, lang))
}

pub async fn new_user_page(State(s): State<AppState>, web: Web) -> PageResult {
    // Checked here too so that a non-administrator gets 403, not an empty form.
    s.services
        .users(&web.user.actor)
        .await
        .map_err(|e| web.err(e))?;
    let f = UserForm {
        role: Role::SalesConsultant.code().into(),
        active: Some("on".into()),
        ..Default::default()
    };
    user_form(&s, &web, None, f, Vec::new(), None).await
}

pub async fn create_user(State(s): State<AppState>, web: Web, F(f): F<UserForm>) -> PageResult {
    web.check_csrf(&f.csrf)?;
    let input = NewUserInput {
        login: f.login.clone(),
        name: f.name.clone(),
        role: f.role.clone(),
        store_id: parse_id(&Some(f.store_id.clone())),
        password: f.password.clone(),
    };
    match s.services.create_user(&web.user.actor, &input).await {
        Ok(_) => Ok(Redirect::to("/admin/users").into_response()),
        Err(e) => {
            let errors = form_errors(e, web.lang())?;
            let f = UserForm {
                password: String::new(),
                ..f
            };
            user_form(&s, &web, None, f, errors, None).await
        }
    }
}

pub async fn edit_user_page(State(s): State<AppState>, web: Web, PathId(id): PathId) -> PageResult {
    let u = s
        .services
        .user(&web.user.actor, id)
        .await
        .map_err(|e| web.err(e))?;
    let f = UserForm {
        login: u.login,
        name: u.name,
        role: u.role,
        store_id: u.store_id.map(|s| s.to_string()).unwrap_or_default(),
        active: u.active.then(|| "on".into()),
        ..Default::default()
    };
    user_form(&s, &web, Some(id), f, Vec::new(), None).await
}

pub async fn update_user(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
    F(f): F<UserForm>,
) -> PageResult {
    web.check_csrf(&f.csrf)?;
    let current = s
        .services
        .user(&web.user.actor, id)
        .await
        .map_err(|e| web.err(e))?;
    let update = UserUpdate {
        name: f.name.clone(),
        role: f.role.clone(),
        store_id: parse_id(&Some(f.store_id.clone())),
        active: f.active.is_some(),
    };
    let f = UserForm {
        login: current.login,
        ..f
    };
    match s.services.update_user(&web.user.actor, id, &update).await {
        Ok(()) => {
            let notice = Some(web.user.lang).map(|l| super::i18n::t("admin.saved", l).to_string());
            user_form(&s, &web, Some(id), f, Vec::new(), notice).await
        }
        Err(e) => {
            let errors = form_errors(e, web.lang())?;
            user_form(&s, &web, Some(id), f, errors, None).await
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ResetForm {
    password: String,
    #[serde(rename = "_csrf")]
    csrf: String,
}

pub async fn reset_password(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
    F(r): F<ResetForm>,
) -> PageResult {
    web.check_csrf(&r.csrf)?;
    let u = s
        .services
        .user(&web.user.actor, id)
        .await
        .map_err(|e| web.err(e))?;
    let f = UserForm {
        login: u.login,
        name: u.name,
        role: u.role,
        store_id: u.store_id.map(|s| s.to_string()).unwrap_or_default(),
        active: u.active.then(|| "on".into()),
        ..Default::default()
    };
    match s
        .services
        .reset_password(&web.user.actor, id, &r.password)
        .await
    {
        Ok(()) => {
            let notice = Some(super::i18n::t("admin.password_reset_done", web.lang()).to_string());
            user_form(&s, &web, Some(id), f, Vec::new(), notice).await
        }
        Err(e) => {
            let errors = form_errors(e, web.lang())?;
            user_form(&s, &web, Some(id), f, errors, None).await
        }
    }
}

// ---- stores ------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin_stores.html")]
struct StoresPage {
    c: Ctx,
    stores: Vec<Store>,
    brands: Vec<Brand>,
}

impl StoresPage {
    fn brand_name(&self, id: &i64) -> String {
        self.brands
            .iter()
            .find(|b| b.id == *id)
            .map(|b| match self.c.lang {
                Lang::Zh => b.name.clone(),
                Lang::En => b.name_en.clone(),
            })
            .unwrap_or_default()
    }
}

pub async fn stores(State(s): State<AppState>, web: Web) -> PageResult {
    // Listing is for administrators, like managing.
    s.services
        .users(&web.user.actor)
        .await
        .map_err(|e| web.err(e))?;
    let stores = s
        .services
        .stores(&web.user.actor)
        .await
        .map_err(|e| web.err(e))?;
    let brands = s.services.brands().await.map_err(|e| web.err(e))?;
    let page = StoresPage {
        c: web.ctx("nav.stores"),
        stores,
        brands,
    };
    Ok(render(StatusCode::OK, &page, web.lang()))
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct StoreForm {
    code: String,
    name: String,
    city: String,
    brand_id: String,
    #[serde(rename = "_csrf")]
    csrf: String,
}

#[derive(Template)]
#[template(path = "admin_store_form.html")]
struct StoreFormPage {
    c: Ctx,
    id: Option<i64>,
    f: StoreForm,
    errors: FieldErrors,
    brands: Vec<Brand>,
}

impl StoreFormPage {
    fn err(&self, field: &str) -> Option<String> {
        first_error(&self.errors, field)
    }
}

async fn store_form(
    s: &AppState,
    web: &Web,
    id: Option<i64>,
    f: StoreForm,
    errors: FieldErrors,
) -> PageResult {
    let brands = s.services.brands().await.map_err(|e| web.err(e))?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = StoreFormPage {
        c: web.ctx("nav.stores"),
        id,
        f,
        errors,
        brands,
    };
    Ok(render(status, &page, web.lang()))
}

fn store_input(f: &StoreForm) -> StoreInput {
    StoreInput {
        code: f.code.clone(),
        name: f.name.clone(),
        city: f.city.clone(),
        brand_id: parse_id(&Some(f.brand_id.clone())),
    }
}

pub async fn new_store_page(State(s): State<AppState>, web: Web) -> PageResult {
    s.services
        .users(&web.user.actor)
        .await
        .map_err(|e| web.err(e))?;
    store_form(&s, &web, None, StoreForm::default(), Vec::new()).await
}

pub async fn create_store(State(s): State<AppState>, web: Web, F(f): F<StoreForm>) -> PageResult {
    web.check_csrf(&f.csrf)?;
    match s
        .services
        .create_store(&web.user.actor, &store_input(&f))
        .await
    {
        Ok(_) => Ok(Redirect::to("/admin/stores").into_response()),
        Err(e) => {
            let errors = form_errors(e, web.lang())?;
            store_form(&s, &web, None, f, errors).await
        }
    }
}

pub async fn edit_store_page(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
) -> PageResult {
    s.services
        .users(&web.user.actor)
        .await
        .map_err(|e| web.err(e))?;
    let store = s
        .services
        .stores(&web.user.actor)
        .await
        .map_err(|e| web.err(e))?
        .into_iter()
        .find(|st| st.id == id)
        .ok_or_else(|| {
            web.err(ServiceError::NotFound {
                entity: "store",
                id: id.to_string(),
            })
        })?;
    let f = StoreForm {
        code: store.code,
        name: store.name,
        city: store.city,
        brand_id: store.brand_id.to_string(),
        csrf: String::new(),
    };
    store_form(&s, &web, Some(id), f, Vec::new()).await
}

pub async fn update_store(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
    F(f): F<StoreForm>,
) -> PageResult {
    web.check_csrf(&f.csrf)?;
    match s
        .services
        .update_store(&web.user.actor, id, &store_input(&f))
        .await
    {
        Ok(()) => Ok(Redirect::to("/admin/stores").into_response()),
        Err(e) => {
            let errors = form_errors(e, web.lang())?;
            store_form(&s, &web, Some(id), f, errors).await
        }
    }
}

// ---- audit log ---------------------------------------------------------------------------

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct AuditParams {
    who: Option<String>,
    action: Option<String>,
    entity: Option<String>,
    entity_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
    page: Option<String>,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    c: Ctx,
    q: AuditParams,
    page: Option<Page<AuditRow>>,
    error: Option<String>,
    actions: Vec<String>,
    entities: Vec<String>,
    prev_href: Option<String>,
    next_href: Option<String>,
}

impl AuditPage {
    fn v(&self, s: &Option<String>) -> String {
        s.clone().unwrap_or_default()
    }
}

pub async fn audit(State(s): State<AppState>, web: Web, Q(q): Q<AuditParams>) -> PageResult {
    let lang = web.lang();
    let (actions, entities) = s
        .services
        .audit_vocabulary(&web.user.actor)
        .await
        .map_err(|e| web.err(e))?;
    let page_no = nonempty(&q.page)
        .and_then(|p| p.parse::<u32>().ok())
        .unwrap_or(1)
        .clamp(1, 100_000);
    let query = AuditQuery {
        who: nonempty(&q.who),
        action: nonempty(&q.action),
        entity: nonempty(&q.entity),
        entity_id: parse_id(&q.entity_id),
        from: nonempty(&q.from),
        to: nonempty(&q.to),
        page: Some(page_no),
    };
    let (page, error, status) = match s.services.audit_log(&web.user.actor, &query).await {
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
    let v = |x: &Option<String>| super::url_encode(x.as_deref().unwrap_or(""));
    let base = format!(
        "/admin/audit?who={}&action={}&entity={}&entity_id={}&from={}&to={}",
        v(&q.who),
        v(&q.action),
        v(&q.entity),
        v(&q.entity_id),
        v(&q.from),
        v(&q.to)
    );
    let (prev_href, next_href) = match &page {
        Some(p) => (
            (p.page > 1).then(|| format!("{base}&page={}", p.page - 1)),
            p.has_more.then(|| format!("{base}&page={}", p.page + 1)),
        ),
        None => (None, None),
    };
    let out = AuditPage {
        c: web.ctx("nav.audit"),
        q,
        page,
        error,
        actions,
        entities,
        prev_href,
        next_href,
    };
    Ok(render(status, &out, lang))
}
