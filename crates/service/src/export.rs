//! Exports of lists to CSV and XLSX with the list's filters. The rows come from the same
//! service calls as the list pages, so they are scoped and masked the same way; cells that
//! a spreadsheet would read as a formula are neutralised; every export is audited.

use crate::records::{CustomerQuery, LeadQuery, recognise_search};
use crate::{Actor, Result, ServiceError, Services};
use chrono::NaiveDate;
use dealerbase_domain::mask::mask_mobile;
use dealerbase_domain::model::{
    CustomerClass, CustomerKind, LeadGrade, LeadSource, LeadStatus, PaidBy, TaskKind, TaskStatus,
    WorkOrderKind,
};
use dealerbase_domain::{Lang, Rule, ValidationError};
use dealerbase_store::lists::{
    LeadListFilter, LeadRow, ListPage, TaskFilter, TaskRow, VehicleFilter, VehicleRow,
    WorkOrderFilter, WorkOrderRow,
};
use dealerbase_store::{Id, Page, SearchKey};
use serde::{Deserialize, Serialize};
use std::io::Write;
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    #[default]
    Csv,
    Xlsx,
}

impl ExportFormat {
    pub fn parse(s: &str) -> Result<ExportFormat> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(ExportFormat::Csv),
            "xlsx" => Ok(ExportFormat::Xlsx),
            _ => Err(ServiceError::invalid(ValidationError::new(
                "format",
                s,
                Rule::OneOf {
                    allowed: vec!["csv".into(), "xlsx".into()],
                },
            ))),
        }
    }
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Xlsx => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        }
    }
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Xlsx => "xlsx",
        }
    }
}

/// A cell a spreadsheet would evaluate (`= + - @`, and tab or carriage return, which some
/// spreadsheets strip before evaluating) gets a leading apostrophe, so it stays text.
pub fn neutralize(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_string(),
    }
}

/// A table: headers and text rows, already neutralised.
pub(crate) struct Table {
    pub(crate) headers: Vec<&'static str>,
    pub(crate) rows: Vec<Vec<String>>,
}

pub(crate) fn write_table(t: &Table, format: ExportFormat, out: &mut dyn Write) -> Result<()> {
    let io = |e: std::io::Error| ServiceError::Internal(format!("writing the export: {e}"));
    match format {
        ExportFormat::Csv => {
            // A BOM so that Excel opens UTF-8 Chinese text correctly.
            out.write_all("\u{feff}".as_bytes()).map_err(io)?;
            let mut w = csv::Writer::from_writer(out);
            w.write_record(&t.headers)
                .map_err(|e| ServiceError::Internal(e.to_string()))?;
            for r in &t.rows {
                w.write_record(r)
                    .map_err(|e| ServiceError::Internal(e.to_string()))?;
            }
            w.flush().map_err(io)?;
        }
        ExportFormat::Xlsx => {
            let xl = |e: rust_xlsxwriter::XlsxError| ServiceError::Internal(e.to_string());
            let mut book = rust_xlsxwriter::Workbook::new();
            let sheet = book.add_worksheet();
            for (c, h) in t.headers.iter().enumerate() {
                sheet.write_string(0, c as u16, *h).map_err(xl)?;
            }
            for (r, row) in t.rows.iter().enumerate() {
                for (c, v) in row.iter().enumerate() {
                    // Always strings: a value is never turned into a formula or a number.
                    sheet
                        .write_string(r as u32 + 1, c as u16, v.as_str())
                        .map_err(xl)?;
                }
            }
            let bytes = book.save_to_buffer().map_err(xl)?;
            out.write_all(&bytes).map_err(io)?;
        }
    }
    Ok(())
}

/// The most rows one export holds (a spreadsheet's limit is 1,048,576).
pub const MAX_EXPORT_ROWS: usize = 1_000_000;

impl Services {
    /// The customer list with the given filters (every page), masked as on the list page,
    /// written as CSV or XLSX. Returns the number of rows.
    pub async fn export_customers(
        &self,
        actor: &Actor,
        query: &CustomerQuery,
        format: ExportFormat,
        lang: Lang,
        out: &mut (dyn Write + Send),
    ) -> Result<usize> {
        self.export_customers_as(actor, query, format, lang, false, out)
            .await
    }

    /// The customer list as [`Services::export_customers`], with full mobiles when
    /// `reveal` is asked by a role that may reveal them (the audit entry says so).
    pub async fn export_customers_as(
        &self,
        actor: &Actor,
        query: &CustomerQuery,
        format: ExportFormat,
        lang: Lang,
        reveal: bool,
        out: &mut (dyn Write + Send),
    ) -> Result<usize> {
        let reveal = self.export_reveal(actor, reveal)?;
        let headers = match lang {
            Lang::Zh => vec![
                "客户编号",
                "客户姓名",
                "手机",
                "客户类型",
                "客户级别",
                "门店",
                "销售顾问",
                "更新时间",
            ],
            Lang::En => vec![
                "id",
                "name",
                "mobile",
                "kind",
                "class",
                "store",
                "consultant",
                "updated at",
            ],
        };
        let mut table = Table {
            headers,
            rows: Vec::new(),
        };
        let mut q = query.clone();
        q.per_page = Some(200);
        let mut page = 1;
        loop {
            q.page = Some(page);
            let p = if reveal {
                self.db
                    .list_customers(
                        &actor.scope(),
                        &dealerbase_store::CustomerFilter {
                            search: q.q.as_deref().and_then(recognise_search),
                            store_id: q.store_id,
                            class: q.class.clone().filter(|s| !s.is_empty()),
                            kind: q.kind.clone().filter(|s| !s.is_empty()),
                            consultant_id: q.consultant_id,
                            sort: q.sort.unwrap_or_default(),
                            page,
                            per_page: 200,
                        },
                    )
                    .await?
            } else {
                self.list_customers(actor, &q).await?
            };
            for c in &p.items {
                let row = [
                    c.id.to_string(),
                    c.name.clone(),
                    c.mobile.clone().unwrap_or_default(),
                    CustomerKind::parse("kind", &c.kind)
                        .map_or(c.kind.clone(), |k| k.label(lang).to_string()),
                    CustomerClass::parse("class", &c.class)
                        .map_or(c.class.clone(), |k| k.label(lang).to_string()),
                    c.store_name.clone(),
                    c.consultant_name.clone().unwrap_or_default(),
                    c.updated_at.format("%Y-%m-%d %H:%M").to_string(),
                ];
                table.rows.push(row.iter().map(|v| neutralize(v)).collect());
            }
            if !p.has_more || table.rows.len() >= MAX_EXPORT_ROWS {
                break;
            }
            page += 1;
        }
        write_table(&table, format, out)?;
        self.audit_export(
            actor,
            "customer",
            format,
            table.rows.len(),
            reveal,
            serde_json::to_value(query).unwrap_or_default(),
        )
        .await?;
        Ok(table.rows.len())
    }
}

// ---- the other lists --------------------------------------------------------------------

/// Filters of the vehicle list (`GET /api/v1/vehicles`, its export, `dealerbase export vehicles`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(default)]
pub struct VehicleQuery {
    /// VIN or plate
    pub q: Option<String>,
    pub store_id: Option<Id>,
    pub owner_id: Option<Id>,
    pub model_id: Option<Id>,
    /// Compulsory or commercial insurance ends on or before this date (2026-12-31)
    pub insurance_due_before: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// Filters of the task list.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(default)]
pub struct TaskQuery {
    pub store_id: Option<Id>,
    /// open | done | cancelled
    pub status: Option<String>,
    /// lead_follow_up | insurance_renewal | maintenance_reminder | …
    pub kind: Option<String>,
    pub assignee_id: Option<Id>,
    pub due_from: Option<String>,
    pub due_to: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// Filters of the work-order list.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(default)]
pub struct WorkOrderQuery {
    pub store_id: Option<Id>,
    /// first_service | maintenance | repair | accident | warranty | claim | pdi | accessory
    pub kind: Option<String>,
    /// open | settled
    pub status: Option<String>,
    pub customer_id: Option<Id>,
    pub vehicle_id: Option<Id>,
    pub opened_from: Option<String>,
    pub opened_to: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

fn query_date(field: &str, v: &Option<String>) -> Result<Option<NaiveDate>> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => Ok(Some(
            dealerbase_domain::dates::parse_dms_date(field, s).map_err(ServiceError::invalid)?,
        )),
    }
}

fn code_filter<T>(
    field: &str,
    v: &Option<String>,
    parse: impl Fn(&str, &str) -> std::result::Result<T, ValidationError>,
    code: impl Fn(T) -> &'static str,
) -> Result<Option<String>> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => Ok(Some(
            code(parse(field, s).map_err(ServiceError::invalid)?).to_string(),
        )),
    }
}

fn list_page(page: Option<u32>, per_page: Option<u32>) -> ListPage {
    ListPage {
        page: page.unwrap_or(1),
        per_page: per_page.unwrap_or(20),
        before_id: None,
    }
}

fn label<T: Copy>(
    v: &str,
    parse: impl Fn(&str, &str) -> std::result::Result<T, ValidationError>,
    label: impl Fn(T, Lang) -> &'static str,
    lang: Lang,
) -> String {
    parse("", v).map_or(v.to_string(), |k| label(k, lang).to_string())
}

/// Mobile as the actor may see it.
fn phone(v: &Option<String>, reveal: bool) -> String {
    match v {
        Some(m) if reveal => m.clone(),
        Some(m) => mask_mobile(m),
        None => String::new(),
    }
}

fn date_text(d: &Option<NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

fn fen_text(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, (fen % 100).abs())
}

impl Services {
    fn vehicle_filter(&self, q: &VehicleQuery) -> Result<VehicleFilter> {
        let mut f = VehicleFilter {
            store_id: q.store_id,
            owner_id: q.owner_id,
            model_id: q.model_id,
            insurance_due_before: query_date("insurance_due_before", &q.insurance_due_before)?,
            ..Default::default()
        };
        match q.q.as_deref().and_then(recognise_search) {
            Some(SearchKey::Vin(v)) => f.vin = Some(v),
            Some(SearchKey::Plate(p)) => f.plate = Some(p),
            Some(other) => {
                let text = match other {
                    SearchKey::Mobile(s) | SearchKey::Name(s) => s,
                    _ => String::new(),
                };
                return Err(ServiceError::invalid(ValidationError::new(
                    "q",
                    text,
                    Rule::OneOf {
                        allowed: vec!["VIN".into(), "plate".into()],
                    },
                )));
            }
            None => {}
        }
        Ok(f)
    }

    fn task_filter(&self, q: &TaskQuery) -> Result<TaskFilter> {
        Ok(TaskFilter {
            store_id: q.store_id,
            status: code_filter("status", &q.status, TaskStatus::parse, TaskStatus::code)?,
            kind: code_filter("kind", &q.kind, TaskKind::parse, TaskKind::code)?,
            assignee_id: q.assignee_id,
            due_from: query_date("due_from", &q.due_from)?,
            due_to: query_date("due_to", &q.due_to)?,
        })
    }

    fn work_order_filter(&self, q: &WorkOrderQuery) -> Result<WorkOrderFilter> {
        let status = match q.status.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(s @ ("open" | "settled")) => Some(s.to_string()),
            Some(s) => {
                return Err(ServiceError::invalid(ValidationError::new(
                    "status",
                    s,
                    Rule::OneOf {
                        allowed: vec!["open".into(), "settled".into()],
                    },
                )));
            }
        };
        Ok(WorkOrderFilter {
            store_id: q.store_id,
            kind: code_filter("kind", &q.kind, WorkOrderKind::parse, WorkOrderKind::code)?,
            status,
            customer_id: q.customer_id,
            vehicle_id: q.vehicle_id,
            opened_from: query_date("opened_from", &q.opened_from)?,
            opened_to: query_date("opened_to", &q.opened_to)?,
        })
    }

    fn lead_filter(&self, q: &LeadQuery) -> Result<LeadListFilter> {
        Ok(LeadListFilter {
            store_id: None,
            status: code_filter("status", &q.status, LeadStatus::parse, LeadStatus::code)?,
            grade: code_filter("grade", &q.grade, LeadGrade::parse, LeadGrade::code)?,
            owner_id: q.owner_id,
            customer_id: q.customer_id,
        })
    }

    /// Vehicles whose owner is in the actor's scope, owner mobile masked.
    pub async fn list_vehicles(&self, actor: &Actor, q: &VehicleQuery) -> Result<Page<VehicleRow>> {
        let f = self.vehicle_filter(q)?;
        let mut p = self
            .db
            .list_vehicles(&actor.scope(), &f, &list_page(q.page, q.per_page))
            .await?;
        for v in &mut p.items {
            v.owner_mobile = v.owner_mobile.as_deref().map(mask_mobile);
        }
        Ok(p)
    }

    /// Tasks in the actor's scope, customer mobile masked.
    pub async fn list_tasks(&self, actor: &Actor, q: &TaskQuery) -> Result<Page<TaskRow>> {
        let f = self.task_filter(q)?;
        let mut p = self
            .db
            .list_tasks(&actor.scope(), &f, &list_page(q.page, q.per_page))
            .await?;
        for t in &mut p.items {
            t.customer_mobile = t.customer_mobile.as_deref().map(mask_mobile);
        }
        Ok(p)
    }

    /// Work orders whose customer is in the actor's scope, customer mobile masked.
    pub async fn list_work_orders(
        &self,
        actor: &Actor,
        q: &WorkOrderQuery,
    ) -> Result<Page<WorkOrderRow>> {
        let f = self.work_order_filter(q)?;
        let mut p = self
            .db
            .list_work_orders(&actor.scope(), &f, &list_page(q.page, q.per_page))
            .await?;
        for w in &mut p.items {
            w.customer_mobile = w.customer_mobile.as_deref().map(mask_mobile);
        }
        Ok(p)
    }

    /// Full mobiles in an export only for roles that may reveal them, when asked.
    fn export_reveal(&self, actor: &Actor, reveal: bool) -> Result<bool> {
        if reveal && !actor.role.may_reveal_personal_data() {
            return Err(ServiceError::Forbidden("reveal personal data"));
        }
        Ok(reveal)
    }

    async fn audit_export(
        &self,
        actor: &Actor,
        entity: &str,
        format: ExportFormat,
        rows: usize,
        reveal: bool,
        filters: serde_json::Value,
    ) -> Result<()> {
        let detail = serde_json::json!({
            "format": format.extension(), "rows": rows, "revealed": reveal, "filters": filters,
        });
        self.db
            .audit(
                Some(actor.staff_id),
                "export",
                entity,
                None,
                &detail.to_string(),
                self.clock.now(),
            )
            .await?;
        Ok(())
    }

    /// Every page of a list, walked by id (keyset), as table rows.
    async fn walk<T, F, Fut>(
        &self,
        mut fetch: F,
        mut row: impl FnMut(&T) -> Vec<String>,
        id: impl Fn(&T) -> Id,
    ) -> Result<Vec<Vec<String>>>
    where
        F: FnMut(ListPage) -> Fut,
        Fut: std::future::Future<Output = std::result::Result<Page<T>, dealerbase_store::StoreError>>,
    {
        let mut rows = Vec::new();
        let mut before: Option<Id> = None;
        loop {
            let p = fetch(ListPage {
                page: 1,
                per_page: 1000,
                before_id: before,
            })
            .await?;
            for item in &p.items {
                rows.push(row(item).iter().map(|v| neutralize(v)).collect());
            }
            before = p.items.last().map(&id);
            if !p.has_more || rows.len() >= MAX_EXPORT_ROWS {
                break;
            }
        }
        Ok(rows)
    }

    /// The vehicle list with its filters as CSV or XLSX; owner mobiles masked unless
    /// `reveal` (permitted roles only). Audited. Returns the number of rows.
    pub async fn export_vehicles(
        &self,
        actor: &Actor,
        q: &VehicleQuery,
        format: ExportFormat,
        lang: Lang,
        reveal: bool,
        out: &mut (dyn Write + Send),
    ) -> Result<usize> {
        let reveal = self.export_reveal(actor, reveal)?;
        let f = self.vehicle_filter(q)?;
        let scope = actor.scope();
        let rows = self
            .walk(
                |p| {
                    let (db, f, scope) = (self.db.clone(), f.clone(), scope);
                    async move { db.list_vehicles(&scope, &f, &p).await }
                },
                |v: &VehicleRow| {
                    vec![
                        v.vin.clone(),
                        v.plate.clone().unwrap_or_default(),
                        v.brand_name.clone(),
                        v.model_name.clone(),
                        v.colour.clone().unwrap_or_default(),
                        date_text(&v.purchase_date),
                        date_text(&v.delivery_date),
                        date_text(&v.warranty_end_date),
                        date_text(&v.compulsory_insurance_end),
                        date_text(&v.commercial_insurance_end),
                        v.store_name.clone(),
                        v.owner_name.clone(),
                        phone(&v.owner_mobile, reveal),
                    ]
                },
                |v| v.id,
            )
            .await?;
        let headers = match lang {
            Lang::Zh => vec![
                "车架号",
                "车牌号",
                "品牌",
                "车型",
                "颜色",
                "购车日期",
                "交车日期",
                "保修到期日",
                "交强险到期日",
                "商业险到期日",
                "门店",
                "车主",
                "车主手机",
            ],
            Lang::En => vec![
                "VIN",
                "plate",
                "brand",
                "model",
                "colour",
                "purchase date",
                "delivery date",
                "warranty end",
                "compulsory insurance end",
                "commercial insurance end",
                "store",
                "owner",
                "owner mobile",
            ],
        };
        let n = rows.len();
        write_table(&Table { headers, rows }, format, out)?;
        self.audit_export(
            actor,
            "vehicle",
            format,
            n,
            reveal,
            serde_json::to_value(q).unwrap_or_default(),
        )
        .await?;
        Ok(n)
    }

    /// The lead list with its filters; customer mobiles masked unless `reveal`. Audited.
    pub async fn export_leads(
        &self,
        actor: &Actor,
        q: &LeadQuery,
        format: ExportFormat,
        lang: Lang,
        reveal: bool,
        out: &mut (dyn Write + Send),
    ) -> Result<usize> {
        let reveal = self.export_reveal(actor, reveal)?;
        let f = self.lead_filter(q)?;
        let scope = actor.scope();
        let rows = self
            .walk(
                |p| {
                    let (db, f, scope) = (self.db.clone(), f.clone(), scope);
                    async move { db.list_lead_rows(&scope, &f, &p).await }
                },
                |l: &LeadRow| {
                    vec![
                        l.id.to_string(),
                        l.customer_name.clone(),
                        phone(&l.customer_mobile, reveal),
                        label(&l.grade, LeadGrade::parse, LeadGrade::label, lang),
                        label(&l.status, LeadStatus::parse, LeadStatus::label, lang),
                        label(&l.source, LeadSource::parse, LeadSource::label, lang),
                        l.source_detail.clone().unwrap_or_default(),
                        l.desired_model.clone().unwrap_or_default(),
                        date_text(&l.next_follow_up),
                        l.owner_name.clone().unwrap_or_default(),
                        l.store_name.clone(),
                        l.created_at.format("%Y-%m-%d %H:%M").to_string(),
                    ]
                },
                |l| l.id,
            )
            .await?;
        let headers = match lang {
            Lang::Zh => vec![
                "意向编号",
                "客户姓名",
                "手机",
                "意向级别",
                "状态",
                "来源",
                "来源明细",
                "意向车型",
                "下次跟进",
                "销售顾问",
                "门店",
                "创建时间",
            ],
            Lang::En => vec![
                "lead",
                "customer",
                "mobile",
                "grade",
                "status",
                "source",
                "source detail",
                "desired model",
                "next follow-up",
                "consultant",
                "store",
                "created at",
            ],
        };
        let n = rows.len();
        write_table(&Table { headers, rows }, format, out)?;
        self.audit_export(
            actor,
            "lead",
            format,
            n,
            reveal,
            serde_json::to_value(q).unwrap_or_default(),
        )
        .await?;
        Ok(n)
    }

    /// The task list with its filters; customer mobiles masked unless `reveal`. Audited.
    pub async fn export_tasks(
        &self,
        actor: &Actor,
        q: &TaskQuery,
        format: ExportFormat,
        lang: Lang,
        reveal: bool,
        out: &mut (dyn Write + Send),
    ) -> Result<usize> {
        let reveal = self.export_reveal(actor, reveal)?;
        let f = self.task_filter(q)?;
        let scope = actor.scope();
        let rows = self
            .walk(
                |p| {
                    let (db, f, scope) = (self.db.clone(), f.clone(), scope);
                    async move { db.list_tasks(&scope, &f, &p).await }
                },
                |t: &TaskRow| {
                    vec![
                        t.id.to_string(),
                        label(&t.kind, TaskKind::parse, TaskKind::label, lang),
                        label(&t.status, TaskStatus::parse, TaskStatus::label, lang),
                        t.due_on.to_string(),
                        t.customer_name.clone().unwrap_or_default(),
                        phone(&t.customer_mobile, reveal),
                        t.assignee_name.clone().unwrap_or_default(),
                        t.store_name.clone(),
                        t.outcome.clone().unwrap_or_default(),
                        t.note.clone().unwrap_or_default(),
                    ]
                },
                |t| t.id,
            )
            .await?;
        let headers = match lang {
            Lang::Zh => vec![
                "任务编号",
                "任务类型",
                "状态",
                "到期日",
                "客户姓名",
                "手机",
                "负责人",
                "门店",
                "结果",
                "备注",
            ],
            Lang::En => vec![
                "task", "kind", "status", "due", "customer", "mobile", "assignee", "store",
                "outcome", "note",
            ],
        };
        let n = rows.len();
        write_table(&Table { headers, rows }, format, out)?;
        self.audit_export(
            actor,
            "task",
            format,
            n,
            reveal,
            serde_json::to_value(q).unwrap_or_default(),
        )
        .await?;
        Ok(n)
    }

    /// The work-order list with its filters; customer mobiles masked unless `reveal`.
    /// Audited.
    pub async fn export_work_orders(
        &self,
        actor: &Actor,
        q: &WorkOrderQuery,
        format: ExportFormat,
        lang: Lang,
        reveal: bool,
        out: &mut (dyn Write + Send),
    ) -> Result<usize> {
        let reveal = self.export_reveal(actor, reveal)?;
        let f = self.work_order_filter(q)?;
        let scope = actor.scope();
        let rows = self
            .walk(
                |p| {
                    let (db, f, scope) = (self.db.clone(), f.clone(), scope);
                    async move { db.list_work_orders(&scope, &f, &p).await }
                },
                |w: &WorkOrderRow| {
                    vec![
                        w.number.clone(),
                        label(&w.kind, WorkOrderKind::parse, WorkOrderKind::label, lang),
                        w.status.clone(),
                        w.opened_on.to_string(),
                        date_text(&w.settled_on),
                        w.odometer_km.map(|k| k.to_string()).unwrap_or_default(),
                        fen_text(w.total_fen),
                        label(&w.paid_by, PaidBy::parse, PaidBy::label, lang),
                        w.vin.clone(),
                        w.plate.clone().unwrap_or_default(),
                        w.customer_name.clone(),
                        phone(&w.customer_mobile, reveal),
                        w.advisor_name.clone().unwrap_or_default(),
                        w.store_name.clone(),
                    ]
                },
                |w| w.id,
            )
            .await?;
        let headers = match lang {
            Lang::Zh => vec![
                "工单号",
                "工单类型",
                "状态",
                "开单日期",
                "结算日期",
                "行驶里程",
                "工单金额",
                "付款方",
                "车架号",
                "车牌号",
                "客户姓名",
                "手机",
                "服务顾问",
                "门店",
            ],
            Lang::En => vec![
                "number",
                "kind",
                "status",
                "opened",
                "settled",
                "odometer km",
                "total (yuan)",
                "paid by",
                "VIN",
                "plate",
                "customer",
                "mobile",
                "advisor",
                "store",
            ],
        };
        let n = rows.len();
        write_table(&Table { headers, rows }, format, out)?;
        self.audit_export(
            actor,
            "work_order",
            format,
            n,
            reveal,
            serde_json::to_value(q).unwrap_or_default(),
        )
        .await?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(neutralize("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(neutralize("+86"), "'+86");
        assert_eq!(neutralize("-1"), "'-1");
        assert_eq!(neutralize("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralize("张三"), "张三");
        assert_eq!(neutralize("138****5678"), "138****5678");
    }
}
