//! Campaigns: the campaign row, what a recipient's message needs (customer, store,
//! consultant, consent, their first current car with its plate, model and due dates), the
//! preparation (recipients and phone tasks in one transaction, batched multi-row inserts,
//! done once), the recipient list and the invitation steps.

use crate::model::Id;
use crate::sql::{Arg, Scope, Sql, bind_args};
use crate::{Db, NewTask, Pool, Result, StoreError, on_pool};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::AssertSqlSafe;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct CampaignRow {
    pub id: Id,
    pub group_id: Id,
    pub store_id: Option<Id>,
    pub name: String,
    /// sms | email | phone | test_drive | event
    pub kind: String,
    pub segment_id: Id,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub budget_fen: i64,
    pub cost_per_contact_fen: i64,
    pub control_pct: f64,
    pub seed: i64,
    pub sms_template: String,
    pub email_subject: String,
    pub email_body: String,
    /// draft | prepared | sent
    pub status: String,
    pub prepared_at: Option<DateTime<Utc>>,
    pub recipients: i64,
    pub held_out: i64,
    pub created_by: Option<Id>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Days of the response window (the day it went out and the days after).
    pub response_window_days: i64,
    /// When the messages were handed to the outbox.
    pub sent_at: Option<DateTime<Utc>>,
    /// When the stored results were computed.
    pub results_at: Option<DateTime<Utc>>,
}

/// A new campaign (status draft).
#[derive(Debug, Clone)]
pub struct NewCampaign<'a> {
    pub group_id: Id,
    pub store_id: Option<Id>,
    pub name: &'a str,
    pub kind: &'a str,
    pub segment_id: Id,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub budget_fen: i64,
    pub cost_per_contact_fen: i64,
    pub control_pct: f64,
    pub seed: i64,
    pub sms_template: &'a str,
    pub email_subject: &'a str,
    pub email_body: &'a str,
    pub response_window_days: i64,
    pub created_by: Id,
}

/// What a recipient's message and task need about the customer.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RecipientFacts {
    pub customer_id: Id,
    pub name: String,
    pub mobile: Option<String>,
    pub store_id: Id,
    pub store_name: String,
    pub consultant_id: Option<Id>,
    pub consultant_name: Option<String>,
    /// 1 with a marketing consent not withdrawn.
    pub marketing_consent: i64,
    /// 1 when a contact ended with "do not contact".
    pub do_not_contact: i64,
}

/// A current car of a recipient with its next due dates.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CarFacts {
    pub customer_id: Id,
    pub vehicle_id: Id,
    pub plate: Option<String>,
    pub model_name: String,
    pub next_due_on: Option<NaiveDate>,
    /// The earliest policy end on or after today that is not renewed.
    pub policy_end: Option<NaiveDate>,
}

/// A recipient to store.
#[derive(Debug, Clone)]
pub struct NewRecipient {
    pub customer_id: Id,
    pub store_id: Id,
    pub vehicle_id: Option<Id>,
    pub control: bool,
    pub status: &'static str,
    pub subject: String,
    pub rendered: String,
    /// The e-mail body of an SMS + e-mail recipient.
    pub rendered_email: String,
}

/// A recipient whose message is still to be handed to the outbox.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Sendable {
    pub customer_id: Id,
    pub store_id: Id,
    pub subject: String,
    pub rendered: String,
    pub rendered_email: String,
    pub mobile: Option<String>,
    pub email: Option<String>,
}

/// A record of a recipient that may be a response, on its China day: `kind` is visit,
/// work_order, order or test_drive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseRecord {
    pub customer_id: Id,
    pub kind: &'static str,
    pub day: NaiveDate,
    pub revenue_fen: i64,
}

/// A stored recipient with the customer's name and mobile (as stored: the service masks).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct RecipientRow {
    pub customer_id: Id,
    pub name: String,
    pub mobile: Option<String>,
    pub store_id: Id,
    pub vehicle_id: Option<Id>,
    pub control: bool,
    pub status: String,
    pub subject: String,
    pub rendered: String,
    pub task_id: Option<Id>,
    pub invited_at: Option<DateTime<Utc>>,
    pub responded_at: Option<DateTime<Utc>>,
    pub attended_at: Option<DateTime<Utc>>,
}

/// Counts of a campaign's recipients by status.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct StatusCount {
    pub status: String,
    pub control: bool,
    pub recipients: i64,
}

/// Rows per multi-row INSERT (parameters stay far below both databases' limits).
const BATCH: usize = 500;
/// Recipients per JSON array inserted at once.
const JSON_BATCH: usize = 5000;
/// Ids per lookup of recipient facts.
const FACT_CHUNK: usize = 1000;

fn china_start(d: NaiveDate) -> DateTime<Utc> {
    (d.and_hms_opt(0, 0, 0).unwrap_or_default() - chrono::Duration::hours(8)).and_utc()
}

fn id_list(q: &mut Sql, ids: &[Id]) {
    q.push("(");
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            q.push(",");
        }
        q.bind_i64(*id);
    }
    q.push(")");
}

impl Db {
    pub async fn create_marketing_campaign(
        &self,
        c: &NewCampaign<'_>,
        now: DateTime<Utc>,
    ) -> Result<Id> {
        on_pool!(self, p => Ok(sqlx::query_scalar::<_, i64>(
            "INSERT INTO marketing_campaign (group_id, store_id, name, kind, segment_id, scheduled_at, budget_fen, cost_per_contact_fen, \
               control_pct, seed, sms_template, email_subject, email_body, status, created_by, created_at, updated_at, response_window_days) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,'draft',$14,$15,$15,$16) RETURNING id")
            .bind(c.group_id).bind(c.store_id).bind(c.name).bind(c.kind).bind(c.segment_id).bind(c.scheduled_at)
            .bind(c.budget_fen).bind(c.cost_per_contact_fen).bind(c.control_pct).bind(c.seed)
            .bind(c.sms_template).bind(c.email_subject).bind(c.email_body).bind(c.created_by).bind(now).bind(c.response_window_days)
            .fetch_one(p).await?))
    }

    pub async fn marketing_campaign(&self, id: Id) -> Result<CampaignRow> {
        let row = on_pool!(self, p => sqlx::query_as::<_, CampaignRow>("SELECT * FROM marketing_campaign WHERE id = $1")
            .bind(id).fetch_optional(p).await?);
        row.ok_or(StoreError::NotFound {
            entity: "campaign",
            id: id.to_string(),
        })
    }

    /// Campaigns of a group; with a store, that store's and the group-level ones. Newest first.
    pub async fn marketing_campaigns(
        &self,
        group_id: Id,
        store_id: Option<Id>,
        limit: i64,
    ) -> Result<Vec<CampaignRow>> {
        let mut q = Sql::new("SELECT * FROM marketing_campaign WHERE group_id = ");
        q.bind_i64(group_id);
        if let Some(s) = store_id {
            q.push(" AND (store_id IS NULL OR store_id = ")
                .bind_i64(s)
                .push(")");
        }
        q.push(" ORDER BY id DESC LIMIT ").bind_i64(limit);
        let sql = q.text.clone();
        on_pool!(self, p => Ok(bind_args!(sqlx::query_as::<_, CampaignRow>(AssertSqlSafe(sql)), q.args).fetch_all(p).await?))
    }

    /// Facts of these customers (any order; unknown ids are left out).
    pub async fn recipient_facts(&self, ids: &[Id]) -> Result<Vec<RecipientFacts>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(FACT_CHUNK) {
            let mut q = Sql::new(
                "SELECT c.id AS customer_id, c.name, c.mobile, c.store_id, st.name AS store_name, c.consultant_id, sf.name AS consultant_name, \
                   CAST(CASE WHEN EXISTS (SELECT 1 FROM consent k WHERE k.customer_id = c.id AND k.purpose = 'marketing' AND k.withdrawn_at IS NULL) THEN 1 ELSE 0 END AS BIGINT) AS marketing_consent, \
                   CAST(CASE WHEN EXISTS (SELECT 1 FROM contact x WHERE x.customer_id = c.id AND x.outcome = 'do_not_contact') THEN 1 ELSE 0 END AS BIGINT) AS do_not_contact \
                 FROM customer c JOIN store st ON st.id = c.store_id LEFT JOIN staff sf ON sf.id = c.consultant_id WHERE c.id IN ",
            );
            id_list(&mut q, chunk);
            let sql = q.text.clone();
            let rows: Vec<RecipientFacts> = on_pool!(self, p => bind_args!(sqlx::query_as::<_, RecipientFacts>(AssertSqlSafe(sql)), q.args).fetch_all(p).await?);
            out.extend(rows);
        }
        Ok(out)
    }

    /// The current cars of these customers, by customer then vehicle id.
    pub async fn recipient_cars(&self, ids: &[Id], today: NaiveDate) -> Result<Vec<CarFacts>> {
        let mut out = Vec::new();
        for chunk in ids.chunks(FACT_CHUNK) {
            let mut q = Sql::new(
                "SELECT o.customer_id, v.id AS vehicle_id, v.plate, vm.name AS model_name, vss.next_due_on, \
                   (SELECT MIN(p.end_date) FROM insurance_policy p WHERE p.vehicle_id = v.id AND p.end_date >= ",
            );
            q.bind_date(today);
            q.push(
                " AND NOT EXISTS (SELECT 1 FROM insurance_policy rn WHERE rn.renewal_of = p.id)) AS policy_end \
                 FROM vehicle_ownership o JOIN vehicle v ON v.id = o.vehicle_id JOIN vehicle_model vm ON vm.id = v.model_id \
                 LEFT JOIN vehicle_service_status vss ON vss.vehicle_id = v.id \
                 WHERE o.to_date IS NULL AND o.customer_id IN ",
            );
            id_list(&mut q, chunk);
            q.push(" ORDER BY o.customer_id, v.id");
            let sql = q.text.clone();
            let rows: Vec<CarFacts> = on_pool!(self, p => bind_args!(sqlx::query_as::<_, CarFacts>(AssertSqlSafe(sql)), q.args).fetch_all(p).await?);
            out.extend(rows);
        }
        Ok(out)
    }

    /// Stores the recipients and the phone tasks and marks the campaign prepared, in one
    /// transaction. A campaign already prepared is left as it is (returns false): preparing
    /// twice stores nothing twice. Each task's dedupe key is `campaign:<id>:<customer>`.
    /// Recipients of a campaign still to be sent (prepared, not in the control group), by
    /// customer id after `after`.
    pub async fn marketing_sendable(&self, id: Id, after: Id, limit: i64) -> Result<Vec<Sendable>> {
        Ok(on_pool!(self, p => sqlx::query_as::<_, Sendable>(
            "SELECT r.customer_id, r.store_id, r.subject, r.rendered, r.rendered_email, c.mobile, c.email \
             FROM marketing_recipient r JOIN customer c ON c.id = r.customer_id \
             WHERE r.campaign_id = $1 AND r.customer_id > $2 AND r.status = 'prepared' AND r.control = FALSE \
             ORDER BY r.customer_id LIMIT $3")
            .bind(id).bind(after).bind(limit).fetch_all(p).await?))
    }

    /// Sets recipients' statuses (what the outbox made of their messages) in one
    /// transaction; marks the campaign sent when `done`.
    pub async fn set_marketing_recipient_statuses(
        &self,
        id: Id,
        statuses: &[(Id, &str)],
        done: bool,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            for (customer, status) in statuses {
                sqlx::query("UPDATE marketing_recipient SET status = $3 WHERE campaign_id = $1 AND customer_id = $2")
                    .bind(id).bind(customer).bind(*status).execute(&mut *tx).await?;
            }
            if done {
                sqlx::query("UPDATE marketing_campaign SET status = 'sent', sent_at = $2, updated_at = $2 WHERE id = $1 AND status = 'prepared'")
                    .bind(id).bind(now).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    pub async fn prepare_marketing_campaign(
        &self,
        id: Id,
        rows: &[NewRecipient],
        tasks: &[NewTask<'_>],
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let held_out = rows.iter().filter(|r| r.control).count() as i64;
        let insert_recipients = match &self.pool {
            Pool::Sqlite(_) => {
                "INSERT INTO marketing_recipient (campaign_id, customer_id, store_id, vehicle_id, control, status, subject, rendered, rendered_email) \
                 SELECT $1, j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4, j.value ->> 5, j.value ->> 6, j.value ->> 7 FROM json_each($2) j"
            }
            Pool::Postgres(_) => {
                "INSERT INTO marketing_recipient (campaign_id, customer_id, store_id, vehicle_id, control, status, subject, rendered, rendered_email) \
                 SELECT $1, (j ->> 0)::bigint, (j ->> 1)::bigint, (j ->> 2)::bigint, (j ->> 3)::boolean, j ->> 4, j ->> 5, j ->> 6, j ->> 7 FROM jsonb_array_elements($2::jsonb) j"
            }
        };
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let n = sqlx::query("UPDATE marketing_campaign SET status = 'prepared', prepared_at = $2, recipients = $3, held_out = $4, updated_at = $2 \
                                 WHERE id = $1 AND status = 'draft'")
                .bind(id).bind(now).bind(rows.len() as i64).bind(held_out).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                tx.rollback().await?;
                return Ok(false);
            }
            // Recipients go in as one JSON array per 5,000 rows, unpacked by the database
            // (json_each / jsonb_array_elements): one short statement, prepared once, instead
            // of thousands of parameters in a statement that differs batch by batch.
            for batch in rows.chunks(JSON_BATCH) {
                let json = serde_json::Value::Array(batch.iter().map(|r| serde_json::json!([
                    r.customer_id, r.store_id, r.vehicle_id, r.control, r.status, r.subject, r.rendered, r.rendered_email
                ])).collect()).to_string();
                sqlx::query(insert_recipients).bind(id).bind(json).execute(&mut *tx).await?;
            }
            for batch in tasks.chunks(BATCH) {
                let mut q = Sql::new("INSERT INTO task (store_id, kind, customer_id, vehicle_id, assignee_id, role, due_on, status, note, dedupe_key, created_at) VALUES ");
                for (i, t) in batch.iter().enumerate() {
                    if i > 0 { q.push(", "); }
                    q.push("(").bind_i64(t.store_id).push(", ").bind_text(t.kind).push(", ");
                    match t.customer_id { Some(v) => { q.bind_i64(v); } None => { q.push("NULL"); } }
                    q.push(", ");
                    match t.vehicle_id { Some(v) => { q.bind_i64(v); } None => { q.push("NULL"); } }
                    q.push(", ");
                    match t.assignee_id { Some(v) => { q.bind_i64(v); } None => { q.push("NULL"); } }
                    q.push(", ");
                    match t.role { Some(v) => { q.bind_text(v); } None => { q.push("NULL"); } }
                    q.push(", ").bind(Arg::Date(t.due_on)).push(", 'open', ");
                    match t.note { Some(v) => { q.bind_text(v); } None => { q.push("NULL"); } }
                    q.push(", ");
                    match t.dedupe_key { Some(v) => { q.bind_text(v); } None => { q.push("NULL"); } }
                    q.push(", ").bind(Arg::Ts(now)).push(")");
                }
                q.push(" ON CONFLICT (dedupe_key) DO NOTHING");
                let sql = q.text.clone();
                bind_args!(sqlx::query(AssertSqlSafe(sql)), q.args).execute(&mut *tx).await?;
            }
            if !tasks.is_empty() {
                sqlx::query("UPDATE marketing_recipient SET task_id = (SELECT t.id FROM task t WHERE t.dedupe_key = 'campaign:' || CAST(marketing_recipient.campaign_id AS TEXT) || ':' || CAST(marketing_recipient.customer_id AS TEXT)) \
                             WHERE campaign_id = $1 AND status = 'prepared' AND NOT control")
                    .bind(id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Recipients in the reader's scope after customer `after`, by customer id.
    pub async fn marketing_recipients(
        &self,
        scope: &Scope,
        id: Id,
        after: Id,
        limit: i64,
    ) -> Result<Vec<RecipientRow>> {
        let mut q = Sql::new(
            "SELECT r.customer_id, c.name, c.mobile, r.store_id, r.vehicle_id, r.control, r.status, r.subject, r.rendered, r.task_id, \
               r.invited_at, r.responded_at, r.attended_at \
             FROM marketing_recipient r JOIN customer c ON c.id = r.customer_id WHERE r.campaign_id = ",
        );
        q.bind_i64(id);
        q.customer_scope(scope, "c");
        q.push(" AND r.customer_id > ").bind_i64(after);
        q.push(" ORDER BY r.customer_id LIMIT ").bind_i64(limit);
        let sql = q.text.clone();
        on_pool!(self, p => Ok(bind_args!(sqlx::query_as::<_, RecipientRow>(AssertSqlSafe(sql)), q.args).fetch_all(p).await?))
    }

    /// Recipients by status and control flag.
    pub async fn marketing_status_counts(&self, id: Id) -> Result<Vec<StatusCount>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, StatusCount>(
            "SELECT status, control, COUNT(*) AS recipients FROM marketing_recipient WHERE campaign_id = $1 GROUP BY status, control ORDER BY status, control")
            .bind(id).fetch_all(p).await?))
    }

    /// Sets a recipient's status and the time of the step (`invited_at`, `responded_at` or
    /// `attended_at`, chosen by the caller from a fixed list).
    pub async fn set_recipient_status(
        &self,
        id: Id,
        customer_id: Id,
        status: &str,
        stamp: RecipientStamp,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let col = match stamp {
            RecipientStamp::Invited => "invited_at",
            RecipientStamp::Responded => "responded_at",
            RecipientStamp::Attended => "attended_at",
        };
        let sql = format!(
            "UPDATE marketing_recipient SET status = $3, {col} = $4 WHERE campaign_id = $1 AND customer_id = $2"
        );
        let n = on_pool!(self, p => sqlx::query(AssertSqlSafe(sql)).bind(id).bind(customer_id).bind(status).bind(at).execute(p).await?.rows_affected());
        if n == 0 {
            return Err(StoreError::NotFound {
                entity: "recipient",
                id: customer_id.to_string(),
            });
        }
        Ok(())
    }

    /// One recipient (no scope: the service checks the customer's scope first).
    pub async fn marketing_recipient(
        &self,
        id: Id,
        customer_id: Id,
    ) -> Result<Option<(String, bool)>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, (String, bool)>(
            "SELECT status, control FROM marketing_recipient WHERE campaign_id = $1 AND customer_id = $2")
            .bind(id).bind(customer_id).fetch_optional(p).await?))
    }

    /// The recipients of a campaign: (customer, held out).
    pub async fn marketing_recipient_ids(&self, id: Id) -> Result<Vec<(Id, bool)>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, (Id, bool)>(
            "SELECT customer_id, control FROM marketing_recipient WHERE campaign_id = $1 ORDER BY customer_id")
            .bind(id).fetch_all(p).await?))
    }

    /// The contacts a campaign made: (customer, channel) for every message the outbox sent
    /// (sent or delivered), every call task done (phone) and every invitation given
    /// (test drives and events, by phone).
    pub async fn marketing_contacts(&self, id: Id) -> Result<Vec<(Id, String)>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, (Id, String)>(
            "SELECT m.customer_id, m.channel FROM message_outbox m \
               WHERE m.campaign_id = $1 AND m.customer_id IS NOT NULL AND m.status IN ('sent', 'delivered') \
             UNION ALL SELECT r.customer_id, 'phone' FROM marketing_recipient r JOIN task t ON t.id = r.task_id \
               WHERE r.campaign_id = $1 AND t.status = 'done' \
             UNION ALL SELECT r.customer_id, 'phone' FROM marketing_recipient r \
               WHERE r.campaign_id = $1 AND r.invited_at IS NOT NULL AND r.task_id IS NULL")
            .bind(id).fetch_all(p).await?))
    }

    /// The visits, work orders (not cancelled; revenue when settled), orders (not
    /// cancelled) and test drives (done) of these customers on China days `from` ≤ day <
    /// `until`.
    pub async fn response_records(
        &self,
        ids: &[Id],
        from: NaiveDate,
        until: NaiveDate,
    ) -> Result<Vec<ResponseRecord>> {
        let (t0, t1) = (china_start(from), china_start(until));
        let mut out = Vec::new();
        for chunk in ids.chunks(FACT_CHUNK) {
            let dated: [(&'static str, &str); 2] = [
                (
                    "work_order",
                    "SELECT customer_id, opened_on, CASE WHEN status = 'settled' THEN total_fen ELSE 0 END FROM work_order \
                   WHERE status <> 'cancelled' AND opened_on >= $1 AND opened_on < $2 AND customer_id IN ",
                ),
                (
                    "order",
                    "SELECT customer_id, ordered_on, price_fen FROM sales_order \
                   WHERE status <> 'cancelled' AND ordered_on >= $1 AND ordered_on < $2 AND customer_id IN ",
                ),
            ];
            for (kind, head) in dated {
                let mut q = Sql::new(head);
                q.args.push(Arg::Date(from));
                q.args.push(Arg::Date(until));
                id_list(&mut q, chunk);
                let sql = q.text.clone();
                let rows: Vec<(Id, NaiveDate, i64)> = on_pool!(self, p => bind_args!(sqlx::query_as::<_, (Id, NaiveDate, i64)>(AssertSqlSafe(sql)), q.args).fetch_all(p).await?);
                out.extend(rows.into_iter().map(|(customer_id, day, revenue_fen)| {
                    ResponseRecord {
                        customer_id,
                        kind,
                        day,
                        revenue_fen,
                    }
                }));
            }
            let timed: [(&'static str, &str); 2] = [
                (
                    "visit",
                    "SELECT customer_id, arrived_at FROM showroom_visit \
                   WHERE arrived_at >= $1 AND arrived_at < $2 AND customer_id IN ",
                ),
                (
                    "test_drive",
                    "SELECT l.customer_id, COALESCE(t.done_at, t.booked_at) FROM test_drive t JOIN lead l ON l.id = t.lead_id \
                   WHERE t.status = 'done' AND COALESCE(t.done_at, t.booked_at) >= $1 AND COALESCE(t.done_at, t.booked_at) < $2 AND l.customer_id IN ",
                ),
            ];
            for (kind, head) in timed {
                let mut q = Sql::new(head);
                q.args.push(Arg::Ts(t0));
                q.args.push(Arg::Ts(t1));
                id_list(&mut q, chunk);
                let sql = q.text.clone();
                let rows: Vec<(Id, DateTime<Utc>)> = on_pool!(self, p => bind_args!(sqlx::query_as::<_, (Id, DateTime<Utc>)>(AssertSqlSafe(sql)), q.args).fetch_all(p).await?);
                out.extend(rows.into_iter().map(|(customer_id, at)| ResponseRecord {
                    customer_id,
                    kind,
                    day: (at + chrono::Duration::hours(8)).date_naive(),
                    revenue_fen: 0,
                }));
            }
        }
        Ok(out)
    }

    /// The day of each customer's last work order or order before `before` (customers
    /// without one are left out).
    pub async fn last_purchase_days(
        &self,
        ids: &[Id],
        before: NaiveDate,
    ) -> Result<Vec<(Id, NaiveDate)>> {
        let mut out: std::collections::HashMap<Id, NaiveDate> = std::collections::HashMap::new();
        for chunk in ids.chunks(FACT_CHUNK) {
            for head in [
                "SELECT customer_id, MAX(opened_on) FROM work_order WHERE status <> 'cancelled' AND opened_on < $1 AND customer_id IN ",
                "SELECT customer_id, MAX(ordered_on) FROM sales_order WHERE status <> 'cancelled' AND ordered_on < $1 AND customer_id IN ",
            ] {
                let mut q = Sql::new(head);
                q.args.push(Arg::Date(before));
                id_list(&mut q, chunk);
                q.push(" GROUP BY customer_id");
                let sql = q.text.clone();
                let rows: Vec<(Id, NaiveDate)> = on_pool!(self, p => bind_args!(sqlx::query_as::<_, (Id, NaiveDate)>(AssertSqlSafe(sql)), q.args).fetch_all(p).await?);
                for (c, d) in rows {
                    let e = out.entry(c).or_insert(d);
                    if d > *e {
                        *e = d;
                    }
                }
            }
        }
        let mut v: Vec<(Id, NaiveDate)> = out.into_iter().collect();
        v.sort();
        Ok(v)
    }

    /// Stores a campaign's computed results (JSON) and when they were computed.
    pub async fn set_marketing_results(
        &self,
        id: Id,
        results: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        on_pool!(self, p => sqlx::query("UPDATE marketing_campaign SET results = $2, results_at = $3 WHERE id = $1")
            .bind(id).bind(results).bind(at).execute(p).await.map(|_| ())?);
        Ok(())
    }

    /// A campaign's stored results, if computed.
    pub async fn marketing_results(&self, id: Id) -> Result<Option<String>> {
        on_pool!(self, p => Ok(sqlx::query_scalar::<_, Option<String>>("SELECT results FROM marketing_campaign WHERE id = $1")
            .bind(id).fetch_optional(p).await?.flatten()))
    }
}

/// Which moment an invitation step records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecipientStamp {
    Invited,
    Responded,
    Attended,
}
