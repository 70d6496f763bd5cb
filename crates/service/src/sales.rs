//! The showroom and the leads (issue 5; DOMAIN.md §2–§4): the traffic log and its
//! statistics, leads with grades that change only through contacts, follow-ups at the
//! store's cadence, escalation and the store pool, test drives and invitations, orders and
//! delivery, defeat requests and their approval, the daily report, the sales analytics
//! with the forecast, the daily sales jobs and the sales part of the "today" page.
//!
//! The rules are `dealerbase_domain::sales`; this module checks who may do what, validates
//! input, and calls the store, whose multi-row writes are single transactions.

use crate::input::{Checker, LeadInput};
use crate::{Actor, Result, ServiceError, Services};
use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, Timelike, Utc};
use dealerbase_domain::mask::mask_mobile;
use dealerbase_domain::model::*;
use dealerbase_domain::sales::{self as rules, SalesCounts, SalesRates, SalesSettings};
use dealerbase_domain::{Lang, Mobile, Rule, ValidationError, Vin};
use dealerbase_store::sales::*;
use dealerbase_store::{Id, Lead, LeadFields, Page, SalesOrder, Scope};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};

fn invalid(field: &str, value: impl Into<String>, rule: Rule) -> ServiceError {
    ServiceError::invalid(ValidationError::new(field, value, rule))
}

/// A state that does not allow the operation, named by the field and the states that would.
fn wrong_state(field: &str, value: &str, allowed: &[&str]) -> ServiceError {
    invalid(
        field,
        value,
        Rule::OneOf {
            allowed: allowed.iter().map(|s| s.to_string()).collect(),
        },
    )
}

fn is_sales_manager(role: Role) -> bool {
    matches!(
        role,
        Role::SalesManager | Role::GeneralManager | Role::Admin
    )
}

fn may_sell(role: Role) -> bool {
    matches!(
        role,
        Role::SalesConsultant | Role::SalesManager | Role::GeneralManager | Role::Admin
    )
}

fn require_seller(actor: &Actor) -> Result<()> {
    if may_sell(actor.role) {
        Ok(())
    } else {
        Err(ServiceError::Forbidden("sales operations"))
    }
}

fn require_manager(actor: &Actor, what: &'static str) -> Result<()> {
    if is_sales_manager(actor.role) {
        Ok(())
    } else {
        Err(ServiceError::Forbidden(what))
    }
}

fn nonblank(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

// ---- inputs and views ---------------------------------------------------------------------------

/// The sales settings of a store, flat (as the form and the API send them). Absent fields
/// keep their value.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SalesSettingsForm {
    /// Days between follow-ups of an O (ordered) lead; default 7
    pub cadence_o: Option<u32>,
    /// H: default 2
    pub cadence_h: Option<u32>,
    /// A: default 3
    pub cadence_a: Option<u32>,
    /// B: default 7
    pub cadence_b: Option<u32>,
    /// C: default 14
    pub cadence_c: Option<u32>,
    /// Days after the due date before an open follow-up is escalated to the manager; default 2
    pub escalate_after_days: Option<u32>,
    /// Days without a contact before an open lead returns to the store pool; default 30
    pub pool_after_days: Option<u32>,
    /// Post-delivery call of the consultant, days after delivery; default 3
    pub call_consultant_days: Option<u32>,
    /// Post-delivery call of the sales manager; default 7
    pub call_manager_days: Option<u32>,
    /// Sample call of the care team; default 30
    pub call_care_days: Option<u32>,
}

impl SalesSettingsForm {
    pub fn of(s: &SalesSettings) -> SalesSettingsForm {
        SalesSettingsForm {
            cadence_o: Some(s.cadence.o),
            cadence_h: Some(s.cadence.h),
            cadence_a: Some(s.cadence.a),
            cadence_b: Some(s.cadence.b),
            cadence_c: Some(s.cadence.c),
            escalate_after_days: Some(s.escalate_after_days),
            pool_after_days: Some(s.pool_after_days),
            call_consultant_days: Some(s.delivery_calls.consultant),
            call_manager_days: Some(s.delivery_calls.manager),
            call_care_days: Some(s.delivery_calls.care),
        }
    }

    fn apply(&self, mut s: SalesSettings) -> SalesSettings {
        let set = |v: Option<u32>, cur: &mut u32| {
            if let Some(v) = v {
                *cur = v;
            }
        };
        set(self.cadence_o, &mut s.cadence.o);
        set(self.cadence_h, &mut s.cadence.h);
        set(self.cadence_a, &mut s.cadence.a);
        set(self.cadence_b, &mut s.cadence.b);
        set(self.cadence_c, &mut s.cadence.c);
        set(self.escalate_after_days, &mut s.escalate_after_days);
        set(self.pool_after_days, &mut s.pool_after_days);
        set(self.call_consultant_days, &mut s.delivery_calls.consultant);
        set(self.call_manager_days, &mut s.delivery_calls.manager);
        set(self.call_care_days, &mut s.delivery_calls.care);
        s
    }
}

/// A showroom traffic record as typed on the phone: everything but the channel has a
/// default, and a grade with name, mobile and model registers the lead at once.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct VisitInput {
    pub store_id: Option<Id>,
    /// walk_in (default) | phone_in
    pub channel: Option<String>,
    /// HH:MM today, YYYY-MM-DD HH:MM or RFC 3339; default now
    pub arrived_at: Option<String>,
    pub left_at: Option<String>,
    /// 1 to 20; default 1
    pub party_size: Option<i64>,
    /// Default: the consultant typing it
    pub consultant_id: Option<Id>,
    /// Default true; a visit of a known lead is always a repeat visit
    pub first_visit: Option<bool>,
    /// Lead source (first level); default: the channel (walk_in / phone_in)
    pub source: Option<String>,
    pub source_detail: Option<String>,
    pub desired_model_id: Option<Id>,
    pub visitor_name: Option<String>,
    pub mobile: Option<String>,
    pub note: Option<String>,
    /// H | A | B | C: register the visitor as a lead now (needs name, mobile and model)
    pub grade: Option<String>,
    /// A repeat visit of this lead
    pub lead_id: Option<Id>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VisitOutcome {
    pub visit: VisitRow,
    /// The lead registered with the visit, or the known lead that came back.
    pub lead_id: Option<Id>,
    pub lead_created: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, IntoParams)]
#[serde(default)]
pub struct PeriodQuery {
    /// First day (YYYY-MM-DD); default 30 days before today
    pub from: Option<String>,
    /// Last day, inclusive; default today
    pub to: Option<String>,
    pub store_id: Option<Id>,
    /// Lead source code
    pub source: Option<String>,
    pub model_id: Option<Id>,
    pub consultant_id: Option<Id>,
    /// store | source | model | consultant
    pub by: Option<String>,
}

/// One line of a breakdown: a key, its label, the counts and the rates.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatRow {
    pub key: String,
    pub label: String,
    pub visits: i64,
    pub first_visits: i64,
    pub registered: i64,
    pub registration_rate: Option<f64>,
}

/// Showroom traffic statistics of a period (展厅来店(电)统计表).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrafficStats {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub total: StatRow,
    /// Visits by hour of arrival, 0–23, China time.
    pub by_hour: Vec<i64>,
    /// Visits by weekday, Monday first.
    pub by_weekday: Vec<i64>,
    pub by_day: Vec<(NaiveDate, i64)>,
    pub by_channel: Vec<StatRow>,
    pub by_source: Vec<StatRow>,
    pub by_consultant: Vec<StatRow>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, IntoParams)]
#[serde(default)]
pub struct LeadListQuery {
    pub status: Option<String>,
    pub grade: Option<String>,
    pub source: Option<String>,
    pub owner_id: Option<Id>,
    /// Only the store pool (公海)
    pub pool: Option<bool>,
    /// Only open leads whose follow-up is overdue
    pub overdue: Option<bool>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// A contact on a lead: what came of it and the grade it leaves the lead at.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ContactInput {
    /// phone (default) | visit | sms | email | wechat
    pub channel: Option<String>,
    /// outbound (default) | inbound
    pub direction: Option<String>,
    /// reached (default) | booked | declined | unreachable | wrong_number | visited …
    pub outcome: Option<String>,
    /// The grade after the contact (H, A, B, C; O stays O); required
    pub grade: Option<String>,
    pub note: Option<String>,
    /// An earlier next follow-up than the cadence gives (YYYY-MM-DD)
    pub next_follow_up: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AssignInput {
    /// The new owner; absent: back to the store pool
    pub to_staff_id: Option<Id>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TestDriveInput {
    /// Default: the lead's desired model
    pub model_id: Option<Id>,
    /// When (HH:MM today, YYYY-MM-DD HH:MM); default now
    pub at: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct InvitationInput {
    /// The day the lead promised to come (YYYY-MM-DD)
    pub appointment_on: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct OrderInput {
    /// Default: the lead's desired model (must be of the store's brand)
    pub model_id: Option<Id>,
    /// new (default) | replacement | additional | referral
    pub kind: Option<String>,
    /// Price in fen (0.01 yuan); default the model's list price
    pub price_fen: Option<i64>,
    /// Deposit paid in fen; required (0 when a contract was signed without a deposit)
    pub deposit_fen: Option<i64>,
    /// YYYY-MM-DD, today or later
    pub expected_delivery: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DeliveryInput {
    /// 17 characters with a valid check digit
    pub vin: Option<String>,
    pub plate: Option<String>,
    pub colour: Option<String>,
    /// Default today; not in the future, not before the order
    pub delivered_on: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryOutcome {
    pub order: SalesOrder,
    pub vehicle_id: Id,
    /// The post-delivery calls created: (role, due day).
    pub calls: Vec<(String, NaiveDate)>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DefeatInput {
    /// price | competitor_brand | financing | product | our_service | postponed | lost_contact | other
    pub reason: Option<String>,
    /// Required when the reason is competitor_brand
    pub competitor_brand: Option<String>,
    pub competitor_model: Option<String>,
    /// Required when the reason is other
    pub note: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DefeatDecision {
    pub approve: Option<bool>,
    /// Required when rejecting: what the consultant should do
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DailyReportInput {
    /// Default today
    pub date: Option<String>,
    /// Tomorrow's plan
    pub plan: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SignInput {
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TaskCompletion {
    /// reached (default) | unreachable | declined | …
    pub outcome: Option<String>,
    pub note: Option<String>,
}

/// Everything the lead page shows.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LeadDetail {
    pub lead: LeadView,
    pub contacts: Vec<ContactRow>,
    /// Contacts that set or changed the grade: who and when.
    pub grade_history: Vec<ContactRow>,
    pub assignments: Vec<LeadAssignmentRow>,
    pub test_drives: Vec<TestDriveRow>,
    pub invitations: Vec<InvitationRow>,
    pub orders: Vec<SalesOrder>,
    pub defeats: Vec<DefeatRow>,
    pub tasks: Vec<TaskRow>,
    /// Days the next follow-up is overdue (0 when not overdue).
    pub overdue_days: i64,
}

/// A consultant's daily report: the figures of the day (from the day's contacts), the
/// leads by grade, tomorrow's follow-ups, and what was submitted and signed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReportFigures {
    #[schema(value_type = Object)]
    pub day: rules::DayFigures,
    /// Open leads by grade at the end of the day (O, H, A, B, C).
    pub open_by_grade: [i64; 5],
    /// Follow-ups due tomorrow.
    pub due_tomorrow: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DailyReportView {
    pub staff_id: Id,
    pub date: NaiveDate,
    /// Built now from the data (what a submission would freeze).
    pub current: ReportFigures,
    pub submitted: Option<DailyReportRow>,
    /// The figures as submitted.
    pub submitted_figures: Option<ReportFigures>,
}

/// One line of the analytics breakdown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AnalyticsRow {
    pub key: String,
    pub label: String,
    #[schema(value_type = Object)]
    pub counts: SalesCounts,
    #[schema(value_type = Object)]
    pub rates: SalesRates,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ForecastLine {
    pub grade: String,
    pub open_leads: i64,
    /// Leads graded so in the history window, and those that ordered within 30 days.
    pub graded: i64,
    pub ordered: i64,
    pub rate: Option<f64>,
    pub expected_orders: f64,
}

/// Orders expected in the next 30 days from the open leads, each store's leads weighted by
/// that store's own close rate per grade (DOMAIN.md §2 grades; history: the 365 days that
/// ended 30 days ago, so every outcome is known).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ForecastView {
    pub horizon_days: i64,
    pub history_from: NaiveDate,
    pub history_until: NaiveDate,
    /// When the rates were computed (oldest of the stores).
    pub rates_as_of: Option<NaiveDate>,
    pub lines: Vec<ForecastLine>,
    pub expected_orders: f64,
    pub orders_in_hand: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SalesAnalytics {
    pub from: NaiveDate,
    pub to: NaiveDate,
    #[schema(value_type = String)]
    pub by: SalesDimension,
    pub total: AnalyticsRow,
    pub rows: Vec<AnalyticsRow>,
    /// (reason code, label, approved defeats)
    pub defeat_reasons: Vec<(String, String, i64)>,
    /// (competitor brand, model, defeats, share of defeats to a competitor)
    pub competitors: Vec<(String, String, i64, f64)>,
    pub forecast: ForecastView,
}

/// The sales part of a person's "today".
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SalesToday {
    /// Tasks due in the next 7 days (after today).
    pub upcoming: Vec<TaskRow>,
    /// The consultant's open leads whose follow-up is overdue.
    pub overdue_leads: Vec<LeadView>,
    /// Defeat requests waiting for this manager.
    pub defeats_pending: Vec<DefeatRow>,
    /// Daily reports waiting for this manager's sign-off.
    pub reports_to_sign: Vec<DailyReportRow>,
    /// Whether the consultant submitted today's report.
    pub report_submitted: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct SalesJobReport {
    /// Escalation tasks created for managers.
    pub escalated: u64,
    /// Leads returned to the store pool.
    pub pooled: u64,
    /// Stores whose close rates were computed again.
    pub rates_refreshed: u64,
    /// Rows of the funnel facts rebuilt for the days before today.
    pub funnel_facts: u64,
}

/// How far back the forecast's close rates look, and the forecast horizon.
pub const FORECAST_HORIZON_DAYS: i64 = 30;
pub const RATE_HISTORY_DAYS: i64 = 365;

impl Services {
    // ---- settings ---------------------------------------------------------------------------

    /// The store's sales settings (DOMAIN.md defaults for whatever it did not set).
    pub async fn sales_settings(&self, store_id: Id) -> Result<SalesSettings> {
        let store = self.db.store(store_id).await?;
        Ok(parse_sales_settings(&store.settings))
    }

    pub async fn sales_settings_form(
        &self,
        actor: &Actor,
        store_id: Id,
    ) -> Result<SalesSettingsForm> {
        self.check_store_access(actor, store_id).await?;
        Ok(SalesSettingsForm::of(&self.sales_settings(store_id).await?))
    }

    /// Changes the store's sales settings (sales manager, general manager, administrator);
    /// other parts of the store's settings document are kept.
    pub async fn update_sales_settings(
        &self,
        actor: &Actor,
        store_id: Id,
        form: &SalesSettingsForm,
    ) -> Result<SalesSettingsForm> {
        require_manager(actor, "change store settings")?;
        self.check_store_access(actor, store_id).await?;
        let store = self.db.store(store_id).await?;
        let new = form.apply(parse_sales_settings(&store.settings));
        let errors = new.validate();
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }
        let mut doc: serde_json::Value =
            serde_json::from_str(&store.settings).unwrap_or_else(|_| serde_json::json!({}));
        if !doc.is_object() {
            doc = serde_json::json!({});
        }
        doc["sales"] =
            serde_json::to_value(new).map_err(|e| ServiceError::Internal(e.to_string()))?;
        self.db
            .set_store_settings_json(store_id, &doc.to_string())
            .await?;
        self.db
            .audit(
                Some(actor.staff_id),
                "update",
                "store_settings",
                Some(store_id),
                &serde_json::to_string(&new).unwrap_or_default(),
                self.clock.now(),
            )
            .await?;
        Ok(SalesSettingsForm::of(&new))
    }

    /// What the sales forms pick from: the models of the store's brand and its consultants.
    pub async fn sales_pickers(
        &self,
        actor: &Actor,
        store_id: Option<Id>,
    ) -> Result<(Vec<dealerbase_store::VehicleModel>, Vec<(Id, String)>)> {
        let Some(store_id) = store_id.or(actor.store_id) else {
            return Ok((self.db.vehicle_models().await?, Vec::new()));
        };
        let store = self.db.store(store_id).await?;
        Ok((
            self.db.models_of_brand(store.brand_id).await?,
            self.db.store_consultants(store_id).await?,
        ))
    }

    // ---- helpers ----------------------------------------------------------------------------

    /// The store a seller works in (group roles must name one).
    async fn selling_store(&self, actor: &Actor, store_id: Option<Id>) -> Result<Id> {
        let Some(store_id) = store_id.or(actor.store_id) else {
            return Err(invalid("store_id", "", Rule::Required));
        };
        self.check_store_access(actor, store_id).await?;
        Ok(store_id)
    }

    async fn check_model(&self, field: &str, model_id: Id) -> Result<()> {
        self.db
            .vehicle_model(model_id)
            .await
            .map(|_| ())
            .map_err(|_| {
                invalid(
                    field,
                    model_id.to_string(),
                    Rule::OneOf {
                        allowed: vec!["a model of the catalogue".into()],
                    },
                )
            })
    }

    async fn check_store_staff(&self, field: &str, staff_id: Id, store_id: Id) -> Result<Id> {
        match self.db.staff(staff_id).await {
            Ok(s) if s.store_id == Some(store_id) && s.active => Ok(s.id),
            _ => Err(invalid(
                field,
                staff_id.to_string(),
                Rule::OneOf {
                    allowed: vec!["an active staff member of the store".into()],
                },
            )),
        }
    }

    /// A lead the actor may work on: in scope, and the actor sells.
    async fn workable_lead(&self, actor: &Actor, id: Id) -> Result<Lead> {
        require_seller(actor)?;
        let lead = self.db.lead(&actor.scope(), id).await?;
        self.check_store_access(actor, lead.fields.store_id).await?;
        Ok(lead)
    }

    fn follow_up_task(
        &self,
        owner: Option<Id>,
        due_on: NaiveDate,
        note: Option<String>,
    ) -> TaskWrite {
        TaskWrite {
            kind: TaskKind::LeadFollowUp.code().into(),
            assignee_id: owner,
            role: Some(Role::SalesConsultant.code().into()),
            due_on,
            note,
            vehicle_id: None,
            dedupe_key: None,
        }
    }

    fn masked_lead(mut v: LeadView) -> LeadView {
        v.mobile = v.mobile.as_deref().map(mask_mobile);
        v
    }

    // ---- showroom traffic -------------------------------------------------------------------

    /// Logs a walk-in or a call. With a grade, name, mobile and model, the visitor is
    /// registered as a lead in the same transaction (an existing customer of the store with
    /// that mobile is reused; if they have an open lead already, this is its repeat visit).
    pub async fn log_visit(&self, actor: &Actor, input: &VisitInput) -> Result<VisitOutcome> {
        require_seller(actor)?;
        let store_id = self.selling_store(actor, input.store_id).await?;
        let today = self.clock.today();
        let now = self.clock.now();
        let mut c = Checker::default();
        let channel = c
            .code("channel", &input.channel, None, ShowroomChannel::parse)
            .unwrap_or(ShowroomChannel::WalkIn);
        let default_source = match channel {
            ShowroomChannel::WalkIn => LeadSource::WalkIn,
            ShowroomChannel::PhoneIn => LeadSource::PhoneIn,
        };
        let source = c
            .code("source", &input.source, None, LeadSource::parse)
            .unwrap_or(default_source);
        let source_detail = c.text("source_detail", &input.source_detail, None, 50);
        let arrived_at = match nonblank(&input.arrived_at) {
            None => now,
            Some(s) => match rules::parse_china_time("arrived_at", &s, today) {
                Ok(t) => t,
                Err(e) => {
                    c.fail(e);
                    now
                }
            },
        };
        if arrived_at > now + Duration::minutes(5) {
            c.fail(ValidationError::new(
                "arrived_at",
                input.arrived_at.clone().unwrap_or_default(),
                Rule::DateFormat,
            ));
        }
        let left_at = match nonblank(&input.left_at) {
            None => None,
            Some(s) => match rules::parse_china_time("left_at", &s, today) {
                Ok(t) if t >= arrived_at => Some(t),
                Ok(_) => {
                    c.fail(ValidationError::new("left_at", s, Rule::DateFormat));
                    None
                }
                Err(e) => {
                    c.fail(e);
                    None
                }
            },
        };
        let party_size = c.range("party_size", input.party_size, 1, 20).unwrap_or(1);
        let visitor_name = c.text("visitor_name", &input.visitor_name, None, 60);
        let note = c.text("note", &input.note, None, 500);
        let mobile = match nonblank(&input.mobile) {
            None => None,
            Some(m) => match Mobile::parse(&m) {
                Ok(m) => Some(m.as_str().to_string()),
                Err(e) => {
                    c.fail(e);
                    None
                }
            },
        };
        let grade = c.code("grade", &input.grade, None, LeadGrade::parse);
        if grade == Some(LeadGrade::O) {
            c.fail(ValidationError::new(
                "grade",
                "O",
                Rule::OneOf {
                    allowed: vec!["H".into(), "A".into(), "B".into(), "C".into()],
                },
            ));
        }
        if grade.is_some() {
            if visitor_name.is_none() {
                c.fail(ValidationError::new("visitor_name", "", Rule::Required));
            }
            if mobile.is_none() && input.mobile.as_deref().is_none_or(|m| m.trim().is_empty()) {
                c.fail(ValidationError::new("mobile", "", Rule::Required));
            }
            if input.desired_model_id.is_none() {
                c.fail(ValidationError::new("desired_model_id", "", Rule::Required));
            }
        }
        c.finish()?;
        if let Some(m) = input.desired_model_id {
            self.check_model("desired_model_id", m).await?;
        }
        let consultant_id = match input.consultant_id {
            Some(s) => Some(self.check_store_staff("consultant_id", s, store_id).await?),
            None if actor.role == Role::SalesConsultant => Some(actor.staff_id),
            None => None,
        };
        let mut visit = NewVisit {
            store_id,
            channel: channel.code().into(),
            arrived_at,
            left_at,
            party_size,
            consultant_id,
            first_visit: input.first_visit.unwrap_or(true),
            source: source.code().into(),
            desired_model_id: input.desired_model_id,
            customer_id: None,
            lead_id: None,
            visitor_name: visitor_name.clone(),
            mobile: mobile.clone(),
            note: note.clone(),
        };
        // A repeat visit of a known lead: named, or found by the mobile.
        let mut known_lead = match input.lead_id {
            Some(l) => Some(self.workable_lead(actor, l).await?),
            None => None,
        };
        let mut known_customer = None;
        if known_lead.is_none()
            && let Some(m) = &mobile
            && let Some(cust) = self.db.customer_by_mobile_in_store(store_id, m).await?
        {
            known_customer = Some(cust);
            if let Some(id) = self.db.open_lead_of_customer(store_id, cust).await? {
                known_lead = Some(self.db.lead(&Scope::Store { store_id }, id).await?);
            }
        }
        if let Some(lead) = &known_lead {
            visit.first_visit = false;
            visit.customer_id = Some(lead.fields.customer_id);
            visit.lead_id = Some(lead.id);
            let id = self.db.create_visit(&visit).await?;
            self.db
                .mark_invitations_showed(lead.id, china_date(arrived_at), now)
                .await?;
            return Ok(VisitOutcome {
                visit: self.masked_visit(actor, id).await?,
                lead_id: Some(lead.id),
                lead_created: false,
            });
        }
        let Some(grade) = grade else {
            visit.customer_id = known_customer;
            let id = self.db.create_visit(&visit).await?;
            return Ok(VisitOutcome {
                visit: self.masked_visit(actor, id).await?,
                lead_id: None,
                lead_created: false,
            });
        };
        let settings = self.sales_settings(store_id).await?;
        let owner = consultant_id.or(Some(actor.staff_id));
        let contact_day = china_date(arrived_at);
        let next = settings.next_follow_up(grade, contact_day);
        let reg = LeadRegistration {
            customer_id: known_customer,
            new_customer: known_customer.is_none().then(|| NewLeadCustomer {
                name: visitor_name.clone().unwrap_or_default(),
                mobile: mobile.clone(),
                source: Some(source.code().into()),
                class: CustomerClass::Intent.code().into(),
                class_reason: "open_lead".into(),
            }),
            lead: LeadFields {
                store_id,
                customer_id: known_customer.unwrap_or(0),
                grade: grade.code().into(),
                source: source.code().into(),
                source_detail,
                desired_model_id: input.desired_model_id,
                status: LeadStatus::Open.code().into(),
                owner_id: owner,
                next_follow_up: Some(next),
            },
            contact: ContactWrite {
                staff_id: Some(actor.staff_id),
                channel: match channel {
                    ShowroomChannel::WalkIn => ContactChannel::Visit,
                    ShowroomChannel::PhoneIn => ContactChannel::Phone,
                }
                .code()
                .into(),
                direction: Direction::Inbound.code().into(),
                purpose: VisitPurpose::Develop.code().into(),
                occurred_at: arrived_at,
                outcome: ContactOutcome::Reached.code().into(),
                note,
                grade_before: None,
                grade_after: Some(grade.code().into()),
                next_date: Some(next),
            },
            task: self.follow_up_task(owner, next, None),
            new_visit: Some(visit),
            link_visit: None,
        };
        let (customer_id, lead_id, visit_id) = self.db.register_lead(&reg, now).await?;
        self.reclassify(customer_id).await?;
        self.db
            .audit(
                Some(actor.staff_id),
                "create",
                "lead",
                Some(lead_id),
                "showroom",
                now,
            )
            .await?;
        let visit_id =
            visit_id.ok_or_else(|| ServiceError::Internal("visit not written".into()))?;
        Ok(VisitOutcome {
            visit: self.masked_visit(actor, visit_id).await?,
            lead_id: Some(lead_id),
            lead_created: true,
        })
    }

    async fn masked_visit(&self, actor: &Actor, id: Id) -> Result<VisitRow> {
        let scope = match actor.scope() {
            Scope::Own { store_id, .. } => Scope::Store { store_id },
            s => s,
        };
        let mut v = self.db.visit(&scope, id).await?;
        v.mobile = v.mobile.as_deref().map(mask_mobile);
        Ok(v)
    }

    /// The visitor left: records the time (now).
    pub async fn visit_left(&self, actor: &Actor, id: Id) -> Result<VisitRow> {
        require_seller(actor)?;
        let v = self.masked_visit(actor, id).await?;
        self.check_store_access(actor, v.store_id).await?;
        self.db.set_visit_left(id, self.clock.now()).await?;
        self.masked_visit(actor, id).await
    }

    /// A day's traffic records of the actor's store (a consultant sees the whole store's
    /// log: the showroom is shared), newest first.
    pub async fn visits_of_day(
        &self,
        actor: &Actor,
        day: Option<NaiveDate>,
    ) -> Result<Vec<VisitRow>> {
        let day = day.unwrap_or(self.clock.today());
        let scope = match actor.scope() {
            Scope::Own { store_id, .. } => Scope::Store { store_id },
            s => s,
        };
        let mut rows = self
            .db
            .visits(
                &scope,
                rules::china_day_start(day),
                rules::china_day_start(day + Duration::days(1)),
                500,
            )
            .await?;
        for v in &mut rows {
            v.mobile = v.mobile.as_deref().map(mask_mobile);
        }
        Ok(rows)
    }

    /// Registers the visitor of an earlier traffic record as a lead.
    pub async fn visit_to_lead(
        &self,
        actor: &Actor,
        visit_id: Id,
        input: &LeadInput,
    ) -> Result<Lead> {
        let mut input = input.clone();
        input.visit_id = Some(visit_id);
        self.register_lead(actor, &input).await
    }

    /// Traffic statistics of a period: by hour, weekday, day, channel, source and
    /// consultant, with the registration rate.
    pub async fn traffic_stats(
        &self,
        actor: &Actor,
        q: &PeriodQuery,
        lang: Lang,
    ) -> Result<TrafficStats> {
        let (from, to) = self.period(q)?;
        let scope = match actor.scope() {
            Scope::Own { store_id, .. } => Scope::Store { store_id },
            s => s,
        };
        let facts = self
            .db
            .visit_facts(
                &scope,
                rules::china_day_start(from),
                rules::china_day_start(to + Duration::days(1)),
                q.store_id,
                500_000,
            )
            .await?;
        let mut by_hour = vec![0i64; 24];
        let mut by_weekday = vec![0i64; 7];
        let mut by_day: std::collections::BTreeMap<NaiveDate, i64> = Default::default();
        let mut d = from;
        while d <= to {
            by_day.insert(d, 0);
            d += Duration::days(1);
        }
        let mut groups: [HashMap<String, (i64, i64, i64)>; 3] = Default::default();
        let mut total = (0i64, 0i64, 0i64);
        for f in &facts {
            let local = rules::china_local(f.arrived_at);
            by_hour[local.hour() as usize] += 1;
            by_weekday[local.weekday().num_days_from_monday() as usize] += 1;
            *by_day.entry(local.date()).or_default() += 1;
            let add = |t: &mut (i64, i64, i64)| {
                t.0 += 1;
                if f.first_visit {
                    t.1 += 1;
                    if f.registered {
                        t.2 += 1;
                    }
                }
            };
            add(&mut total);
            add(groups[0].entry(f.channel.clone()).or_default());
            add(groups[1].entry(f.source.clone()).or_default());
            add(groups[2]
                .entry(f.consultant_id.map(|i| i.to_string()).unwrap_or_default())
                .or_default());
        }
        let names = self
            .staff_names(
                &facts
                    .iter()
                    .filter_map(|f| f.consultant_id)
                    .collect::<Vec<_>>(),
            )
            .await?;
        let row = |key: String, label: String, t: (i64, i64, i64)| StatRow {
            key,
            label,
            visits: t.0,
            first_visits: t.1,
            registered: t.2,
            registration_rate: rules::ratio(t.2, t.1),
        };
        let rows = |g: &HashMap<String, (i64, i64, i64)>, label: &dyn Fn(&str) -> String| {
            let mut v: Vec<StatRow> = g
                .iter()
                .map(|(k, t)| row(k.clone(), label(k), *t))
                .collect();
            v.sort_by(|a, b| b.visits.cmp(&a.visits).then(a.key.cmp(&b.key)));
            v
        };
        let no_one = match lang {
            Lang::Zh => "未分配",
            Lang::En => "unassigned",
        };
        Ok(TrafficStats {
            from,
            to,
            total: row(String::new(), String::new(), total),
            by_hour,
            by_weekday,
            by_day: by_day.into_iter().collect(),
            by_channel: rows(&groups[0], &|k| code_label::<ShowroomChannel>(k, lang)),
            by_source: rows(&groups[1], &|k| code_label::<LeadSource>(k, lang)),
            by_consultant: rows(&groups[2], &|k| {
                k.parse::<Id>()
                    .ok()
                    .and_then(|id| names.get(&id).cloned())
                    .unwrap_or_else(|| no_one.to_string())
            }),
        })
    }

    async fn staff_names(&self, ids: &[Id]) -> Result<HashMap<Id, String>> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut out = HashMap::new();
        for id in ids {
            if let Ok(s) = self.db.staff(id).await {
                out.insert(id, s.name);
            }
        }
        Ok(out)
    }

    /// The period of a query: [from, to] inclusive, default the last 30 days.
    fn period(&self, q: &PeriodQuery) -> Result<(NaiveDate, NaiveDate)> {
        let today = self.clock.today();
        let mut c = Checker::default();
        let to = c.date("to", &q.to, Some(today)).unwrap_or(today);
        let from = c
            .date("from", &q.from, Some(to - Duration::days(29)))
            .unwrap_or(to - Duration::days(29));
        if from > to {
            c.fail(ValidationError::new(
                "from",
                from.to_string(),
                Rule::DateFormat,
            ));
        }
        if (to - from).num_days() > 3 * 366 {
            c.fail(ValidationError::new(
                "from",
                from.to_string(),
                Rule::OutOfRange {
                    min: 1,
                    max: 3 * 366,
                },
            ));
        }
        c.finish()?;
        Ok((from, to))
    }

    // ---- leads --------------------------------------------------------------------------------

    /// Registers a lead from a traffic record, a call, an import or by hand: for an existing
    /// customer, or a new one (name and mobile). The grade (H, A, B, C; O comes with an
    /// order) is recorded as the first contact, and the first follow-up is due at the
    /// store's cadence.
    pub async fn register_lead(&self, actor: &Actor, input: &LeadInput) -> Result<Lead> {
        require_seller(actor)?;
        let mut c = Checker::default();
        let grade = c.code("grade", &input.grade, None, LeadGrade::parse);
        if input.grade.as_deref().is_none_or(|g| g.trim().is_empty()) {
            c.fail(ValidationError::new("grade", "", Rule::Required));
        }
        if grade == Some(LeadGrade::O) {
            c.fail(ValidationError::new(
                "grade",
                "O",
                Rule::OneOf {
                    allowed: vec!["H".into(), "A".into(), "B".into(), "C".into()],
                },
            ));
        }
        let source = c.code("source", &input.source, None, LeadSource::parse);
        if input.source.as_deref().is_none_or(|g| g.trim().is_empty()) && input.visit_id.is_none() {
            c.fail(ValidationError::new("source", "", Rule::Required));
        }
        let source_detail = c.text("source_detail", &input.source_detail, None, 50);
        let channel = c.code("channel", &input.channel, None, ContactChannel::parse);
        let note = c.text("note", &input.note, None, 500);
        let name = c.text("name", &input.name, None, 60);
        let mobile = match nonblank(&input.mobile) {
            None => None,
            Some(m) => match Mobile::parse(&m) {
                Ok(m) => Some(m.as_str().to_string()),
                Err(e) => {
                    c.fail(e);
                    None
                }
            },
        };
        if input.customer_id.is_none() {
            if name.is_none() {
                c.fail(ValidationError::new("name", "", Rule::Required));
            }
            if mobile.is_none() && input.mobile.as_deref().is_none_or(|m| m.trim().is_empty()) {
                c.fail(ValidationError::new("mobile", "", Rule::Required));
            }
        }
        c.finish()?;
        let Some(grade) = grade else {
            return Err(ServiceError::Internal(
                "validated lead without grade".into(),
            ));
        };
        let visit = match input.visit_id {
            Some(v) => {
                let v = self.masked_visit(actor, v).await?;
                if v.lead_id.is_some() {
                    return Err(wrong_state(
                        "visit_id",
                        &v.id.to_string(),
                        &["a traffic record without a lead"],
                    ));
                }
                Some(v)
            }
            None => None,
        };
        let source = source
            .or_else(|| {
                visit
                    .as_ref()
                    .and_then(|v| LeadSource::parse("source", &v.source).ok())
            })
            .unwrap_or(LeadSource::WalkIn);
        let (store_id, customer_id) = match input.customer_id {
            Some(id) => {
                let cust = self.db.customer(&actor.scope(), id).await?;
                (cust.fields.store_id, Some(cust.id))
            }
            None => {
                let store = visit.as_ref().map(|v| v.store_id).or(actor.store_id);
                let store = self.selling_store(actor, store).await?;
                let existing = match &mobile {
                    Some(m) => self.db.customer_by_mobile_in_store(store, m).await?,
                    None => None,
                };
                (store, existing)
            }
        };
        self.check_store_access(actor, store_id).await?;
        let owner_id = match input.owner_id {
            Some(o) => Some(self.check_store_staff("owner_id", o, store_id).await?),
            None if actor.role == Role::SalesConsultant => Some(actor.staff_id),
            None => match customer_id {
                Some(cid) => self.db.customer_unscoped(cid).await?.consultant_id,
                None => visit.as_ref().and_then(|v| v.consultant_id),
            },
        };
        let desired_model_id = input
            .desired_model_id
            .or(visit.as_ref().and_then(|v| v.desired_model_id));
        if let Some(m) = desired_model_id {
            self.check_model("desired_model_id", m).await?;
        }
        let now = self.clock.now();
        let contact_at = visit.as_ref().map(|v| v.arrived_at).unwrap_or(now);
        let contact_day = china_date(contact_at);
        let settings = self.sales_settings(store_id).await?;
        let next = settings.next_follow_up(grade, contact_day);
        let channel = channel.unwrap_or(match (&visit, source) {
            (Some(v), _) if v.channel == "phone_in" => ContactChannel::Phone,
            (Some(_), _) | (None, LeadSource::WalkIn) => ContactChannel::Visit,
            _ => ContactChannel::Phone,
        });
        let reg = LeadRegistration {
            customer_id,
            new_customer: customer_id.is_none().then(|| NewLeadCustomer {
                name: name.clone().unwrap_or_default(),
                mobile: mobile.clone(),
                source: Some(source.code().into()),
                class: CustomerClass::Intent.code().into(),
                class_reason: "open_lead".into(),
            }),
            lead: LeadFields {
                store_id,
                customer_id: customer_id.unwrap_or(0),
                grade: grade.code().into(),
                source: source.code().into(),
                source_detail,
                desired_model_id,
                status: LeadStatus::Open.code().into(),
                owner_id,
                next_follow_up: Some(next),
            },
            contact: ContactWrite {
                staff_id: Some(actor.staff_id),
                channel: channel.code().into(),
                direction: Direction::Inbound.code().into(),
                purpose: VisitPurpose::Develop.code().into(),
                occurred_at: contact_at,
                outcome: ContactOutcome::Reached.code().into(),
                note,
                grade_before: None,
                grade_after: Some(grade.code().into()),
                next_date: Some(next),
            },
            task: self.follow_up_task(owner_id, next, None),
            new_visit: None,
            link_visit: visit.as_ref().map(|v| v.id),
        };
        let (customer_id, lead_id, _) = self.db.register_lead(&reg, now).await?;
        self.reclassify(customer_id).await?;
        self.db
            .audit(
                Some(actor.staff_id),
                "create",
                "lead",
                Some(lead_id),
                "",
                now,
            )
            .await?;
        Ok(self.db.lead(&Scope::Store { store_id }, lead_id).await?)
    }

    /// Leads with names and masked mobiles; `pool` lists the store pool.
    pub async fn lead_list(&self, actor: &Actor, q: &LeadListQuery) -> Result<Page<LeadView>> {
        let f = LeadViewFilter {
            status: nonblank(&q.status).filter(|s| LeadStatus::parse("", s).is_ok()),
            grade: nonblank(&q.grade).filter(|s| LeadGrade::parse("", s).is_ok()),
            source: nonblank(&q.source).filter(|s| LeadSource::parse("", s).is_ok()),
            owner_id: q.owner_id,
            pool: q.pool.unwrap_or(false),
            overdue_before: q.overdue.unwrap_or(false).then(|| self.clock.today()),
            page: q.page.unwrap_or(1),
            per_page: q.per_page.unwrap_or(30),
        };
        let mut page = self.db.lead_views(&actor.scope(), &f).await?;
        page.items = page.items.into_iter().map(Self::masked_lead).collect();
        Ok(page)
    }

    /// Everything about one lead: in scope, or in the pool of the actor's store.
    pub async fn lead_detail(&self, actor: &Actor, id: Id) -> Result<LeadDetail> {
        let view = match self.db.lead_view(&actor.scope(), id).await {
            Ok(v) => v,
            Err(dealerbase_store::StoreError::NotFound { .. }) if actor.store_id.is_some() => {
                self.db
                    .pooled_lead_view(actor.store_id.unwrap_or(0), id)
                    .await?
            }
            Err(e) => return Err(e.into()),
        };
        let contacts = self.db.lead_contacts(id).await?;
        let grade_history = contacts
            .iter()
            .filter(|c| c.grade_after.is_some() && c.grade_after != c.grade_before)
            .cloned()
            .collect();
        let today = self.clock.today();
        let overdue_days = match (view.next_follow_up, LeadStatus::parse("", &view.status)) {
            (Some(d), Ok(LeadStatus::Open | LeadStatus::Ordered)) if d < today => {
                (today - d).num_days()
            }
            _ => 0,
        };
        Ok(LeadDetail {
            lead: Self::masked_lead(view),
            grade_history,
            contacts,
            assignments: self.db.lead_assignments(id).await?,
            test_drives: self.db.lead_test_drive_rows(id).await?,
            invitations: self.db.lead_invitations(id).await?,
            orders: self.db.lead_orders(id).await?,
            defeats: self.db.lead_defeat_rows(id).await?,
            tasks: self.db.lead_tasks(id).await?,
            overdue_days,
        })
    }

    /// Records a contact: its outcome and the grade it leaves the lead at (the only way a
    /// grade changes), closes the open follow-ups and schedules the next at the cadence.
    pub async fn record_contact(
        &self,
        actor: &Actor,
        lead_id: Id,
        input: &ContactInput,
    ) -> Result<LeadDetail> {
        let lead = self.workable_lead(actor, lead_id).await?;
        let status =
            LeadStatus::parse("status", &lead.fields.status).map_err(ServiceError::invalid)?;
        if !matches!(status, LeadStatus::Open | LeadStatus::Ordered) {
            return Err(wrong_state(
                "status",
                &lead.fields.status,
                &["open", "ordered"],
            ));
        }
        let before =
            LeadGrade::parse("grade", &lead.fields.grade).map_err(ServiceError::invalid)?;
        let today = self.clock.today();
        let mut c = Checker::default();
        let channel = c
            .code("channel", &input.channel, None, ContactChannel::parse)
            .unwrap_or(ContactChannel::Phone);
        let direction = c
            .code("direction", &input.direction, None, Direction::parse)
            .unwrap_or(Direction::Outbound);
        let outcome = c
            .code("outcome", &input.outcome, None, ContactOutcome::parse)
            .unwrap_or(ContactOutcome::Reached);
        let grade = c.code("grade", &input.grade, None, LeadGrade::parse);
        if input.grade.as_deref().is_none_or(|g| g.trim().is_empty()) {
            c.fail(ValidationError::new("grade", "", Rule::Required));
        }
        // O means ordered: an ordered lead stays O, and an open lead becomes O only by an order.
        if let Some(g) = grade {
            let ok = if status == LeadStatus::Ordered {
                g == LeadGrade::O
            } else {
                g != LeadGrade::O
            };
            if !ok {
                let allowed: Vec<String> = if status == LeadStatus::Ordered {
                    vec!["O".into()]
                } else {
                    vec!["H".into(), "A".into(), "B".into(), "C".into()]
                };
                c.fail(ValidationError::new(
                    "grade",
                    g.code(),
                    Rule::OneOf { allowed },
                ));
            }
        }
        let note = c.text("note", &input.note, None, 500);
        let asked_next = c.date("next_follow_up", &input.next_follow_up, None);
        c.finish()?;
        let Some(grade) = grade else {
            return Err(ServiceError::Internal(
                "validated contact without grade".into(),
            ));
        };
        let settings = self.sales_settings(lead.fields.store_id).await?;
        let latest = settings.next_follow_up(grade, today);
        let next = match asked_next {
            None => latest,
            Some(d) if d > today && d <= latest => d,
            Some(d) => {
                return Err(invalid(
                    "next_follow_up",
                    d.to_string(),
                    Rule::OneOf {
                        allowed: vec![format!("{} – {}", today + Duration::days(1), latest)],
                    },
                ));
            }
        };
        let now = self.clock.now();
        let contact = ContactWrite {
            staff_id: Some(actor.staff_id),
            channel: channel.code().into(),
            direction: direction.code().into(),
            purpose: VisitPurpose::Promote.code().into(),
            occurred_at: now,
            outcome: outcome.code().into(),
            note,
            grade_before: Some(before.code().into()),
            grade_after: Some(grade.code().into()),
            next_date: Some(next),
        };
        let task = self.follow_up_task(lead.fields.owner_id, next, None);
        self.db
            .record_lead_contact(&lead, &contact, &task, now)
            .await?;
        if channel == ContactChannel::Visit || outcome == ContactOutcome::Visited {
            self.db.mark_invitations_showed(lead_id, today, now).await?;
        }
        self.lead_detail(actor, lead_id).await
    }

    /// Hands a lead to another consultant of the store, or back to the pool (managers).
    pub async fn assign_lead(
        &self,
        actor: &Actor,
        lead_id: Id,
        input: &AssignInput,
    ) -> Result<LeadDetail> {
        require_manager(actor, "reassign leads")?;
        let lead = self.workable_lead(actor, lead_id).await?;
        let status =
            LeadStatus::parse("status", &lead.fields.status).map_err(ServiceError::invalid)?;
        if !status.is_open() {
            return Err(wrong_state(
                "status",
                &lead.fields.status,
                &["open", "ordered", "defeat_pending"],
            ));
        }
        let mut c = Checker::default();
        let reason = c.text("reason", &input.reason, None, 200);
        c.finish()?;
        let to = match input.to_staff_id {
            Some(s) => {
                let s = self
                    .check_store_staff("to_staff_id", s, lead.fields.store_id)
                    .await?;
                if self.db.staff(s).await?.role != Role::SalesConsultant.code() {
                    return Err(invalid(
                        "to_staff_id",
                        s.to_string(),
                        Rule::OneOf {
                            allowed: vec!["a sales consultant of the store".into()],
                        },
                    ));
                }
                Some(s)
            }
            None => None,
        };
        if to == lead.fields.owner_id {
            return Err(invalid(
                "to_staff_id",
                format!("{to:?}"),
                Rule::OneOf {
                    allowed: vec!["another consultant".into()],
                },
            ));
        }
        if to.is_none() && status != LeadStatus::Open {
            return Err(wrong_state("status", &lead.fields.status, &["open"]));
        }
        let now = self.clock.now();
        let reason = reason.unwrap_or_else(|| {
            if to.is_some() {
                "reassigned".into()
            } else {
                "to_pool".into()
            }
        });
        let new_task = match (lead.fields.owner_id, to) {
            (None, Some(_)) => Some(self.follow_up_task(to, self.clock.today(), None)),
            _ => None,
        };
        self.db
            .reassign_lead(
                lead_id,
                lead.fields.owner_id,
                to,
                Some(actor.staff_id),
                &reason,
                new_task.as_ref(),
                now,
            )
            .await?;
        self.db
            .audit(
                Some(actor.staff_id),
                "assign",
                "lead",
                Some(lead_id),
                &format!("{:?} -> {:?}", lead.fields.owner_id, to),
                now,
            )
            .await?;
        self.lead_detail(actor, lead_id).await
    }

    /// A consultant takes a lead from the store pool; the first follow-up is due today.
    pub async fn claim_lead(&self, actor: &Actor, lead_id: Id) -> Result<LeadDetail> {
        if actor.role != Role::SalesConsultant {
            return Err(ServiceError::Forbidden("claim leads from the pool"));
        }
        let store_id = actor.store_id.unwrap_or(0);
        self.db.pooled_lead_view(store_id, lead_id).await?;
        let now = self.clock.now();
        let task = self.follow_up_task(Some(actor.staff_id), self.clock.today(), None);
        self.db
            .reassign_lead(
                lead_id,
                None,
                Some(actor.staff_id),
                Some(actor.staff_id),
                "claimed",
                Some(&task),
                now,
            )
            .await
            .map_err(|e| match e {
                dealerbase_store::StoreError::Conflict { .. } => {
                    wrong_state("owner_id", "taken", &["in the pool"])
                }
                e => e.into(),
            })?;
        self.lead_detail(actor, lead_id).await
    }

    // ---- test drives and invitations --------------------------------------------------------------

    pub async fn book_test_drive(
        &self,
        actor: &Actor,
        lead_id: Id,
        input: &TestDriveInput,
    ) -> Result<TestDriveRow> {
        let lead = self.workable_lead(actor, lead_id).await?;
        if !LeadStatus::parse("status", &lead.fields.status)
            .map_err(ServiceError::invalid)?
            .is_open()
        {
            return Err(wrong_state(
                "status",
                &lead.fields.status,
                &["open", "ordered"],
            ));
        }
        let Some(model) = input.model_id.or(lead.fields.desired_model_id) else {
            return Err(invalid("model_id", "", Rule::Required));
        };
        self.check_model("model_id", model).await?;
        let at = match nonblank(&input.at) {
            None => self.clock.now(),
            Some(s) => rules::parse_china_time("at", &s, self.clock.today())
                .map_err(ServiceError::invalid)?,
        };
        let id = self
            .db
            .book_test_drive(lead_id, model, Some(actor.staff_id), at)
            .await?;
        Ok(self.db.test_drive(id).await?)
    }

    /// Marks a booked test drive done (now) or cancelled.
    pub async fn finish_test_drive(
        &self,
        actor: &Actor,
        id: Id,
        done: bool,
    ) -> Result<TestDriveRow> {
        let td = self.db.test_drive(id).await?;
        self.workable_lead(actor, td.lead_id).await?;
        if td.status != TestDriveStatus::Booked.code() {
            return Err(wrong_state("status", &td.status, &["booked"]));
        }
        let (status, at) = if done {
            (TestDriveStatus::Done, Some(self.clock.now()))
        } else {
            (TestDriveStatus::Cancelled, None)
        };
        self.db.finish_test_drive(id, status.code(), at).await?;
        Ok(self.db.test_drive(id).await?)
    }

    pub async fn invite(
        &self,
        actor: &Actor,
        lead_id: Id,
        input: &InvitationInput,
    ) -> Result<InvitationRow> {
        let lead = self.workable_lead(actor, lead_id).await?;
        if !LeadStatus::parse("status", &lead.fields.status)
            .map_err(ServiceError::invalid)?
            .is_open()
        {
            return Err(wrong_state(
                "status",
                &lead.fields.status,
                &["open", "ordered"],
            ));
        }
        let mut c = Checker::default();
        let day = c.date("appointment_on", &input.appointment_on, None);
        if input
            .appointment_on
            .as_deref()
            .is_none_or(|d| d.trim().is_empty())
        {
            c.fail(ValidationError::new("appointment_on", "", Rule::Required));
        }
        let today = self.clock.today();
        if let Some(d) = day
            && (d < today || d > today + Duration::days(90))
        {
            c.fail(ValidationError::new(
                "appointment_on",
                d.to_string(),
                Rule::OneOf {
                    allowed: vec![format!("{today} – {}", today + Duration::days(90))],
                },
            ));
        }
        c.finish()?;
        let Some(day) = day else {
            return Err(ServiceError::Internal(
                "validated invitation without day".into(),
            ));
        };
        let id = self
            .db
            .create_invitation(
                lead.fields.store_id,
                lead_id,
                Some(actor.staff_id),
                day,
                self.clock.now(),
            )
            .await?;
        Ok(self.db.invitation(id).await?)
    }

    /// Whether the invited lead came.
    pub async fn invitation_outcome(
        &self,
        actor: &Actor,
        id: Id,
        showed: bool,
    ) -> Result<InvitationRow> {
        let inv = self.db.invitation(id).await?;
        self.workable_lead(actor, inv.lead_id).await?;
        if inv.status != InvitationStatus::Invited.code() {
            return Err(wrong_state("status", &inv.status, &["invited"]));
        }
        let (status, at) = if showed {
            (InvitationStatus::Showed, Some(self.clock.now()))
        } else {
            (InvitationStatus::NoShow, None)
        };
        self.db.set_invitation_status(id, status.code(), at).await?;
        Ok(self.db.invitation(id).await?)
    }

    // ---- orders and delivery ------------------------------------------------------------------------

    /// Takes an order: the lead becomes O (through a contact, like every grade change).
    pub async fn take_order(
        &self,
        actor: &Actor,
        lead_id: Id,
        input: &OrderInput,
    ) -> Result<SalesOrder> {
        let lead = self.workable_lead(actor, lead_id).await?;
        if lead.fields.status != LeadStatus::Open.code() {
            return Err(wrong_state("status", &lead.fields.status, &["open"]));
        }
        let today = self.clock.today();
        let mut c = Checker::default();
        let kind = c
            .code("kind", &input.kind, None, SalesOrderKind::parse)
            .unwrap_or(SalesOrderKind::New);
        let expected = c.date("expected_delivery", &input.expected_delivery, None);
        if let Some(d) = expected
            && d < today
        {
            c.fail(ValidationError::new(
                "expected_delivery",
                d.to_string(),
                Rule::OneOf {
                    allowed: vec![format!("{today} or later")],
                },
            ));
        }
        let deposit = c.range("deposit_fen", input.deposit_fen, 0, 10_000_000_000);
        if input.deposit_fen.is_none() {
            c.fail(ValidationError::new("deposit_fen", "", Rule::Required));
        }
        let price = c.range("price_fen", input.price_fen, 1, 10_000_000_000);
        let model_id = input.model_id.or(lead.fields.desired_model_id);
        if model_id.is_none() {
            c.fail(ValidationError::new("model_id", "", Rule::Required));
        }
        c.finish()?;
        let Some(model_id) = model_id else {
            return Err(ServiceError::Internal(
                "validated order without model".into(),
            ));
        };
        let model = self.db.vehicle_model(model_id).await.map_err(|_| {
            invalid(
                "model_id",
                model_id.to_string(),
                Rule::OneOf {
                    allowed: vec!["a model of the catalogue".into()],
                },
            )
        })?;
        let store = self.db.store(lead.fields.store_id).await?;
        if self.db.brand_of_model(model_id).await? != store.brand_id {
            return Err(invalid(
                "model_id",
                model_id.to_string(),
                Rule::OneOf {
                    allowed: vec!["a model of the store's brand".into()],
                },
            ));
        }
        let price = price.unwrap_or(model.price_fen);
        if price <= 0 {
            return Err(invalid("price_fen", price.to_string(), Rule::Required));
        }
        let deposit = deposit.unwrap_or(0);
        if deposit > price {
            return Err(invalid(
                "deposit_fen",
                deposit.to_string(),
                Rule::OutOfRange { min: 0, max: price },
            ));
        }
        let settings = self.sales_settings(lead.fields.store_id).await?;
        let next = settings.next_follow_up(LeadGrade::O, today);
        let now = self.clock.now();
        let order = NewOrder {
            store_id: lead.fields.store_id,
            customer_id: lead.fields.customer_id,
            lead_id,
            model_id,
            consultant_id: lead.fields.owner_id.or(Some(actor.staff_id)),
            kind: kind.code().into(),
            ordered_on: today,
            deposit_fen: deposit,
            price_fen: price,
            expected_delivery: expected,
        };
        let contact = ContactWrite {
            staff_id: Some(actor.staff_id),
            channel: ContactChannel::Visit.code().into(),
            direction: Direction::Inbound.code().into(),
            purpose: VisitPurpose::Promote.code().into(),
            occurred_at: now,
            outcome: ContactOutcome::Reached.code().into(),
            note: Some(match kind {
                SalesOrderKind::New => "订车".into(),
                k => format!("订车（{}）", k.label(Lang::Zh)),
            }),
            grade_before: Some(lead.fields.grade.clone()),
            grade_after: Some(LeadGrade::O.code().into()),
            next_date: Some(next),
        };
        let task = self.follow_up_task(lead.fields.owner_id, next, None);
        let id = self
            .db
            .take_order(&lead, &order, &contact, &task, now)
            .await?;
        self.db
            .audit(
                Some(actor.staff_id),
                "create",
                "sales_order",
                Some(id),
                "",
                now,
            )
            .await?;
        Ok(self.db.sales_order(id).await?)
    }

    /// Delivers an order: the car (VIN checked) is registered with the customer as sold
    /// here, the lead closes as delivered, the customer becomes an own-sold owner, and the
    /// post-delivery calls are scheduled (D+3 consultant, D+7 manager, D+30 care team by
    /// default).
    pub async fn deliver(
        &self,
        actor: &Actor,
        order_id: Id,
        input: &DeliveryInput,
    ) -> Result<DeliveryOutcome> {
        require_seller(actor)?;
        let order = self.db.sales_order(order_id).await?;
        // Out of scope is "not found", like an order that does not exist.
        match order.lead_id {
            Some(l) => {
                self.workable_lead(actor, l).await.map_err(|e| match e {
                    ServiceError::NotFound { .. } => ServiceError::NotFound {
                        entity: "sales order",
                        id: order_id.to_string(),
                    },
                    e => e,
                })?;
            }
            None => {
                self.db
                    .customer(&actor.scope(), order.customer_id)
                    .await
                    .map_err(|_| ServiceError::NotFound {
                        entity: "sales order",
                        id: order_id.to_string(),
                    })?;
                self.check_store_access(actor, order.store_id).await?;
            }
        }
        if order.status != SalesOrderStatus::Open.code() {
            return Err(wrong_state("status", &order.status, &["open"]));
        }
        let today = self.clock.today();
        let mut c = Checker::default();
        let vin = match nonblank(&input.vin) {
            None => {
                c.fail(ValidationError::new("vin", "", Rule::Required));
                None
            }
            Some(v) => match Vin::parse(&v) {
                Ok(v) => Some(v.as_str().to_string()),
                Err(e) => {
                    c.fail(e);
                    None
                }
            },
        };
        let plate = match nonblank(&input.plate) {
            None => None,
            Some(p) => match dealerbase_domain::Plate::parse_optional(&p) {
                Ok(p) => p.map(|p| p.as_str().to_string()),
                Err(e) => {
                    c.fail(e);
                    None
                }
            },
        };
        let colour = c.text("colour", &input.colour, None, 20);
        let delivered_on = c
            .date("delivered_on", &input.delivered_on, Some(today))
            .unwrap_or(today);
        if delivered_on > today || delivered_on < order.ordered_on {
            c.fail(ValidationError::new(
                "delivered_on",
                delivered_on.to_string(),
                Rule::OneOf {
                    allowed: vec![format!("{} – {today}", order.ordered_on)],
                },
            ));
        }
        c.finish()?;
        let Some(vin) = vin else {
            return Err(ServiceError::Internal(
                "validated delivery without VIN".into(),
            ));
        };
        let model = self.db.vehicle_model(order.model_id).await?;
        let settings = self.sales_settings(order.store_id).await?;
        let mut calls = Vec::new();
        for (role, due) in settings.delivery_follow_ups(delivered_on) {
            let assignee = match role {
                Role::SalesConsultant => order.consultant_id,
                Role::SalesManager => self.store_manager(order.store_id).await?,
                _ => self
                    .db
                    .staff_with_role(order.store_id, role.code())
                    .await?
                    .first()
                    .copied(),
            };
            calls.push(TaskWrite {
                kind: TaskKind::DeliveryFollowUp.code().into(),
                assignee_id: assignee,
                role: Some(role.code().into()),
                due_on: due,
                note: None,
                vehicle_id: None,
                dedupe_key: Some(format!("delivery:{}:{}", order.id, role.code())),
            });
        }
        let v = DeliveredVehicle {
            vin,
            model_id: order.model_id,
            colour,
            model_year: Some(delivered_on.year() as i64),
            plate,
            delivered_on,
            store_id: order.store_id,
            warranty_end_date: delivered_on
                .checked_add_months(Months::new(model.warranty_months as u32)),
            warranty_end_km: Some(model.warranty_km),
        };
        let now = self.clock.now();
        let vehicle_id = self.db.deliver_order(&order, &v, &calls, now).await?;
        self.reclassify(order.customer_id).await?;
        self.db
            .audit(
                Some(actor.staff_id),
                "deliver",
                "sales_order",
                Some(order.id),
                &v.vin,
                now,
            )
            .await?;
        Ok(DeliveryOutcome {
            order: self.db.sales_order(order_id).await?,
            vehicle_id,
            calls: calls
                .iter()
                .map(|t| (t.role.clone().unwrap_or_default(), t.due_on))
                .collect(),
        })
    }

    /// An order the actor may see (through its lead or its customer).
    pub async fn sales_order_for(&self, actor: &Actor, id: Id) -> Result<SalesOrder> {
        let order = self.db.sales_order(id).await?;
        let visible = match order.lead_id {
            Some(l) => self.db.lead(&actor.scope(), l).await.is_ok(),
            None => self
                .db
                .customer(&actor.scope(), order.customer_id)
                .await
                .is_ok(),
        };
        if visible {
            Ok(order)
        } else {
            Err(ServiceError::NotFound {
                entity: "sales order",
                id: id.to_string(),
            })
        }
    }

    /// The store's sales manager (else its general manager) who receives escalations and
    /// the D+7 call.
    async fn store_manager(&self, store_id: Id) -> Result<Option<Id>> {
        if let Some(m) = self
            .db
            .staff_with_role(store_id, Role::SalesManager.code())
            .await?
            .first()
        {
            return Ok(Some(*m));
        }
        Ok(self
            .db
            .staff_with_role(store_id, Role::GeneralManager.code())
            .await?
            .first()
            .copied())
    }

    // ---- defeat --------------------------------------------------------------------------------------

    /// A consultant asks to close the lead as defeated, with a reason from the taxonomy.
    pub async fn request_defeat(
        &self,
        actor: &Actor,
        lead_id: Id,
        input: &DefeatInput,
    ) -> Result<DefeatRow> {
        let lead = self.workable_lead(actor, lead_id).await?;
        if lead.fields.status != LeadStatus::Open.code() {
            return Err(wrong_state("status", &lead.fields.status, &["open"]));
        }
        let mut c = Checker::default();
        let reason = c.code("reason", &input.reason, None, DefeatReason::parse);
        if input.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
            c.fail(ValidationError::new("reason", "", Rule::Required));
        }
        let brand = c.text("competitor_brand", &input.competitor_brand, None, 40);
        let model = c.text("competitor_model", &input.competitor_model, None, 40);
        let note = c.text("note", &input.note, None, 500);
        if let Some(r) = reason {
            for e in
                rules::check_defeat_request(r, brand.as_deref(), model.as_deref(), note.as_deref())
            {
                c.fail(e);
            }
        }
        c.finish()?;
        let Some(reason) = reason else {
            return Err(ServiceError::Internal(
                "validated defeat without reason".into(),
            ));
        };
        let today = self.clock.today();
        let plan: Vec<(NaiveDate, Option<NaiveDate>)> = self
            .db
            .lead_follow_up_plan(lead_id)
            .await?
            .into_iter()
            .map(|(t, n)| (china_date(t), n))
            .collect();
        let subjective = rules::missed_follow_up(&plan, today);
        let keep_competitor = reason == DefeatReason::CompetitorBrand;
        let id = self
            .db
            .request_defeat(&NewDefeat {
                lead_id,
                requested_by: actor.staff_id,
                requested_at: self.clock.now(),
                reason: reason.code().into(),
                competitor_brand: brand.filter(|_| keep_competitor),
                competitor_model: model.filter(|_| keep_competitor),
                note,
                subjective,
            })
            .await?;
        Ok(self.db.defeat_row(&actor.scope(), id).await?)
    }

    /// The approval queue: pending defeat requests in the manager's scope.
    pub async fn defeat_queue(&self, actor: &Actor) -> Result<Vec<DefeatRow>> {
        require_manager(actor, "approve defeats")?;
        Ok(self
            .db
            .defeat_rows(&actor.scope(), DefeatStatus::Pending.code(), 200)
            .await?)
    }

    /// The manager approves (the lead closes, the customer becomes "defeated" unless
    /// something else classes them) or rejects with a comment (the lead is open again
    /// with a follow-up due today).
    pub async fn decide_defeat(
        &self,
        actor: &Actor,
        id: Id,
        input: &DefeatDecision,
    ) -> Result<DefeatRow> {
        require_manager(actor, "approve defeats")?;
        let d = self.db.defeat_row(&actor.scope(), id).await?;
        self.check_store_access(actor, d.store_id).await?;
        if d.status != DefeatStatus::Pending.code() {
            return Err(wrong_state("status", &d.status, &["pending"]));
        }
        let mut c = Checker::default();
        let comment = c.text("comment", &input.comment, None, 500);
        let Some(approve) = input.approve else {
            c.fail(ValidationError::new("approve", "", Rule::Required));
            return Err(c
                .finish()
                .err()
                .unwrap_or(ServiceError::Internal("no decision".into())));
        };
        if !approve && comment.is_none() {
            c.fail(ValidationError::new("comment", "", Rule::Required));
        }
        c.finish()?;
        let lead = self.db.lead(&actor.scope(), d.lead_id).await?;
        let follow_up = (!approve).then(|| {
            self.follow_up_task(
                lead.fields.owner_id,
                self.clock.today(),
                comment.clone().map(|c| format!("战败驳回：{c}")),
            )
        });
        let now = self.clock.now();
        self.db
            .decide_defeat(
                &d,
                approve,
                actor.staff_id,
                comment.as_deref(),
                follow_up.as_ref(),
                now,
            )
            .await?;
        self.reclassify(d.customer_id).await?;
        self.db
            .audit(
                Some(actor.staff_id),
                if approve { "approve" } else { "reject" },
                "defeat_request",
                Some(id),
                "",
                now,
            )
            .await?;
        Ok(self.db.defeat_row(&actor.scope(), id).await?)
    }

    // ---- daily report ------------------------------------------------------------------------------

    async fn report_figures(&self, staff_id: Id, day: NaiveDate) -> Result<ReportFigures> {
        let rows = self
            .db
            .staff_contacts_between(
                staff_id,
                rules::china_day_start(day),
                rules::china_day_start(day + Duration::days(1)),
            )
            .await?;
        let contacts: Vec<rules::DayContact> = rows
            .into_iter()
            .map(|(lead, purpose, before, after)| rules::DayContact {
                lead_id: lead,
                purpose: VisitPurpose::parse("", &purpose).ok(),
                grade_before: before.and_then(|g| LeadGrade::parse("", &g).ok()),
                grade_after: after.and_then(|g| LeadGrade::parse("", &g).ok()),
            })
            .collect();
        let mut open_by_grade = [0i64; 5];
        for (g, n) in self.db.open_leads_by_grade_of(staff_id).await? {
            if let Some(i) = LeadGrade::ALL.iter().position(|x| x.code() == g) {
                open_by_grade[i] = n;
            }
        }
        Ok(ReportFigures {
            day: rules::day_figures(&contacts),
            open_by_grade,
            due_tomorrow: self
                .db
                .follow_ups_due_on(staff_id, day + Duration::days(1))
                .await?
                .len() as i64,
        })
    }

    /// The actor's daily report for a day (default today): the figures built now and what
    /// was submitted.
    pub async fn daily_report_view(
        &self,
        actor: &Actor,
        day: Option<NaiveDate>,
    ) -> Result<DailyReportView> {
        require_seller(actor)?;
        let day = day.unwrap_or(self.clock.today());
        let submitted = self.db.daily_report_of(actor.staff_id, day).await?;
        Ok(DailyReportView {
            staff_id: actor.staff_id,
            date: day,
            current: self.report_figures(actor.staff_id, day).await?,
            submitted_figures: submitted
                .as_ref()
                .and_then(|r| serde_json::from_str(&r.figures).ok()),
            submitted,
        })
    }

    /// Submits the day's report (again, until the manager signed it): the figures are
    /// frozen as they are now, with tomorrow's plan.
    pub async fn submit_daily_report(
        &self,
        actor: &Actor,
        input: &DailyReportInput,
    ) -> Result<DailyReportRow> {
        if actor.role != Role::SalesConsultant {
            return Err(ServiceError::Forbidden("submit daily reports"));
        }
        let today = self.clock.today();
        let mut c = Checker::default();
        let day = c.date("date", &input.date, Some(today)).unwrap_or(today);
        if day > today || day < today - Duration::days(7) {
            c.fail(ValidationError::new(
                "date",
                day.to_string(),
                Rule::OneOf {
                    allowed: vec![format!("{} – {today}", today - Duration::days(7))],
                },
            ));
        }
        let plan = c.text("plan", &input.plan, None, 2000).unwrap_or_default();
        c.finish()?;
        let figures = self.report_figures(actor.staff_id, day).await?;
        let json =
            serde_json::to_string(&figures).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let store_id = actor
            .store_id
            .ok_or(ServiceError::Forbidden("submit daily reports"))?;
        let id = self
            .db
            .submit_daily_report(
                store_id,
                actor.staff_id,
                day,
                &json,
                &plan,
                self.clock.now(),
            )
            .await
            .map_err(|e| match e {
                dealerbase_store::StoreError::Conflict { .. } => {
                    wrong_state("date", &day.to_string(), &["a day not signed yet"])
                }
                e => e.into(),
            })?;
        Ok(self.db.daily_report(&actor.scope(), id).await?)
    }

    /// Daily reports in the actor's scope (a consultant: their own), newest first.
    pub async fn daily_reports(
        &self,
        actor: &Actor,
        unsigned: bool,
    ) -> Result<Vec<DailyReportRow>> {
        Ok(self.db.daily_reports(&actor.scope(), unsigned, 200).await?)
    }

    pub async fn daily_report(
        &self,
        actor: &Actor,
        id: Id,
    ) -> Result<(DailyReportRow, Option<ReportFigures>)> {
        let r = self.db.daily_report(&actor.scope(), id).await?;
        let f = serde_json::from_str(&r.figures).ok();
        Ok((r, f))
    }

    /// The manager signs a report, with a comment.
    pub async fn sign_daily_report(
        &self,
        actor: &Actor,
        id: Id,
        input: &SignInput,
    ) -> Result<DailyReportRow> {
        require_manager(actor, "sign daily reports")?;
        let r = self.db.daily_report(&actor.scope(), id).await?;
        self.check_store_access(actor, r.store_id).await?;
        let mut c = Checker::default();
        let comment = c.text("comment", &input.comment, None, 1000);
        c.finish()?;
        self.db
            .sign_daily_report(id, actor.staff_id, comment.as_deref(), self.clock.now())
            .await
            .map_err(|e| match e {
                dealerbase_store::StoreError::Conflict { .. } => {
                    wrong_state("signed_at", "signed", &["not signed yet"])
                }
                e => e.into(),
            })?;
        Ok(self.db.daily_report(&actor.scope(), id).await?)
    }

    // ---- analytics -----------------------------------------------------------------------------

    /// Funnel, rates, breakdown, defeat reasons and competitors, and the forecast, within
    /// the actor's scope and the query's filters.
    pub async fn sales_analytics(
        &self,
        actor: &Actor,
        q: &PeriodQuery,
        lang: Lang,
    ) -> Result<SalesAnalytics> {
        let (from, to) = self.period(q)?;
        let mut c = Checker::default();
        let by = match nonblank(&q.by).as_deref() {
            None => match actor.role.scope_level() {
                ScopeLevel::Group => SalesDimension::Store,
                _ => SalesDimension::Consultant,
            },
            Some("store") => SalesDimension::Store,
            Some("source") => SalesDimension::Source,
            Some("model") => SalesDimension::Model,
            Some("consultant") => SalesDimension::Consultant,
            Some(other) => {
                c.fail(ValidationError::new(
                    "by",
                    other,
                    Rule::OneOf {
                        allowed: vec![
                            "store".into(),
                            "source".into(),
                            "model".into(),
                            "consultant".into(),
                        ],
                    },
                ));
                SalesDimension::Store
            }
        };
        let source = c
            .code("source", &q.source, None, LeadSource::parse)
            .map(|s| s.code().to_string());
        c.finish()?;
        let filter = SalesFilter {
            from,
            until: to + Duration::days(1),
            store_id: q.store_id,
            source,
            model_id: q.model_id,
            consultant_id: q.consultant_id,
        };
        let scope = actor.scope();
        let keyed = self.db.sales_counts(&scope, &filter, by).await?;
        let labels = self.dimension_labels(by, &keyed, lang).await?;
        let mut total = SalesCounts::default();
        let mut rows: Vec<AnalyticsRow> = keyed
            .into_iter()
            .map(|(k, counts)| {
                total.add(&counts);
                AnalyticsRow {
                    label: labels.get(&k).cloned().unwrap_or_else(|| {
                        if k.is_empty() {
                            "–".into()
                        } else {
                            k.clone()
                        }
                    }),
                    key: k,
                    rates: rules::sales_rates(&counts),
                    counts,
                }
            })
            .collect();
        rows.sort_by(|a, b| {
            b.counts
                .new_leads
                .cmp(&a.counts.new_leads)
                .then(b.counts.traffic.cmp(&a.counts.traffic))
                .then(a.label.cmp(&b.label))
        });
        let (reasons, competitors) = self.db.defeat_breakdown(&scope, &filter).await?;
        let to_competitor: i64 = competitors.iter().map(|(_, _, n)| n).sum();
        let forecast = self.forecast(&scope, &filter).await?;
        Ok(SalesAnalytics {
            from,
            to,
            by,
            total: AnalyticsRow {
                key: String::new(),
                label: String::new(),
                rates: rules::sales_rates(&total),
                counts: total,
            },
            rows,
            defeat_reasons: reasons
                .into_iter()
                .map(|(code, n)| (code.clone(), code_label::<DefeatReason>(&code, lang), n))
                .collect(),
            competitors: competitors
                .into_iter()
                .map(|(b, m, n)| (b, m, n, rules::ratio(n, to_competitor).unwrap_or(0.0)))
                .collect(),
            forecast,
        })
    }

    async fn dimension_labels(
        &self,
        by: SalesDimension,
        keyed: &[KeyedCounts],
        lang: Lang,
    ) -> Result<HashMap<String, String>> {
        let mut out = HashMap::new();
        match by {
            SalesDimension::Source => {
                for (k, _) in keyed {
                    out.insert(k.clone(), code_label::<LeadSource>(k, lang));
                }
            }
            SalesDimension::Store => {
                for s in self.db.stores().await? {
                    out.insert(s.id.to_string(), s.name);
                }
            }
            SalesDimension::Model => {
                for m in self.db.vehicle_models().await? {
                    out.insert(m.id.to_string(), m.name);
                }
            }
            SalesDimension::Consultant => {
                let ids: Vec<Id> = keyed.iter().filter_map(|(k, _)| k.parse().ok()).collect();
                for (id, name) in self.staff_names(&ids).await? {
                    out.insert(id.to_string(), name);
                }
            }
        }
        Ok(out)
    }

    /// The forecast: each store's open leads weighted by that store's own close rates.
    async fn forecast(&self, scope: &Scope, f: &SalesFilter) -> Result<ForecastView> {
        let today = self.clock.today();
        let stores: Vec<Id> = match f.store_id {
            Some(s) => vec![s],
            None => self.db.stores_in_scope(scope).await?,
        };
        let open = self.db.open_leads_by_store_grade(scope, f).await?;
        let mut saved = self.db.grade_close_rates(&stores).await?;
        let have: Vec<Id> = saved.iter().map(|r| r.0).collect();
        for s in stores.iter().filter(|s| !have.contains(s)) {
            // Never computed (a new store, or before the first daily job): compute now.
            let rates = self.refresh_grade_close_rates(*s, today).await?;
            for r in rates {
                saved.push((*s, r.grade.code().to_string(), today, r.graded, r.ordered));
            }
        }
        let mut lines: Vec<ForecastLine> = [LeadGrade::H, LeadGrade::A, LeadGrade::B, LeadGrade::C]
            .iter()
            .map(|g| ForecastLine {
                grade: g.code().into(),
                open_leads: 0,
                graded: 0,
                ordered: 0,
                rate: None,
                expected_orders: 0.0,
            })
            .collect();
        let mut in_hand = 0;
        for s in &stores {
            let rates: Vec<rules::GradeRate> = saved
                .iter()
                .filter(|r| r.0 == *s)
                .filter_map(|(_, g, _, graded, ordered)| {
                    LeadGrade::parse("", g).ok().map(|grade| rules::GradeRate {
                        grade,
                        graded: *graded,
                        ordered: *ordered,
                        rate: rules::ratio(*ordered, *graded),
                    })
                })
                .collect();
            let by_grade: Vec<(LeadGrade, i64)> = open
                .iter()
                .filter(|(store, _, _)| store == s)
                .filter_map(|(_, g, n)| LeadGrade::parse("", g).ok().map(|g| (g, *n)))
                .collect();
            let fc = rules::forecast(&by_grade, &rates);
            in_hand += fc.orders_in_hand;
            for row in fc.rows {
                if let Some(line) = lines.iter_mut().find(|l| l.grade == row.grade.code()) {
                    line.open_leads += row.open_leads;
                    line.expected_orders += row.expected_orders;
                    if let Some(r) = rates.iter().find(|r| r.grade == row.grade) {
                        line.graded += r.graded;
                        line.ordered += r.ordered;
                    }
                }
            }
        }
        for l in &mut lines {
            l.rate = rules::ratio(l.ordered, l.graded);
        }
        let as_of = saved
            .iter()
            .filter(|r| stores.contains(&r.0))
            .map(|r| r.2)
            .min();
        let (hist_from, hist_until) = rate_window(as_of.unwrap_or(today));
        Ok(ForecastView {
            horizon_days: FORECAST_HORIZON_DAYS,
            history_from: hist_from,
            history_until: hist_until - Duration::days(1),
            rates_as_of: as_of,
            expected_orders: lines.iter().map(|l| l.expected_orders).sum(),
            lines,
            orders_in_hand: in_hand,
        })
    }

    /// Computes a store's close rate per grade from its own history and saves it.
    pub async fn refresh_grade_close_rates(
        &self,
        store_id: Id,
        today: NaiveDate,
    ) -> Result<Vec<rules::GradeRate>> {
        let (from, until) = rate_window(today);
        let gradings: Vec<rules::Grading> = self
            .db
            .store_gradings(
                store_id,
                rules::china_day_start(from),
                rules::china_day_start(until),
            )
            .await?
            .into_iter()
            .filter_map(|(lead, g, at)| {
                LeadGrade::parse("", &g)
                    .ok()
                    .map(|g| (lead, g, china_date(at)))
            })
            .collect();
        let orders: HashMap<Id, NaiveDate> = self
            .db
            .store_first_orders(store_id, from - Duration::days(400))
            .await?
            .into_iter()
            .collect();
        let rates = rules::grade_close_rates(&gradings, &orders, FORECAST_HORIZON_DAYS);
        let rows: Vec<(String, i64, i64)> = rates
            .iter()
            .map(|r| (r.grade.code().to_string(), r.graded, r.ordered))
            .collect();
        self.db
            .save_grade_close_rates(store_id, today, &rows)
            .await?;
        Ok(rates)
    }

    /// Rebuilds the funnel facts (per day, store, source, model and consultant) for every
    /// day before today; the analytics read them for those days and the records for today.
    /// Run by the daily job, the demo generator and `dealerbase bench --scenario sales`.
    pub async fn rebuild_sales_facts(&self) -> Result<u64> {
        Ok(self
            .db
            .rebuild_sales_facts(self.clock.today(), self.clock.now())
            .await?)
    }

    /// Applies the subjective-defeat rule to defeat requests written without it (by the
    /// demo generator or an import); returns how many were flagged.
    pub async fn backfill_subjective_defeats(&self) -> Result<u64> {
        let mut after = 0;
        let mut flagged = 0;
        loop {
            let chunk = self.db.defeat_chunk(after, 5000).await?;
            let Some(last) = chunk.last() else { break };
            after = last.0;
            let leads: Vec<Id> = chunk.iter().map(|d| d.1).collect();
            let mut plans: HashMap<Id, Vec<(NaiveDate, Option<NaiveDate>)>> = HashMap::new();
            for (lead, at, next) in self.db.contact_plans(&leads).await? {
                plans.entry(lead).or_default().push((china_date(at), next));
            }
            let ids: Vec<Id> = chunk
                .iter()
                .filter(|(_, lead, at)| {
                    let plan = plans.get(lead).map(Vec::as_slice).unwrap_or(&[]);
                    rules::missed_follow_up(plan, china_date(*at))
                })
                .map(|d| d.0)
                .collect();
            flagged += self.db.mark_defeats_subjective(&ids).await?;
        }
        Ok(flagged)
    }

    // ---- daily jobs ------------------------------------------------------------------------------

    /// The sales part of the daily jobs, for every store by its own settings: escalate
    /// follow-ups overdue past the delay to the manager (one task per follow-up: the dedupe
    /// key makes a second run create nothing), return leads without contact to the pool,
    /// and compute the forecast's close rates. Uses the services' clock.
    pub async fn run_sales_jobs(&self) -> Result<SalesJobReport> {
        let today = self.clock.today();
        let now = self.clock.now();
        let mut report = SalesJobReport::default();
        for store in self.db.stores().await? {
            let settings = parse_sales_settings(&store.settings);
            let manager = self.store_manager(store.id).await?;
            loop {
                let due = self
                    .db
                    .escalation_candidates(store.id, settings.escalation_cutoff(today), 1000)
                    .await?;
                if due.is_empty() {
                    break;
                }
                let tasks: Vec<(Id, Option<Id>, Option<Id>, TaskWrite)> = due
                    .iter()
                    .map(|t| {
                        (
                            store.id,
                            t.customer_id,
                            t.lead_id,
                            TaskWrite {
                                kind: TaskKind::LeadEscalation.code().into(),
                                assignee_id: manager,
                                role: Some(Role::SalesManager.code().into()),
                                due_on: today,
                                note: Some(format!(
                                    "{} {} {}",
                                    t.due_on,
                                    t.customer_name.clone().unwrap_or_default(),
                                    t.assignee_id.map(|a| format!("#{a}")).unwrap_or_default()
                                )),
                                vehicle_id: None,
                                dedupe_key: Some(format!("lead_escalation:{}", t.id)),
                            },
                        )
                    })
                    .collect();
                report.escalated += self.db.create_tasks(&tasks, now).await?;
                if due.len() < 1000 {
                    break;
                }
            }
            let before = rules::china_day_start(settings.pool_cutoff(today) + Duration::days(1));
            loop {
                let leads = self.db.pool_candidates(store.id, before, 1000).await?;
                for (lead, owner) in &leads {
                    let reason = format!("no_contact_{}_days", settings.pool_after_days);
                    match self
                        .db
                        .reassign_lead(*lead, Some(*owner), None, None, &reason, None, now)
                        .await
                    {
                        Ok(()) => report.pooled += 1,
                        // Changed meanwhile (contacted, claimed): not for the pool any more.
                        Err(dealerbase_store::StoreError::Conflict { .. }) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                if leads.len() < 1000 {
                    break;
                }
            }
            self.refresh_grade_close_rates(store.id, today).await?;
            report.rates_refreshed += 1;
        }
        report.funnel_facts = self.rebuild_sales_facts().await?;
        tracing::info!(?report, "sales jobs done");
        Ok(report)
    }

    // ---- today ---------------------------------------------------------------------------------

    /// The sales part of "today": what comes in the next 7 days, the consultant's overdue
    /// leads and report, the manager's approvals and sign-offs.
    pub async fn sales_today(&self, actor: &Actor) -> Result<SalesToday> {
        let today = self.clock.today();
        let upcoming = self
            .db
            .open_tasks_for(
                actor.staff_id,
                actor.store_id,
                actor.role.code(),
                today + Duration::days(7),
                200,
            )
            .await?
            .into_iter()
            .filter(|t| t.due_on > today)
            .collect();
        let manager = is_sales_manager(actor.role) && actor.store_id.is_some();
        let consultant = actor.role == Role::SalesConsultant;
        let overdue_leads = if consultant {
            self.db
                .lead_views(
                    &actor.scope(),
                    &LeadViewFilter {
                        overdue_before: Some(today),
                        page: 1,
                        per_page: 50,
                        ..Default::default()
                    },
                )
                .await?
                .items
                .into_iter()
                .map(Self::masked_lead)
                .collect()
        } else {
            Vec::new()
        };
        Ok(SalesToday {
            upcoming,
            overdue_leads,
            defeats_pending: if manager {
                self.db.defeat_rows(&actor.scope(), "pending", 50).await?
            } else {
                Vec::new()
            },
            reports_to_sign: if manager {
                self.db.daily_reports(&actor.scope(), true, 50).await?
            } else {
                Vec::new()
            },
            report_submitted: if consultant {
                Some(
                    self.db
                        .daily_report_of(actor.staff_id, today)
                        .await?
                        .is_some(),
                )
            } else {
                None
            },
        })
    }

    /// Completes a task of the actor (or of their role in their store; a manager may
    /// complete any of the store's). A call (post-delivery, escalation call-back) records
    /// the contact with its outcome. Lead follow-ups are completed by recording the
    /// contact on the lead, which also sets the grade.
    pub async fn complete_sales_task(
        &self,
        actor: &Actor,
        id: Id,
        input: &TaskCompletion,
    ) -> Result<TaskRow> {
        let t = self.db.task_row(id).await?;
        let mine = t.assignee_id == Some(actor.staff_id)
            || (t.assignee_id.is_none()
                && t.role.as_deref() == Some(actor.role.code())
                && actor.store_id == Some(t.store_id))
            || (is_sales_manager(actor.role)
                && self.check_store_access(actor, t.store_id).await.is_ok());
        if !mine {
            return Err(ServiceError::NotFound {
                entity: "task",
                id: id.to_string(),
            });
        }
        if t.status != TaskStatus::Open.code() {
            return Err(wrong_state("status", &t.status, &["open"]));
        }
        if t.kind == TaskKind::LeadFollowUp.code() {
            return Err(wrong_state(
                "kind",
                &t.kind,
                &["a task that is not a lead follow-up (record the contact on the lead)"],
            ));
        }
        let mut c = Checker::default();
        let outcome = c
            .code("outcome", &input.outcome, None, ContactOutcome::parse)
            .unwrap_or(ContactOutcome::Reached);
        let note = c.text("note", &input.note, None, 500);
        c.finish()?;
        let contact = (t.kind != TaskKind::LeadEscalation.code()).then(|| ContactWrite {
            staff_id: Some(actor.staff_id),
            channel: ContactChannel::Phone.code().into(),
            direction: Direction::Outbound.code().into(),
            purpose: VisitPurpose::AfterSales.code().into(),
            occurred_at: self.clock.now(),
            outcome: outcome.code().into(),
            note: note.clone(),
            grade_before: None,
            grade_after: None,
            next_date: None,
        });
        self.db
            .complete_task_with_contact(
                &t,
                contact.as_ref(),
                outcome.code(),
                note.as_deref(),
                self.clock.now(),
            )
            .await?;
        Ok(self.db.task_row(id).await?)
    }
}

/// The history the close rates are computed from: the 365 days that ended 30 days before
/// `today` (so a grading's 30-day outcome is known). [from, until).
pub fn rate_window(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let until = today - Duration::days(FORECAST_HORIZON_DAYS);
    (until - Duration::days(RATE_HISTORY_DAYS), until)
}

/// The store's sales settings from its settings document; unset or unreadable parts take
/// DOMAIN.md's defaults.
pub fn parse_sales_settings(doc: &str) -> SalesSettings {
    serde_json::from_str::<serde_json::Value>(doc)
        .ok()
        .and_then(|v| v.get("sales").cloned())
        .and_then(|s| serde_json::from_value::<SalesSettings>(s).ok())
        .unwrap_or_default()
        .with_defaults()
}

fn china_date(t: DateTime<Utc>) -> NaiveDate {
    rules::china_local(t).date()
}

trait Labelled: Sized + Copy {
    fn parse_code(s: &str) -> Option<Self>;
    fn label_in(self, lang: Lang) -> &'static str;
}

macro_rules! labelled {
    ($($t:ty),*) => {$(
        impl Labelled for $t {
            fn parse_code(s: &str) -> Option<Self> { <$t>::parse("", s).ok() }
            fn label_in(self, lang: Lang) -> &'static str { self.label(lang) }
        }
    )*};
}
labelled!(LeadSource, ShowroomChannel, DefeatReason);

fn code_label<T: Labelled>(code: &str, lang: Lang) -> String {
    T::parse_code(code)
        .map(|v| v.label_in(lang).to_string())
        .unwrap_or_else(|| {
            if code.is_empty() {
                "–".into()
            } else {
                code.to_string()
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_document_keeps_defaults_and_other_parts() {
        assert_eq!(parse_sales_settings("{}"), SalesSettings::defaults());
        assert_eq!(parse_sales_settings("not json"), SalesSettings::defaults());
        let s = parse_sales_settings(
            r#"{"reminders": {"x": 1}, "sales": {"cadence": {"H": 1}, "pool_after_days": 45}}"#,
        );
        assert_eq!(s.cadence.h, 1);
        assert_eq!(s.cadence.c, 14);
        assert_eq!(s.pool_after_days, 45);
        assert_eq!(s.escalate_after_days, 2);
    }

    #[test]
    fn rate_window_ends_a_horizon_ago() {
        let (from, until) = rate_window(NaiveDate::from_ymd_opt(2026, 11, 23).expect("date"));
        assert_eq!(until.to_string(), "2026-10-24");
        assert_eq!(from.to_string(), "2025-10-24");
    }
}
