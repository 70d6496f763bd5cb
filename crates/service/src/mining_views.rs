//! Mining results as people use them: the dashboard (group or one store), the scored
//! customer list with its filters, export and "create call list" (a campaign target list),
//! a customer's scores in words, and cross-sell offers for a vehicle visit.
//!
//! Who sees what: the dashboard and the lists are for the roles that plan campaigns
//! ([`may_see_mining`]); a store-bound role sees its store, group roles the group or one
//! store they pick. A customer's own scores follow the customer's scope (a consultant sees
//! them on their customers' 360 pages).

use crate::export::{ExportFormat, MAX_EXPORT_ROWS, Table, neutralize, write_table};
use crate::mining::{RESPONSE_WINDOW_DAYS, reasons_in_words};
use crate::{Actor, Result, ServiceError, Services};
use chrono::NaiveDate;
use dealerbase_domain::mask::mask_mobile;
use dealerbase_domain::model::{Role, ScopeLevel, TaskKind};
use dealerbase_domain::{Lang, Rule, ValidationError};
use dealerbase_mining::dealer::Loyalty;
use dealerbase_mining::rfm::RfmSegment;
use dealerbase_mining::value::{self, Tier};
use dealerbase_store::mining::CustomerScore;
use dealerbase_store::mining_views::{
    MiningRule, ScoreCell, ScoreCursor, ScoreFilter, ScoredCustomer, VehicleLine,
};
use dealerbase_store::{Id, NewTask, Page};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::io::Write;
use utoipa::{IntoParams, ToSchema};

/// Roles that see mining results and make campaign lists from them: managers, the general
/// manager, marketing, group staff and administrators.
pub fn may_see_mining(role: Role) -> bool {
    matches!(
        role,
        Role::SalesManager | Role::GeneralManager | Role::Marketing | Role::Group | Role::Admin
    )
}

/// The most customers one "create call list" action takes (a larger list is cut here and
/// the report says so).
pub const MAX_CALL_LIST: usize = 5_000;
/// Offers shown per vehicle.
const MAX_OFFERS: usize = 5;

fn segment_label(code: &str, lang: Lang) -> String {
    RfmSegment::ALL
        .iter()
        .find(|s| s.code() == code)
        .map(|s| match lang {
            Lang::Zh => s.name_zh(),
            Lang::En => s.name_en(),
        })
        .unwrap_or(code)
        .to_string()
}

fn tier_label(code: &str, lang: Lang) -> String {
    Tier::ALL
        .iter()
        .find(|t| t.code() == code)
        .map(|t| match lang {
            Lang::Zh => t.name_zh(),
            Lang::En => t.name_en(),
        })
        .unwrap_or(code)
        .to_string()
}

/// (code, label) of the RFM segments, for filters.
pub fn segment_choices(lang: Lang) -> Vec<(String, String)> {
    RfmSegment::ALL
        .iter()
        .map(|s| (s.code().to_string(), segment_label(s.code(), lang)))
        .collect()
}

/// (code, label) of the value tiers, for filters.
pub fn tier_choices(lang: Lang) -> Vec<(String, String)> {
    Tier::ALL
        .iter()
        .map(|t| (t.code().to_string(), tier_label(t.code(), lang)))
        .collect()
}

// ---- the list's query ----------------------------------------------------------------------

/// Filters of the scored-customer list, as the page, the API and the export take them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, IntoParams)]
#[serde(default)]
pub struct ScoreQuery {
    /// RFM segment code: champions | potential_loyalists | cant_lose_them | at_risk |
    /// loyal_customers | new_customers | need_attention | hibernating
    pub segment: Option<String>,
    /// Value tier: platinum | gold | silver | bronze
    pub tier: Option<String>,
    /// Churn risk at least this many percent (0–100)
    pub min_churn: Option<i64>,
    /// Trade-in propensity at least this many percent (0–100)
    pub min_trade_in: Option<i64>,
    pub store_id: Option<Id>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

impl ScoreQuery {
    /// The store filter, every error collected.
    pub fn filter(&self) -> Result<ScoreFilter> {
        let mut errors: Vec<ValidationError> = Vec::new();
        let code = |field: &str,
                    v: &Option<String>,
                    allowed: Vec<&str>,
                    errors: &mut Vec<ValidationError>| {
            let v = v.as_deref().map(str::trim).filter(|s| !s.is_empty())?;
            if allowed.contains(&v) {
                Some(v.to_string())
            } else {
                errors.push(ValidationError::new(
                    field,
                    v,
                    Rule::OneOf {
                        allowed: allowed.iter().map(|s| s.to_string()).collect(),
                    },
                ));
                None
            }
        };
        let segment = code(
            "segment",
            &self.segment,
            RfmSegment::ALL.iter().map(|s| s.code()).collect(),
            &mut errors,
        );
        let tier = code(
            "tier",
            &self.tier,
            Tier::ALL.iter().map(|s| s.code()).collect(),
            &mut errors,
        );
        let pct = |field: &str, v: Option<i64>, errors: &mut Vec<ValidationError>| match v {
            Some(p) if !(0..=100).contains(&p) => {
                errors.push(ValidationError::new(
                    field,
                    p.to_string(),
                    Rule::OutOfRange { min: 0, max: 100 },
                ));
                None
            }
            Some(p) if p > 0 => Some(p as f64 / 100.0),
            _ => None,
        };
        let min_churn = pct("min_churn", self.min_churn, &mut errors);
        let min_trade_in = pct("min_trade_in", self.min_trade_in, &mut errors);
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }
        Ok(ScoreFilter {
            segment,
            tier,
            min_churn,
            min_trade_in,
            store_id: self.store_id,
        })
    }
}

// ---- the dashboard -----------------------------------------------------------------------

/// Customers of one segment or tier with their revenue and CLV.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LabelledCount {
    pub code: String,
    pub label: String,
    pub customers: i64,
    pub revenue_fen: i64,
    pub clv_fen: i64,
    /// Share of the scope's revenue.
    pub revenue_share: f64,
}

/// The scope's scores summed up (from the snapshot's rows, by SQL).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScoreAggregates {
    pub customers: i64,
    pub revenue_fen: i64,
    /// Sum of the 12-month CLV of the customers that have one.
    pub clv_fen: i64,
    pub mean_p_alive: Option<f64>,
    /// Customers with a churn risk of 50% or more.
    pub high_risk: i64,
    /// The eight RFM segments, in their fixed order.
    pub segments: Vec<LabelledCount>,
    /// Platinum, gold, silver, bronze.
    pub tiers: Vec<LabelledCount>,
    /// Customers per churn-risk decile: [0, 10%), [10%, 20%), … [90%, 100%].
    pub churn_deciles: Vec<i64>,
}

/// Fold of the aggregate cells into the dashboard's counts.
pub fn aggregate(cells: &[ScoreCell], lang: Lang) -> ScoreAggregates {
    let mut segments: Vec<LabelledCount> = RfmSegment::ALL
        .iter()
        .map(|s| LabelledCount {
            code: s.code().into(),
            label: segment_label(s.code(), lang),
            customers: 0,
            revenue_fen: 0,
            clv_fen: 0,
            revenue_share: 0.0,
        })
        .collect();
    let mut tiers: Vec<LabelledCount> = Tier::ALL
        .iter()
        .map(|t| LabelledCount {
            code: t.code().into(),
            label: tier_label(t.code(), lang),
            customers: 0,
            revenue_fen: 0,
            clv_fen: 0,
            revenue_share: 0.0,
        })
        .collect();
    let mut deciles = vec![0i64; 10];
    let (mut customers, mut revenue, mut clv, mut p_sum, mut p_n, mut high) =
        (0i64, 0i64, 0i64, 0.0f64, 0i64, 0i64);
    for c in cells {
        customers += c.customers;
        revenue += c.monetary_fen;
        clv += c.clv_fen;
        p_sum += c.p_alive_sum;
        p_n += c.p_alive_count;
        let d = c.risk_decile.clamp(0, 9) as usize;
        deciles[d] += c.customers;
        if d >= 5 {
            high += c.customers;
        }
        let add = |list: &mut Vec<LabelledCount>, code: &str| {
            if let Some(row) = list.iter_mut().find(|r| r.code == code) {
                row.customers += c.customers;
                row.revenue_fen += c.monetary_fen;
                row.clv_fen += c.clv_fen;
            }
        };
        add(&mut segments, &c.segment);
        add(&mut tiers, &c.tier);
    }
    for row in segments.iter_mut().chain(tiers.iter_mut()) {
        row.revenue_share = if revenue > 0 {
            row.revenue_fen as f64 / revenue as f64
        } else {
            0.0
        };
    }
    ScoreAggregates {
        customers,
        revenue_fen: revenue,
        clv_fen: clv,
        mean_p_alive: (p_n > 0).then(|| p_sum / p_n as f64),
        high_risk: high,
        segments,
        tiers,
        churn_deciles: deciles,
    }
}

/// Response to campaign touches by months since the last visit (see crates/mining/README).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CampaignResponse {
    /// "store" or "group": whose touches these are.
    pub level: String,
    pub window_days: i64,
    /// Rows by whole months since the last visit; the last row pools 12 and more.
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<Value>,
    /// Group-wide touches of customers who had never visited (not in the rows).
    pub never_visited_contacted: i64,
    pub never_visited_responded: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LoyaltyCell {
    pub code: String,
    pub label: String,
    pub customers: i64,
}

/// One k-means cluster of the snapshot (group level): its size and its customers' mean
/// recency, visits and spend, each also as high / average / low against everyone.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClusterProfile {
    /// 1 = the largest; `mining.cluster` in the segment builder.
    pub cluster: i64,
    pub customers: i64,
    pub share: f64,
    pub recency_days: f64,
    pub visits: f64,
    pub spend_yuan: f64,
    /// high | average | low, for recency, visits and spend.
    pub levels: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StoreChoice {
    pub id: Id,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MiningDashboard {
    pub run_id: Id,
    pub as_of: NaiveDate,
    /// Customers scored in the snapshot (the whole group) and the visits it read.
    pub scored_customers: i64,
    pub visits: i64,
    /// The store shown, or None for the whole group.
    pub store_id: Option<Id>,
    pub store_name: Option<String>,
    /// Stores a group role may pick (empty for store roles).
    pub stores: Vec<StoreChoice>,
    pub aggregates: ScoreAggregates,
    /// Revenue share of the top 10%, 20%, … of the scope's customers.
    #[schema(value_type = Vec<Object>)]
    pub pareto: Vec<Value>,
    /// (customer share, revenue share) points from (0, 0) to (1, 1).
    #[schema(value_type = Vec<Vec<f64>>)]
    pub lorenz: Vec<(f64, f64)>,
    pub gini: Option<f64>,
    /// Kaplan-Meier curves after delivery to the 1st/2nd/3rd service: by purchase year
    /// and model for the group; by store (only the chosen store in a store view).
    #[schema(value_type = Object)]
    pub retention: Value,
    /// Names of the vehicle models in the retention curves by model (`retention.model`).
    pub model_names: Vec<(Id, String)>,
    /// Months since the last visit after which fewer than `critical_threshold` of owners
    /// return within a year (group level).
    pub critical_month: Option<f64>,
    pub critical_threshold: Option<f64>,
    /// Churn and trade-in model quality (group level: the models are trained on the
    /// group's history).
    #[schema(value_type = Object)]
    pub models: Value,
    pub rules: Vec<MiningRule>,
    /// Loyalty matrix (group level): loyal, vulnerable, hopeful, destructive.
    pub loyalty: Vec<LoyaltyCell>,
    pub campaign_response: CampaignResponse,
    /// k-means clusters (group level; empty for snapshots before clustering).
    pub clusters: Vec<ClusterProfile>,
}

/// What [`Services::request_mining_run`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MiningRunRequest {
    /// Start it: nothing for today yet.
    Start,
    /// Today's snapshot exists.
    Done,
    /// A run is under way.
    Running,
}

// ---- a customer's scores -----------------------------------------------------------------

/// A customer's scores in the newest snapshot, with labels and reasons in words.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScoreView {
    pub as_of: NaiveDate,
    #[serde(flatten)]
    pub score: CustomerScore,
    pub segment_label: String,
    pub tier_label: String,
    /// The top reasons for the churn risk, in the reader's language.
    pub churn_reasons_text: String,
    pub trade_in_reasons_text: String,
}

// ---- cross-selling -----------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CrossSellOffer {
    /// Work-order line code of the suggested item.
    pub code: String,
    pub name: String,
    pub confidence: f64,
    pub lift: f64,
    pub support: f64,
    /// The items of the visit that the rule starts from ("code name; …").
    pub because: String,
    pub rule_no: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct VehicleCrossSell {
    pub vehicle_id: Id,
    /// given | open_work_order | last_work_order | none
    pub basket_source: String,
    /// Line codes of the visit the offers are for.
    pub basket: Vec<String>,
    pub offers: Vec<CrossSellOffer>,
}

/// Offers for a visit whose lines are `basket`: the consequent items of every rule whose
/// antecedent lies wholly in the basket, leaving out what is in the basket or `bought`
/// already; one offer per item (its most confident rule, then the highest lift), most
/// confident first.
pub fn suggest(basket: &[String], bought: &[String], rules: &[MiningRule]) -> Vec<CrossSellOffer> {
    let mut best: Vec<CrossSellOffer> = Vec::new();
    for r in rules {
        if !r
            .antecedent
            .split(',')
            .all(|a| basket.iter().any(|b| b == a))
        {
            continue;
        }
        let names: Vec<&str> = r.consequent_names.split("; ").collect();
        for (k, code) in r.consequent.split(',').enumerate() {
            if code.is_empty()
                || basket.iter().any(|b| b == code)
                || bought.iter().any(|b| b == code)
            {
                continue;
            }
            let name = names
                .get(k)
                .map(|n| n.strip_prefix(code).unwrap_or(n).trim().to_string())
                .unwrap_or_default();
            let offer = CrossSellOffer {
                code: code.to_string(),
                name,
                confidence: r.confidence,
                lift: r.lift,
                support: r.support,
                because: r.antecedent_names.clone(),
                rule_no: r.rule_no,
            };
            match best.iter_mut().find(|o| o.code == code) {
                Some(o) if (offer.confidence, offer.lift) > (o.confidence, o.lift) => *o = offer,
                Some(_) => {}
                None => best.push(offer),
            }
        }
    }
    best.sort_by(|a, b| {
        b.confidence
            .total_cmp(&a.confidence)
            .then(b.lift.total_cmp(&a.lift))
            .then(a.code.cmp(&b.code))
    });
    best.truncate(MAX_OFFERS);
    best
}

/// The visit's basket from a vehicle's recent lines (newest work order first): the open
/// work order if there is one, else the latest work order.
fn basket_of(lines: &[&VehicleLine]) -> (String, Vec<String>) {
    let pick = lines
        .iter()
        .find(|l| l.status == "open")
        .or_else(|| lines.first())
        .map(|l| (l.work_order_id, l.status == "open"));
    match pick {
        Some((wo, open)) => (
            if open {
                "open_work_order"
            } else {
                "last_work_order"
            }
            .to_string(),
            lines
                .iter()
                .filter(|l| l.work_order_id == wo)
                .map(|l| l.code.clone())
                .collect(),
        ),
        None => ("none".to_string(), Vec::new()),
    }
}

// ---- call lists ----------------------------------------------------------------------------

/// "Create call list": the list's filters, who calls, and when.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct CallListInput {
    #[serde(flatten)]
    pub query: ScoreQuery,
    /// A care specialist who makes every call; empty: each customer's own consultant.
    pub assignee_id: Option<Id>,
    /// Due date (YYYY-MM-DD); today when empty.
    pub due_on: Option<String>,
    /// A note on every task (the campaign's name or offer).
    pub note: Option<String>,
}

/// What "create call list" did with the customers of the list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct CallListReport {
    /// Customers on the list (at most [`MAX_CALL_LIST`]).
    pub matched: usize,
    /// Tasks created.
    pub created: usize,
    /// Already on a call list of this snapshot (the task's dedupe key exists).
    pub already_listed: usize,
    /// Left out: no marketing consent, or consent withdrawn (DOMAIN.md §6).
    pub no_consent: usize,
    /// Left out: the customer asked not to be contacted.
    pub do_not_contact: usize,
    /// Left out: no consultant and no care specialist chosen.
    pub no_assignee: usize,
    /// Left out: the chosen care specialist works at another store.
    pub other_store: usize,
    /// The list had more customers than one action takes.
    pub truncated: bool,
}

fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, (fen % 100).abs())
}

impl Services {
    fn check_mining_role(&self, actor: &Actor) -> Result<()> {
        if may_see_mining(actor.role) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden("mining results"))
        }
    }

    /// The store a request is about: store roles always their own; group roles the one
    /// they ask for (which must be of their group), or None for the whole group.
    async fn mining_store(&self, actor: &Actor, asked: Option<Id>) -> Result<Option<Id>> {
        match actor.role.scope_level() {
            ScopeLevel::Group => match asked {
                None => Ok(None),
                Some(id) => match self.db.store(id).await {
                    Ok(s) if s.group_id == actor.group_id => Ok(Some(id)),
                    _ => Err(ServiceError::NotFound {
                        entity: "store",
                        id: id.to_string(),
                    }),
                },
            },
            _ => Ok(Some(actor.store_id.unwrap_or(0))),
        }
    }

    /// The mining dashboard for the actor's store, or for the group or a chosen store.
    /// None when no snapshot has been computed yet.
    pub async fn mining_dashboard(
        &self,
        actor: &Actor,
        store: Option<Id>,
        lang: Lang,
    ) -> Result<Option<MiningDashboard>> {
        self.check_mining_role(actor)?;
        let store_id = self.mining_store(actor, store).await?;
        let Some(run) = self.db.latest_mining_run().await? else {
            return Ok(None);
        };
        let summary: Value = serde_json::from_str(&run.summary_json)
            .map_err(|e| ServiceError::Internal(format!("mining summary: {e}")))?;
        let cells = self.db.score_cells(&actor.scope(), store_id).await?;
        let aggregates = aggregate(&cells, lang);
        let all_stores = self.db.stores().await?;
        let store_name = store_id.and_then(|id| {
            all_stores
                .iter()
                .find(|s| s.id == id)
                .map(|s| s.name.clone())
        });
        let stores = if actor.role.scope_level() == ScopeLevel::Group {
            all_stores
                .iter()
                .filter(|s| s.group_id == actor.group_id)
                .map(|s| StoreChoice {
                    id: s.id,
                    name: s.name.clone(),
                })
                .collect()
        } else {
            Vec::new()
        };
        // Concentration of revenue: a store's from its own rows, the group's from the run.
        let (pareto, lorenz, gini) = match store_id {
            Some(id) => {
                let revenue: Vec<f64> = self
                    .db
                    .store_score_revenue(id)
                    .await?
                    .into_iter()
                    .map(|f| f as f64 / 100.0)
                    .collect();
                if revenue.is_empty() {
                    (Vec::new(), Vec::new(), None)
                } else {
                    let internal = |e: dealerbase_mining::MiningError| {
                        ServiceError::Internal(format!("mining: {e}"))
                    };
                    (
                        value::pareto_table(&revenue)
                            .map_err(internal)?
                            .into_iter()
                            .map(|r| json!(r))
                            .collect(),
                        value::lorenz_curve(&revenue, 50).map_err(internal)?,
                        Some(value::gini(&revenue).map_err(internal)?),
                    )
                }
            }
            None => (
                summary["pareto"].as_array().cloned().unwrap_or_default(),
                serde_json::from_value(summary["lorenz"].clone()).unwrap_or_default(),
                summary["gini"].as_f64(),
            ),
        };
        let mut retention = summary["retention"].clone();
        if let (Some(id), Some(per_service)) = (store_id, retention.get_mut("store")) {
            if let Some(list) = per_service.as_array_mut() {
                for s in list {
                    if let Some(curves) = s.get_mut("curves").and_then(Value::as_array_mut) {
                        curves.retain(|c| c["group"].as_i64() == Some(id));
                    }
                }
            }
        }
        let cr = &summary["campaign_response"];
        let rows = match store_id {
            Some(id) => cr["stores"][id.to_string()].as_array().cloned(),
            None => cr["group"].as_array().cloned(),
        }
        .unwrap_or_default();
        let campaign_response = CampaignResponse {
            level: if store_id.is_some() { "store" } else { "group" }.into(),
            window_days: cr["window_days"]
                .as_i64()
                .unwrap_or(i64::from(RESPONSE_WINDOW_DAYS)),
            rows,
            never_visited_contacted: cr["never_visited"]["contacted"].as_i64().unwrap_or(0),
            never_visited_responded: cr["never_visited"]["responded"].as_i64().unwrap_or(0),
        };
        let mut rules = self.db.latest_mining_rules().await?;
        rules.truncate(50);
        Ok(Some(MiningDashboard {
            run_id: run.id,
            as_of: run.as_of,
            scored_customers: run.customers,
            visits: run.transactions,
            store_id,
            store_name,
            stores,
            aggregates,
            pareto,
            lorenz,
            gini,
            model_names: {
                let used: std::collections::HashSet<i64> = retention["model"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|s| s["curves"].as_array().cloned().unwrap_or_default())
                    .filter_map(|c| c["group"].as_i64())
                    .collect();
                self.db
                    .vehicle_models()
                    .await?
                    .into_iter()
                    .filter(|m| used.contains(&m.id))
                    .map(|m| (m.id, m.name))
                    .collect()
            },
            critical_month: retention["critical_month"].as_f64(),
            critical_threshold: retention["critical_threshold"].as_f64(),
            retention,
            models: summary["models"].clone(),
            clusters: summary["clusters"]["profiles"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| ClusterProfile {
                    cluster: p["cluster"].as_i64().unwrap_or(0),
                    customers: p["customers"].as_i64().unwrap_or(0),
                    share: p["share"].as_f64().unwrap_or(0.0),
                    recency_days: p["recency_days"].as_f64().unwrap_or(0.0),
                    visits: p["visits"].as_f64().unwrap_or(0.0),
                    spend_yuan: p["spend"].as_f64().unwrap_or(0.0),
                    levels: p["levels"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|l| l.as_str().map(str::to_string))
                        .collect(),
                })
                .collect(),
            rules,
            loyalty: summary["loyalty"]
                .as_array()
                .map(|cells| {
                    cells
                        .iter()
                        .map(|c| {
                            let code = c["code"].as_str().unwrap_or_default().to_string();
                            let label = Loyalty::ALL
                                .iter()
                                .find(|l| l.code() == code)
                                .map(|l| match lang {
                                    Lang::Zh => l.name_zh(),
                                    Lang::En => l.name_en(),
                                })
                                .unwrap_or_default()
                                .to_string();
                            LoyaltyCell {
                                code,
                                label,
                                customers: c["customers"].as_i64().unwrap_or(0),
                            }
                        })
                        .collect()
                })
                .unwrap_or_default(),
            campaign_response,
        }))
    }

    /// The stores a group role may pick on the mining pages (empty for store roles).
    pub async fn mining_store_choices(&self, actor: &Actor) -> Result<Vec<StoreChoice>> {
        self.check_mining_role(actor)?;
        if actor.role.scope_level() != ScopeLevel::Group {
            return Ok(Vec::new());
        }
        Ok(self
            .db
            .stores()
            .await?
            .into_iter()
            .filter(|s| s.group_id == actor.group_id)
            .map(|s| StoreChoice {
                id: s.id,
                name: s.name,
            })
            .collect())
    }

    /// Active care specialists a call list may be given to: of the group for group roles,
    /// else of the actor's store. (id, "name · store").
    pub async fn care_specialists(&self, actor: &Actor) -> Result<Vec<(Id, String)>> {
        if !may_see_mining(actor.role) {
            return Ok(Vec::new());
        }
        let store = match actor.role.scope_level() {
            ScopeLevel::Group => None,
            _ => Some(actor.store_id.unwrap_or(0)),
        };
        Ok(self
            .db
            .staff_rows(actor.group_id, store)
            .await?
            .into_iter()
            .filter(|s| s.active && s.role == Role::CareSpecialist.code())
            .map(|s| {
                let label = match &s.store_name {
                    Some(st) => format!("{} · {st}", s.name),
                    None => s.name.clone(),
                };
                (s.id, label)
            })
            .collect())
    }

    /// Whether an administrator's "run now" should start a run; the caller starts
    /// `mine_all(today)` in the background when the answer is `Start`.
    pub async fn request_mining_run(&self, actor: &Actor) -> Result<MiningRunRequest> {
        if actor.role != Role::Admin {
            return Err(ServiceError::Forbidden("start a mining run"));
        }
        let today = self.clock.today();
        if self
            .db
            .mining_run_in_progress(self.clock.now())
            .await?
            .is_some()
        {
            return Ok(MiningRunRequest::Running);
        }
        if self.db.mining_run_done(today).await? {
            return Ok(MiningRunRequest::Done);
        }
        self.db
            .audit(
                Some(actor.staff_id),
                "start",
                "mining_run",
                None,
                &today.to_string(),
                self.clock.now(),
            )
            .await?;
        Ok(MiningRunRequest::Start)
    }

    /// Whether a snapshot is being computed now (for the page's notice).
    pub async fn mining_run_in_progress(&self) -> Result<Option<NaiveDate>> {
        Ok(self.db.mining_run_in_progress(self.clock.now()).await?)
    }

    /// A customer's scores with labels and reasons in words; None when the customer has
    /// no scores (no service visit) or is out of scope.
    pub async fn customer_score_view(
        &self,
        actor: &Actor,
        customer_id: Id,
        lang: Lang,
    ) -> Result<Option<ScoreView>> {
        let Some(score) = self.db.customer_score(&actor.scope(), customer_id).await? else {
            return Ok(None);
        };
        let Some((_, as_of)) = self.db.latest_mining_run_date().await? else {
            return Ok(None);
        };
        Ok(Some(ScoreView {
            as_of,
            segment_label: segment_label(&score.segment, lang),
            tier_label: tier_label(&score.tier, lang),
            churn_reasons_text: reasons_in_words(&score.churn_reasons, lang),
            trade_in_reasons_text: reasons_in_words(&score.trade_in_reasons, lang),
            score,
        }))
    }

    /// A page of the scored customers in scope with the filters, highest churn risk first;
    /// mobiles masked as on every list.
    pub async fn scored_customers(
        &self,
        actor: &Actor,
        q: &ScoreQuery,
    ) -> Result<Page<ScoredCustomer>> {
        self.check_mining_role(actor)?;
        let filter = q.filter()?;
        let mut page = self
            .db
            .scored_customers(
                &actor.scope(),
                &filter,
                q.page.unwrap_or(1),
                q.per_page.unwrap_or(50),
            )
            .await?;
        for c in &mut page.items {
            c.mobile = c.mobile.as_deref().map(mask_mobile);
        }
        Ok(page)
    }

    /// The whole filtered list as CSV or XLSX. Mobiles are masked unless the role may see
    /// them; the export is audited with its filters and whether numbers were shown.
    pub async fn export_scored_customers(
        &self,
        actor: &Actor,
        q: &ScoreQuery,
        format: ExportFormat,
        lang: Lang,
        out: &mut (dyn Write + Send),
    ) -> Result<usize> {
        self.check_mining_role(actor)?;
        let filter = q.filter()?;
        let unmasked = actor.role.may_reveal_personal_data();
        let headers = match lang {
            Lang::Zh => vec![
                "客户编号",
                "客户姓名",
                "手机",
                "门店",
                "销售顾问",
                "RFM分群",
                "价值等级",
                "距上次回厂天数",
                "回厂次数",
                "消费金额(元)",
                "12个月CLV(元)",
                "存活概率",
                "流失风险",
                "流失原因",
                "置换倾向",
                "置换原因",
                "营销同意",
            ],
            Lang::En => vec![
                "id",
                "name",
                "mobile",
                "store",
                "consultant",
                "RFM segment",
                "value tier",
                "days since last visit",
                "visits",
                "spend (yuan)",
                "12-month CLV (yuan)",
                "P(alive)",
                "churn risk",
                "churn reasons",
                "trade-in propensity",
                "trade-in reasons",
                "marketing consent",
            ],
        };
        let mut table = Table {
            headers,
            rows: Vec::new(),
        };
        let mut after = None;
        loop {
            let chunk = self
                .db
                .scored_customers_after(&actor.scope(), &filter, after, 2_000)
                .await?;
            let Some(last) = chunk.last() else { break };
            after = Some(ScoreCursor {
                churn_risk: last.churn_risk,
                customer_id: last.customer_id,
            });
            for c in &chunk {
                let mobile = c.mobile.clone().unwrap_or_default();
                let row = [
                    c.customer_id.to_string(),
                    c.name.clone(),
                    if unmasked {
                        mobile
                    } else {
                        mask_mobile(&mobile)
                    },
                    c.store_name.clone(),
                    c.consultant_name.clone().unwrap_or_default(),
                    segment_label(&c.segment, lang),
                    tier_label(&c.tier, lang),
                    c.recency_days.to_string(),
                    c.frequency.to_string(),
                    yuan(c.monetary_fen),
                    c.clv_fen.map(yuan).unwrap_or_default(),
                    c.p_alive.map(|p| format!("{p:.3}")).unwrap_or_default(),
                    format!("{:.3}", c.churn_risk),
                    reasons_in_words(&c.churn_reasons, lang),
                    format!("{:.3}", c.trade_in),
                    reasons_in_words(&c.trade_in_reasons, lang),
                    match (c.marketing_consent == 1, lang) {
                        (true, Lang::Zh) => "是".into(),
                        (false, Lang::Zh) => "否".into(),
                        (true, Lang::En) => "yes".into(),
                        (false, Lang::En) => "no".into(),
                    },
                ];
                table.rows.push(row.iter().map(|v| neutralize(v)).collect());
            }
            if table.rows.len() >= MAX_EXPORT_ROWS {
                table.rows.truncate(MAX_EXPORT_ROWS);
                break;
            }
        }
        write_table(&table, format, out)?;
        let detail = json!({
            "format": format.extension(), "rows": table.rows.len(), "filters": q,
            "unmasked_mobiles": unmasked,
        });
        self.db
            .audit(
                Some(actor.staff_id),
                "export",
                "customer_score",
                None,
                &detail.to_string(),
                self.clock.now(),
            )
            .await?;
        Ok(table.rows.len())
    }

    /// Turns the filtered list into follow-up tasks: one per customer with a live
    /// marketing consent who has not asked not to be contacted, for the chosen care
    /// specialist or else the customer's consultant, deduplicated per snapshot (a second
    /// call creates nothing for the customers already listed).
    pub async fn create_call_list(
        &self,
        actor: &Actor,
        input: &CallListInput,
    ) -> Result<CallListReport> {
        self.check_mining_role(actor)?;
        let filter = input.query.filter()?;
        let today = self.clock.today();
        let due_on = match input
            .due_on
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => today,
            Some(s) => match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                Ok(d) if d >= today => d,
                Ok(_) => {
                    return Err(ServiceError::invalid(ValidationError::new(
                        "due_on",
                        s,
                        Rule::OutOfRange { min: 0, max: 365 },
                    )));
                }
                Err(_) => {
                    return Err(ServiceError::invalid(ValidationError::new(
                        "due_on",
                        s,
                        Rule::DateFormat,
                    )));
                }
            },
        };
        let specialist = match input.assignee_id {
            None => None,
            Some(id) => {
                let s = self.db.staff(id).await.ok().filter(|s| {
                    s.active
                        && s.role == Role::CareSpecialist.code()
                        && s.group_id == actor.group_id
                        && match actor.role.scope_level() {
                            ScopeLevel::Group => true,
                            _ => s.store_id == actor.store_id,
                        }
                });
                match s {
                    Some(s) => Some((s.id, s.store_id.unwrap_or(0))),
                    None => {
                        return Err(ServiceError::invalid(ValidationError::new(
                            "assignee_id",
                            id.to_string(),
                            Rule::OneOf {
                                allowed: vec!["an active care specialist of your store".into()],
                            },
                        )));
                    }
                }
            }
        };
        let Some((_, as_of)) = self.db.latest_mining_run_date().await? else {
            return Err(ServiceError::NotFound {
                entity: "mining snapshot",
                id: "latest".into(),
            });
        };
        let note = input
            .note
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.chars().take(200).collect::<String>());
        let mut report = CallListReport::default();
        let mut after = None;
        let mut keys: Vec<(Id, Id, Option<Id>, String)> = Vec::new();
        'walk: loop {
            let chunk = self
                .db
                .scored_customers_after(&actor.scope(), &filter, after, 1_000)
                .await?;
            let Some(last) = chunk.last() else { break };
            after = Some(ScoreCursor {
                churn_risk: last.churn_risk,
                customer_id: last.customer_id,
            });
            for c in chunk {
                if report.matched == MAX_CALL_LIST {
                    report.truncated = true;
                    break 'walk;
                }
                report.matched += 1;
                if c.do_not_contact == 1 {
                    report.do_not_contact += 1;
                    continue;
                }
                if c.marketing_consent != 1 {
                    report.no_consent += 1;
                    continue;
                }
                let assignee = match specialist {
                    Some((_, store)) if store != c.store_id => {
                        report.other_store += 1;
                        continue;
                    }
                    Some((id, _)) => id,
                    None => match c.consultant_id {
                        Some(id) => id,
                        None => {
                            report.no_assignee += 1;
                            continue;
                        }
                    },
                };
                keys.push((
                    c.customer_id,
                    c.store_id,
                    Some(assignee),
                    format!("campaign:{as_of}:{}", c.customer_id),
                ));
            }
        }
        let role = if specialist.is_some() {
            Role::CareSpecialist.code()
        } else {
            Role::SalesConsultant.code()
        };
        for batch in keys.chunks(500) {
            let tasks: Vec<NewTask> = batch
                .iter()
                .map(|(customer, store, assignee, key)| NewTask {
                    store_id: *store,
                    kind: TaskKind::Campaign.code(),
                    customer_id: Some(*customer),
                    lead_id: None,
                    vehicle_id: None,
                    assignee_id: *assignee,
                    role: Some(role),
                    due_on,
                    note: note.as_deref(),
                    dedupe_key: Some(key.as_str()),
                })
                .collect();
            let created = self.db.create_new_tasks(&tasks, self.clock.now()).await?;
            report.created += created;
            report.already_listed += batch.len() - created;
        }
        let detail = json!({"filters": input.query, "assignee_id": input.assignee_id, "due_on": due_on, "report": report});
        self.db
            .audit(
                Some(actor.staff_id),
                "create",
                "call_list",
                None,
                &detail.to_string(),
                self.clock.now(),
            )
            .await?;
        Ok(report)
    }

    /// Cross-sell offers for a visit of the vehicle: from the newest snapshot's rules over
    /// work-order lines and accessories. The visit's lines are `lines` when given, else the
    /// vehicle's open work order, else its latest; items on the visit or bought for the
    /// vehicle in the past 12 months are not offered.
    pub async fn cross_sell(
        &self,
        actor: &Actor,
        vehicle_id: Id,
        lines: Option<Vec<String>>,
    ) -> Result<VehicleCrossSell> {
        self.db.vehicle(&actor.scope(), vehicle_id).await?;
        let rules = self.db.latest_mining_rules().await?;
        let mut out = self.cross_sell_for(&[vehicle_id], &rules).await?;
        let mut one = out.pop().unwrap_or(VehicleCrossSell {
            vehicle_id,
            basket_source: "none".into(),
            basket: Vec::new(),
            offers: Vec::new(),
        });
        if let Some(given) = lines {
            let basket: Vec<String> = given
                .iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
            let since = self.clock.today() - chrono::Duration::days(365);
            let bought: Vec<String> = self
                .db
                .vehicle_lines_since(&[vehicle_id], since)
                .await?
                .into_iter()
                .map(|l| l.code)
                .collect();
            one.offers = suggest(&basket, &bought, &rules);
            one.basket = basket;
            one.basket_source = "given".into();
        }
        Ok(one)
    }

    /// Offers for each vehicle's latest visit (the 360 page). The caller checked scope.
    pub(crate) async fn cross_sell_for(
        &self,
        vehicle_ids: &[Id],
        rules: &[MiningRule],
    ) -> Result<Vec<VehicleCrossSell>> {
        let since = self.clock.today() - chrono::Duration::days(365);
        let lines = self.db.vehicle_lines_since(vehicle_ids, since).await?;
        Ok(vehicle_ids
            .iter()
            .map(|&v| {
                let mine: Vec<&VehicleLine> = lines.iter().filter(|l| l.vehicle_id == v).collect();
                let (source, basket) = basket_of(&mine);
                let bought: Vec<String> = mine.iter().map(|l| l.code.clone()).collect();
                VehicleCrossSell {
                    vehicle_id: v,
                    offers: if basket.is_empty() {
                        Vec::new()
                    } else {
                        suggest(&basket, &bought, rules)
                    },
                    basket_source: source,
                    basket,
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(no: i64, a: &str, c: &str, conf: f64, lift: f64) -> MiningRule {
        MiningRule {
            rule_no: no,
            antecedent: a.into(),
            consequent: c.into(),
            antecedent_names: a.replace(',', "; "),
            consequent_names: c
                .split(',')
                .map(|x| format!("{x} 名{x}"))
                .collect::<Vec<_>>()
                .join("; "),
            support: 0.1,
            confidence: conf,
            lift,
        }
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn offers_follow_rules_whose_antecedent_is_in_the_basket() {
        let rules = vec![
            rule(1, "OIL", "FILTER", 0.9, 1.5),
            rule(2, "OIL", "WIPER", 0.5, 2.0),
            rule(3, "OIL,TYRE", "ALIGN", 0.8, 3.0),
            rule(4, "BRAKE", "DISC", 0.95, 4.0),
            rule(5, "OIL", "AC,WIPER", 0.6, 1.3),
        ];
        // Basket OIL: rules 1, 2, 5 apply (3 needs TYRE too, 4 needs BRAKE). FILTER was
        // bought already; WIPER comes from rule 5 (0.6) rather than rule 2 (0.5).
        let offers = suggest(&s(&["OIL"]), &s(&["FILTER"]), &rules);
        let got: Vec<(&str, f64, i64)> = offers
            .iter()
            .map(|o| (o.code.as_str(), o.confidence, o.rule_no))
            .collect();
        assert_eq!(got, vec![("AC", 0.6, 5), ("WIPER", 0.6, 5)]);
        assert_eq!(offers[0].name, "名AC");
        // With TYRE on the visit as well, ALIGN is offered first-but-one by confidence.
        let offers = suggest(&s(&["OIL", "TYRE"]), &[], &rules);
        let codes: Vec<&str> = offers.iter().map(|o| o.code.as_str()).collect();
        assert_eq!(codes, vec!["FILTER", "ALIGN", "AC", "WIPER"]);
        assert!(suggest(&[], &[], &rules).is_empty());
    }

    #[test]
    fn aggregate_sums_cells_into_segments_tiers_and_deciles() {
        let cell = |seg: &str, tier: &str, d: i64, n: i64, fen: i64| ScoreCell {
            segment: seg.into(),
            tier: tier.into(),
            risk_decile: d,
            customers: n,
            monetary_fen: fen,
            clv_fen: fen / 2,
            p_alive_sum: 0.5 * n as f64,
            p_alive_count: n,
        };
        let a = aggregate(
            &[
                cell("champions", "platinum", 0, 2, 60_000),
                cell("at_risk", "gold", 7, 1, 30_000),
                cell("at_risk", "bronze", 9, 1, 10_000),
            ],
            Lang::En,
        );
        assert_eq!(
            (a.customers, a.revenue_fen, a.clv_fen),
            (4, 100_000, 50_000)
        );
        assert_eq!(a.high_risk, 2);
        assert_eq!(a.churn_deciles, vec![2, 0, 0, 0, 0, 0, 0, 1, 0, 1]);
        let at_risk = a
            .segments
            .iter()
            .find(|s| s.code == "at_risk")
            .expect("row");
        assert_eq!((at_risk.customers, at_risk.revenue_fen), (2, 40_000));
        assert!((at_risk.revenue_share - 0.4).abs() < 1e-12);
        assert_eq!(a.tiers[0].label, "Platinum");
        assert_eq!(a.mean_p_alive, Some(0.5));
    }

    #[test]
    fn list_filters_are_checked() {
        let q = ScoreQuery {
            segment: Some("vip".into()),
            min_churn: Some(150),
            ..Default::default()
        };
        let Err(ServiceError::Invalid(errors)) = q.filter() else {
            panic!("invalid");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["segment", "min_churn"]);
        let ok = ScoreQuery {
            segment: Some("at_risk".into()),
            min_churn: Some(50),
            ..Default::default()
        }
        .filter()
        .expect("valid");
        assert_eq!(ok.min_churn, Some(0.5));
    }
}
