//! Marketing: segments (issue 8 point 1). A segment definition is validated by the domain
//! (`segment::Definition::validate`), evaluated by the store as one scoped query, and saved
//! dynamic (evaluated again at each use) or frozen (the member list kept as it was).
//! Samples and member lists carry masked mobiles; exports are audited.

use crate::export::{ExportFormat, Table, neutralize, write_table};
use crate::{Actor, Result, ServiceError, Services};
use chrono::{DateTime, Utc};
use dealerbase_domain::mask::mask_mobile;
use dealerbase_domain::model::{CustomerClass, Role, ScopeLevel};
use dealerbase_domain::segment::{self, CATALOGUE, Definition, Node};
use dealerbase_domain::{Lang, Rule, ValidationError};
use dealerbase_store::segments::{SegmentCustomer, SegmentQuery, SegmentRow};
use dealerbase_store::{Id, Page};
use serde::{Deserialize, Serialize};
use std::io::Write;
use utoipa::ToSchema;

/// Customers shown as the sample of a segment while editing.
pub const SAMPLE_SIZE: i64 = 20;
/// The largest page of members.
pub const MAX_PAGE: i64 = 500;
/// Rows read per chunk when walking all members.
const CHUNK: i64 = 10_000;

/// Roles that build segments and campaigns: marketing, the managers, care specialists (they
/// run the call lists), the general manager, group staff and administrators.
pub fn may_use_marketing(role: Role) -> bool {
    matches!(
        role,
        Role::Marketing
            | Role::SalesManager
            | Role::CareSpecialist
            | Role::GeneralManager
            | Role::Group
            | Role::Admin
    )
}

/// One operator of a field, for the builder and API clients.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OpView {
    pub code: &'static str,
    pub label: &'static str,
    /// none | value | list | range | days
    pub takes: &'static str,
}

/// One choice of an enum field.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChoiceView {
    pub code: &'static str,
    pub label: &'static str,
}

/// One field of the catalogue in the reader's language.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldView {
    pub code: &'static str,
    /// customer | vehicle | lead | work_order | policy | mining
    pub entity: &'static str,
    pub entity_label: &'static str,
    /// text | number | date | enum | boolean | id
    #[serde(rename = "type")]
    pub ty: &'static str,
    pub label: &'static str,
    pub ops: Vec<OpView>,
    pub choices: Vec<ChoiceView>,
    /// Takes `months` (the window of visits and spend), default 12.
    pub windowed: bool,
}

/// The field catalogue in a language.
pub fn field_catalogue(lang: Lang) -> Vec<FieldView> {
    CATALOGUE
        .iter()
        .map(|d| FieldView {
            code: d.code,
            entity: match d.entity {
                segment::Entity::Customer => "customer",
                segment::Entity::Vehicle => "vehicle",
                segment::Entity::Lead => "lead",
                segment::Entity::WorkOrder => "work_order",
                segment::Entity::Policy => "policy",
                segment::Entity::Mining => "mining",
            },
            entity_label: d.entity.label(lang),
            ty: match d.ty {
                segment::FieldType::Text => "text",
                segment::FieldType::Number => "number",
                segment::FieldType::Date => "date",
                segment::FieldType::Enum => "enum",
                segment::FieldType::Boolean => "boolean",
                segment::FieldType::Id => "id",
            },
            label: d.label(lang),
            ops: d
                .ops
                .iter()
                .map(|o| OpView {
                    code: o.code(),
                    label: o.label(lang),
                    takes: op_takes(*o, d.ty),
                })
                .collect(),
            choices: d
                .choices
                .list()
                .into_iter()
                .map(|(code, zh, en)| ChoiceView {
                    code,
                    label: if lang == Lang::Zh { zh } else { en },
                })
                .collect(),
            windowed: d.windowed,
        })
        .collect()
}

fn op_takes(o: segment::Op, ty: segment::FieldType) -> &'static str {
    use segment::Op::*;
    match o {
        IsSet | NotSet | IsTrue | IsFalse => "none",
        In | NotIn => "list",
        Between => "range",
        WithinNextDays | WithinLastDays | MoreThanDaysAgo => "days",
        _ if ty == segment::FieldType::Id => "list",
        _ => "value",
    }
}

/// Parses a definition sent as JSON text (forms); the error names `definition`.
pub fn parse_definition(s: &str) -> Result<Definition> {
    serde_json::from_str::<Definition>(s).map_err(|e| {
        ServiceError::invalid(ValidationError::new(
            "definition",
            s.chars().take(200).collect::<String>(),
            Rule::OneOf {
                allowed: vec![format!(
                    "{{\"conditions\": [{{\"field\", \"op\", \"value\"}} | {{\"and\": […]}} | {{\"or\": […]}} | {{\"not\": {{…}}}}]}} ({e})"
                )],
            },
        ))
    })
}

fn validate(def: &Definition) -> Result<Node> {
    def.validate().map_err(ServiceError::Invalid)
}

/// A customer of a segment as shown: mobile masked.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberView {
    pub id: Id,
    pub name: String,
    pub mobile: Option<String>,
    pub store_id: Id,
    pub store_name: String,
    pub class: String,
    pub class_label: String,
    pub consultant_id: Option<Id>,
    pub consultant_name: Option<String>,
}

fn member_view(c: SegmentCustomer, lang: Lang) -> MemberView {
    MemberView {
        class_label: CustomerClass::parse("class", &c.class)
            .map(|k| k.label(lang).to_string())
            .unwrap_or_else(|_| c.class.clone()),
        mobile: c.mobile.as_deref().map(mask_mobile),
        id: c.id,
        name: c.name,
        store_id: c.store_id,
        store_name: c.store_name,
        class: c.class,
        consultant_id: c.consultant_id,
        consultant_name: c.consultant_name,
    }
}

/// The live count and sample of a definition.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Evaluation {
    pub count: i64,
    /// The first customers (by id), mobiles masked.
    pub sample: Vec<MemberView>,
}

/// A saved segment as read.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SegmentView {
    pub id: Id,
    pub name: String,
    #[schema(value_type = Object)]
    pub definition: Definition,
    /// dynamic | frozen
    pub mode: String,
    pub frozen_at: Option<DateTime<Utc>>,
    /// Members when frozen (0 for a dynamic segment: count it with evaluate).
    pub member_count: i64,
    pub store_id: Option<Id>,
    pub created_by: Option<Id>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn segment_view(r: SegmentRow) -> SegmentView {
    SegmentView {
        definition: serde_json::from_str(&r.definition).unwrap_or_default(),
        id: r.id,
        name: r.name,
        mode: r.mode,
        frozen_at: r.frozen_at,
        member_count: r.member_count,
        store_id: r.store_id,
        created_by: r.created_by,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

/// What is sent to save a segment.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct SegmentInput {
    pub name: String,
    #[schema(value_type = Object)]
    #[serde(default)]
    pub definition: Definition,
}

/// A page of members: `next_after` continues the walk (keyset on customer id).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MembersPage {
    pub items: Vec<MemberView>,
    pub next_after: Option<Id>,
}

impl Services {
    fn check_marketing(&self, actor: &Actor) -> Result<()> {
        if may_use_marketing(actor.role) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden("marketing"))
        }
    }

    /// Counts a definition in the actor's scope and returns a sample of masked customers.
    pub async fn evaluate_segment(
        &self,
        actor: &Actor,
        def: &Definition,
        sample: i64,
        lang: Lang,
    ) -> Result<Evaluation> {
        self.check_marketing(actor)?;
        let node = validate(def)?;
        let scope = actor.scope();
        let sq = SegmentQuery {
            scope: &scope,
            node: &node,
            today: self.clock.today(),
        };
        // The count and the sample are independent queries: asked at once, on two
        // connections.
        let (count, sample) = tokio::try_join!(
            self.db.segment_count(&sq),
            self.db.segment_customers(&sq, 0, sample.clamp(0, MAX_PAGE))
        )?;
        let sample = sample.into_iter().map(|c| member_view(c, lang)).collect();
        Ok(Evaluation { count, sample })
    }

    /// The segment if the actor may see it: same group, and for store roles a segment of
    /// their store or of the group.
    pub(crate) async fn segment_for(&self, actor: &Actor, id: Id) -> Result<SegmentRow> {
        self.check_marketing(actor)?;
        let not_found = || ServiceError::NotFound {
            entity: "segment",
            id: id.to_string(),
        };
        let r = self.db.segment(id).await.map_err(|_| not_found())?;
        let visible = r.group_id == actor.group_id
            && (actor.role.scope_level() == ScopeLevel::Group
                || r.store_id.is_none()
                || r.store_id == actor.store_id);
        if visible { Ok(r) } else { Err(not_found()) }
    }

    /// Store roles may change their store's segments; group roles any of the group's.
    fn check_segment_write(&self, actor: &Actor, r: &SegmentRow) -> Result<()> {
        if actor.role.scope_level() == ScopeLevel::Group || r.store_id == actor.store_id {
            Ok(())
        } else {
            Err(ServiceError::Forbidden("write to another store"))
        }
    }

    fn check_input(input: &SegmentInput) -> Result<(String, String)> {
        let name = dealerbase_domain::text::normalize(&input.name);
        let mut errors = Vec::new();
        if name.is_empty() {
            errors.push(ValidationError::new("name", &input.name, Rule::Required));
        } else if name.chars().count() > 100 {
            errors.push(ValidationError::new(
                "name",
                &input.name,
                Rule::TooLong { max: 100 },
            ));
        }
        if let Err(e) = input.definition.validate() {
            errors.extend(e);
        }
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }
        let json = serde_json::to_string(&input.definition)
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        Ok((name, json))
    }

    /// Saves a new dynamic segment (audited).
    pub async fn create_segment(&self, actor: &Actor, input: &SegmentInput) -> Result<SegmentView> {
        self.check_marketing(actor)?;
        let (name, json) = Self::check_input(input)?;
        let store_id = match actor.role.scope_level() {
            ScopeLevel::Group => None,
            _ => actor.store_id,
        };
        let now = self.clock.now();
        let id = self
            .db
            .create_segment(actor.group_id, store_id, &name, &json, actor.staff_id, now)
            .await?;
        self.db
            .audit(
                Some(actor.staff_id),
                "create",
                "segment",
                Some(id),
                &name,
                now,
            )
            .await?;
        Ok(segment_view(self.db.segment(id).await?))
    }

    /// Changes a segment's name and definition. A frozen segment keeps its list: unfreeze
    /// it first (409 otherwise).
    pub async fn update_segment(
        &self,
        actor: &Actor,
        id: Id,
        input: &SegmentInput,
    ) -> Result<SegmentView> {
        let r = self.segment_for(actor, id).await?;
        self.check_segment_write(actor, &r)?;
        let (name, json) = Self::check_input(input)?;
        if r.mode == "frozen" && json != r.definition {
            return Err(ServiceError::Conflict {
                field: "mode",
                value: "frozen".into(),
            });
        }
        let now = self.clock.now();
        self.db.update_segment(id, &name, &json, now).await?;
        self.db
            .audit(
                Some(actor.staff_id),
                "update",
                "segment",
                Some(id),
                &name,
                now,
            )
            .await?;
        Ok(segment_view(self.db.segment(id).await?))
    }

    pub async fn segment(&self, actor: &Actor, id: Id) -> Result<SegmentView> {
        Ok(segment_view(self.segment_for(actor, id).await?))
    }

    /// Saved segments the actor may see, newest first.
    pub async fn segments(
        &self,
        actor: &Actor,
        page: u32,
        per_page: u32,
    ) -> Result<Page<SegmentView>> {
        self.check_marketing(actor)?;
        let store = match actor.role.scope_level() {
            ScopeLevel::Group => None,
            _ => Some(actor.store_id.unwrap_or(0)),
        };
        let p = self
            .db
            .segments(actor.group_id, store, page.max(1), per_page.clamp(1, 200))
            .await?;
        Ok(Page {
            items: p.items.into_iter().map(segment_view).collect(),
            page: p.page,
            per_page: p.per_page,
            has_more: p.has_more,
        })
    }

    pub async fn delete_segment(&self, actor: &Actor, id: Id) -> Result<()> {
        let r = self.segment_for(actor, id).await?;
        self.check_segment_write(actor, &r)?;
        self.db.delete_segment(id).await?;
        self.db
            .audit(
                Some(actor.staff_id),
                "delete",
                "segment",
                Some(id),
                &r.name,
                self.clock.now(),
            )
            .await?;
        Ok(())
    }

    /// Freezes the segment's members as of now (in the actor's scope), one transaction;
    /// freezing again replaces the list. Returns the number of members.
    pub async fn freeze_segment(&self, actor: &Actor, id: Id) -> Result<SegmentView> {
        let r = self.segment_for(actor, id).await?;
        self.check_segment_write(actor, &r)?;
        let def: Definition = serde_json::from_str(&r.definition)
            .map_err(|e| ServiceError::Internal(format!("segment {id}: {e}")))?;
        let node = validate(&def)?;
        let scope = actor.scope();
        let now = self.clock.now();
        let sq = SegmentQuery {
            scope: &scope,
            node: &node,
            today: self.clock.today(),
        };
        let n = self.db.freeze_segment(id, &sq, now).await?;
        self.db
            .audit(
                Some(actor.staff_id),
                "freeze",
                "segment",
                Some(id),
                &format!("{{\"members\":{n}}}"),
                now,
            )
            .await?;
        Ok(segment_view(self.db.segment(id).await?))
    }

    /// Makes a frozen segment dynamic again (its list is dropped).
    pub async fn unfreeze_segment(&self, actor: &Actor, id: Id) -> Result<SegmentView> {
        let r = self.segment_for(actor, id).await?;
        self.check_segment_write(actor, &r)?;
        let now = self.clock.now();
        self.db.unfreeze_segment(id, now).await?;
        self.db
            .audit(
                Some(actor.staff_id),
                "unfreeze",
                "segment",
                Some(id),
                "",
                now,
            )
            .await?;
        Ok(segment_view(self.db.segment(id).await?))
    }

    /// A page of a saved segment's members in the actor's scope: a dynamic segment is
    /// evaluated now, a frozen one reads its list. Mobiles masked.
    pub async fn segment_members(
        &self,
        actor: &Actor,
        id: Id,
        after: Id,
        limit: i64,
        lang: Lang,
    ) -> Result<MembersPage> {
        let r = self.segment_for(actor, id).await?;
        let limit = limit.clamp(1, MAX_PAGE);
        let rows = self.member_rows(actor, &r, after, limit + 1).await?;
        let more = rows.len() as i64 > limit;
        let items: Vec<MemberView> = rows
            .into_iter()
            .take(limit as usize)
            .map(|c| member_view(c, lang))
            .collect();
        Ok(MembersPage {
            next_after: if more {
                items.last().map(|m| m.id)
            } else {
                None
            },
            items,
        })
    }

    async fn member_rows(
        &self,
        actor: &Actor,
        r: &SegmentRow,
        after: Id,
        limit: i64,
    ) -> Result<Vec<SegmentCustomer>> {
        let scope = actor.scope();
        if r.mode == "frozen" {
            return Ok(self.db.frozen_members(&scope, r.id, after, limit).await?);
        }
        let def: Definition = serde_json::from_str(&r.definition)
            .map_err(|e| ServiceError::Internal(format!("segment {}: {e}", r.id)))?;
        let node = validate(&def)?;
        let sq = SegmentQuery {
            scope: &scope,
            node: &node,
            today: self.clock.today(),
        };
        Ok(self.db.segment_customers(&sq, after, limit).await?)
    }

    /// Every member id of a saved segment as the actor would send to it now: a dynamic
    /// segment evaluated at this moment in the actor's scope, a frozen one's list (still
    /// limited to the actor's scope). Read in chunks.
    pub async fn segment_member_ids(&self, actor: &Actor, id: Id) -> Result<Vec<Id>> {
        let r = self.segment_for(actor, id).await?;
        let scope = actor.scope();
        let mut out = Vec::new();
        let mut after = 0;
        if r.mode == "frozen" {
            loop {
                let chunk = self.db.frozen_members(&scope, id, after, CHUNK).await?;
                let Some(last) = chunk.last() else { break };
                after = last.id;
                out.extend(chunk.iter().map(|c| c.id));
            }
            return Ok(out);
        }
        let def: Definition = serde_json::from_str(&r.definition)
            .map_err(|e| ServiceError::Internal(format!("segment {id}: {e}")))?;
        let node = validate(&def)?;
        let sq = SegmentQuery {
            scope: &scope,
            node: &node,
            today: self.clock.today(),
        };
        loop {
            let chunk = self.db.segment_ids(&sq, after, CHUNK).await?;
            let Some(&last) = chunk.last() else { break };
            after = last;
            out.extend(chunk);
        }
        Ok(out)
    }

    /// The members as CSV or XLSX, mobiles masked; audited. Returns the number of rows.
    pub async fn export_segment_members(
        &self,
        actor: &Actor,
        id: Id,
        format: ExportFormat,
        lang: Lang,
        out: &mut (dyn Write + Send),
    ) -> Result<usize> {
        let r = self.segment_for(actor, id).await?;
        let mut rows = Vec::new();
        let mut after = 0;
        loop {
            let chunk = self.member_rows(actor, &r, after, CHUNK).await?;
            let Some(last) = chunk.last() else { break };
            after = last.id;
            for c in chunk {
                let m = member_view(c, lang);
                rows.push(vec![
                    m.id.to_string(),
                    neutralize(&m.name),
                    m.mobile.unwrap_or_default(),
                    neutralize(&m.store_name),
                    m.class_label,
                    neutralize(&m.consultant_name.unwrap_or_default()),
                ]);
            }
            if rows.len() >= crate::export::MAX_EXPORT_ROWS {
                rows.truncate(crate::export::MAX_EXPORT_ROWS);
                break;
            }
        }
        let headers = match lang {
            Lang::Zh => vec!["客户编号", "姓名", "手机", "门店", "客户分类", "专属顾问"],
            Lang::En => vec!["customer", "name", "mobile", "store", "class", "consultant"],
        };
        let n = rows.len();
        write_table(&Table { headers, rows }, format, out)?;
        let detail = serde_json::json!({"format": format.extension(), "rows": n, "revealed": false, "segment": id});
        self.db
            .audit(
                Some(actor.staff_id),
                "export",
                "segment",
                Some(id),
                &detail.to_string(),
                self.clock.now(),
            )
            .await?;
        Ok(n)
    }
}

// ---- campaigns (issue 8 point 2) ---------------------------------------------------------------

use dealerbase_domain::campaign::{
    self as camp, CampaignKind, InvitationStep, RecipientStatus, TemplateValues,
};
use dealerbase_store::NewTask;
use dealerbase_store::campaigns::{
    CampaignRow, CarFacts, NewCampaign, NewRecipient, RecipientFacts, RecipientRow, RecipientStamp,
    StatusCount,
};
use std::collections::HashMap;

/// The largest control group, in percent.
pub const MAX_CONTROL_PCT: f64 = 50.0;

/// What is sent to create a campaign. Money in yuan; the schedule as `YYYY-MM-DD HH:MM`
/// (China time) or RFC 3339.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct CampaignInput {
    pub name: String,
    /// sms | email | sms_email | phone | test_drive | event
    pub kind: String,
    pub segment_id: Option<Id>,
    pub scheduled_at: Option<String>,
    pub budget_yuan: Option<f64>,
    pub cost_per_contact_yuan: Option<f64>,
    /// Percent of the recipients held out as the control group (0–50).
    pub control_pct: Option<f64>,
    /// Seed of the control-group draw (default: derived from the campaign's name).
    pub seed: Option<i64>,
    /// `{姓名}`, `{车牌}`, `{车型}`, `{到期日}`, `{门店}`, `{顾问}`
    pub sms_template: Option<String>,
    pub email_subject: Option<String>,
    pub email_body: Option<String>,
    /// Days in which a visit, work order, order or test drive counts as a response
    /// (1–365, default 30).
    pub response_window_days: Option<i64>,
}

/// The default response window, in days.
pub const DEFAULT_RESPONSE_WINDOW: i64 = 30;

/// A campaign as read, with its recipients by status.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CampaignView {
    #[serde(flatten)]
    pub campaign: CampaignRow,
    pub kind_label: String,
    pub by_status: Vec<StatusCount>,
    /// Planned spend: cost per contact × contacted recipients (not held out), in fen.
    pub planned_cost_fen: i64,
}

/// One recipient's message as it would be prepared.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PreviewRow {
    pub customer_id: Id,
    pub name: String,
    pub mobile: Option<String>,
    pub subject: String,
    pub text: String,
    /// The e-mail body of an SMS + e-mail campaign (the SMS text is `text`).
    pub email_text: String,
}

/// What `prepare` did.
/// What sending a campaign did: messages queued, and recipients skipped by reason.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct SendReport {
    pub queued: i64,
    pub skipped: i64,
    /// (recipient status, count): suppressed, no_consent, duplicate_today, …
    pub skipped_by_reason: Vec<(String, i64)>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PrepareReport {
    pub recipients: i64,
    pub held_out: i64,
    pub no_consent: i64,
    pub tasks: i64,
    /// True when the campaign had been prepared before (nothing was stored again).
    pub already_prepared: bool,
}

/// A recipient as shown (mobile masked).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecipientView {
    #[serde(flatten)]
    pub row: RecipientRow,
    pub status_label: String,
}

/// A page of recipients by customer id.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecipientsPage {
    pub items: Vec<RecipientView>,
    pub next_after: Option<Id>,
}

fn fen(field: &str, v: Option<f64>, errors: &mut Vec<ValidationError>) -> i64 {
    match v {
        None => 0,
        Some(y) if y.is_finite() && (0.0..=1e10).contains(&y) => (y * 100.0).round() as i64,
        Some(y) => {
            errors.push(ValidationError::new(
                field,
                y.to_string(),
                Rule::OutOfRange {
                    min: 0,
                    max: 10_000_000_000,
                },
            ));
            0
        }
    }
}

fn parse_schedule(s: &str) -> Option<DateTime<Utc>> {
    let t = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Some(d.with_timezone(&Utc));
    }
    for f in ["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(n) = chrono::NaiveDateTime::parse_from_str(t, f) {
            return Some(n.and_utc() - chrono::Duration::hours(8));
        }
    }
    chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .map(dealerbase_domain::sales::china_day_start)
}

fn fnv(s: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h >> 1) as i64
}

fn status_label(code: &str, lang: Lang) -> String {
    RecipientStatus::parse("status", code)
        .map(|s| s.label(lang).to_string())
        .unwrap_or_else(|_| code.to_string())
}

/// The template values of a recipient: their first current car (lowest id) gives plate,
/// model and the due date — the earliest unrenewed policy end from today, else the next
/// maintenance due date.
fn values_of(f: &RecipientFacts, car: Option<&CarFacts>) -> TemplateValues {
    TemplateValues {
        name: f.name.clone(),
        plate: car.and_then(|c| c.plate.clone()).unwrap_or_default(),
        model: car.map(|c| c.model_name.clone()).unwrap_or_default(),
        due_date: car
            .and_then(|c| c.policy_end.or(c.next_due_on))
            .map(|d| d.to_string())
            .unwrap_or_default(),
        store: f.store_name.clone(),
        consultant: f.consultant_name.clone().unwrap_or_default(),
    }
}

impl Services {
    pub(crate) async fn campaign_for(&self, actor: &Actor, id: Id) -> Result<CampaignRow> {
        self.check_marketing(actor)?;
        let not_found = || ServiceError::NotFound {
            entity: "campaign",
            id: id.to_string(),
        };
        let r = self
            .db
            .marketing_campaign(id)
            .await
            .map_err(|_| not_found())?;
        let visible = r.group_id == actor.group_id
            && (actor.role.scope_level() == ScopeLevel::Group
                || r.store_id.is_none()
                || r.store_id == actor.store_id);
        if visible { Ok(r) } else { Err(not_found()) }
    }

    /// Creates a draft campaign on a saved segment, checking every field at once.
    pub async fn create_campaign(
        &self,
        actor: &Actor,
        input: &CampaignInput,
    ) -> Result<CampaignView> {
        self.check_marketing(actor)?;
        let mut errors = Vec::new();
        let name = dealerbase_domain::text::normalize(&input.name);
        if name.is_empty() {
            errors.push(ValidationError::new("name", &input.name, Rule::Required));
        } else if name.chars().count() > 100 {
            errors.push(ValidationError::new(
                "name",
                &input.name,
                Rule::TooLong { max: 100 },
            ));
        }
        let kind = match CampaignKind::parse("kind", &input.kind) {
            Ok(k) => Some(k),
            Err(e) => {
                errors.push(e);
                None
            }
        };
        let segment_id = match input.segment_id {
            Some(s) => {
                if let Err(e) = self.segment_for(actor, s).await {
                    match e {
                        ServiceError::NotFound { .. } => errors.push(ValidationError::new(
                            "segment_id",
                            s.to_string(),
                            Rule::OneOf { allowed: vec![] },
                        )),
                        other => return Err(other),
                    }
                }
                s
            }
            None => {
                errors.push(ValidationError::new("segment_id", "", Rule::Required));
                0
            }
        };
        let scheduled_at = match input
            .scheduled_at
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(s) => match parse_schedule(s) {
                Some(t) => Some(t),
                None => {
                    errors.push(ValidationError::new("scheduled_at", s, Rule::DateFormat));
                    None
                }
            },
        };
        let budget_fen = fen("budget_yuan", input.budget_yuan, &mut errors);
        let cost_fen = fen(
            "cost_per_contact_yuan",
            input.cost_per_contact_yuan,
            &mut errors,
        );
        let control_pct = input.control_pct.unwrap_or(0.0);
        if !control_pct.is_finite() || !(0.0..=MAX_CONTROL_PCT).contains(&control_pct) {
            errors.push(ValidationError::new(
                "control_pct",
                control_pct.to_string(),
                Rule::OutOfRange {
                    min: 0,
                    max: MAX_CONTROL_PCT as i64,
                },
            ));
        }
        let text = |v: &Option<String>| v.as_deref().map(str::trim).unwrap_or("").to_string();
        let (sms, subject, body) = (
            text(&input.sms_template),
            text(&input.email_subject),
            text(&input.email_body),
        );
        for (field, t, max) in [
            ("sms_template", &sms, 500),
            ("email_subject", &subject, 200),
            ("email_body", &body, 10_000),
        ] {
            if t.chars().count() > max {
                errors.push(ValidationError::new(
                    field,
                    t.as_str(),
                    Rule::TooLong { max },
                ));
            } else if let Err(e) = camp::check_template(field, t) {
                errors.push(e);
            }
        }
        if let Some(k) = kind {
            for (needed, field, t) in [
                (k.sends_sms(), "sms_template", &sms),
                (k.sends_email(), "email_subject", &subject),
                (k.sends_email(), "email_body", &body),
            ] {
                if needed && t.is_empty() {
                    errors.push(ValidationError::new(field, "", Rule::Required));
                }
            }
        }
        let window = input
            .response_window_days
            .unwrap_or(DEFAULT_RESPONSE_WINDOW);
        if !(1..=365).contains(&window) {
            errors.push(ValidationError::new(
                "response_window_days",
                window.to_string(),
                Rule::OutOfRange { min: 1, max: 365 },
            ));
        }
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }
        let kind = kind.expect("checked");
        let now = self.clock.now();
        let id = self
            .db
            .create_marketing_campaign(
                &NewCampaign {
                    group_id: actor.group_id,
                    store_id: match actor.role.scope_level() {
                        ScopeLevel::Group => None,
                        _ => actor.store_id,
                    },
                    name: &name,
                    kind: kind.code(),
                    segment_id,
                    scheduled_at,
                    budget_fen,
                    cost_per_contact_fen: cost_fen,
                    control_pct,
                    seed: input.seed.unwrap_or_else(|| fnv(&name)),
                    sms_template: &sms,
                    email_subject: &subject,
                    email_body: &body,
                    response_window_days: window,
                    created_by: actor.staff_id,
                },
                now,
            )
            .await?;
        self.db
            .audit(
                Some(actor.staff_id),
                "create",
                "campaign",
                Some(id),
                &name,
                now,
            )
            .await?;
        self.campaign(actor, id, Lang::Zh).await
    }

    pub async fn campaign(&self, actor: &Actor, id: Id, lang: Lang) -> Result<CampaignView> {
        let c = self.campaign_for(actor, id).await?;
        let by_status = self.db.marketing_status_counts(id).await?;
        let contacted: i64 = by_status
            .iter()
            .filter(|s| !s.control && s.status != "no_consent")
            .map(|s| s.recipients)
            .sum();
        Ok(CampaignView {
            kind_label: CampaignKind::parse("kind", &c.kind)
                .map(|k| k.label(lang).to_string())
                .unwrap_or_else(|_| c.kind.clone()),
            planned_cost_fen: contacted * c.cost_per_contact_fen,
            campaign: c,
            by_status,
        })
    }

    pub async fn campaigns(&self, actor: &Actor) -> Result<Vec<CampaignRow>> {
        self.check_marketing(actor)?;
        let store = match actor.role.scope_level() {
            ScopeLevel::Group => None,
            _ => Some(actor.store_id.unwrap_or(0)),
        };
        Ok(self
            .db
            .marketing_campaigns(actor.group_id, store, 200)
            .await?)
    }

    /// The e-mail subject, the main text (SMS text, or the e-mail body of an e-mail
    /// campaign, or the call / invitation script) and, for SMS + e-mail, the e-mail body.
    fn render_for(
        c: &CampaignRow,
        f: &RecipientFacts,
        car: Option<&CarFacts>,
    ) -> Result<(String, String, String)> {
        let v = values_of(f, car);
        let r = |field: &str, t: &str| camp::render(field, t, &v).map_err(ServiceError::invalid);
        let kind = CampaignKind::parse("kind", &c.kind).map_err(ServiceError::invalid)?;
        Ok(match kind {
            CampaignKind::Email => (
                r("email_subject", &c.email_subject)?,
                r("email_body", &c.email_body)?,
                String::new(),
            ),
            CampaignKind::SmsEmail => (
                r("email_subject", &c.email_subject)?,
                r("sms_template", &c.sms_template)?,
                r("email_body", &c.email_body)?,
            ),
            _ => (
                String::new(),
                r("sms_template", &c.sms_template)?,
                String::new(),
            ),
        })
    }

    /// The recipients' facts and first current cars. Both halves of the list are read at
    /// once for each, on four connections.
    async fn facts(&self, ids: &[Id]) -> Result<(Vec<RecipientFacts>, HashMap<Id, CarFacts>)> {
        let (a, b) = ids.split_at(ids.len() / 2);
        let today = self.clock.today();
        let (mut facts, facts_b, cars_a, cars_b) = tokio::try_join!(
            self.db.recipient_facts(a),
            self.db.recipient_facts(b),
            self.db.recipient_cars(a, today),
            self.db.recipient_cars(b, today),
        )?;
        facts.extend(facts_b);
        facts.sort_by_key(|f| f.customer_id);
        let mut cars = HashMap::new();
        for car in cars_a.into_iter().chain(cars_b) {
            cars.entry(car.customer_id).or_insert(car);
        }
        Ok((facts, cars))
    }

    /// The first `n` recipients' messages as they would be prepared (nothing is stored).
    pub async fn preview_campaign(&self, actor: &Actor, id: Id, n: i64) -> Result<Vec<PreviewRow>> {
        let c = self.campaign_for(actor, id).await?;
        let seg = self.segment_for(actor, c.segment_id).await?;
        let rows = self.member_rows(actor, &seg, 0, n.clamp(1, 100)).await?;
        let ids: Vec<Id> = rows.iter().map(|r| r.id).collect();
        let (facts, cars) = self.facts(&ids).await?;
        facts
            .iter()
            .map(|f| {
                let (subject, text, email_text) =
                    Self::render_for(&c, f, cars.get(&f.customer_id))?;
                Ok(PreviewRow {
                    customer_id: f.customer_id,
                    name: f.name.clone(),
                    mobile: f.mobile.as_deref().map(mask_mobile),
                    subject,
                    text,
                    email_text,
                })
            })
            .collect()
    }

    /// Prepares the campaign once: evaluates its segment (or takes the frozen list) in the
    /// actor's scope, holds out the seeded control group (exactly round(p × N)), renders
    /// every message, and stores the recipients — with a call task per contacted recipient
    /// for phone campaigns, on the customer's consultant or the store's care specialists —
    /// in one transaction. Nothing is sent: SMS and email recipients stay `prepared` for
    /// the outbox. Phone, test-drive and event recipients without a live marketing consent
    /// (or who asked not to be contacted) are stored as `no_consent`.
    pub async fn prepare_campaign(&self, actor: &Actor, id: Id) -> Result<PrepareReport> {
        let c = self.campaign_for(actor, id).await?;
        let report = |already| -> PrepareReport {
            PrepareReport {
                recipients: 0,
                held_out: 0,
                no_consent: 0,
                tasks: 0,
                already_prepared: already,
            }
        };
        if c.status != "draft" {
            let mut r = report(true);
            r.recipients = c.recipients;
            r.held_out = c.held_out;
            return Ok(r);
        }
        let kind = CampaignKind::parse("kind", &c.kind).map_err(ServiceError::invalid)?;
        let ids = self.segment_member_ids(actor, c.segment_id).await?;
        let control = camp::control_group(&ids, c.control_pct, c.seed as u64);
        let held: std::collections::HashSet<Id> = ids
            .iter()
            .zip(&control)
            .filter(|x| *x.1)
            .map(|x| *x.0)
            .collect();
        let (facts, cars) = self.facts(&ids).await?;
        let due_on = c
            .scheduled_at
            .map(|t| (t + chrono::Duration::hours(8)).date_naive())
            .unwrap_or_else(|| self.clock.today());
        let keys: Vec<String> = facts
            .iter()
            .map(|f| format!("campaign:{}:{}", c.id, f.customer_id))
            .collect();
        let note = format!("营销活动：{}", c.name);
        let mut rows = Vec::with_capacity(facts.len());
        let mut tasks = Vec::new();
        let mut out = report(false);
        for (f, key) in facts.iter().zip(&keys) {
            let car = cars.get(&f.customer_id);
            let is_control = held.contains(&f.customer_id);
            let consent = f.marketing_consent == 1 && f.do_not_contact == 0;
            let status = if is_control {
                RecipientStatus::HeldOut
            } else if !kind.message_channels().is_empty() || consent {
                RecipientStatus::Prepared
            } else {
                RecipientStatus::NoConsent
            };
            let (subject, rendered, rendered_email) = Self::render_for(&c, f, car)?;
            if kind == CampaignKind::Phone && status == RecipientStatus::Prepared {
                tasks.push(NewTask {
                    store_id: f.store_id,
                    kind: dealerbase_domain::model::TaskKind::Campaign.code(),
                    customer_id: Some(f.customer_id),
                    lead_id: None,
                    vehicle_id: car.map(|c| c.vehicle_id),
                    assignee_id: f.consultant_id,
                    role: f
                        .consultant_id
                        .is_none()
                        .then_some(Role::CareSpecialist.code()),
                    due_on,
                    note: Some(&note),
                    dedupe_key: Some(key),
                });
            }
            out.held_out += i64::from(is_control);
            out.no_consent += i64::from(status == RecipientStatus::NoConsent);
            rows.push(NewRecipient {
                customer_id: f.customer_id,
                store_id: f.store_id,
                vehicle_id: car.map(|c| c.vehicle_id),
                control: is_control,
                status: status.code(),
                subject,
                rendered,
                rendered_email,
            });
        }
        out.recipients = rows.len() as i64;
        out.tasks = tasks.len() as i64;
        let now = self.clock.now();
        if !self
            .db
            .prepare_marketing_campaign(id, &rows, &tasks, now)
            .await?
        {
            // Prepared meanwhile by someone else: report what is stored.
            let c = self.db.marketing_campaign(id).await?;
            let mut r = report(true);
            r.recipients = c.recipients;
            r.held_out = c.held_out;
            return Ok(r);
        }
        self.db
            .audit(
                Some(actor.staff_id),
                "prepare",
                "campaign",
                Some(id),
                &serde_json::to_string(&out).unwrap_or_default(),
                now,
            )
            .await?;
        Ok(out)
    }

    /// Sends a prepared SMS or e-mail campaign: every recipient outside the control group
    /// is handed to the outbox, which checks consent per purpose and channel, the
    /// suppression list, identical messages and the frequency cap, and holds marketing to
    /// the store's sending hours. Each recipient's status says what became of its message
    /// (queued, or why not). The idempotency key `campaign:<id>:<customer>` makes a second
    /// send (or one after a crash) add nothing.
    pub async fn send_campaign(&self, actor: &Actor, id: Id) -> Result<SendReport> {
        use crate::messaging::NewMessage;
        use dealerbase_domain::messaging::{Channel, Purpose};
        let c = self.campaign_for(actor, id).await?;
        let kind = CampaignKind::parse("kind", &c.kind).map_err(ServiceError::invalid)?;
        let channels = kind.message_channels();
        if channels.is_empty() {
            return Err(ServiceError::invalid(ValidationError::new(
                "kind",
                &c.kind,
                Rule::OneOf {
                    allowed: vec!["sms".into(), "email".into(), "sms_email".into()],
                },
            )));
        }
        if c.status == "draft" {
            return Err(ServiceError::invalid(ValidationError::new(
                "status",
                &c.status,
                Rule::OneOf {
                    allowed: vec!["prepared".into(), "sent".into()],
                },
            )));
        }
        let now = self.clock.now();
        let not_before = c.scheduled_at.map_or(now, |t| t.max(now));
        // One message per recipient and channel; a single-channel campaign keeps the key
        // `campaign:<id>:<customer>`, two channels add `:sms` / `:email`.
        let key = |customer: Id, ch: Channel| match channels.len() {
            1 => format!("campaign:{id}:{customer}"),
            _ => format!("campaign:{id}:{customer}:{}", ch.code()),
        };
        let mut out = SendReport::default();
        let mut after = 0;
        loop {
            let rows = self.db.marketing_sendable(id, after, 2000).await?;
            let Some(last) = rows.last() else { break };
            after = last.customer_id;
            let mut messages: Vec<NewMessage> = Vec::with_capacity(rows.len() * channels.len());
            for r in &rows {
                for &ch in channels {
                    let email = ch == Channel::Email;
                    messages.push(NewMessage {
                        idempotency_key: key(r.customer_id, ch),
                        store_id: r.store_id,
                        customer_id: Some(r.customer_id),
                        channel: ch,
                        purpose: Purpose::Marketing,
                        to: if email { &r.email } else { &r.mobile }
                            .clone()
                            .unwrap_or_default(),
                        subject: email.then(|| r.subject.clone()),
                        body: if email && kind == CampaignKind::SmsEmail {
                            r.rendered_email.clone()
                        } else {
                            r.rendered.clone()
                        },
                        campaign_id: Some(id),
                        not_before,
                    });
                }
            }
            let report = self.enqueue_messages(&messages).await?;
            // A recipient is queued when any of their messages is; otherwise the reason
            // the first channel's message was skipped.
            let statuses: Vec<(Id, &str)> = rows
                .iter()
                .zip(report.messages.chunks(channels.len()))
                .map(|(r, ms)| {
                    let status = if ms.iter().any(|m| m.skip_reason.is_none()) {
                        "queued"
                    } else {
                        ms.first()
                            .and_then(|m| m.skip_reason.as_deref())
                            .and_then(|reason| RecipientStatus::parse("status", reason).ok())
                            .map_or("no_consent", |s| s.code())
                    };
                    (r.customer_id, status)
                })
                .collect();
            for (_, st) in &statuses {
                if *st == "queued" {
                    out.queued += 1;
                } else {
                    out.skipped += 1;
                    match out.skipped_by_reason.iter_mut().find(|x| x.0 == *st) {
                        Some(x) => x.1 += 1,
                        None => out.skipped_by_reason.push((st.to_string(), 1)),
                    }
                }
            }
            self.db
                .set_marketing_recipient_statuses(id, &statuses, false, now)
                .await?;
            if rows.len() < 2000 {
                break;
            }
        }
        self.db
            .set_marketing_recipient_statuses(id, &[], true, not_before)
            .await?;
        self.db
            .audit(
                Some(actor.staff_id),
                "send",
                "campaign",
                Some(id),
                &serde_json::to_string(&out).unwrap_or_default(),
                now,
            )
            .await?;
        Ok(out)
    }

    /// Recipients in the actor's scope, by customer id; mobiles masked.
    pub async fn campaign_recipients(
        &self,
        actor: &Actor,
        id: Id,
        after: Id,
        limit: i64,
        lang: Lang,
    ) -> Result<RecipientsPage> {
        self.campaign_for(actor, id).await?;
        let limit = limit.clamp(1, MAX_PAGE);
        let rows = self
            .db
            .marketing_recipients(&actor.scope(), id, after, limit + 1)
            .await?;
        let more = rows.len() as i64 > limit;
        let items: Vec<RecipientView> = rows
            .into_iter()
            .take(limit as usize)
            .map(|mut r| {
                r.mobile = r.mobile.as_deref().map(mask_mobile);
                RecipientView {
                    status_label: status_label(&r.status, lang),
                    row: r,
                }
            })
            .collect();
        Ok(RecipientsPage {
            next_after: if more {
                items.last().map(|r| r.row.customer_id)
            } else {
                None
            },
            items,
        })
    }

    /// Records an invitation step (invite, accept, decline, attend, no_show) for a
    /// recipient of a test-drive or event campaign.
    pub async fn record_invitation(
        &self,
        actor: &Actor,
        id: Id,
        customer_id: Id,
        step: &str,
    ) -> Result<String> {
        let c = self.campaign_for(actor, id).await?;
        let kind = CampaignKind::parse("kind", &c.kind).map_err(ServiceError::invalid)?;
        if !kind.has_invitations() {
            return Err(ServiceError::invalid(ValidationError::new(
                "kind",
                &c.kind,
                Rule::OneOf {
                    allowed: vec!["test_drive".into(), "event".into()],
                },
            )));
        }
        let step = InvitationStep::parse("step", step).map_err(ServiceError::invalid)?;
        // The customer must be in the actor's scope.
        self.db.customer(&actor.scope(), customer_id).await?;
        let Some((status, _)) = self.db.marketing_recipient(id, customer_id).await? else {
            return Err(ServiceError::NotFound {
                entity: "recipient",
                id: customer_id.to_string(),
            });
        };
        let current = RecipientStatus::parse("status", &status).map_err(ServiceError::invalid)?;
        let next = camp::next_status(current, step).map_err(ServiceError::invalid)?;
        let stamp = match step {
            InvitationStep::Invite => RecipientStamp::Invited,
            InvitationStep::Accept | InvitationStep::Decline => RecipientStamp::Responded,
            InvitationStep::Attend | InvitationStep::NoShow => RecipientStamp::Attended,
        };
        let now = self.clock.now();
        self.db
            .set_recipient_status(id, customer_id, next.code(), stamp, now)
            .await?;
        self.db
            .audit(
                Some(actor.staff_id),
                step.code(),
                "campaign_recipient",
                Some(id),
                &format!("{{\"customer\":{customer_id}}}"),
                now,
            )
            .await?;
        Ok(next.code().to_string())
    }
}
