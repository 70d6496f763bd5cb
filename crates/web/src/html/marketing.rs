//! Marketing pages: saved segments (`/marketing/segments`) and the segment builder. The
//! builder works with plain forms: the tree travels in a `definition` field (JSON, also
//! editable by hand under "JSON"), and each button says what to do with it — add a
//! condition to a group or to a new and/or/not group, remove a node, preview (count and a
//! sample of 20, masked), save. The tree edits are the domain's (`Definition::add_at`,
//! `remove_at`); counting and saving are the service's.

use super::CsrfForm;
use super::{Ctx, F, PageResult, PathId, Web, nonempty, render};
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use dealerbase_domain::Lang;
use dealerbase_domain::segment::{
    CATALOGUE, Condition, Definition, Op, RawLeaf, RawValue, field_def,
};
use dealerbase_service::ServiceError;
use dealerbase_service::marketing::{
    Evaluation, FieldView, SAMPLE_SIZE, SegmentInput, SegmentView, field_catalogue,
    parse_definition,
};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "marketing_segments.html")]
struct ListPage {
    c: Ctx,
    items: Vec<SegmentView>,
}

/// Saved segments the reader may see.
pub async fn segments(State(s): State<AppState>, web: Web) -> PageResult {
    let page = s
        .services
        .segments(&web.user.actor, 1, 200)
        .await
        .map_err(|e| web.err(e))?;
    Ok(render(
        StatusCode::OK,
        &ListPage {
            c: web.ctx("nav.mining"),
            items: page.items,
        },
        web.lang(),
    ))
}

/// A row of the tree as shown: indentation, words, and the path its remove button sends.
pub struct TreeRow {
    pub depth: usize,
    pub text: String,
    pub group: bool,
    /// None for the child of a NOT (remove the NOT instead).
    pub path: Option<String>,
}

/// A group a new condition may go into: (path, label).
pub struct Target {
    pub path: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "marketing_segment.html")]
struct BuilderPage {
    c: Ctx,
    id: Option<i64>,
    name: String,
    mode: String,
    member_count: i64,
    definition: String,
    rows: Vec<TreeRow>,
    targets: Vec<Target>,
    fields: Vec<FieldView>,
    ops: Vec<(&'static str, &'static str)>,
    errors: Vec<String>,
    eval: Option<Evaluation>,
    action: String,
    /// Always false on the page: the count is of the conditions in the tree.
    pending: bool,
    pending_errors: Vec<String>,
}

/// The answer to a live count: the evaluation section alone.
#[derive(Template)]
#[template(path = "marketing_segment_eval.html")]
struct LiveEval {
    c: Ctx,
    eval: Option<Evaluation>,
    /// The count includes the condition being typed (not yet added to the tree).
    pending: bool,
    /// Why the condition being typed was left out of the count.
    pending_errors: Vec<String>,
}

fn describe(c: &Condition, lang: Lang) -> (String, bool) {
    let word = |zh: &'static str, en: &'static str| if lang == Lang::Zh { zh } else { en };
    match c {
        Condition::And { .. } => (word("全部满足（并且）", "All of (and)").into(), true),
        Condition::Or { .. } => (word("任一满足（或者）", "Any of (or)").into(), true),
        Condition::Not { .. } => (word("不满足（非）", "Not").into(), true),
        Condition::Leaf(l) => {
            let field = field_def(&l.field)
                .map(|d| format!("{} · {}", d.entity.label(lang), d.label(lang)))
                .unwrap_or_else(|| l.field.clone());
            let op = Op::parse("op", &l.op)
                .map(|o| o.label(lang).to_string())
                .unwrap_or_else(|_| l.op.clone());
            let value = l.value.as_ref().map(shown).unwrap_or_default();
            let months = l
                .months
                .map(|m| {
                    if lang == Lang::Zh {
                        format!("（近{m}个月）")
                    } else {
                        format!(" (last {m} months)")
                    }
                })
                .unwrap_or_default();
            (
                format!("{field}{months} {op} {value}").trim().to_string(),
                false,
            )
        }
    }
}

fn shown(v: &RawValue) -> String {
    match v {
        RawValue::Bool(b) => b.to_string(),
        RawValue::Num(n) if n.fract() == 0.0 => format!("{}", *n as i64),
        RawValue::Num(n) => n.to_string(),
        RawValue::Text(t) => t.clone(),
        RawValue::List(l) => l.iter().map(shown).collect::<Vec<_>>().join(", "),
    }
}

fn tree(def: &Definition, lang: Lang) -> (Vec<TreeRow>, Vec<Target>) {
    let mut rows = Vec::new();
    let mut targets = vec![Target {
        path: String::new(),
        label: if lang == Lang::Zh {
            "顶层（并且）".into()
        } else {
            "Top level (and)".into()
        },
    }];
    for (path, depth, c) in def.rows() {
        let (text, group) = describe(c, lang);
        let removable = !path.contains('!');
        if removable && matches!(c, Condition::And { .. } | Condition::Or { .. }) {
            targets.push(Target {
                path: path.clone(),
                label: format!("#{} {}", path, text),
            });
        }
        rows.push(TreeRow {
            depth,
            text,
            group,
            path: removable.then_some(path),
        });
    }
    (rows, targets)
}

fn op_choices(lang: Lang) -> Vec<(&'static str, &'static str)> {
    Op::ALL.iter().map(|o| (o.code(), o.label(lang))).collect()
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct BuilderForm {
    name: Option<String>,
    definition: Option<String>,
    field: Option<String>,
    op: Option<String>,
    value: Option<String>,
    months: Option<String>,
    /// "" (top level), a group's path, or new:and / new:or / new:not
    target: Option<String>,
    /// add | preview | save | remove:<path>
    action: Option<String>,
    #[serde(rename = "_csrf")]
    csrf: String,
}

struct Builder {
    id: Option<i64>,
    name: String,
    mode: String,
    member_count: i64,
    def: Definition,
    errors: Vec<String>,
    eval: Option<Evaluation>,
}

async fn show(s: &AppState, web: &Web, b: Builder, status: StatusCode) -> PageResult {
    let lang = web.lang();
    let (rows, targets) = tree(&b.def, lang);
    let page = BuilderPage {
        c: web.ctx("nav.mining"),
        action: match b.id {
            Some(id) => format!("/marketing/segments/{id}"),
            None => "/marketing/segments/new".into(),
        },
        id: b.id,
        name: b.name,
        mode: b.mode,
        member_count: b.member_count,
        definition: serde_json::to_string_pretty(&b.def).unwrap_or_default(),
        rows,
        targets,
        fields: field_catalogue(lang),
        ops: op_choices(lang),
        errors: b.errors,
        eval: b.eval,
        pending: false,
        pending_errors: Vec::new(),
    };
    let _ = s;
    Ok(render(status, &page, lang))
}

/// An empty builder.
pub async fn new_segment(State(s): State<AppState>, web: Web) -> PageResult {
    if !dealerbase_service::marketing::may_use_marketing(web.user.actor.role) {
        return Err(web.err(ServiceError::Forbidden("marketing")));
    }
    let b = Builder {
        id: None,
        name: String::new(),
        mode: "dynamic".into(),
        member_count: 0,
        def: Definition::default(),
        errors: Vec::new(),
        eval: None,
    };
    show(&s, &web, b, StatusCode::OK).await
}

/// A saved segment in the builder, with its count and sample now.
pub async fn segment(State(s): State<AppState>, web: Web, PathId(id): PathId) -> PageResult {
    let v = s
        .services
        .segment(&web.user.actor, id)
        .await
        .map_err(|e| web.err(e))?;
    let eval = s
        .services
        .evaluate_segment(&web.user.actor, &v.definition, SAMPLE_SIZE, web.lang())
        .await
        .ok();
    let b = Builder {
        id: Some(id),
        name: v.name,
        mode: v.mode,
        member_count: v.member_count,
        def: v.definition,
        errors: Vec::new(),
        eval,
    };
    show(&s, &web, b, StatusCode::OK).await
}

fn messages(e: &ServiceError, lang: Lang) -> Vec<String> {
    match e {
        ServiceError::Invalid(list) => list
            .iter()
            .map(|v| format!("{}: {}", v.field, v.message(lang)))
            .collect(),
        other => vec![other.message(lang)],
    }
}

fn new_leaf(f: &BuilderForm) -> Condition {
    let value = nonempty(&f.value).map(|v| match v.parse::<f64>() {
        Ok(n) if n.is_finite() => RawValue::Num(n),
        _ => RawValue::Text(v),
    });
    Condition::Leaf(RawLeaf {
        field: nonempty(&f.field).unwrap_or_default(),
        op: nonempty(&f.op).unwrap_or_default(),
        value,
        months: nonempty(&f.months).and_then(|m| m.parse().ok()),
    })
}

async fn act(s: &AppState, web: &Web, id: Option<i64>, f: BuilderForm) -> PageResult {
    web.check_csrf(&f.csrf)?;
    let lang = web.lang();
    let actor = &web.user.actor;
    let (mode, member_count) = match id {
        Some(id) => {
            let v = s
                .services
                .segment(actor, id)
                .await
                .map_err(|e| web.err(e))?;
            (v.mode, v.member_count)
        }
        None => {
            if !dealerbase_service::marketing::may_use_marketing(actor.role) {
                return Err(web.err(ServiceError::Forbidden("marketing")));
            }
            ("dynamic".into(), 0)
        }
    };
    let mut b = Builder {
        id,
        name: nonempty(&f.name).unwrap_or_default(),
        mode,
        member_count,
        def: Definition::default(),
        errors: Vec::new(),
        eval: None,
    };
    if let Some(text) = nonempty(&f.definition) {
        match parse_definition(&text) {
            Ok(d) => b.def = d,
            Err(e) => {
                b.errors = messages(&e, lang);
                if f.action.as_deref() == Some("live") {
                    // The script swaps in what comes back: the reason, not a whole page.
                    let page = LiveEval {
                        c: web.ctx("nav.mining"),
                        eval: None,
                        pending: false,
                        pending_errors: b.errors,
                    };
                    return Ok(render(StatusCode::OK, &page, lang));
                }
                return show(s, web, b, StatusCode::UNPROCESSABLE_ENTITY).await;
            }
        }
    }
    let action = nonempty(&f.action).unwrap_or_else(|| "preview".into());
    if action == "live" {
        return live(s, web, b.def, &f).await;
    }
    if action == "add" && !add_typed(&mut b.def, &f) {
        b.errors
            .push(format!("target: {}", f.target.as_deref().unwrap_or("")));
    } else if let Some(path) = action.strip_prefix("remove:") {
        b.def.remove_at(path);
    }
    if action == "save" {
        let input = SegmentInput {
            name: b.name.clone(),
            definition: b.def.clone(),
        };
        let saved = match id {
            Some(id) => s.services.update_segment(actor, id, &input).await,
            None => s.services.create_segment(actor, &input).await,
        };
        return match saved {
            Ok(v) => Ok(Redirect::to(&format!("/marketing/segments/{}", v.id)).into_response()),
            Err(e @ (ServiceError::Invalid(_) | ServiceError::Conflict { .. })) => {
                b.errors = messages(&e, lang);
                show(s, web, b, StatusCode::UNPROCESSABLE_ENTITY).await
            }
            Err(e) => Err(web.err(e)),
        };
    }
    // Every other action shows the count and sample of the edited tree.
    let status = match s
        .services
        .evaluate_segment(actor, &b.def, SAMPLE_SIZE, lang)
        .await
    {
        Ok(e) => {
            b.eval = Some(e);
            StatusCode::OK
        }
        Err(e @ ServiceError::Invalid(_)) => {
            b.errors.extend(messages(&e, lang));
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Err(e) => return Err(web.err(e)),
    };
    show(s, web, b, status).await
}

/// Adds the condition of the add-condition row where its "into" choice says: a group of the
/// tree, or a new and / or / not group at the top. False when there is no such group.
fn add_typed(def: &mut Definition, f: &BuilderForm) -> bool {
    let leaf = new_leaf(f);
    match f.target.as_deref().unwrap_or("") {
        "new:and" => def.add_at("", Condition::And { and: vec![leaf] }),
        "new:or" => def.add_at("", Condition::Or { or: vec![leaf] }),
        "new:not" => def.add_at(
            "",
            Condition::Not {
                not: Box::new(leaf),
            },
        ),
        path => def.add_at(path, leaf),
    }
}

/// Whether the add-condition row holds a condition being typed: a value or a number of
/// months, or an operator that takes none.
fn typing(f: &BuilderForm) -> bool {
    nonempty(&f.value).is_some()
        || nonempty(&f.months).is_some()
        || matches!(
            f.op.as_deref(),
            Some("is_set" | "not_set" | "is_true" | "is_false")
        )
}

/// The live count (action=live, sent by /assets/segment.js while the form is edited): the
/// tree with the condition being typed added where it would go, counted and sampled; when
/// that condition is not valid yet, the tree without it, saying why. Answers the
/// evaluation section alone.
async fn live(s: &AppState, web: &Web, def: Definition, f: &BuilderForm) -> PageResult {
    let lang = web.lang();
    let actor = &web.user.actor;
    let mut with = def.clone();
    let pending = typing(f) && add_typed(&mut with, f);
    let mut page = LiveEval {
        c: web.ctx("nav.mining"),
        eval: None,
        pending: false,
        pending_errors: Vec::new(),
    };
    if pending {
        match s
            .services
            .evaluate_segment(actor, &with, SAMPLE_SIZE, lang)
            .await
        {
            Ok(e) => {
                page.eval = Some(e);
                page.pending = true;
            }
            Err(e @ ServiceError::Invalid(_)) => page.pending_errors = messages(&e, lang),
            Err(e) => return Err(web.err(e)),
        }
    }
    if page.eval.is_none() {
        match s
            .services
            .evaluate_segment(actor, &def, SAMPLE_SIZE, lang)
            .await
        {
            Ok(e) => page.eval = Some(e),
            Err(e @ ServiceError::Invalid(_)) => {
                page.pending_errors.extend(messages(&e, lang));
            }
            Err(e) => return Err(web.err(e)),
        }
    }
    Ok(render(StatusCode::OK, &page, lang))
}

pub async fn new_segment_action(
    State(s): State<AppState>,
    web: Web,
    F(f): F<BuilderForm>,
) -> PageResult {
    act(&s, &web, None, f).await
}

pub async fn segment_action(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
    F(f): F<BuilderForm>,
) -> PageResult {
    act(&s, &web, Some(id), f).await
}

/// Freezes the current members as the segment's list.
pub async fn freeze(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
    F(f): F<CsrfForm>,
) -> PageResult {
    web.check_csrf(&f.csrf)?;
    s.services
        .freeze_segment(&web.user.actor, id)
        .await
        .map_err(|e| web.err(e))?;
    Ok(Redirect::to(&format!("/marketing/segments/{id}")).into_response())
}

/// Makes a frozen segment dynamic again.
pub async fn unfreeze(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
    F(f): F<CsrfForm>,
) -> PageResult {
    web.check_csrf(&f.csrf)?;
    s.services
        .unfreeze_segment(&web.user.actor, id)
        .await
        .map_err(|e| web.err(e))?;
    Ok(Redirect::to(&format!("/marketing/segments/{id}")).into_response())
}

/// Deletes a segment.
pub async fn delete(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
    F(f): F<CsrfForm>,
) -> PageResult {
    web.check_csrf(&f.csrf)?;
    s.services
        .delete_segment(&web.user.actor, id)
        .await
        .map_err(|e| web.err(e))?;
    Ok(Redirect::to("/marketing/segments").into_response())
}

impl BuilderPage {
    /// Indentation of a tree row (no inline styles: the CSP forbids them).
    fn indent(&self, depth: &usize) -> String {
        if *depth == 0 {
            String::new()
        } else {
            format!("{}└ ", "\u{3000}\u{3000}".repeat(depth - 1))
        }
    }
    fn field_count(&self) -> usize {
        CATALOGUE.len()
    }
    fn ops_of(&self, f: &FieldView) -> String {
        f.ops.iter().map(|o| o.label).collect::<Vec<_>>().join("、")
    }
    fn choices_of(&self, f: &FieldView) -> String {
        f.choices
            .iter()
            .map(|c| format!("{} ({})", c.label, c.code))
            .collect::<Vec<_>>()
            .join("、")
    }
}

// ---- campaigns ---------------------------------------------------------------------------------

use super::{chart, i18n};
use dealerbase_domain::attribution::{self, ResponseKind, Tally};
use dealerbase_domain::campaign::CampaignKind;
use dealerbase_domain::messaging::Channel;
use dealerbase_service::campaign_results::{CampaignResults, Overview, Rollup};
use dealerbase_service::marketing::{
    CampaignInput, CampaignView, PrepareReport, PreviewRow, RecipientView, SendReport,
};
use dealerbase_store::campaigns::CampaignRow;

#[derive(Template)]
#[template(path = "marketing_campaigns.html")]
struct CampaignsPage {
    c: Ctx,
    items: Vec<CampaignRow>,
    segments: Vec<SegmentView>,
    kinds: Vec<(&'static str, &'static str)>,
    errors: Vec<String>,
    form: CampaignForm,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct CampaignForm {
    name: Option<String>,
    kind: Option<String>,
    segment: Option<String>,
    scheduled_at: Option<String>,
    budget: Option<String>,
    cost: Option<String>,
    control_pct: Option<String>,
    sms_template: Option<String>,
    email_subject: Option<String>,
    email_body: Option<String>,
    window: Option<String>,
    #[serde(rename = "_csrf")]
    csrf: String,
}

impl CampaignsPage {
    fn kind_label(&self, code: &str) -> String {
        CampaignKind::parse("kind", code)
            .map(|k| k.label(self.c.lang).to_string())
            .unwrap_or_else(|_| code.to_string())
    }
    fn v(&self, s: &Option<String>) -> String {
        s.clone().unwrap_or_default()
    }
}

async fn campaigns_page(
    s: &AppState,
    web: &Web,
    form: CampaignForm,
    errors: Vec<String>,
    status: StatusCode,
) -> PageResult {
    let actor = &web.user.actor;
    let items = s.services.campaigns(actor).await.map_err(|e| web.err(e))?;
    let segments = s
        .services
        .segments(actor, 1, 200)
        .await
        .map_err(|e| web.err(e))?
        .items;
    let lang = web.lang();
    Ok(render(
        status,
        &CampaignsPage {
            c: web.ctx("nav.mining"),
            items,
            segments,
            kinds: CampaignKind::ALL
                .iter()
                .map(|k| (k.code(), k.label(lang)))
                .collect(),
            errors,
            form,
        },
        lang,
    ))
}

/// Campaigns and the form that creates one.
pub async fn campaigns(State(s): State<AppState>, web: Web) -> PageResult {
    campaigns_page(
        &s,
        &web,
        CampaignForm::default(),
        Vec::new(),
        StatusCode::OK,
    )
    .await
}

fn yuan(field: &str, s: &Option<String>, errors: &mut Vec<String>, lang: Lang) -> Option<f64> {
    let t = nonempty(s)?;
    match t.parse::<f64>() {
        Ok(v) => Some(v),
        Err(_) => {
            errors.push(format!(
                "{field}: {}",
                dealerbase_domain::ValidationError::new(field, &t, dealerbase_domain::Rule::Number)
                    .message(lang)
            ));
            None
        }
    }
}

pub async fn create_campaign(
    State(s): State<AppState>,
    web: Web,
    F(f): F<CampaignForm>,
) -> PageResult {
    web.check_csrf(&f.csrf)?;
    let lang = web.lang();
    let mut errors = Vec::new();
    let input = CampaignInput {
        name: f.name.clone().unwrap_or_default(),
        kind: f.kind.clone().unwrap_or_default(),
        segment_id: super::parse_id(&f.segment),
        scheduled_at: nonempty(&f.scheduled_at),
        budget_yuan: yuan("budget_yuan", &f.budget, &mut errors, lang),
        cost_per_contact_yuan: yuan("cost_per_contact_yuan", &f.cost, &mut errors, lang),
        control_pct: yuan("control_pct", &f.control_pct, &mut errors, lang),
        seed: None,
        sms_template: nonempty(&f.sms_template),
        email_subject: nonempty(&f.email_subject),
        email_body: nonempty(&f.email_body),
        response_window_days: match nonempty(&f.window).map(|t| t.parse::<i64>()) {
            None => None,
            Some(Ok(d)) => Some(d),
            Some(Err(_)) => {
                errors.push(format!(
                    "response_window_days: {}",
                    dealerbase_domain::ValidationError::new(
                        "response_window_days",
                        f.window.as_deref().unwrap_or(""),
                        dealerbase_domain::Rule::Number
                    )
                    .message(lang)
                ));
                None
            }
        },
    };
    if errors.is_empty() {
        match s.services.create_campaign(&web.user.actor, &input).await {
            Ok(v) => {
                return Ok(
                    Redirect::to(&format!("/marketing/campaigns/{}", v.campaign.id))
                        .into_response(),
                );
            }
            Err(e @ ServiceError::Invalid(_)) => errors = messages(&e, lang),
            Err(e) => return Err(web.err(e)),
        }
    }
    campaigns_page(&s, &web, f, errors, StatusCode::UNPROCESSABLE_ENTITY).await
}

#[derive(Template)]
#[template(path = "marketing_campaign.html")]
struct CampaignPage {
    c: Ctx,
    v: CampaignView,
    preview: Vec<PreviewRow>,
    recipients: Vec<RecipientView>,
    report: Option<PrepareReport>,
    sent: Option<SendReport>,
    invitations: bool,
    errors: Vec<String>,
}

impl CampaignPage {
    fn status_label(&self, code: &str) -> String {
        dealerbase_domain::campaign::RecipientStatus::parse("status", code)
            .map(|k| k.label(self.c.lang).to_string())
            .unwrap_or_else(|_| code.to_string())
    }
}

async fn campaign_page(
    s: &AppState,
    web: &Web,
    id: i64,
    report: Option<PrepareReport>,
    sent: Option<SendReport>,
    errors: Vec<String>,
) -> PageResult {
    let actor = &web.user.actor;
    let lang = web.lang();
    let v = s
        .services
        .campaign(actor, id, lang)
        .await
        .map_err(|e| web.err(e))?;
    let preview = if v.campaign.status == "draft" {
        s.services
            .preview_campaign(actor, id, 10)
            .await
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let recipients = s
        .services
        .campaign_recipients(actor, id, 0, 50, lang)
        .await
        .map_err(|e| web.err(e))?
        .items;
    let invitations =
        CampaignKind::parse("kind", &v.campaign.kind).is_ok_and(|k| k.has_invitations());
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(render(
        status,
        &CampaignPage {
            c: web.ctx("nav.mining"),
            v,
            preview,
            recipients,
            report,
            sent,
            invitations,
            errors,
        },
        lang,
    ))
}

/// A campaign: figures, the preview of the first messages, prepare, recipients.
pub async fn campaign(State(s): State<AppState>, web: Web, PathId(id): PathId) -> PageResult {
    campaign_page(&s, &web, id, None, None, Vec::new()).await
}

pub async fn prepare_campaign(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
    F(f): F<CsrfForm>,
) -> PageResult {
    web.check_csrf(&f.csrf)?;
    let r = s
        .services
        .prepare_campaign(&web.user.actor, id)
        .await
        .map_err(|e| web.err(e))?;
    campaign_page(&s, &web, id, Some(r), None, Vec::new()).await
}

/// Sends a prepared SMS or e-mail campaign through the outbox; the page shows what became
/// of each recipient's message.
pub async fn send_campaign(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
    F(f): F<CsrfForm>,
) -> PageResult {
    web.check_csrf(&f.csrf)?;
    match s.services.send_campaign(&web.user.actor, id).await {
        Ok(r) => campaign_page(&s, &web, id, None, Some(r), Vec::new()).await,
        Err(dealerbase_service::ServiceError::Invalid(errs)) => {
            let m = errs.iter().map(|e| e.message(web.lang())).collect();
            campaign_page(&s, &web, id, None, None, m).await
        }
        Err(e) => Err(web.err(e)),
    }
}

impl CampaignPage {
    fn send_label(&self, code: &str) -> String {
        self.status_label(code)
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct StepForm {
    customer: Option<String>,
    step: Option<String>,
    #[serde(rename = "_csrf")]
    csrf: String,
}

/// Records an invitation step for a recipient (test-drive and event campaigns).
pub async fn invitation(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
    F(f): F<StepForm>,
) -> PageResult {
    web.check_csrf(&f.csrf)?;
    let customer = super::parse_id(&f.customer).unwrap_or(0);
    match s
        .services
        .record_invitation(
            &web.user.actor,
            id,
            customer,
            f.step.as_deref().unwrap_or(""),
        )
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/marketing/campaigns/{id}")).into_response()),
        Err(e @ ServiceError::Invalid(_)) => {
            let m = messages(&e, web.lang());
            campaign_page(&s, &web, id, None, None, m).await
        }
        Err(e) => Err(web.err(e)),
    }
}

#[derive(Template)]
#[template(path = "marketing_results.html")]
struct ResultsPage {
    c: Ctx,
    v: CampaignView,
    r: Option<CampaignResults>,
    charts: Vec<(String, String)>,
}

/// A rate as a percentage with one decimal ("3.5%"), or "–".
fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "–".into(), |x| format!("{:.1}%", x * 100.0))
}

/// Percentage points with a sign ("+2.3"), or "–".
fn points(v: Option<f64>) -> String {
    v.map_or_else(|| "–".into(), |x| format!("{:+.1}", x * 100.0))
}

/// A ratio with two decimals ("3.25"), or "–".
fn ratio(v: Option<f64>) -> String {
    v.map_or_else(|| "–".into(), |x| format!("{x:.2}"))
}

trait ResultsView {
    fn lang(&self) -> Lang;
    fn rate(&self, t: &Tally) -> String {
        pct(t.rate())
    }
    fn points(&self, v: &Option<f64>) -> String {
        points(*v)
    }
    fn ratio(&self, v: &Option<f64>) -> String {
        ratio(*v)
    }
    fn channel_label(&self, ch: &Channel) -> String {
        ch.label(self.lang()).to_string()
    }
    fn recency(&self, m: &Option<u32>) -> String {
        attribution::recency_label(*m, self.lang())
    }
    fn kind_of(&self, k: &ResponseKind) -> String {
        k.label(self.lang()).to_string()
    }
}

impl ResultsView for ResultsPage {
    fn lang(&self) -> Lang {
        self.c.lang
    }
}

/// A campaign's response and return: target, reached and control groups, uplift, revenue,
/// cost and return on spend, by channel, by first response and by months since the last
/// visit (the seed 004 table), with charts.
pub async fn campaign_results(
    State(s): State<AppState>,
    web: Web,
    PathId(id): PathId,
) -> PageResult {
    let actor = &web.user.actor;
    let lang = web.lang();
    let v = s
        .services
        .campaign(actor, id, lang)
        .await
        .map_err(|e| web.err(e))?;
    let r = s
        .services
        .campaign_results(actor, id)
        .await
        .map_err(|e| web.err(e))?;
    let mut charts = Vec::new();
    if let Some(res) = &r {
        let res = &res.results;
        let no_data = i18n::t("common.no_data", lang);
        let title = i18n::t("mkt.by_recency", lang).to_string();
        let labels: Vec<String> = res
            .by_recency
            .iter()
            .map(|x| attribution::recency_label(x.months, lang))
            .collect();
        let rates: Vec<f64> = res
            .by_recency
            .iter()
            .map(|x| (x.target.rate().unwrap_or(0.0) * 1000.0).round() / 10.0)
            .collect();
        charts.push((title.clone(), chart::bar(&title, &labels, &rates, no_data)));
        let title = i18n::t("mkt.by_kind", lang).to_string();
        let slices: Vec<(String, f64)> = res
            .by_kind
            .iter()
            .map(|k| (k.kind.label(lang).to_string(), k.target as f64))
            .collect();
        charts.push((title.clone(), chart::pie(&title, &slices, no_data)));
    }
    Ok(render(
        StatusCode::OK,
        &ResultsPage {
            c: web.ctx("nav.campaigns"),
            v,
            r,
            charts,
        },
        lang,
    ))
}

#[derive(Template)]
#[template(path = "marketing_overview.html")]
struct OverviewPage {
    c: Ctx,
    o: Overview,
}

impl OverviewPage {
    fn sections(&self) -> [(&'static str, &[Rollup], &'static str); 2] {
        [
            ("mkt.by_channel", &self.o.by_channel, "by-channel"),
            ("mkt.by_segment", &self.o.by_segment, "by-segment"),
        ]
    }
}

impl ResultsView for OverviewPage {
    fn lang(&self) -> Lang {
        self.c.lang
    }
}

/// Every campaign that went out with its results, and the totals by channel and segment.
pub async fn results_overview(State(s): State<AppState>, web: Web) -> PageResult {
    let lang = web.lang();
    let o = s
        .services
        .campaign_overview(&web.user.actor, lang)
        .await
        .map_err(|e| web.err(e))?;
    Ok(render(
        StatusCode::OK,
        &OverviewPage {
            c: web.ctx("nav.campaigns"),
            o,
        },
        lang,
    ))
}
