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
        let count = self.db.segment_count(&sq).await?;
        let sample = self
            .db
            .segment_customers(&sq, 0, sample.clamp(0, MAX_PAGE))
            .await?
            .into_iter()
            .map(|c| member_view(c, lang))
            .collect();
        Ok(Evaluation { count, sample })
    }

    /// The segment if the actor may see it: same group, and for store roles a segment of
    /// their store or of the group.
    async fn segment_for(&self, actor: &Actor, id: Id) -> Result<SegmentRow> {
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
            .audit(Some(actor.staff_id), "create", "segment", Some(id), &name, now)
            .await?;
        Ok(segment_view(self.db.segment(id).await?))
    }

    /// Changes a segment's name and definition. A frozen segment keeps its list: unfreeze
    /// it first (409 otherwise).
    pub async fn update_segment(&self, actor: &Actor, id: Id, input: &SegmentInput) -> Result<SegmentView> {
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
            .audit(Some(actor.staff_id), "update", "segment", Some(id), &name, now)
            .await?;
        Ok(segment_view(self.db.segment(id).await?))
    }

    pub async fn segment(&self, actor: &Actor, id: Id) -> Result<SegmentView> {
        Ok(segment_view(self.segment_for(actor, id).await?))
    }

    /// Saved segments the actor may see, newest first.
    pub async fn segments(&self, actor: &Actor, page: u32, per_page: u32) -> Result<Page<SegmentView>> {
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
            .audit(Some(actor.staff_id), "delete", "segment", Some(id), &r.name, self.clock.now())
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
            .audit(Some(actor.staff_id), "unfreeze", "segment", Some(id), "", now)
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
            next_after: if more { items.last().map(|m| m.id) } else { None },
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
