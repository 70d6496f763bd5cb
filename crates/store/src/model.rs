//! Rows as the store returns them, and the field sets it accepts. Values are already
//! validated by the service layer; enumerations are their text codes from dealerbase-domain.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub type Id = i64;

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct DealerGroup {
    pub id: Id,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Store {
    pub id: Id,
    pub group_id: Id,
    pub code: String,
    pub name: String,
    pub city: String,
    pub brand_id: Id,
    pub settings: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Brand {
    pub id: Id,
    pub name: String,
    pub name_en: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct VehicleModel {
    pub id: Id,
    pub series_id: Id,
    pub code: String,
    pub name: String,
    pub price_fen: i64,
    pub first_service_km: i64,
    pub first_service_months: i64,
    pub service_interval_km: i64,
    pub service_interval_months: i64,
    pub warranty_months: i64,
    pub warranty_km: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Staff {
    pub id: Id,
    pub group_id: Id,
    pub store_id: Option<Id>,
    pub login: String,
    pub name: String,
    pub role: String,
    #[serde(skip)]
    pub password_hash: Option<String>,
    pub active: bool,
}

/// Every profile field of a customer (DOMAIN.md §5). Used to create and to replace.
#[derive(Debug, Clone, Default, Serialize, Deserialize, sqlx::FromRow, ToSchema)]
pub struct CustomerFields {
    pub store_id: Id,
    pub kind: String,
    pub name: String,
    pub title: Option<String>,
    pub gender: Option<String>,
    pub id_type: Option<String>,
    pub id_number: Option<String>,
    pub birthday: Option<NaiveDate>,
    pub lunar_birthday: bool,
    pub mobile: Option<String>,
    pub other_phones: Option<String>,
    pub email: Option<String>,
    pub province_code: Option<String>,
    pub city_code: Option<String>,
    pub district_code: Option<String>,
    pub address: Option<String>,
    pub industry: Option<String>,
    pub occupation: Option<String>,
    pub marital_status: Option<String>,
    pub income_band: Option<String>,
    pub education: Option<String>,
    pub interests: Option<String>,
    pub source: Option<String>,
    pub vip: bool,
    pub key_account: Option<String>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Customer {
    pub id: Id,
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub fields: CustomerFields,
    pub consultant_id: Option<Id>,
    pub class: String,
    pub class_reason: String,
    pub merged_into: Option<Id>,
    /// The newest work order that is not a PDI (kept by triggers on work_order).
    #[sqlx(default)]
    pub last_visit_on: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A line of the customer list.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct CustomerSummary {
    pub id: Id,
    pub store_id: Id,
    pub store_name: String,
    pub kind: String,
    pub name: String,
    pub mobile: Option<String>,
    pub class: String,
    pub consultant_id: Option<Id>,
    pub consultant_name: Option<String>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Assignment {
    pub id: Id,
    pub customer_id: Id,
    pub staff_id: Id,
    pub staff_name: String,
    pub assigned_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct CompanyContact {
    pub id: Id,
    pub customer_id: Id,
    pub name: String,
    pub position: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct CustomerRelation {
    pub id: Id,
    pub customer_id: Id,
    pub related_customer_id: Id,
    pub related_name: String,
    pub kind: String,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, sqlx::FromRow, ToSchema)]
pub struct VehicleFields {
    pub vin: String,
    pub engine_no: Option<String>,
    pub model_id: Id,
    pub colour: Option<String>,
    pub model_year: Option<i64>,
    pub plate: Option<String>,
    pub purchase_date: Option<NaiveDate>,
    pub invoice_date: Option<NaiveDate>,
    pub delivery_date: Option<NaiveDate>,
    pub selling_store_id: Option<Id>,
    pub own_sold: bool,
    pub warranty_end_date: Option<NaiveDate>,
    pub warranty_end_km: Option<i64>,
    pub compulsory_insurance_end: Option<NaiveDate>,
    pub commercial_insurance_end: Option<NaiveDate>,
    pub inspection_due: Option<NaiveDate>,
    pub store_id: Id,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Vehicle {
    pub id: Id,
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub fields: VehicleFields,
    pub model_name: String,
    pub series_name: String,
    pub brand_name: String,
    /// The current owner, if any.
    pub owner_id: Option<Id>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Ownership {
    pub id: Id,
    pub vehicle_id: Id,
    pub customer_id: Id,
    pub from_date: NaiveDate,
    pub to_date: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow, ToSchema)]
pub struct OdometerReading {
    pub vehicle_id: Id,
    pub read_on: NaiveDate,
    pub km: i64,
    pub source: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow, ToSchema)]
pub struct WorkOrderLine {
    pub line_kind: String,
    pub code: String,
    pub name: String,
    pub quantity: f64,
    pub amount_fen: i64,
    pub cost_fen: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow, ToSchema)]
pub struct WorkOrderFields {
    pub store_id: Id,
    pub number: String,
    pub vehicle_id: Id,
    pub customer_id: Id,
    pub advisor_id: Option<Id>,
    pub kind: String,
    pub status: String,
    pub opened_on: NaiveDate,
    pub settled_on: Option<NaiveDate>,
    pub odometer_km: Option<i64>,
    pub total_fen: i64,
    pub paid_by: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct WorkOrder {
    pub id: Id,
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub fields: WorkOrderFields,
    #[sqlx(skip)]
    pub lines: Vec<WorkOrderLine>,
}

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow, ToSchema)]
pub struct LeadFields {
    pub store_id: Id,
    pub customer_id: Id,
    pub grade: String,
    pub source: String,
    pub source_detail: Option<String>,
    pub desired_model_id: Option<Id>,
    pub status: String,
    pub owner_id: Option<Id>,
    pub next_follow_up: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Lead {
    pub id: Id,
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub fields: LeadFields,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct SalesOrder {
    pub id: Id,
    pub store_id: Id,
    pub customer_id: Id,
    pub lead_id: Option<Id>,
    pub vehicle_id: Option<Id>,
    pub model_id: Id,
    pub consultant_id: Option<Id>,
    pub kind: String,
    pub status: String,
    pub ordered_on: NaiveDate,
    pub deposit_fen: i64,
    pub price_fen: i64,
    pub expected_delivery: Option<NaiveDate>,
    pub delivered_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct InsurancePolicy {
    pub id: Id,
    pub store_id: Id,
    pub vehicle_id: Id,
    pub customer_id: Id,
    pub kind: String,
    pub insurer: String,
    pub policy_no: String,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub premium_fen: i64,
    pub sold_here: bool,
    pub renewal_of: Option<Id>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Contact {
    pub id: Id,
    pub store_id: Id,
    pub customer_id: Id,
    pub lead_id: Option<Id>,
    pub staff_id: Option<Id>,
    pub channel: String,
    pub direction: String,
    pub purpose: String,
    pub occurred_at: DateTime<Utc>,
    pub outcome: String,
    pub note: Option<String>,
    pub grade_before: Option<String>,
    pub grade_after: Option<String>,
    pub next_date: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Task {
    pub id: Id,
    pub store_id: Id,
    pub kind: String,
    pub customer_id: Option<Id>,
    pub lead_id: Option<Id>,
    pub vehicle_id: Option<Id>,
    pub assignee_id: Option<Id>,
    pub role: Option<String>,
    pub due_on: NaiveDate,
    pub status: String,
    pub outcome: Option<String>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Complaint {
    pub id: Id,
    pub store_id: Id,
    pub customer_id: Id,
    pub vehicle_id: Option<Id>,
    pub category: String,
    pub severity: String,
    pub owner_id: Option<Id>,
    pub status: String,
    pub description: String,
    pub resolution: Option<String>,
    pub opened_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct SurveyResponse {
    pub id: Id,
    pub store_id: Id,
    pub customer_id: Id,
    pub kind: String,
    pub sales_order_id: Option<Id>,
    pub work_order_id: Option<Id>,
    pub answered_on: NaiveDate,
    pub product_score: Option<i64>,
    pub service_score: i64,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Consent {
    pub id: Id,
    pub customer_id: Id,
    pub purpose: String,
    pub channel: String,
    pub granted_at: DateTime<Utc>,
    pub notice_version: String,
    pub withdrawn_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct TestDrive {
    pub id: Id,
    pub lead_id: Id,
    pub model_id: Id,
    pub staff_id: Option<Id>,
    pub booked_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
    pub status: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct DefeatRequest {
    pub id: Id,
    pub lead_id: Id,
    pub requested_by: Option<Id>,
    pub requested_at: DateTime<Utc>,
    pub reason: String,
    pub competitor_brand: Option<String>,
    pub competitor_model: Option<String>,
    pub note: Option<String>,
    pub status: String,
    pub decided_by: Option<Id>,
    pub decided_at: Option<DateTime<Utc>>,
    pub manager_comment: Option<String>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct AuditEntry {
    pub id: Id,
    pub at: DateTime<Utc>,
    pub staff_id: Option<Id>,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<Id>,
    pub detail: String,
}

/// One page of a list: `has_more` instead of a total, so paging never counts a million rows.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub per_page: u32,
    pub has_more: bool,
}

#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct CustomerActivity {
    pub last_service_on: Option<NaiveDate>,
    pub open_leads: i64,
    pub defeated_leads: i64,
    pub interactions: i64,
}
