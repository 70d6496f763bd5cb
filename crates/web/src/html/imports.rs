//! The import upload page (administrators and managers), the page of one run that
//! refreshes itself while the import works, its report of rejected rows; the manual merge
//! of two customers (search, preview, confirm) and the list of merges.

use super::{Ctx, F, PageResult, PathId, Q, Web, nonempty, parse_id, render};
use crate::AppState;
use askama::Template;
use axum::extract::{Multipart, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use dealerbase_domain::Lang;
use dealerbase_service::ServiceError;
use dealerbase_service::import::{ImportKind, ImportMode};
use dealerbase_service::merge::{MergePreview, MergeView};
use dealerbase_service::records::CustomerQuery;
use dealerbase_store::import::ImportRun;
use dealerbase_store::{CustomerSummary, Page, Store};
use serde::Deserialize;

// ---- imports -----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "imports.html")]
struct ImportsPage {
    c: Ctx,
    kinds: Vec<(&'static str, &'static str)>,
    modes: Vec<(&'static str, &'static str)>,
    stores: Vec<Store>,
    runs: Vec<ImportRun>,
    error: Option<String>,
    kind: String,
    mode: String,
}

impl ImportsPage {
    fn kind_label(&self, code: &str) -> String {
        kind_label(code, self.c.lang)
    }
}

fn kind_label(code: &str, lang: Lang) -> String {
    ImportKind::parse(code).map_or(code.to_string(), |k| k.label(lang).to_string())
}

fn import_page(
    web: &Web,
    stores: Vec<Store>,
    runs: Vec<ImportRun>,
    error: Option<String>,
    kind: &str,
    mode: &str,
) -> ImportsPage {
    let lang = web.lang();
    ImportsPage {
        c: web.ctx("nav.imports"),
        kinds: ImportKind::ALL
            .iter()
            .map(|k| (k.code(), k.label(lang)))
            .collect(),
        modes: vec![
            (ImportMode::Write.code(), "import.mode_write"),
            (ImportMode::DryRun.code(), "import.mode_dry_run"),
            (
                ImportMode::AllOrNothing.code(),
                "import.mode_all_or_nothing",
            ),
        ],
        stores,
        runs,
        error,
        kind: kind.to_string(),
        mode: mode.to_string(),
    }
}

pub async fn page(State(s): State<AppState>, web: Web) -> PageResult {
    let runs = s
        .services
        .import_runs(&web.user.actor)
        .await
        .map_err(|e| web.err(e))?;
    let stores = s
        .services
        .stores(&web.user.actor)
        .await
        .map_err(|e| web.err(e))?;
    let out = import_page(&web, stores, runs, None, "customers", "write");
    Ok(render(StatusCode::OK, &out, web.lang()))
}

/// The upload: the file is saved, its header checked, and the import starts in the
/// background; the browser goes to the run's page. A refused upload shows the form again
/// with the reason.
pub async fn upload(State(s): State<AppState>, web: Web, m: Multipart) -> PageResult {
    let lang = web.lang();
    let up = match crate::upload::read_upload(m, lang).await {
        Ok(up) => up,
        Err(e) => return refused(&s, &web, e, "customers", "write").await,
    };
    web.check_csrf(&up.csrf)?;
    let kind = up.req.kind.map_or("customers", |k| k.code());
    let mode = up.req.mode.code();
    match crate::upload::start(&s.services, &web.user.actor, up).await {
        Ok(run) => Ok(Redirect::to(&format!("/imports/{}", run.id)).into_response()),
        Err(e) => refused(&s, &web, e, kind, mode).await,
    }
}

async fn refused(s: &AppState, web: &Web, e: ServiceError, kind: &str, mode: &str) -> PageResult {
    if !matches!(e, ServiceError::Invalid(_)) {
        return Err(web.err(e));
    }
    let runs = s
        .services
        .import_runs(&web.user.actor)
        .await
        .map_err(|e| web.err(e))?;
    let stores = s
        .services
        .stores(&web.user.actor)
        .await
        .map_err(|e| web.err(e))?;
    let out = import_page(web, stores, runs, Some(e.message(web.lang())), kind, mode);
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &out, web.lang()))
}

#[derive(Template)]
#[template(path = "import_run.html")]
struct RunPage {
    c: Ctx,
    run: ImportRun,
    kind: String,
    working: bool,
    percent: i64,
}

impl RunPage {
    fn status_key(&self) -> String {
        format!("import.status.{}", self.run.status)
    }
    fn mode_key(&self) -> String {
        format!("import.mode_{}", self.run.mode)
    }
}

pub async fn run_page(State(s): State<AppState>, web: Web, PathId(id): PathId) -> PageResult {
    let run = s
        .services
        .import_run_for(&web.user.actor, id)
        .await
        .map_err(|e| web.err(e))?;
    let working = matches!(run.status.as_str(), "queued" | "running");
    let percent = match (run.rows_total, working) {
        (_, false) => 100,
        (Some(t), true) if t > 0 => (run.rows_done * 100 / t).clamp(0, 99),
        _ => 0,
    };
    let out = RunPage {
        c: web.ctx("nav.imports"),
        kind: kind_label(&run.kind, web.lang()),
        run,
        working,
        percent,
    };
    Ok(render(StatusCode::OK, &out, web.lang()))
}

pub async fn report(State(s): State<AppState>, web: Web, PathId(id): PathId) -> PageResult {
    let mut body = Vec::new();
    s.services
        .write_import_report(&web.user.actor, id, &mut body)
        .await
        .map_err(|e| web.err(e))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"import-{id}-report.csv\""),
            ),
        ],
        body,
    )
        .into_response())
}

// ---- merges ------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct MergeQuery {
    q: Option<String>,
    merged_id: Option<String>,
}

#[derive(Template)]
#[template(path = "customer_merge.html")]
struct MergePage {
    c: Ctx,
    survivor_id: i64,
    survivor_name: String,
    q: String,
    candidates: Option<Page<CustomerSummary>>,
    preview: Option<MergePreview>,
}

impl MergePage {
    fn field_label(&self, field: &str) -> String {
        super::i18n::t(&format!("f.{field}"), self.c.lang).to_string()
    }
    fn table_label(&self, table: &str) -> String {
        let key = format!("merge.table.{table}");
        let l = super::i18n::t(&key, self.c.lang);
        if l == key {
            table.to_string()
        } else {
            l.to_string()
        }
    }
}

/// Merging another customer into this one: find the other customer (name, mobile, plate
/// or VIN), see what would move and which values win, confirm.
pub async fn merge_page(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
    Q(q): Q<MergeQuery>,
) -> PageResult {
    let actor = &web.user.actor;
    let survivor = s
        .services
        .customer(actor, id)
        .await
        .map_err(|e| web.err(e))?;
    if survivor.customer.merged_into.is_some() {
        return Ok(Redirect::to(&format!("/customers/{id}")).into_response());
    }
    let text = nonempty(&q.q).map(|t| t.chars().take(100).collect::<String>());
    let candidates = match &text {
        Some(t) => {
            let mut p = s
                .services
                .list_customers(
                    actor,
                    &CustomerQuery {
                        q: Some(t.clone()),
                        per_page: Some(20),
                        ..Default::default()
                    },
                )
                .await
                .map_err(|e| web.err(e))?;
            p.items.retain(|c| c.id != id);
            Some(p)
        }
        None => None,
    };
    let preview = match parse_id(&q.merged_id) {
        Some(m) => Some(
            s.services
                .merge_preview(actor, id, m)
                .await
                .map_err(|e| web.err(e))?,
        ),
        None => None,
    };
    let out = MergePage {
        c: web.ctx("nav.customers"),
        survivor_id: id,
        survivor_name: survivor.customer.fields.name.clone(),
        q: text.unwrap_or_default(),
        candidates,
        preview,
    };
    Ok(render(StatusCode::OK, &out, web.lang()))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct MergeForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    merged_id: String,
}

pub async fn merge(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
    F(f): F<MergeForm>,
) -> PageResult {
    web.check_csrf(&f.csrf)?;
    let Some(merged) = parse_id(&Some(f.merged_id.clone())) else {
        return Err(super::PageError::status(
            StatusCode::BAD_REQUEST,
            web.lang(),
            "error.bad_request",
        ));
    };
    let r = s
        .services
        .merge_customers(&web.user.actor, id, merged)
        .await
        .map_err(|e| web.err(e))?;
    Ok(Redirect::to(&format!("/merges?done={}", r.merge_id)).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct MergesQuery {
    page: Option<String>,
    done: Option<String>,
}

#[derive(Template)]
#[template(path = "merges.html")]
struct MergesPage {
    c: Ctx,
    page: Page<MergeView>,
    done: Option<i64>,
    prev_href: Option<String>,
    next_href: Option<String>,
}

impl MergesPage {
    fn field_label(&self, field: &str) -> String {
        super::i18n::t(&format!("f.{field}"), self.c.lang).to_string()
    }
    fn table_label(&self, table: &str) -> String {
        let key = format!("merge.table.{table}");
        let l = super::i18n::t(&key, self.c.lang);
        if l == key {
            table.to_string()
        } else {
            l.to_string()
        }
    }
}

pub async fn merges(State(s): State<AppState>, web: Web, Q(q): Q<MergesQuery>) -> PageResult {
    let page_no = nonempty(&q.page)
        .and_then(|p| p.parse::<u32>().ok())
        .unwrap_or(1)
        .clamp(1, 100_000);
    let page = s
        .services
        .customer_merges(&web.user.actor, page_no)
        .await
        .map_err(|e| web.err(e))?;
    let out = MergesPage {
        c: web.ctx("nav.imports"),
        done: parse_id(&q.done),
        prev_href: (page.page > 1).then(|| format!("/merges?page={}", page.page - 1)),
        next_href: page
            .has_more
            .then(|| format!("/merges?page={}", page.page + 1)),
        page,
    };
    Ok(render(StatusCode::OK, &out, web.lang()))
}
