//! The message outbox, the suppression list, delivery events and inbound replies
//! (migration 0011). The rules (consent, hours, caps) are the domain's; this layer reads
//! what they need in batches and writes the outcome, each multi-row write in one
//! transaction.
//!
//! Claiming is one conditional `UPDATE … WHERE status IN ('queued', 'sending') AND
//! next_attempt_at <= now`: on PostgreSQL a concurrent claimer re-evaluates the condition
//! after the first commits and finds the row's lease in the future, so no two instances
//! send the same row at once.

use crate::model::{Id, Page};
use crate::sql::{Arg, Sql, bind_args};
use crate::{Db, Result, on_pool};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::AssertSqlSafe;
use utoipa::ToSchema;

/// One outbox row.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct OutboxRow {
    pub id: Id,
    pub idempotency_key: String,
    pub store_id: Id,
    pub customer_id: Option<Id>,
    pub campaign_id: Option<Id>,
    pub channel: String,
    pub purpose: String,
    pub to_address: String,
    pub subject: Option<String>,
    pub body: String,
    pub status: String,
    pub skip_reason: Option<String>,
    pub send_day: NaiveDate,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub provider_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
}

const OUTBOX_COLUMNS: &str = "id, idempotency_key, store_id, customer_id, campaign_id, channel, purpose, to_address, subject, body, status, skip_reason, send_day, attempts, next_attempt_at, last_error, provider_id, created_at, updated_at, sent_at, delivered_at";

/// A row to write, with the decision already taken (status `queued` or `skipped`).
#[derive(Debug, Clone)]
pub struct NewOutboxRow {
    pub idempotency_key: String,
    pub store_id: Id,
    pub customer_id: Option<Id>,
    pub campaign_id: Option<Id>,
    pub channel: String,
    pub purpose: String,
    pub to_address: String,
    pub subject: Option<String>,
    pub body: String,
    pub status: String,
    pub skip_reason: Option<String>,
    pub send_day: NaiveDate,
    pub next_attempt_at: DateTime<Utc>,
}

/// The written (or already existing) row of a key.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct OutboxOutcome {
    pub id: Id,
    pub idempotency_key: String,
    pub status: String,
    pub skip_reason: Option<String>,
}

/// A consent-ledger row of a customer.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConsentRow {
    pub customer_id: Id,
    pub purpose: String,
    pub channel: String,
    pub granted_at: DateTime<Utc>,
    pub withdrawn_at: Option<DateTime<Utc>>,
}

/// An existing message that counts for "identical per day" and the frequency cap.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CountedMessage {
    pub customer_id: Option<Id>,
    pub purpose: String,
    pub to_address: String,
    pub body: String,
    pub send_day: NaiveDate,
}

/// A suppression-list entry.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct SuppressionRow {
    pub id: Id,
    pub address: String,
    pub channel: String,
    pub reason: String,
    pub source: String,
    pub customer_id: Option<Id>,
    pub created_by: Option<Id>,
    pub created_at: DateTime<Utc>,
}

/// A status change of a message.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct MessageEvent {
    pub id: Id,
    pub outbox_id: Id,
    pub at: DateTime<Utc>,
    pub status: String,
    pub detail: String,
}

/// Outbox list filters.
#[derive(Debug, Clone, Default)]
pub struct OutboxFilter {
    /// None = every store of `group_id`.
    pub store_id: Option<Id>,
    pub group_id: Id,
    pub status: Option<String>,
    pub channel: Option<String>,
    pub purpose: Option<String>,
    pub page: u32,
    pub per_page: u32,
}

/// `$a, $b, …` for a list, appended to `sql`.
fn push_list<T: Clone>(sql: &mut Sql, items: &[T], arg: impl Fn(T) -> Arg) {
    for (i, v) in items.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(arg(v.clone()));
    }
}

/// Lists are read in chunks so that no statement binds more than SQLite's limit.
const CHUNK: usize = 500;

/// Outcome of a terminal or retry transition after a send attempt.
#[derive(Debug, Clone)]
pub enum SendResult {
    Sent { provider_id: Option<String> },
    Retry { at: DateTime<Utc>, error: String },
    Failed { error: String },
    Skipped { reason: String },
}

impl Db {
    /// The rows that already exist for these keys.
    pub async fn outbox_by_keys(&self, keys: &[String]) -> Result<Vec<OutboxOutcome>> {
        let mut out = Vec::new();
        for chunk in keys.chunks(CHUNK) {
            let mut sql = Sql::new(
                "SELECT id, idempotency_key, status, skip_reason FROM message_outbox WHERE idempotency_key IN (",
            );
            push_list(&mut sql, chunk, Arg::Text);
            sql.push(")");
            let rows: Vec<OutboxOutcome> = on_pool!(self, p => bind_args!(sqlx::query_as::<_, OutboxOutcome>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_all(p).await?);
            out.extend(rows);
        }
        Ok(out)
    }

    /// The consent ledger of these customers.
    pub async fn consents_of(&self, customer_ids: &[Id]) -> Result<Vec<ConsentRow>> {
        let mut out = Vec::new();
        for chunk in customer_ids.chunks(CHUNK) {
            let mut sql = Sql::new(
                "SELECT customer_id, purpose, channel, granted_at, withdrawn_at FROM consent WHERE customer_id IN (",
            );
            push_list(&mut sql, chunk, Arg::I64);
            sql.push(") ORDER BY customer_id, granted_at, id");
            let rows: Vec<ConsentRow> = on_pool!(self, p => bind_args!(sqlx::query_as::<_, ConsentRow>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_all(p).await?);
            out.extend(rows);
        }
        Ok(out)
    }

    /// Which of these addresses are on the suppression list.
    pub async fn suppressed_among(&self, addresses: &[String]) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for chunk in addresses.chunks(CHUNK) {
            let mut sql = Sql::new("SELECT address FROM message_suppression WHERE address IN (");
            push_list(&mut sql, chunk, Arg::Text);
            sql.push(")");
            let rows: Vec<String> = on_pool!(self, p => bind_args!(sqlx::query_scalar::<_, String>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_all(p).await?);
            out.extend(rows);
        }
        Ok(out)
    }

    /// Messages to these addresses from `from` to `until` (days, inclusive) that went out
    /// or will (not skipped, not failed): "one identical message per number per day".
    pub async fn messages_to(
        &self,
        addresses: &[String],
        from: NaiveDate,
        until: NaiveDate,
    ) -> Result<Vec<CountedMessage>> {
        let mut out = Vec::new();
        for chunk in addresses.chunks(CHUNK) {
            let mut sql = Sql::new(
                "SELECT customer_id, purpose, to_address, body, send_day FROM message_outbox WHERE status NOT IN ('skipped', 'failed') AND send_day >= ",
            );
            sql.bind_date(from)
                .push(" AND send_day <= ")
                .bind_date(until);
            sql.push(" AND to_address IN (");
            push_list(&mut sql, chunk, Arg::Text);
            sql.push(")");
            let rows: Vec<CountedMessage> = on_pool!(self, p => bind_args!(sqlx::query_as::<_, CountedMessage>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_all(p).await?);
            out.extend(rows);
        }
        Ok(out)
    }

    /// Marketing messages of these customers from `from` to `until` (inclusive) that went
    /// out or will: the frequency cap counts them.
    pub async fn marketing_of(
        &self,
        customer_ids: &[Id],
        from: NaiveDate,
        until: NaiveDate,
    ) -> Result<Vec<CountedMessage>> {
        let mut out = Vec::new();
        for chunk in customer_ids.chunks(CHUNK) {
            let mut sql = Sql::new(
                "SELECT customer_id, purpose, to_address, body, send_day FROM message_outbox WHERE purpose = 'marketing' AND status NOT IN ('skipped', 'failed') AND send_day >= ",
            );
            sql.bind_date(from)
                .push(" AND send_day <= ")
                .bind_date(until);
            sql.push(" AND customer_id IN (");
            push_list(&mut sql, chunk, Arg::I64);
            sql.push(")");
            let rows: Vec<CountedMessage> = on_pool!(self, p => bind_args!(sqlx::query_as::<_, CountedMessage>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_all(p).await?);
            out.extend(rows);
        }
        Ok(out)
    }

    /// Writes the rows in one transaction; a key that already exists keeps its row. Returns
    /// each key's row (new or existing), in the order given.
    pub async fn insert_outbox(
        &self,
        rows: &[NewOutboxRow],
        now: DateTime<Utc>,
    ) -> Result<Vec<OutboxOutcome>> {
        let mut out = Vec::with_capacity(rows.len());
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            for r in rows {
                let id: Option<i64> = sqlx::query_scalar(
                    "INSERT INTO message_outbox (idempotency_key, store_id, customer_id, campaign_id, channel, purpose, to_address, subject, body, status, skip_reason, send_day, attempts, next_attempt_at, created_at, updated_at) \
                     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,0,$13,$14,$14) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id")
                    .bind(&r.idempotency_key).bind(r.store_id).bind(r.customer_id).bind(r.campaign_id)
                    .bind(&r.channel).bind(&r.purpose).bind(&r.to_address).bind(&r.subject).bind(&r.body)
                    .bind(&r.status).bind(&r.skip_reason).bind(r.send_day).bind(r.next_attempt_at).bind(now)
                    .fetch_optional(&mut *tx).await?;
                match id {
                    Some(id) => {
                        sqlx::query("INSERT INTO message_event (outbox_id, at, status, detail) VALUES ($1,$2,$3,$4)")
                            .bind(id).bind(now).bind(&r.status).bind(r.skip_reason.clone().unwrap_or_default())
                            .execute(&mut *tx).await?;
                        out.push(OutboxOutcome { id, idempotency_key: r.idempotency_key.clone(), status: r.status.clone(), skip_reason: r.skip_reason.clone() });
                    }
                    None => {
                        let existing: OutboxOutcome = sqlx::query_as("SELECT id, idempotency_key, status, skip_reason FROM message_outbox WHERE idempotency_key = $1")
                            .bind(&r.idempotency_key).fetch_one(&mut *tx).await?;
                        out.push(existing);
                    }
                }
            }
            tx.commit().await?;
        });
        Ok(out)
    }

    /// Claims up to `limit` due rows — queued ones whose time has come and rows left in
    /// `sending` whose lease ran out (a crashed sender) — marking them `sending` with a
    /// lease until `lease_until` and counting the attempt. Only rows this call changed are
    /// returned, so concurrent dispatchers never get the same row.
    pub async fn claim_due_messages(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
        channels: &[String],
    ) -> Result<Vec<OutboxRow>> {
        let mut sql = Sql::new(
            "UPDATE message_outbox SET status = 'sending', attempts = attempts + 1, next_attempt_at = ",
        );
        sql.bind(Arg::Ts(lease_until))
            .push(", updated_at = ")
            .bind(Arg::Ts(now));
        sql.push(" WHERE id IN (SELECT id FROM message_outbox WHERE status IN ('queued', 'sending') AND next_attempt_at <= ")
            .bind(Arg::Ts(now))
            .push(" AND channel IN (");
        push_list(&mut sql, channels, Arg::Text);
        sql.push(&format!(") ORDER BY next_attempt_at, id LIMIT {limit})"));
        sql.push(" AND status IN ('queued', 'sending') AND next_attempt_at <= ")
            .bind(Arg::Ts(now));
        sql.push(&format!(" RETURNING {OUTBOX_COLUMNS}"));
        let mut rows: Vec<OutboxRow> = on_pool!(self, p => bind_args!(sqlx::query_as::<_, OutboxRow>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_all(p).await?);
        rows.sort_by_key(|r| (r.next_attempt_at, r.id));
        Ok(rows)
    }

    /// Records the result of sending a claimed row (and the event) in one transaction.
    /// Only a row still `sending` is changed.
    pub async fn finish_send(
        &self,
        id: Id,
        result: &SendResult,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let changed = on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let (status, detail, n) = match result {
                SendResult::Sent { provider_id } => {
                    let n = sqlx::query("UPDATE message_outbox SET status = 'sent', provider_id = $2, sent_at = $3, updated_at = $3, last_error = NULL WHERE id = $1 AND status = 'sending'")
                        .bind(id).bind(provider_id).bind(now).execute(&mut *tx).await?.rows_affected();
                    ("sent", provider_id.clone().unwrap_or_default(), n)
                }
                SendResult::Retry { at, error } => {
                    let n = sqlx::query("UPDATE message_outbox SET status = 'queued', next_attempt_at = $2, last_error = $3, updated_at = $4 WHERE id = $1 AND status = 'sending'")
                        .bind(id).bind(*at).bind(error).bind(now).execute(&mut *tx).await?.rows_affected();
                    ("retry", error.clone(), n)
                }
                SendResult::Failed { error } => {
                    let n = sqlx::query("UPDATE message_outbox SET status = 'failed', last_error = $2, updated_at = $3 WHERE id = $1 AND status = 'sending'")
                        .bind(id).bind(error).bind(now).execute(&mut *tx).await?.rows_affected();
                    ("failed", error.clone(), n)
                }
                SendResult::Skipped { reason } => {
                    let n = sqlx::query("UPDATE message_outbox SET status = 'skipped', skip_reason = $2, updated_at = $3 WHERE id = $1 AND status = 'sending'")
                        .bind(id).bind(reason).bind(now).execute(&mut *tx).await?.rows_affected();
                    ("skipped", reason.clone(), n)
                }
            };
            if n == 1 {
                sqlx::query("INSERT INTO message_event (outbox_id, at, status, detail) VALUES ($1,$2,$3,$4)")
                    .bind(id).bind(now).bind(status).bind(detail).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            n == 1
        });
        Ok(changed)
    }

    /// A gateway's delivery report for the message with this provider id (or idempotency
    /// key): `delivered` or `failed`. Returns the row's id when one matched.
    pub async fn record_delivery(
        &self,
        reference: &str,
        delivered: bool,
        detail: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Id>> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let id: Option<i64> = sqlx::query_scalar("SELECT id FROM message_outbox WHERE (provider_id = $1 OR idempotency_key = $1) AND status IN ('sending', 'sent', 'delivered', 'failed') ORDER BY id LIMIT 1")
                .bind(reference).fetch_optional(&mut *tx).await?;
            if let Some(id) = id {
                if delivered {
                    sqlx::query("UPDATE message_outbox SET status = 'delivered', delivered_at = $2, updated_at = $2 WHERE id = $1")
                        .bind(id).bind(now).execute(&mut *tx).await?;
                } else {
                    sqlx::query("UPDATE message_outbox SET status = 'failed', last_error = $3, updated_at = $2 WHERE id = $1")
                        .bind(id).bind(now).bind(detail).execute(&mut *tx).await?;
                }
                sqlx::query("INSERT INTO message_event (outbox_id, at, status, detail) VALUES ($1,$2,$3,$4)")
                    .bind(id).bind(now).bind(if delivered { "delivered" } else { "undelivered" }).bind(detail).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Puts a failed message back in the queue (a manager's "retry"), with fresh attempts.
    pub async fn requeue_message(&self, id: Id, by: Id, now: DateTime<Utc>) -> Result<bool> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let n = sqlx::query("UPDATE message_outbox SET status = 'queued', attempts = 0, next_attempt_at = $2, updated_at = $2, last_error = NULL WHERE id = $1 AND status = 'failed'")
                .bind(id).bind(now).execute(&mut *tx).await?.rows_affected();
            if n == 1 {
                sqlx::query("INSERT INTO message_event (outbox_id, at, status, detail) VALUES ($1,$2,'queued','retry by hand')")
                    .bind(id).bind(now).execute(&mut *tx).await?;
                sqlx::query("INSERT INTO audit_log (at, staff_id, action, entity, entity_id, detail) VALUES ($1,$2,'retry','message',$3,'')")
                    .bind(now).bind(by).bind(id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(n == 1)
        })
    }

    pub async fn outbox_message(&self, id: Id) -> Result<Option<OutboxRow>> {
        let sql = format!("SELECT {OUTBOX_COLUMNS} FROM message_outbox WHERE id = $1");
        on_pool!(self, p => Ok(sqlx::query_as::<_, OutboxRow>(AssertSqlSafe(sql)).bind(id).fetch_optional(p).await?))
    }

    pub async fn outbox_by_key(&self, key: &str) -> Result<Option<OutboxRow>> {
        let sql = format!("SELECT {OUTBOX_COLUMNS} FROM message_outbox WHERE idempotency_key = $1");
        on_pool!(self, p => Ok(sqlx::query_as::<_, OutboxRow>(AssertSqlSafe(sql)).bind(key).fetch_optional(p).await?))
    }

    pub async fn message_events(&self, outbox_id: Id) -> Result<Vec<MessageEvent>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, MessageEvent>("SELECT id, outbox_id, at, status, detail FROM message_event WHERE outbox_id = $1 ORDER BY at, id")
            .bind(outbox_id).fetch_all(p).await?))
    }

    /// The outbox, newest first, filtered.
    pub async fn outbox_page(&self, f: &OutboxFilter) -> Result<Page<OutboxRow>> {
        let per_page = f.per_page.clamp(1, 500);
        let page = f.page.clamp(1, 100_000);
        let mut sql = Sql::new(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM message_outbox WHERE "
        ));
        match f.store_id {
            Some(s) => {
                sql.push("store_id = ").bind_i64(s);
            }
            None => {
                sql.push("store_id IN (SELECT id FROM store WHERE group_id = ")
                    .bind_i64(f.group_id)
                    .push(")");
            }
        }
        if let Some(s) = &f.status {
            sql.push(" AND status = ").bind_text(s.clone());
        }
        if let Some(c) = &f.channel {
            sql.push(" AND channel = ").bind_text(c.clone());
        }
        if let Some(p) = &f.purpose {
            sql.push(" AND purpose = ").bind_text(p.clone());
        }
        sql.push(&format!(
            " ORDER BY id DESC LIMIT {} OFFSET {}",
            per_page + 1,
            (page as u64 - 1) * per_page as u64
        ));
        let mut items: Vec<OutboxRow> = on_pool!(self, p => bind_args!(sqlx::query_as::<_, OutboxRow>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_all(p).await?);
        let has_more = items.len() > per_page as usize;
        items.truncate(per_page as usize);
        Ok(Page {
            items,
            page,
            per_page,
            has_more,
        })
    }

    /// Adds an address to the suppression list (nothing if it is there already) and, for
    /// an opt-out by the customer, withdraws the matching marketing consents of every
    /// customer with that mobile or e-mail — in one transaction. Returns whether the
    /// address was new on the list.
    #[allow(clippy::too_many_arguments)]
    pub async fn suppress(
        &self,
        address: &str,
        channel: &str,
        reason: &str,
        source: &str,
        withdraw_marketing: bool,
        by: Option<Id>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let column = if channel == "email" { "email" } else { "mobile" };
            let customer: Option<i64> = sqlx::query_scalar(AssertSqlSafe(format!(
                "SELECT id FROM customer WHERE {column} = $1 AND merged_into IS NULL ORDER BY id LIMIT 1")))
                .bind(address).fetch_optional(&mut *tx).await?;
            let n = sqlx::query("INSERT INTO message_suppression (address, channel, reason, source, customer_id, created_by, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT (address) DO NOTHING")
                .bind(address).bind(channel).bind(reason).bind(source).bind(customer).bind(by).bind(now)
                .execute(&mut *tx).await?.rows_affected();
            if withdraw_marketing {
                sqlx::query(AssertSqlSafe(format!(
                    "UPDATE consent SET withdrawn_at = $1 WHERE purpose = 'marketing' AND channel IN ($2, 'all') AND withdrawn_at IS NULL \
                     AND customer_id IN (SELECT id FROM customer WHERE {column} = $3)")))
                    .bind(now).bind(channel).bind(address).execute(&mut *tx).await?;
            }
            if let Some(staff) = by {
                sqlx::query("INSERT INTO audit_log (at, staff_id, action, entity, entity_id, detail) VALUES ($1,$2,'suppress','suppression',NULL,$3)")
                    .bind(now).bind(staff).bind(format!("{channel} {reason}")).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(n == 1)
        })
    }

    /// Removes an address from the suppression list (audited). Returns whether it was there.
    pub async fn unsuppress(&self, id: Id, by: Id, now: DateTime<Utc>) -> Result<bool> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let n = sqlx::query("DELETE FROM message_suppression WHERE id = $1").bind(id).execute(&mut *tx).await?.rows_affected();
            if n == 1 {
                sqlx::query("INSERT INTO audit_log (at, staff_id, action, entity, entity_id, detail) VALUES ($1,$2,'unsuppress','suppression',$3,'')")
                    .bind(now).bind(by).bind(id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(n == 1)
        })
    }

    pub async fn suppressions(&self, page: u32, per_page: u32) -> Result<Page<SuppressionRow>> {
        let per_page = per_page.clamp(1, 500);
        let page = page.clamp(1, 100_000);
        let sql = format!(
            "SELECT id, address, channel, reason, source, customer_id, created_by, created_at FROM message_suppression ORDER BY id DESC LIMIT {} OFFSET {}",
            per_page + 1,
            (page as u64 - 1) * per_page as u64
        );
        let mut items: Vec<SuppressionRow> = on_pool!(self, p => sqlx::query_as::<_, SuppressionRow>(AssertSqlSafe(sql)).fetch_all(p).await?);
        let has_more = items.len() > per_page as usize;
        items.truncate(per_page as usize);
        Ok(Page {
            items,
            page,
            per_page,
            has_more,
        })
    }

    /// Keeps an inbound SMS as received.
    pub async fn record_inbound(
        &self,
        from: &str,
        body: &str,
        opt_out: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Id> {
        on_pool!(self, p => Ok(sqlx::query_scalar::<_, i64>("INSERT INTO message_inbound (from_address, body, received_at, opt_out) VALUES ($1,$2,$3,$4) RETURNING id")
            .bind(from).bind(body).bind(now).bind(opt_out).fetch_one(p).await?))
    }
}
