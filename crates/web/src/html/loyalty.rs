//! Loyalty pages: a customer's points (balance, tier, member number, ledger with the lots
//! each debit used, lots, and the redeem / transfer / adjust forms with field errors), and
//! a store's loyalty settings. Thin: each handler calls one service.

use super::{Ctx, F, PageError, PageResult, PathId, Q, Web, i18n, parse_id, render};
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use dealerbase_domain::loyalty::{LoyaltySettings, Rounding, Tier};
use dealerbase_domain::{Lang, ValidationError};
use dealerbase_service::ServiceError;
use dealerbase_service::loyalty::{AdjustInput, LoyaltyView, RedeemInput, TransferInput};
use serde::Deserialize;
use std::collections::HashMap;

#[derive(Template)]
#[template(path = "loyalty_customer.html")]
struct PointsPage {
    c: Ctx,
    v: LoyaltyView,
    /// Which form the errors belong to: redeem | transfer | adjust.
    form: String,
    errors: Vec<(String, String)>,
    typed: HashMap<String, String>,
    done: Option<String>,
}

impl PointsPage {
    fn err(&self, form: &str, field: &str) -> Option<String> {
        if self.form != form {
            return None;
        }
        self.errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.clone())
    }
    fn typed(&self, form: &str, field: &str) -> String {
        if self.form != form {
            return String::new();
        }
        self.typed.get(field).cloned().unwrap_or_default()
    }
    fn tier(&self, code: &str) -> String {
        Tier::parse("", code)
            .map(|t| t.label(self.c.lang).to_string())
            .unwrap_or_else(|_| code.to_string())
    }
    fn lots_text(&self, lots: &[(i64, i64)]) -> String {
        lots.iter()
            .map(|(lot, p)| format!("#{lot}: {p}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
    fn signed(&self, p: &i64) -> String {
        if *p > 0 {
            format!("+{p}")
        } else {
            p.to_string()
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DoneQuery {
    done: Option<String>,
}

pub async fn page(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
    Q(q): Q<DoneQuery>,
) -> PageResult {
    let v = s
        .services
        .customer_loyalty(&web.user.actor, id, web.lang())
        .await
        .map_err(|e| web.err(e))?;
    let done = q
        .done
        .filter(|d| matches!(d.as_str(), "redeem" | "transfer" | "adjust"));
    let page = PointsPage {
        c: web.ctx("nav.customers"),
        v,
        form: String::new(),
        errors: Vec::new(),
        typed: HashMap::new(),
        done,
    };
    Ok(render(StatusCode::OK, &page, web.lang()))
}

fn messages(list: &[ValidationError], lang: Lang) -> Vec<(String, String)> {
    list.iter()
        .map(|e| {
            let label = i18n::t(&format!("loy.f.{}", e.field), lang).to_string();
            (
                e.field.clone(),
                format!("{label} “{}”: {}", e.value, e.rule.message(lang)),
            )
        })
        .collect()
}

/// Runs one of the three forms: a success goes back to the page (303), field errors
/// re-show the page with the form's errors and what was typed (422).
async fn submit(
    s: &AppState,
    web: &Web,
    id: i64,
    form: &str,
    f: HashMap<String, String>,
) -> PageResult {
    web.check_csrf(f.get("_csrf").map(String::as_str).unwrap_or(""))?;
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let a = &web.user.actor;
    let r = match form {
        "redeem" => s
            .services
            .redeem_points(
                a,
                id,
                &RedeemInput {
                    points: get("points"),
                    reason: get("reason"),
                },
            )
            .await
            .map(|_| ()),
        "transfer" => s
            .services
            .transfer_points(
                a,
                id,
                &TransferInput {
                    to_customer_id: get("to_customer_id"),
                    points: get("points"),
                    reason: get("reason"),
                },
            )
            .await
            .map(|_| ()),
        _ => s
            .services
            .adjust_points(
                a,
                id,
                &AdjustInput {
                    points: get("points"),
                    reason: get("reason"),
                },
            )
            .await
            .map(|_| ()),
    };
    match r {
        Ok(()) => Ok(Redirect::to(&format!("/customers/{id}/loyalty?done={form}")).into_response()),
        Err(ServiceError::Invalid(list)) => {
            let v = s
                .services
                .customer_loyalty(a, id, web.lang())
                .await
                .map_err(|e| web.err(e))?;
            let page = PointsPage {
                c: web.ctx("nav.customers"),
                v,
                form: form.to_string(),
                errors: messages(&list, web.lang()),
                typed: f.clone(),
                done: None,
            };
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page, web.lang()))
        }
        Err(e) => Err(web.err(e)),
    }
}

pub async fn redeem(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
    F(f): F<HashMap<String, String>>,
) -> PageResult {
    submit(&s, &web, id, "redeem", f).await
}

pub async fn transfer(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
    F(f): F<HashMap<String, String>>,
) -> PageResult {
    submit(&s, &web, id, "transfer", f).await
}

pub async fn adjust(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
    F(f): F<HashMap<String, String>>,
) -> PageResult {
    submit(&s, &web, id, "adjust", f).await
}

// ---- settings ---------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SettingsQuery {
    store: Option<String>,
}

#[derive(Template)]
#[template(path = "loyalty_settings.html")]
struct SettingsPage {
    c: Ctx,
    store_id: i64,
    stores: Vec<(i64, String)>,
    fields: Vec<SettingField>,
    roundings: Vec<(&'static str, &'static str)>,
    has_errors: bool,
    saved: bool,
}

struct SettingField {
    key: &'static str,
    label: String,
    value: String,
    error: Option<String>,
}

fn setting_fields(
    values: Vec<(&'static str, String)>,
    errors: &[ValidationError],
    lang: Lang,
) -> Vec<SettingField> {
    values
        .into_iter()
        .map(|(key, value)| {
            let label = i18n::t(&format!("loy.set.{key}"), lang).to_string();
            SettingField {
                key,
                error: errors
                    .iter()
                    .find(|e| e.field == key)
                    .map(|e| format!("{label} “{}”: {}", e.value, e.rule.message(lang))),
                label,
                value,
            }
        })
        .collect()
}

async fn stores(s: &AppState, web: &Web) -> Result<Vec<(i64, String)>, PageError> {
    Ok(s.services
        .stores(&web.user.actor)
        .await
        .map_err(|e| web.err(e))?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect())
}

fn store_of(web: &Web, q: Option<&String>, stores: &[(i64, String)]) -> i64 {
    parse_id(&q.cloned())
        .or(web.user.actor.store_id)
        .or(stores.first().map(|s| s.0))
        .unwrap_or(0)
}

fn roundings(lang: Lang) -> Vec<(&'static str, &'static str)> {
    Rounding::ALL
        .iter()
        .map(|r| (r.code(), r.label(lang)))
        .collect()
}

pub async fn settings(State(s): State<AppState>, web: Web, Q(q): Q<SettingsQuery>) -> PageResult {
    let stores = stores(&s, &web).await?;
    let store_id = store_of(&web, q.store.as_ref(), &stores);
    let current = s
        .services
        .loyalty_settings_of(&web.user.actor, store_id)
        .await
        .map_err(|e| web.err(e))?;
    let page = SettingsPage {
        c: web.ctx("nav.customers"),
        store_id,
        stores,
        fields: setting_fields(current.to_fields(), &[], web.lang()),
        roundings: roundings(web.lang()),
        has_errors: false,
        saved: false,
    };
    Ok(render(StatusCode::OK, &page, web.lang()))
}

/// Saves the settings form; errors are shown next to their field (422).
pub async fn save_settings(
    State(s): State<AppState>,
    web: Web,
    F(f): F<HashMap<String, String>>,
) -> PageResult {
    web.check_csrf(f.get("_csrf").map(String::as_str).unwrap_or(""))?;
    let lang = web.lang();
    let stores = stores(&s, &web).await?;
    let store_id = store_of(&web, f.get("store"), &stores);
    let current = s
        .services
        .loyalty_settings_of(&web.user.actor, store_id)
        .await
        .map_err(|e| web.err(e))?;
    let errors = match LoyaltySettings::from_fields(&current, |k| f.get(k).cloned()) {
        Ok(cfg) => match s
            .services
            .set_loyalty_settings(&web.user.actor, store_id, &cfg)
            .await
        {
            Ok(()) => Vec::new(),
            Err(ServiceError::Invalid(list)) => list,
            Err(e) => return Err(web.err(e)),
        },
        Err(list) => list,
    };
    let typed: Vec<(&'static str, String)> = current
        .to_fields()
        .into_iter()
        .map(|(k, v)| (k, f.get(k).cloned().unwrap_or(v)))
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = SettingsPage {
        c: web.ctx("nav.customers"),
        store_id,
        stores,
        has_errors: !errors.is_empty(),
        saved: errors.is_empty(),
        fields: setting_fields(typed, &errors, lang),
        roundings: roundings(lang),
    };
    Ok(render(status, &page, lang))
}
