//! Loyalty points and membership (issue 8, point 5): the member's points page, redemption,
//! transfers within a household, manual adjustments (managers, audited), the store's
//! loyalty settings, and the nightly steps — accrue points for settled work orders and
//! delivered sales not yet accrued, expire due lots, review tiers once a year.
//!
//! The rules are `dealerbase_domain::loyalty`; the ledger and its locking are
//! `dealerbase_store::loyalty`.

use crate::{Actor, Result, ServiceError, Services};
use chrono::{Months, NaiveDate};
use dealerbase_domain::loyalty::{self as rules, LoyaltySettings, Tier};
use dealerbase_domain::model::{PaidBy, RelationKind, Role, ScopeLevel, WorkOrderKind};
use dealerbase_domain::{Lang, Rule, ValidationError};
use dealerbase_store::Id;
use dealerbase_store::loyalty::{
    AccrualCandidate, Credit, Debit, LotUse, LoyaltyAccount, LoyaltyEntry, LoyaltyLot,
};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::{BTreeSet, HashMap};
use utoipa::ToSchema;

/// Reads a store's loyalty settings from its settings JSON (`{"loyalty": {...}}`); keys not
/// given take the defaults, unreadable JSON takes all defaults.
pub fn settings_of(json: &str) -> LoyaltySettings {
    serde_json::from_str::<serde_json::Value>(json)
        .ok()
        .and_then(|v| v.get("loyalty").cloned())
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}

/// Points typed in a form (text) or sent by the API (a number or text).
fn points_field<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumOrText {
        N(i64),
        T(String),
    }
    Ok(match Option::<NumOrText>::deserialize(d)? {
        Some(NumOrText::N(n)) => n.to_string(),
        Some(NumOrText::T(t)) => t,
        None => String::new(),
    })
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct RedeemInput {
    /// Whole points, at least 1 and at most the balance.
    #[serde(default, deserialize_with = "points_field")]
    #[schema(value_type = i64)]
    pub points: String,
    /// What the points were exchanged for.
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct TransferInput {
    /// A household member of the customer (customer relation of kind household).
    #[serde(default, deserialize_with = "points_field")]
    #[schema(value_type = i64)]
    pub to_customer_id: String,
    #[serde(default, deserialize_with = "points_field")]
    #[schema(value_type = i64)]
    pub points: String,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct AdjustInput {
    /// Signed: positive credits a new lot, negative takes points first-expiring first.
    #[serde(default, deserialize_with = "points_field")]
    #[schema(value_type = i64)]
    pub points: String,
    /// Required: why (kept in the ledger and the audit log).
    #[serde(default)]
    pub reason: String,
}

/// A ledger entry with its labels.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EntryView {
    #[serde(flatten)]
    pub entry: LoyaltyEntry,
    pub kind_label: String,
    /// (lot id, points) consumed by a debit.
    pub lots: Vec<(Id, i64)>,
}

/// A household member points can go to.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HouseholdMember {
    pub customer_id: Id,
    pub name: String,
}

/// The member's points page and the 360 block.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LoyaltyView {
    pub customer_id: Id,
    pub customer_name: String,
    /// None until the first points are earned.
    pub account: Option<LoyaltyAccount>,
    pub member_no: Option<String>,
    pub tier: String,
    pub tier_label: String,
    pub balance: i64,
    /// Points earned and spend (fen) in the trailing 12 months, and the tier they qualify for.
    pub points_12m: i64,
    pub spend_fen_12m: i64,
    pub qualifying_tier: String,
    /// The next lot to expire: (date, points).
    pub next_expiry: Option<(NaiveDate, i64)>,
    pub entries: Vec<EntryView>,
    pub lots: Vec<LoyaltyLot>,
    pub household: Vec<HouseholdMember>,
    pub may_adjust: bool,
}

/// The 360 page's loyalty block.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LoyaltySummary {
    pub member_no: Option<String>,
    pub tier: String,
    pub tier_label: String,
    pub balance: i64,
    pub next_expiry: Option<(NaiveDate, i64)>,
}

/// What one run of the nightly loyalty steps did.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct LoyaltyJobReport {
    pub work_orders_accrued: u64,
    pub sales_accrued: u64,
    pub points_accrued: i64,
    pub upgrades: u64,
    pub lots_expired: u64,
    pub reviewed: u64,
    pub downgrades: u64,
}

fn tier_of(code: &str) -> Tier {
    Tier::parse("tier", code).unwrap_or(Tier::Classic)
}

/// Managers may adjust points by hand.
pub fn may_adjust(role: Role) -> bool {
    matches!(
        role,
        Role::SalesManager | Role::GeneralManager | Role::Admin
    )
}

const BATCH: i64 = 500;

impl Services {
    async fn loyalty_store_ids(&self, actor: &Actor) -> Result<Vec<Id>> {
        Ok(match actor.role.scope_level() {
            ScopeLevel::Group => self.db.group_store_ids(actor.group_id).await?,
            _ => actor.store_id.into_iter().collect(),
        })
    }

    /// A store's effective loyalty settings, for those who work in it.
    pub async fn loyalty_settings_of(
        &self,
        actor: &Actor,
        store_id: Id,
    ) -> Result<LoyaltySettings> {
        if !self.loyalty_store_ids(actor).await?.contains(&store_id) {
            return Err(ServiceError::NotFound {
                entity: "store",
                id: store_id.to_string(),
            });
        }
        Ok(settings_of(&self.db.store(store_id).await?.settings))
    }

    /// Changes a store's loyalty settings (administrators, group staff, the store's general
    /// manager). Every broken rule is reported at once.
    pub async fn set_loyalty_settings(
        &self,
        actor: &Actor,
        store_id: Id,
        settings: &LoyaltySettings,
    ) -> Result<()> {
        if !matches!(actor.role, Role::Admin | Role::GeneralManager | Role::Group) {
            return Err(ServiceError::Forbidden("change store settings"));
        }
        self.check_store_access(actor, store_id).await?;
        settings.validate().map_err(ServiceError::Invalid)?;
        let store = self.db.store(store_id).await?;
        let mut v: serde_json::Value =
            serde_json::from_str(&store.settings).unwrap_or_else(|_| serde_json::json!({}));
        if !v.is_object() {
            v = serde_json::json!({});
        }
        v["loyalty"] =
            serde_json::to_value(settings).map_err(|e| ServiceError::Internal(e.to_string()))?;
        self.db.set_store_settings(store_id, &v.to_string()).await?;
        Ok(())
    }

    /// The 360 block: member number, tier, balance, next expiry (None for a customer out of
    /// the actor's scope is never reached: the 360 checks scope first).
    pub async fn loyalty_summary(&self, customer_id: Id, lang: Lang) -> Result<LoyaltySummary> {
        let account = self.db.loyalty_account(customer_id).await?;
        let next_expiry = if account.as_ref().is_some_and(|a| a.balance > 0) {
            next_expiry(&self.db.loyalty_lots(customer_id).await?)
        } else {
            None
        };
        let tier = tier_of(account.as_ref().map_or("classic", |a| a.tier.as_str()));
        Ok(LoyaltySummary {
            member_no: account.as_ref().map(|a| a.member_no.clone()),
            tier: tier.code().into(),
            tier_label: tier.label(lang).into(),
            balance: account.map_or(0, |a| a.balance),
            next_expiry,
        })
    }

    /// The member's points page: account, ledger with the lots each debit used, lots,
    /// trailing-12-month figures and the household members points may go to.
    pub async fn customer_loyalty(
        &self,
        actor: &Actor,
        customer_id: Id,
        lang: Lang,
    ) -> Result<LoyaltyView> {
        let customer = self.db.customer(&actor.scope(), customer_id).await?;
        let account = self.db.loyalty_account(customer_id).await?;
        let lots = self.db.loyalty_lots(customer_id).await?;
        let uses = self.db.loyalty_lot_uses(customer_id).await?;
        let mut by_entry: HashMap<Id, Vec<(Id, i64)>> = HashMap::new();
        for LotUse {
            entry_id,
            lot_id,
            points,
        } in uses
        {
            by_entry.entry(entry_id).or_default().push((lot_id, points));
        }
        let entries = self
            .db
            .loyalty_entries(customer_id, 500)
            .await?
            .into_iter()
            .map(|e| EntryView {
                kind_label: rules::EntryKind::parse("kind", &e.kind)
                    .map(|k| k.label(lang).to_string())
                    .unwrap_or_else(|_| e.kind.clone()),
                lots: by_entry.remove(&e.id).unwrap_or_default(),
                entry: e,
            })
            .collect();
        let today = self.clock.today();
        let (points_12m, spend_fen_12m) = self
            .db
            .loyalty_trailing(customer_id, rules::trailing_start(today))
            .await?;
        let s = settings_of(&self.db.store(customer.fields.store_id).await?.settings);
        let tier = tier_of(account.as_ref().map_or("classic", |a| a.tier.as_str()));
        Ok(LoyaltyView {
            customer_id,
            customer_name: customer.fields.name.clone(),
            member_no: account.as_ref().map(|a| a.member_no.clone()),
            tier: tier.code().into(),
            tier_label: tier.label(lang).into(),
            balance: account.as_ref().map_or(0, |a| a.balance),
            points_12m,
            spend_fen_12m,
            qualifying_tier: rules::qualifying_tier(&s, points_12m, spend_fen_12m)
                .code()
                .into(),
            next_expiry: next_expiry(&lots),
            account,
            entries,
            lots,
            household: self.household(customer_id).await?,
            may_adjust: may_adjust(actor.role),
        })
    }

    async fn household(&self, customer_id: Id) -> Result<Vec<HouseholdMember>> {
        let mut seen = BTreeSet::new();
        Ok(self
            .db
            .relations(customer_id)
            .await?
            .into_iter()
            .filter(|r| {
                r.kind == RelationKind::Household.code()
                    && r.related_customer_id != customer_id
                    && seen.insert(r.related_customer_id)
            })
            .map(|r| HouseholdMember {
                customer_id: r.related_customer_id,
                name: r.related_name,
            })
            .collect())
    }

    /// Redeems points: the first lots to expire are used first.
    pub async fn redeem_points(
        &self,
        actor: &Actor,
        customer_id: Id,
        input: &RedeemInput,
    ) -> Result<Id> {
        let customer = self.db.customer(&actor.scope(), customer_id).await?;
        let points = rules::parse_points("points", &input.points).map_err(ServiceError::invalid)?;
        let reason = input.reason.trim();
        if reason.chars().count() > 200 {
            return Err(ServiceError::invalid(ValidationError::new(
                "reason",
                reason,
                Rule::TooLong { max: 200 },
            )));
        }
        let debit = Debit {
            customer_id,
            store_id: actor.store_id.unwrap_or(customer.fields.store_id),
            kind: "redeem",
            points,
            occurred_on: self.clock.today(),
            staff_id: Some(actor.staff_id),
            reason: reason.to_string(),
        };
        self.db
            .loyalty_debit(&debit, self.clock.now())
            .await?
            .map_err(ServiceError::invalid)
    }

    /// Transfers points to a household member (a `household` customer relation, either
    /// direction). Answers (transfer_out id, transfer_in id).
    pub async fn transfer_points(
        &self,
        actor: &Actor,
        customer_id: Id,
        input: &TransferInput,
    ) -> Result<(Id, Id)> {
        let customer = self.db.customer(&actor.scope(), customer_id).await?;
        let mut errors = Vec::new();
        let to = match input.to_customer_id.trim().parse::<Id>() {
            Ok(t) => Some(t),
            Err(_) => {
                errors.push(ValidationError::new(
                    "to_customer_id",
                    &input.to_customer_id,
                    if input.to_customer_id.trim().is_empty() {
                        Rule::Required
                    } else {
                        Rule::Number
                    },
                ));
                None
            }
        };
        let points = rules::parse_points("points", &input.points)
            .map_err(|e| errors.push(e))
            .ok();
        let (Some(to), Some(points)) = (to, points) else {
            return Err(ServiceError::Invalid(errors));
        };
        let household: Vec<Id> = self
            .household(customer_id)
            .await?
            .into_iter()
            .map(|m| m.customer_id)
            .collect();
        rules::check_transfer(customer_id, to, &household).map_err(ServiceError::invalid)?;
        if points < 1 {
            return Err(ServiceError::invalid(ValidationError::new(
                "points",
                points.to_string(),
                Rule::OutOfRange {
                    min: 1,
                    max: 100_000_000,
                },
            )));
        }
        self.db
            .loyalty_transfer(
                customer_id,
                to,
                actor.store_id.unwrap_or(customer.fields.store_id),
                points,
                self.clock.today(),
                Some(actor.staff_id),
                input.reason.trim(),
                self.clock.now(),
            )
            .await?
            .map_err(ServiceError::invalid)
    }

    /// A manual adjustment with its reason (managers only; written with an audit row in
    /// the same transaction). A positive adjustment opens a lot expiring by the store's rule.
    pub async fn adjust_points(
        &self,
        actor: &Actor,
        customer_id: Id,
        input: &AdjustInput,
    ) -> Result<Id> {
        if !may_adjust(actor.role) {
            return Err(ServiceError::Forbidden("adjust loyalty points"));
        }
        let customer = self.db.customer(&actor.scope(), customer_id).await?;
        let mut errors = Vec::new();
        let points = match rules::parse_points("points", &input.points) {
            Ok(0) => {
                errors.push(ValidationError::new(
                    "points",
                    "0",
                    Rule::OutOfRange {
                        min: -100_000_000,
                        max: 100_000_000,
                    },
                ));
                0
            }
            Ok(p) => p,
            Err(e) => {
                errors.push(e);
                0
            }
        };
        let reason = input.reason.trim();
        if reason.is_empty() {
            errors.push(ValidationError::new("reason", "", Rule::Required));
        } else if reason.chars().count() > 200 {
            errors.push(ValidationError::new(
                "reason",
                reason,
                Rule::TooLong { max: 200 },
            ));
        }
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }
        let today = self.clock.today();
        let now = self.clock.now();
        let store_id = actor.store_id.unwrap_or(customer.fields.store_id);
        if points > 0 {
            let s = settings_of(&self.db.store(customer.fields.store_id).await?.settings);
            let ids = self
                .db
                .loyalty_credit(
                    &[Credit {
                        customer_id,
                        store_id,
                        kind: "adjust",
                        points,
                        occurred_on: today,
                        expires_on: rules::expires_on(&s, today),
                        source: None,
                        amount_fen: None,
                        staff_id: Some(actor.staff_id),
                        reason: reason.to_string(),
                    }],
                    now,
                )
                .await?;
            ids.first()
                .copied()
                .flatten()
                .ok_or_else(|| ServiceError::Internal("adjustment not written".into()))
        } else {
            self.db
                .loyalty_debit(
                    &Debit {
                        customer_id,
                        store_id,
                        kind: "adjust",
                        points: -points,
                        occurred_on: today,
                        staff_id: Some(actor.staff_id),
                        reason: reason.to_string(),
                    },
                    now,
                )
                .await?
                .map_err(ServiceError::invalid)
        }
    }

    /// Earns points for settled work orders and delivered sales that have not earned yet
    /// (idempotent: the ledger's source key), in batches of 500 per transaction, then
    /// upgrades the members who now qualify for a higher tier. Only sources within the
    /// longest expiry window of any store are considered (older points would be expired).
    pub async fn accrue_points(&self, today: NaiveDate) -> Result<LoyaltyJobReport> {
        let now = self.clock.now();
        let settings: HashMap<Id, LoyaltySettings> = self
            .db
            .stores()
            .await?
            .into_iter()
            .map(|s| (s.id, settings_of(&s.settings)))
            .collect();
        let longest = settings
            .values()
            .map(|s| s.expiry_months)
            .max()
            .unwrap_or(24)
            .clamp(1, 120);
        let since = today
            .checked_sub_months(Months::new(longest as u32))
            .unwrap_or(today);
        let default = LoyaltySettings::default();
        let mut report = LoyaltyJobReport::default();
        let mut touched = BTreeSet::new();
        for sales in [false, true] {
            let mut after = 0;
            loop {
                let batch = if sales {
                    self.db.loyalty_sales_to_accrue(since, after, BATCH).await?
                } else {
                    self.db
                        .loyalty_work_orders_to_accrue(since, after, BATCH)
                        .await?
                };
                let Some(last) = batch.last() else { break };
                after = last.source_id;
                // Accounts are locked in customer-id order, as transfers do, so two
                // concurrent writers cannot deadlock on PostgreSQL.
                let mut credits: Vec<Credit> = batch
                    .iter()
                    .filter_map(|c| {
                        let s = settings.get(&c.store_id).unwrap_or(&default);
                        credit_for(s, c, sales, today)
                    })
                    .collect();
                credits.sort_by_key(|c| c.customer_id);
                let written = self.db.loyalty_credit(&credits, now).await?;
                for (c, id) in credits.iter().zip(written) {
                    if id.is_some() {
                        touched.insert(c.customer_id);
                        report.points_accrued += c.points;
                        if sales {
                            report.sales_accrued += 1;
                        } else {
                            report.work_orders_accrued += 1;
                        }
                    }
                }
                if (batch.len() as i64) < BATCH {
                    break;
                }
            }
        }
        for customer in touched {
            if self
                .upgrade_if_qualified(customer, today, &settings)
                .await?
            {
                report.upgrades += 1;
            }
        }
        Ok(report)
    }

    async fn upgrade_if_qualified(
        &self,
        customer_id: Id,
        today: NaiveDate,
        settings: &HashMap<Id, LoyaltySettings>,
    ) -> Result<bool> {
        let Some(a) = self.db.loyalty_account(customer_id).await? else {
            return Ok(false);
        };
        let default = LoyaltySettings::default();
        let s = settings.get(&a.store_id).unwrap_or(&default);
        let (pts, spend) = self
            .db
            .loyalty_trailing(customer_id, rules::trailing_start(today))
            .await?;
        match rules::upgrade(tier_of(&a.tier), rules::qualifying_tier(s, pts, spend)) {
            Some(t) => {
                self.db
                    .loyalty_set_tier(customer_id, t.code(), None, self.clock.now())
                    .await?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// The yearly review of every member last reviewed a year ago or more: the tier
    /// becomes the one the trailing 12 months qualify for, dropping at most the store's
    /// `downgrade_levels`. Answers (reviewed, downgraded).
    pub async fn review_tiers(&self, today: NaiveDate) -> Result<(u64, u64)> {
        let settings: HashMap<Id, LoyaltySettings> = self
            .db
            .stores()
            .await?
            .into_iter()
            .map(|s| (s.id, settings_of(&s.settings)))
            .collect();
        let default = LoyaltySettings::default();
        let due_on = today.checked_sub_months(Months::new(12)).unwrap_or(today);
        let (mut reviewed, mut downgraded) = (0, 0);
        let mut after = 0;
        loop {
            let batch = self
                .db
                .loyalty_accounts_to_review(due_on, after, BATCH)
                .await?;
            let Some(last) = batch.last() else { break };
            after = last.customer_id;
            for a in &batch {
                if !rules::review_due(a.reviewed_on, today) {
                    continue;
                }
                let s = settings.get(&a.store_id).unwrap_or(&default);
                let (pts, spend) = self
                    .db
                    .loyalty_trailing(a.customer_id, rules::trailing_start(today))
                    .await?;
                let current = tier_of(&a.tier);
                let new = rules::review(s, current, rules::qualifying_tier(s, pts, spend));
                if new < current {
                    downgraded += 1;
                }
                self.db
                    .loyalty_set_tier(a.customer_id, new.code(), Some(today), self.clock.now())
                    .await?;
                reviewed += 1;
            }
            if (batch.len() as i64) < BATCH {
                break;
            }
        }
        Ok((reviewed, downgraded))
    }

    /// The nightly loyalty steps: accrue, expire, review.
    pub async fn run_loyalty_jobs(&self, today: NaiveDate) -> Result<LoyaltyJobReport> {
        let mut report = self.accrue_points(today).await?;
        report.lots_expired = self.db.loyalty_expire_due(today, self.clock.now()).await?;
        let (reviewed, downgrades) = self.review_tiers(today).await?;
        report.reviewed = reviewed;
        report.downgrades = downgrades;
        Ok(report)
    }
}

/// The credit a candidate earns (None when it earns nothing or would already be expired).
/// A work order without lines earns on its total at the labour rate.
fn credit_for(
    s: &LoyaltySettings,
    c: &AccrualCandidate,
    sale: bool,
    today: NaiveDate,
) -> Option<Credit> {
    let tier = tier_of(c.tier.as_deref().unwrap_or("classic"));
    let points = if sale {
        rules::purchase_points(s, tier, c.total_fen)
    } else {
        let kind = WorkOrderKind::parse("kind", &c.kind).ok()?;
        let paid_by = PaidBy::parse("paid_by", &c.paid_by).ok()?;
        let (labour, part) = if c.lines == 0 {
            (c.total_fen, 0)
        } else {
            (c.labour_fen, c.part_fen)
        };
        rules::work_order_points(s, tier, kind, paid_by, labour, part)
    };
    let expires_on = rules::expires_on(s, c.on);
    if points <= 0 || rules::is_expired(expires_on, today) {
        return None;
    }
    Some(Credit {
        customer_id: c.customer_id,
        store_id: c.store_id,
        kind: "earn",
        points,
        occurred_on: c.on,
        expires_on,
        source: Some((if sale { "sales_order" } else { "work_order" }, c.source_id)),
        amount_fen: Some(c.total_fen),
        staff_id: None,
        reason: String::new(),
    })
}

fn next_expiry(lots: &[LoyaltyLot]) -> Option<(NaiveDate, i64)> {
    let first = lots
        .iter()
        .filter(|l| l.remaining > 0)
        .map(|l| l.expires_on)
        .min()?;
    Some((
        first,
        lots.iter()
            .filter(|l| l.remaining > 0 && l.expires_on == first)
            .map(|l| l.remaining)
            .sum(),
    ))
}
