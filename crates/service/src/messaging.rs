//! Lawful message sending (issue 8, point 3): enqueue with the consent, suppression,
//! sending-hours, identical-per-day and frequency-cap rules of `domain::messaging`; the
//! dispatcher that claims due outbox rows and sends them over SMTP (lettre) or an SMS
//! gateway (HTTP POST with a payload template), retrying with back-off; the gateway's
//! delivery reports and inbound replies; e-mail unsubscribe links signed with HMAC-SHA256.
//!
//! Crash safety: a row is claimed (`sending`, with a lease) before it is sent and its
//! result is recorded after. A process that dies in between leaves the row `sending`;
//! after the lease another dispatch claims it again and sends it with the same
//! idempotency key — in the SMS payload (`{id}`) and as the e-mail's Message-ID — so the
//! gateway (or the mail system) can drop the second copy: no message is lost, none doubled.

use crate::{Actor, Result, ServiceError, Services};
use chrono::{DateTime, Duration, Utc};
use dealerbase_domain::messaging::{
    self as rules, Channel, ConsentEntry, MessagingSettings, OptOutReply, Purpose, SendWindow,
    SkipReason, SuppressionSource,
};
use dealerbase_domain::model::Role;
use dealerbase_domain::{Mobile, Rule, ValidationError};
use dealerbase_store::messaging::{
    MessageEvent, NewOutboxRow, OutboxFilter, OutboxRow, SendResult, SuppressionRow,
};
use dealerbase_store::{Id, Page};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use utoipa::ToSchema;

/// How long a claimed row stays reserved for its sender; after that a crashed sender's
/// row is claimed again.
pub const CLAIM_LEASE_SECONDS: i64 = 300;

/// A message to send. `idempotency_key` names it for good: enqueuing the same key again
/// changes nothing, and the transports carry it so that a resend after a crash is
/// recognised.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NewMessage {
    pub idempotency_key: String,
    pub store_id: i64,
    pub customer_id: Option<i64>,
    #[schema(value_type = String)]
    pub channel: Channel,
    #[schema(value_type = String)]
    pub purpose: Purpose,
    /// A mobile number for SMS, an e-mail address for e-mail.
    pub to: String,
    pub subject: Option<String>,
    pub body: String,
    pub campaign_id: Option<i64>,
    /// Not to be sent before this time; marketing is further held to the store's hours.
    pub not_before: DateTime<Utc>,
}

/// What became of one message.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EnqueuedMessage {
    pub idempotency_key: String,
    pub id: Id,
    /// `queued` or `skipped` (or the status of the row the key already had).
    pub status: String,
    /// Why it was skipped: `no_consent`, `suppressed`, `duplicate_today`, `frequency_cap`,
    /// `invalid_address`, `no_transport`.
    pub skip_reason: Option<String>,
    /// The key already existed; nothing was written.
    pub existing: bool,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct EnqueueReport {
    pub queued: usize,
    pub skipped: usize,
    pub existing: usize,
    pub messages: Vec<EnqueuedMessage>,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct DispatchReport {
    pub claimed: usize,
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
    pub skipped: usize,
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// No TLS (a local relay, or tests).
    Plain,
    /// Plain connection upgraded with STARTTLS (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

impl SmtpSecurity {
    pub fn parse(s: &str) -> std::result::Result<SmtpSecurity, ValidationError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "plain" | "none" => Ok(SmtpSecurity::Plain),
            "starttls" => Ok(SmtpSecurity::Starttls),
            "tls" | "ssl" => Ok(SmtpSecurity::Tls),
            _ => Err(ValidationError::new(
                "smtp_security",
                s,
                Rule::OneOf {
                    allowed: vec!["plain".into(), "starttls".into(), "tls".into()],
                },
            )),
        }
    }
}

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The sender, e.g. `星辰汽车 <crm@example.cn>`.
    pub from: String,
}

#[derive(Debug, Clone)]
pub struct SmsGatewayConfig {
    /// The gateway's send endpoint (HTTP POST).
    pub url: String,
    /// JSON body with `{mobile}`, `{text}` and `{id}` placeholders (replaced by the
    /// JSON-escaped values, so put them inside quotes).
    pub payload_template: String,
    /// Sent as `Authorization: Bearer …` when set.
    pub token: Option<String>,
}

pub const DEFAULT_SMS_TEMPLATE: &str = r#"{"mobile":"{mobile}","text":"{text}","id":"{id}"}"#;

/// Transports and secrets of the messaging part. Everything is optional: without SMTP,
/// e-mails wait in the outbox; without a gateway, SMS do.
#[derive(Debug, Clone, Default)]
pub struct MessagingConfig {
    pub smtp: Option<SmtpConfig>,
    pub sms: Option<SmsGatewayConfig>,
    /// The shared secret the SMS gateway sends in `X-Gateway-Secret` on its webhooks.
    pub inbound_secret: Option<String>,
    /// The HMAC key of unsubscribe links.
    pub unsubscribe_key: Vec<u8>,
    /// The application's public address, for unsubscribe links (`https://crm.example.cn`).
    pub public_url: String,
}

/// A transport's failure: transient ones are retried with back-off.
#[derive(Debug, Clone)]
pub struct SendError {
    pub transient: bool,
    pub message: String,
}

/// What an inbound SMS did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InboundOutcome {
    /// `unsubscribe` (T, TD, 退订), `refuse` (R) or none.
    pub opt_out: Option<String>,
    /// The number was newly added to the suppression list.
    pub suppressed: bool,
}

fn skip(reason: SkipReason) -> Option<String> {
    Some(reason.code().to_string())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The Message-ID of an e-mail, derived from its idempotency key: a resend after a crash
/// carries the same one.
pub fn message_id_for(key: &str) -> String {
    format!(
        "<{}@dealerbase>",
        hex(&Sha256::digest(key.as_bytes())[..16])
    )
}

/// Replaces `{mobile}`, `{text}`, `{id}` in the gateway's payload template with the
/// JSON-escaped values.
pub fn render_sms_payload(template: &str, mobile: &str, text: &str, id: &str) -> String {
    let esc = |s: &str| {
        let quoted = serde_json::to_string(s).unwrap_or_default();
        quoted[1..quoted.len().saturating_sub(1).max(1)].to_string()
    };
    template
        .replace("{mobile}", &esc(mobile))
        .replace("{text}", &esc(text))
        .replace("{id}", &esc(id))
}

/// Reads a store's messaging settings (`store.settings` → `"messaging"`); a malformed or
/// out-of-range configuration falls back to the defaults (and is logged).
fn store_messaging(settings_json: &str) -> (MessagingSettings, SendWindow) {
    let s: MessagingSettings = serde_json::from_str::<serde_json::Value>(settings_json)
        .ok()
        .and_then(|v| v.get("messaging").cloned())
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    match s.window() {
        Ok(w) => (s, w),
        Err(e) => {
            tracing::warn!(errors = ?e, "store messaging settings invalid; using the defaults");
            (MessagingSettings::default(), SendWindow::default())
        }
    }
}

fn may_manage_outbox(role: Role) -> bool {
    matches!(
        role,
        Role::Admin | Role::Group | Role::GeneralManager | Role::SalesManager | Role::Marketing
    )
}

impl Services {
    /// Installs the messaging transports and secrets (the CLI does this from flags).
    pub fn with_messaging(mut self, config: MessagingConfig) -> Services {
        self.messaging = std::sync::Arc::new(config);
        self
    }

    /// Writes each message to the outbox, queued or skipped with its reason, in one
    /// transaction. A key seen before keeps its row.
    pub async fn enqueue_messages(&self, messages: &[NewMessage]) -> Result<EnqueueReport> {
        let now = self.clock.now();
        // Field errors a caller must fix (not per-message decisions).
        let mut errors = Vec::new();
        for (i, m) in messages.iter().enumerate() {
            let key = m.idempotency_key.trim();
            if key.is_empty() || key.chars().count() > 200 {
                errors.push(ValidationError::new(
                    format!("messages[{i}].idempotency_key"),
                    &m.idempotency_key,
                    Rule::TooLong { max: 200 },
                ));
            }
            if m.body.trim().is_empty() {
                errors.push(ValidationError::new(
                    format!("messages[{i}].body"),
                    &m.body,
                    Rule::Required,
                ));
            }
        }
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }
        let keys: Vec<String> = messages.iter().map(|m| m.idempotency_key.clone()).collect();
        let existing: HashMap<String, _> = self
            .db
            .outbox_by_keys(&keys)
            .await?
            .into_iter()
            .map(|o| (o.idempotency_key.clone(), o))
            .collect();

        // Per store: settings and signature.
        let mut stores: HashMap<Id, (MessagingSettings, SendWindow, String)> = HashMap::new();
        for m in messages {
            if let std::collections::hash_map::Entry::Vacant(e) = stores.entry(m.store_id) {
                let store = self.db.store(m.store_id).await.map_err(|_| {
                    ServiceError::invalid(ValidationError::new(
                        "store_id",
                        m.store_id.to_string(),
                        Rule::Required,
                    ))
                })?;
                let (s, w) = store_messaging(&store.settings);
                let signature = if s.signature.trim().is_empty() {
                    store.name.clone()
                } else {
                    s.signature.clone()
                };
                e.insert((s, w, signature));
            }
        }

        // Resolve each new message: address, due time, local day, final text.
        struct Pending<'a> {
            m: &'a NewMessage,
            to: Option<String>,
            due: DateTime<Utc>,
            day: chrono::NaiveDate,
            body: String,
        }
        let mut pending = Vec::new();
        let mut seen_keys = HashSet::new();
        for m in messages {
            if existing.contains_key(&m.idempotency_key) || !seen_keys.insert(&m.idempotency_key) {
                continue;
            }
            let (_, window, signature) = &stores[&m.store_id];
            let to = match m.channel {
                Channel::Sms => Mobile::parse(&m.to).ok().map(|x| x.as_str().to_string()),
                Channel::Email => rules::check_email("to", &m.to).ok(),
                Channel::Phone => None,
            };
            let start = m.not_before.max(now);
            let due = if m.purpose == Purpose::Marketing {
                window.next_allowed(start)
            } else {
                start
            };
            let body = match m.channel {
                Channel::Sms => rules::sms_text(&m.body, signature, m.purpose),
                Channel::Email if m.purpose == Purpose::Marketing => match (m.customer_id, &to) {
                    (Some(c), Some(addr)) => format!(
                        "{}\n\n--\n退订 / Unsubscribe: {}",
                        m.body.trim_end(),
                        self.unsubscribe_link(c, addr)
                    ),
                    _ => m.body.clone(),
                },
                _ => m.body.clone(),
            };
            pending.push(Pending {
                m,
                to,
                due,
                day: window.local_day(due),
                body,
            });
        }

        // What the rules need, read in batches.
        let customers: Vec<Id> = {
            let mut v: Vec<Id> = pending.iter().filter_map(|p| p.m.customer_id).collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let addresses: Vec<String> = {
            let mut v: Vec<String> = pending.iter().filter_map(|p| p.to.clone()).collect();
            v.sort();
            v.dedup();
            v
        };
        let mut ledgers: HashMap<Id, Vec<ConsentEntry>> = HashMap::new();
        for r in self.db.consents_of(&customers).await? {
            ledgers
                .entry(r.customer_id)
                .or_default()
                .push(ConsentEntry {
                    purpose: r.purpose,
                    channel: r.channel,
                    granted_at: r.granted_at,
                    withdrawn_at: r.withdrawn_at,
                });
        }
        let suppressed: HashSet<String> = self
            .db
            .suppressed_among(&addresses)
            .await?
            .into_iter()
            .collect();
        let (min_day, max_day) = match (
            pending.iter().map(|p| p.day).min(),
            pending.iter().map(|p| p.day).max(),
        ) {
            (Some(a), Some(b)) => (a, b),
            _ => (now.date_naive(), now.date_naive()),
        };
        let mut identical: HashSet<(String, chrono::NaiveDate, String)> = self
            .db
            .messages_to(&addresses, min_day, max_day)
            .await?
            .into_iter()
            .map(|c| (c.to_address, c.send_day, c.body))
            .collect();
        let max_cap_days = stores.values().map(|s| s.0.cap_days).max().unwrap_or(1);
        let mut marketing_days: HashMap<Id, Vec<chrono::NaiveDate>> = HashMap::new();
        for c in self
            .db
            .marketing_of(
                &customers,
                rules::cap_period_start(min_day, max_cap_days),
                max_day + Duration::days(i64::from(max_cap_days)),
            )
            .await?
        {
            if let Some(id) = c.customer_id {
                marketing_days.entry(id).or_default().push(c.send_day);
            }
        }

        // Decide, in the order given (earlier messages of the batch count for later ones).
        let mut rows = Vec::with_capacity(pending.len());
        for p in &pending {
            let m = p.m;
            let (settings, _, _) = &stores[&m.store_id];
            let reason = match &p.to {
                None if m.channel == Channel::Phone => skip(SkipReason::NoTransport),
                None => skip(SkipReason::InvalidAddress),
                Some(to) => {
                    let consent = match m.customer_id {
                        Some(c) => rules::consent_allows(
                            ledgers.get(&c).map_or(&[][..], |v| v.as_slice()),
                            m.purpose,
                            m.channel,
                            p.due,
                        ),
                        // Without a customer there is no ledger: marketing cannot be lawful.
                        None => m.purpose != Purpose::Marketing,
                    };
                    if m.purpose == Purpose::Marketing && suppressed.contains(to) {
                        skip(SkipReason::Suppressed)
                    } else if !consent {
                        skip(SkipReason::NoConsent)
                    } else if identical.contains(&(to.clone(), p.day, p.body.clone())) {
                        skip(SkipReason::DuplicateToday)
                    } else if m.purpose == Purpose::Marketing
                        && m.customer_id.is_some_and(|c| {
                            let start = rules::cap_period_start(p.day, settings.cap_days);
                            let n = marketing_days.get(&c).map_or(0, |d| {
                                d.iter().filter(|d| **d >= start && **d <= p.day).count()
                            });
                            rules::cap_reached(n as u32, settings.cap_messages)
                        })
                    {
                        skip(SkipReason::FrequencyCap)
                    } else {
                        None
                    }
                }
            };
            if reason.is_none() {
                if let Some(to) = &p.to {
                    identical.insert((to.clone(), p.day, p.body.clone()));
                }
                if m.purpose == Purpose::Marketing
                    && let Some(c) = m.customer_id
                {
                    marketing_days.entry(c).or_default().push(p.day);
                }
            }
            rows.push(NewOutboxRow {
                idempotency_key: m.idempotency_key.clone(),
                store_id: m.store_id,
                customer_id: m.customer_id,
                campaign_id: m.campaign_id,
                channel: m.channel.code().into(),
                purpose: m.purpose.code().into(),
                to_address: p.to.clone().unwrap_or_else(|| m.to.trim().to_string()),
                subject: m.subject.clone(),
                body: p.body.clone(),
                status: if reason.is_some() {
                    "skipped"
                } else {
                    "queued"
                }
                .into(),
                skip_reason: reason,
                send_day: p.day,
                next_attempt_at: p.due,
            });
        }
        let written: HashMap<String, _> = self
            .db
            .insert_outbox(&rows, now)
            .await?
            .into_iter()
            .map(|o| (o.idempotency_key.clone(), o))
            .collect();

        let mut report = EnqueueReport::default();
        let mut reported = HashSet::new();
        for m in messages {
            if !reported.insert(&m.idempotency_key) {
                continue;
            }
            let (o, was) = match existing.get(&m.idempotency_key) {
                Some(o) => (o, true),
                None => match written.get(&m.idempotency_key) {
                    Some(o) => (o, false),
                    None => continue,
                },
            };
            if was {
                report.existing += 1;
            } else if o.status == "skipped" {
                report.skipped += 1;
            } else {
                report.queued += 1;
            }
            report.messages.push(EnqueuedMessage {
                idempotency_key: o.idempotency_key.clone(),
                id: o.id,
                status: o.status.clone(),
                skip_reason: o.skip_reason.clone(),
                existing: was,
            });
        }
        Ok(report)
    }

    /// [`Services::enqueue_messages`] on behalf of a staff member (the API): outbox roles
    /// only, into stores they may write to.
    pub async fn enqueue_messages_as(
        &self,
        actor: &Actor,
        messages: &[NewMessage],
    ) -> Result<EnqueueReport> {
        self.check_outbox_access(actor)?;
        let mut stores: Vec<Id> = messages.iter().map(|m| m.store_id).collect();
        stores.sort_unstable();
        stores.dedup();
        for s in stores {
            self.check_store_access(actor, s).await?;
        }
        self.enqueue_messages(messages).await
    }

    /// Channels with a configured transport.
    fn transport_channels(&self) -> Vec<String> {
        let mut v = Vec::new();
        if self.messaging.sms.is_some() {
            v.push(Channel::Sms.code().to_string());
        }
        if self.messaging.smtp.is_some() {
            v.push(Channel::Email.code().to_string());
        }
        v
    }

    /// Claims up to `limit` due messages of the channels that have a transport, sends
    /// them and records each result. Run by the background loop every half minute.
    pub async fn dispatch_due(&self, limit: u32) -> Result<DispatchReport> {
        let now = self.clock.now();
        let channels = self.transport_channels();
        let mut report = DispatchReport::default();
        if channels.is_empty() {
            return Ok(report);
        }
        let rows = self
            .db
            .claim_due_messages(
                now,
                now + Duration::seconds(CLAIM_LEASE_SECONDS),
                limit,
                &channels,
            )
            .await?;
        report.claimed = rows.len();
        for row in rows {
            let result = match self.still_lawful(&row).await? {
                Some(reason) => SendResult::Skipped {
                    reason: reason.code().into(),
                },
                None => match self.send_claimed(&row).await {
                    Ok(provider_id) => SendResult::Sent { provider_id },
                    Err(e) if e.transient => {
                        match rules::after_transient_failure(row.attempts as u32, now) {
                            Some(at) => SendResult::Retry {
                                at,
                                error: e.message,
                            },
                            None => SendResult::Failed { error: e.message },
                        }
                    }
                    Err(e) => SendResult::Failed { error: e.message },
                },
            };
            match &result {
                SendResult::Sent { .. } => report.sent += 1,
                SendResult::Retry { .. } => report.retried += 1,
                SendResult::Failed { .. } => report.failed += 1,
                SendResult::Skipped { .. } => report.skipped += 1,
            }
            self.db
                .finish_send(row.id, &result, self.clock.now())
                .await?;
        }
        Ok(report)
    }

    /// A marketing message queued earlier is checked again just before sending: the
    /// customer may have replied T or withdrawn consent since.
    async fn still_lawful(&self, row: &OutboxRow) -> Result<Option<SkipReason>> {
        if row.purpose != Purpose::Marketing.code() {
            return Ok(None);
        }
        if !self
            .db
            .suppressed_among(std::slice::from_ref(&row.to_address))
            .await?
            .is_empty()
        {
            return Ok(Some(SkipReason::Suppressed));
        }
        let Some(c) = row.customer_id else {
            return Ok(Some(SkipReason::NoConsent));
        };
        let ledger: Vec<ConsentEntry> = self
            .db
            .consents_of(&[c])
            .await?
            .into_iter()
            .map(|r| ConsentEntry {
                purpose: r.purpose,
                channel: r.channel,
                granted_at: r.granted_at,
                withdrawn_at: r.withdrawn_at,
            })
            .collect();
        let channel = Channel::parse("channel", &row.channel)
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        if rules::consent_allows(&ledger, Purpose::Marketing, channel, self.clock.now()) {
            Ok(None)
        } else {
            Ok(Some(SkipReason::NoConsent))
        }
    }

    /// Sends one claimed row over its channel's transport, without recording anything.
    /// Returns the provider's message id when it gives one.
    pub async fn send_claimed(
        &self,
        row: &OutboxRow,
    ) -> std::result::Result<Option<String>, SendError> {
        match row.channel.as_str() {
            "sms" => match &self.messaging.sms {
                Some(cfg) => send_sms(cfg, row).await,
                None => Err(SendError {
                    transient: true,
                    message: "no SMS gateway configured".into(),
                }),
            },
            "email" => match &self.messaging.smtp {
                Some(cfg) => send_email(cfg, row).await,
                None => Err(SendError {
                    transient: true,
                    message: "no SMTP server configured".into(),
                }),
            },
            other => Err(SendError {
                transient: false,
                message: format!("channel {other} has no transport"),
            }),
        }
    }

    // ---- gateway webhooks -------------------------------------------------------------

    fn check_gateway_secret(&self, given: Option<&str>) -> Result<()> {
        // Without a configured secret the webhooks accept no one.
        let Some(expected) = self.messaging.inbound_secret.as_deref() else {
            return Err(ServiceError::Unauthenticated);
        };
        let given = given.unwrap_or("");
        // Compare digests so that the time taken says nothing about the secret.
        if Sha256::digest(given.as_bytes()) == Sha256::digest(expected.as_bytes()) {
            Ok(())
        } else {
            Err(ServiceError::Unauthenticated)
        }
    }

    /// An SMS reply from a customer (the gateway's inbound webhook). T, TD, 退订 and R put
    /// the number on the suppression list and withdraw the marketing-SMS consent of the
    /// customers with that mobile, in one transaction.
    pub async fn sms_inbound(
        &self,
        secret: Option<&str>,
        from: &str,
        text: &str,
    ) -> Result<InboundOutcome> {
        self.check_gateway_secret(secret)?;
        let mobile = Mobile::parse(from).map_err(ServiceError::invalid)?;
        let now = self.clock.now();
        let reply = rules::parse_reply(text);
        let code = reply.map(|r| match r {
            OptOutReply::Unsubscribe => "unsubscribe",
            OptOutReply::Refuse => "refuse",
        });
        self.db
            .record_inbound(mobile.as_str(), text, code, now)
            .await?;
        let mut suppressed = false;
        if let Some(code) = code {
            suppressed = self
                .db
                .suppress(
                    mobile.as_str(),
                    Channel::Sms.code(),
                    &format!("{code}: {}", text.trim()),
                    SuppressionSource::SmsReply.code(),
                    true,
                    None,
                    now,
                )
                .await?;
        }
        Ok(InboundOutcome {
            opt_out: code.map(str::to_string),
            suppressed,
        })
    }

    /// The gateway's delivery report: `reference` is its message id or our key.
    pub async fn sms_status(
        &self,
        secret: Option<&str>,
        reference: &str,
        status: &str,
        detail: &str,
    ) -> Result<Id> {
        self.check_gateway_secret(secret)?;
        let delivered = match status.trim().to_ascii_lowercase().as_str() {
            "delivered" | "success" | "ok" => true,
            "failed" | "undelivered" | "rejected" => false,
            _ => {
                return Err(ServiceError::invalid(ValidationError::new(
                    "status",
                    status,
                    Rule::OneOf {
                        allowed: vec!["delivered".into(), "failed".into()],
                    },
                )));
            }
        };
        self.db
            .record_delivery(reference, delivered, detail, self.clock.now())
            .await?
            .ok_or_else(|| ServiceError::NotFound {
                entity: "message",
                id: reference.to_string(),
            })
    }

    // ---- unsubscribe links ------------------------------------------------------------

    fn mac(&self, customer_id: Id, email: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.messaging.unsubscribe_key)
            .expect("HMAC takes a key of any length");
        mac.update(format!("unsubscribe\n{customer_id}\n{email}").as_bytes());
        mac
    }

    /// A token naming the customer and the address, signed with HMAC-SHA256.
    pub fn unsubscribe_token(&self, customer_id: Id, email: &str) -> String {
        let sig = self.mac(customer_id, email).finalize().into_bytes();
        format!("{customer_id}.{}.{}", hex(email.as_bytes()), hex(&sig))
    }

    pub fn unsubscribe_link(&self, customer_id: Id, email: &str) -> String {
        format!(
            "{}/unsubscribe?token={}",
            self.messaging.public_url.trim_end_matches('/'),
            self.unsubscribe_token(customer_id, email)
        )
    }

    /// Checks a token's signature; returns the customer and the address it names.
    pub fn verify_unsubscribe_token(&self, token: &str) -> Result<(Id, String)> {
        let bad = || ServiceError::NotFound {
            entity: "unsubscribe link",
            id: String::new(),
        };
        let mut parts = token.trim().split('.');
        let (Some(c), Some(e), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let customer_id: Id = c.parse().map_err(|_| bad())?;
        let email = String::from_utf8(unhex(e).ok_or_else(bad)?).map_err(|_| bad())?;
        let sig = unhex(s).ok_or_else(bad)?;
        self.mac(customer_id, &email)
            .verify_slice(&sig)
            .map_err(|_| bad())?;
        Ok((customer_id, email))
    }

    /// The unsubscribe link was confirmed: the address goes on the suppression list and the
    /// customer's marketing e-mail consent is withdrawn.
    pub async fn unsubscribe(&self, token: &str) -> Result<String> {
        let (_, email) = self.verify_unsubscribe_token(token)?;
        self.db
            .suppress(
                &email,
                Channel::Email.code(),
                "unsubscribe link",
                SuppressionSource::EmailUnsubscribe.code(),
                true,
                None,
                self.clock.now(),
            )
            .await?;
        Ok(email)
    }

    // ---- outbox and suppression list for managers -------------------------------------

    fn check_outbox_access(&self, actor: &Actor) -> Result<()> {
        if may_manage_outbox(actor.role) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden("message outbox"))
        }
    }

    /// The outbox, filtered; store roles see their store, group roles the group.
    pub async fn outbox(&self, actor: &Actor, mut filter: OutboxFilter) -> Result<Page<OutboxRow>> {
        self.check_outbox_access(actor)?;
        filter.group_id = actor.group_id;
        if actor.role.scope_level() != dealerbase_domain::model::ScopeLevel::Group {
            filter.store_id = Some(actor.store_id.unwrap_or(0));
        }
        for (field, value, allowed) in [
            (
                "status",
                &filter.status,
                dealerbase_domain::messaging::OutboxStatus::ALL
                    .iter()
                    .map(|s| s.code())
                    .collect::<Vec<_>>(),
            ),
            (
                "channel",
                &filter.channel,
                Channel::ALL.iter().map(|s| s.code()).collect(),
            ),
            (
                "purpose",
                &filter.purpose,
                Purpose::ALL.iter().map(|s| s.code()).collect(),
            ),
        ] {
            if let Some(v) = value
                && !allowed.contains(&v.as_str())
            {
                return Err(ServiceError::invalid(ValidationError::new(
                    field,
                    v,
                    Rule::OneOf {
                        allowed: allowed.iter().map(|s| s.to_string()).collect(),
                    },
                )));
            }
        }
        let mut page = self.db.outbox_page(&filter).await?;
        // Personal data leaves masked unless the role may reveal it.
        if !actor.role.may_reveal_personal_data() {
            for r in &mut page.items {
                r.to_address = mask_address(&r.to_address);
            }
        }
        Ok(page)
    }

    async fn outbox_row_in_scope(&self, actor: &Actor, id: Id) -> Result<OutboxRow> {
        self.check_outbox_access(actor)?;
        let not_found = || ServiceError::NotFound {
            entity: "message",
            id: id.to_string(),
        };
        let row = self.db.outbox_message(id).await?.ok_or_else(not_found)?;
        let store = self.db.store(row.store_id).await?;
        let ok = match actor.role.scope_level() {
            dealerbase_domain::model::ScopeLevel::Group => store.group_id == actor.group_id,
            _ => actor.store_id == Some(row.store_id),
        };
        if ok { Ok(row) } else { Err(not_found()) }
    }

    /// One message with its history.
    pub async fn outbox_message(
        &self,
        actor: &Actor,
        id: Id,
    ) -> Result<(OutboxRow, Vec<MessageEvent>)> {
        let mut row = self.outbox_row_in_scope(actor, id).await?;
        if !actor.role.may_reveal_personal_data() {
            row.to_address = mask_address(&row.to_address);
        }
        let events = self.db.message_events(id).await?;
        Ok((row, events))
    }

    /// Puts a failed message back in the queue (audited).
    pub async fn retry_message(&self, actor: &Actor, id: Id) -> Result<()> {
        let row = self.outbox_row_in_scope(actor, id).await?;
        if row.status != "failed" {
            return Err(ServiceError::invalid(ValidationError::new(
                "status",
                row.status,
                Rule::OneOf {
                    allowed: vec!["failed".into()],
                },
            )));
        }
        self.db
            .requeue_message(id, actor.staff_id, self.clock.now())
            .await?;
        Ok(())
    }

    pub async fn suppression_list(&self, actor: &Actor, page: u32) -> Result<Page<SuppressionRow>> {
        self.check_outbox_access(actor)?;
        let mut p = self.db.suppressions(page, 100).await?;
        if !actor.role.may_reveal_personal_data() {
            for r in &mut p.items {
                r.address = mask_address(&r.address);
            }
        }
        Ok(p)
    }

    /// Adds a number or an address by hand (audited). Returns whether it was new.
    pub async fn add_suppression(
        &self,
        actor: &Actor,
        address: &str,
        reason: &str,
    ) -> Result<bool> {
        self.check_outbox_access(actor)?;
        let (address, channel) = if address.contains('@') {
            (
                rules::check_email("address", address).map_err(ServiceError::invalid)?,
                Channel::Email,
            )
        } else {
            (
                Mobile::parse(address)
                    .map_err(|e| {
                        ServiceError::invalid(ValidationError::new("address", address, e.rule))
                    })?
                    .as_str()
                    .to_string(),
                Channel::Sms,
            )
        };
        if reason.chars().count() > 200 {
            return Err(ServiceError::invalid(ValidationError::new(
                "reason",
                reason,
                Rule::TooLong { max: 200 },
            )));
        }
        Ok(self
            .db
            .suppress(
                &address,
                channel.code(),
                reason.trim(),
                SuppressionSource::Manual.code(),
                false,
                Some(actor.staff_id),
                self.clock.now(),
            )
            .await?)
    }

    /// Removes an entry (audited).
    pub async fn remove_suppression(&self, actor: &Actor, id: Id) -> Result<()> {
        self.check_outbox_access(actor)?;
        if self
            .db
            .unsuppress(id, actor.staff_id, self.clock.now())
            .await?
        {
            Ok(())
        } else {
            Err(ServiceError::NotFound {
                entity: "suppression",
                id: id.to_string(),
            })
        }
    }
}

/// `138****5678` for a mobile, `w***@example.cn` for an e-mail address.
pub fn mask_address(a: &str) -> String {
    if let Some((local, domain)) = a.split_once('@') {
        let first: String = local.chars().take(1).collect();
        format!("{first}***@{domain}")
    } else if let Ok(m) = Mobile::parse(a) {
        m.masked()
    } else {
        "***".into()
    }
}

async fn send_sms(
    cfg: &SmsGatewayConfig,
    row: &OutboxRow,
) -> std::result::Result<Option<String>, SendError> {
    let payload = render_sms_payload(
        &cfg.payload_template,
        &row.to_address,
        &row.body,
        &row.idempotency_key,
    );
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .map_err(|e| SendError {
            transient: true,
            message: e.to_string(),
        })?;
    let mut req = client
        .post(&cfg.url)
        .header("content-type", "application/json")
        .header("idempotency-key", &row.idempotency_key)
        .body(payload);
    if let Some(t) = &cfg.token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.map_err(|e| SendError {
        transient: true,
        message: format!("gateway unreachable: {e}"),
    })?;
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    if status.is_success() {
        let id = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| {
                ["id", "message_id", "msgid"].iter().find_map(|k| {
                    v.get(*k)
                        .map(|x| x.as_str().map_or(x.to_string(), str::to_string))
                })
            });
        Ok(id.or_else(|| Some(row.idempotency_key.clone())))
    } else {
        let short: String = text.chars().take(200).collect();
        Err(SendError {
            // Server errors, throttling and timeouts pass; other refusals do not.
            transient: status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408,
            message: format!("gateway answered {status}: {short}"),
        })
    }
}

async fn send_email(
    cfg: &SmtpConfig,
    row: &OutboxRow,
) -> std::result::Result<Option<String>, SendError> {
    use lettre::message::header::ContentType;
    use lettre::transport::smtp::authentication::Credentials;
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
    let permanent = |m: String| SendError {
        transient: false,
        message: m,
    };
    let message_id = message_id_for(&row.idempotency_key);
    let email = Message::builder()
        .message_id(Some(message_id.clone()))
        .from(
            cfg.from
                .parse()
                .map_err(|e| permanent(format!("from: {e}")))?,
        )
        .to(row
            .to_address
            .parse()
            .map_err(|e| permanent(format!("to: {e}")))?)
        .subject(row.subject.clone().unwrap_or_default())
        .header(ContentType::TEXT_PLAIN)
        .body(row.body.clone())
        .map_err(|e| permanent(e.to_string()))?;
    let builder = match cfg.security {
        SmtpSecurity::Plain => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&cfg.host),
        SmtpSecurity::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&cfg.host)
            .map_err(|e| permanent(e.to_string()))?,
        SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&cfg.host)
            .map_err(|e| permanent(e.to_string()))?,
    };
    let mut builder = builder
        .port(cfg.port)
        .timeout(Some(std::time::Duration::from_secs(30)));
    if let (Some(u), Some(p)) = (&cfg.username, &cfg.password) {
        builder = builder.credentials(Credentials::new(u.clone(), p.clone()));
    }
    let transport = builder.build();
    match transport.send(email).await {
        Ok(_) => Ok(Some(message_id)),
        Err(e) => Err(SendError {
            transient: !e.is_permanent(),
            message: format!("smtp: {e}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_template_escapes_values() {
        let p = render_sms_payload(
            DEFAULT_SMS_TEMPLATE,
            "13800138000",
            "【店】\"八折\"\n回T退订",
            "k-1",
        );
        let v: serde_json::Value = serde_json::from_str(&p).expect("valid JSON");
        assert_eq!(v["text"], "【店】\"八折\"\n回T退订");
        assert_eq!(v["mobile"], "13800138000");
        assert_eq!(v["id"], "k-1");
    }

    #[test]
    fn message_id_is_stable_per_key() {
        assert_eq!(message_id_for("a"), message_id_for("a"));
        assert_ne!(message_id_for("a"), message_id_for("b"));
        assert!(
            message_id_for("a").starts_with('<') && message_id_for("a").ends_with("@dealerbase>")
        );
    }

    #[test]
    fn masks() {
        assert_eq!(mask_address("13812345678"), "138****5678");
        assert_eq!(mask_address("wang@example.cn"), "w***@example.cn");
    }
}
