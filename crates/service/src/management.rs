//! Management (issue 9): the KPI catalogue's values for a period and a scope (staff, store,
//! brand, group) with month-on-month and year-on-year, rankings with the change of rank,
//! the records behind a number, and monthly trends.
//!
//! Role scoping: store-bound roles see their own store only (and consultants or advisors
//! only themselves when they ask per staff member); group roles pick a store or a brand, or
//! see the group. Every value is `Σ numerator ÷ Σ denominator` over the records of the
//! scope, never an average of store rates.

use crate::{Actor, Result, ServiceError, Services};
use chrono::Datelike;
use dealerbase_domain::kpi::{self, KpiDef, Period, PeriodKind};
use dealerbase_domain::mask::mask_name;
use dealerbase_domain::model::ScopeLevel;
use dealerbase_domain::{Rule, ValidationError};
use dealerbase_store::Id;
use dealerbase_store::kpi::{KpiBy, KpiRecordFilter, KpiSelect, KpiSum};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// What a KPI request names: the KPI, the period and the scope. Everything but `kpi` has a
/// default (this month; the group for group roles, the own store for store roles).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KpiQuery {
    /// A KPI id from `GET /api/v1/kpis`.
    #[serde(default)]
    pub kpi: String,
    /// day | month | quarter | year (default month).
    pub period: Option<String>,
    /// 2026-10-05 | 2026-10 | 2026-Q4 | 2026 (default: the period containing today).
    pub at: Option<String>,
    /// staff | store | brand | group.
    pub scope: Option<String>,
    /// Store code (S01) or id, for scope=store (and scope=staff).
    pub store: Option<String>,
    /// Brand id, for scope=brand.
    pub brand: Option<Id>,
    /// Staff id, for scope=staff.
    pub staff: Option<Id>,
}

/// The scope a KPI was computed over.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KpiScope {
    /// staff | store | brand | group
    pub level: String,
    pub id: Option<Id>,
    pub name: String,
    #[serde(skip)]
    stores: Vec<Id>,
    #[serde(skip)]
    staff: Option<Id>,
}

/// A KPI's value in one period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KpiPoint {
    pub period: String,
    pub numerator: i64,
    pub denominator: i64,
    pub value: Option<f64>,
    /// The value as people read it: "75.0%", "1,234", "¥1,234.00", "—".
    pub display: String,
}

/// A KPI's value with the previous and the year-ago period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KpiValue {
    pub kpi: String,
    pub scope: KpiScope,
    pub current: KpiPoint,
    pub previous: KpiPoint,
    pub year_ago: KpiPoint,
    /// Against the previous period: percentage points for rates, relative for counts.
    pub mom: Option<f64>,
    pub yoy: Option<f64>,
    pub mom_display: String,
    pub yoy_display: String,
    /// Whether the changes are good news in the KPI's direction.
    pub mom_better: Option<bool>,
    pub yoy_better: Option<bool>,
}

/// One row of a ranking.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KpiRankRow {
    pub key: Id,
    pub name: String,
    pub numerator: i64,
    pub denominator: i64,
    pub value: Option<f64>,
    pub display: String,
    pub rank: Option<u32>,
    pub previous_rank: Option<u32>,
    /// Places climbed since the previous period (negative = fell).
    pub rank_change: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KpiRanking {
    pub kpi: String,
    pub period: String,
    pub previous_period: String,
    pub scope: KpiScope,
    /// store | brand | staff | model
    pub by: String,
    pub rows: Vec<KpiRankRow>,
}

/// One record behind a KPI value; `hit` says whether it counts in the numerator (renewed
/// yes/no). Customer names are masked.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KpiRecordRow {
    pub id: Id,
    pub part: i64,
    pub on: String,
    pub store_name: String,
    pub staff_name: String,
    pub customer_id: Option<Id>,
    pub customer_name: String,
    pub label: String,
    pub numerator: i64,
    pub denominator: i64,
    pub hit: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KpiRecords {
    pub kpi: String,
    pub period: String,
    pub scope: KpiScope,
    pub items: Vec<KpiRecordRow>,
    pub has_more: bool,
}

/// A store the actor may pick, with its brand.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StoreChoice {
    pub id: Id,
    pub code: String,
    pub name: String,
    pub brand_id: Id,
    pub brand_name: String,
}

fn bad(field: &str, value: &str, allowed: &[&str]) -> ServiceError {
    ServiceError::invalid(ValidationError::new(
        field,
        value,
        Rule::OneOf {
            allowed: allowed.iter().map(|s| s.to_string()).collect(),
        },
    ))
}

impl Services {
    /// The KPI catalogue.
    pub fn kpi_catalogue(&self) -> &'static [KpiDef] {
        kpi::CATALOGUE
    }

    /// The stores the actor may look at (group roles: every store of the group).
    pub async fn kpi_stores(&self, actor: &Actor) -> Result<Vec<StoreChoice>> {
        let all = self.db.kpi_group_stores(actor.group_id).await?;
        Ok(all
            .into_iter()
            .filter(|s| {
                actor.role.scope_level() == ScopeLevel::Group || actor.store_id == Some(s.0)
            })
            .map(|(id, code, name, brand_id, brand_name)| StoreChoice {
                id,
                code,
                name,
                brand_id,
                brand_name,
            })
            .collect())
    }

    /// Reads KPI, period and scope of a query and checks the actor may see that scope.
    pub async fn kpi_resolve(
        &self,
        actor: &Actor,
        q: &KpiQuery,
    ) -> Result<(&'static KpiDef, Period, KpiScope)> {
        let def = kpi::find("kpi", &q.kpi).map_err(ServiceError::invalid)?;
        let kind = match q.period.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(p) => PeriodKind::parse("period", p).map_err(ServiceError::invalid)?,
            None => PeriodKind::Month,
        };
        let period = match q.at.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(at) => Period::parse(kind, at).map_err(ServiceError::invalid)?,
            None => Period::containing(kind, self.clock.today()),
        };
        let scope = self.kpi_scope(actor, q).await?;
        if scope.level == "staff" && !def.per_staff {
            return Err(ServiceError::invalid(ValidationError::new(
                "scope",
                "staff",
                Rule::OneOf {
                    allowed: vec!["store".into(), "brand".into(), "group".into()],
                },
            )));
        }
        Ok((def, period, scope))
    }

    async fn kpi_scope(&self, actor: &Actor, q: &KpiQuery) -> Result<KpiScope> {
        let stores = self.kpi_stores(actor).await?;
        let group_role = actor.role.scope_level() == ScopeLevel::Group;
        let level = match q.scope.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(l) => l.to_string(),
            None if q.staff.is_some() => "staff".into(),
            None if q.store.as_deref().is_some_and(|s| !s.trim().is_empty()) => "store".into(),
            None if q.brand.is_some() => "brand".into(),
            None if actor.role.scope_level() == ScopeLevel::Own => "staff".into(),
            None if group_role => "group".into(),
            None => "store".into(),
        };
        let pick_store = |required: bool| -> Result<Option<&StoreChoice>> {
            match q.store.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                Some(s) => stores
                    .iter()
                    .find(|c| c.code.eq_ignore_ascii_case(s) || c.id.to_string() == s)
                    .map(Some)
                    .ok_or_else(|| ServiceError::NotFound {
                        entity: "store",
                        id: s.to_string(),
                    }),
                None if !group_role => Ok(stores.first()),
                None if required => Err(ServiceError::invalid(ValidationError::new(
                    "store",
                    "",
                    Rule::Required,
                ))),
                None => Ok(None),
            }
        };
        match level.as_str() {
            "group" => {
                if !group_role {
                    return Err(ServiceError::Forbidden("group figures"));
                }
                Ok(KpiScope {
                    level,
                    id: None,
                    name: String::new(),
                    stores: stores.iter().map(|s| s.id).collect(),
                    staff: None,
                })
            }
            "brand" => {
                if !group_role {
                    return Err(ServiceError::Forbidden("group figures"));
                }
                let brand = q.brand.ok_or_else(|| {
                    ServiceError::invalid(ValidationError::new("brand", "", Rule::Required))
                })?;
                let of: Vec<&StoreChoice> = stores.iter().filter(|s| s.brand_id == brand).collect();
                let name = of.first().map(|s| s.brand_name.clone()).ok_or_else(|| {
                    ServiceError::NotFound {
                        entity: "brand",
                        id: brand.to_string(),
                    }
                })?;
                Ok(KpiScope {
                    level,
                    id: Some(brand),
                    name,
                    stores: of.iter().map(|s| s.id).collect(),
                    staff: None,
                })
            }
            "store" => {
                if actor.role.scope_level() == ScopeLevel::Own {
                    return Err(ServiceError::Forbidden("store figures"));
                }
                let s = pick_store(true)?.ok_or_else(|| ServiceError::NotFound {
                    entity: "store",
                    id: actor.store_id.unwrap_or(0).to_string(),
                })?;
                Ok(KpiScope {
                    level,
                    id: Some(s.id),
                    name: s.name.clone(),
                    stores: vec![s.id],
                    staff: None,
                })
            }
            "staff" => {
                let staff_id = match (actor.role.scope_level(), q.staff) {
                    (ScopeLevel::Own, Some(s)) if s != actor.staff_id => {
                        return Err(ServiceError::NotFound {
                            entity: "staff",
                            id: s.to_string(),
                        });
                    }
                    (ScopeLevel::Own, _) => actor.staff_id,
                    (_, Some(s)) => s,
                    (_, None) => {
                        return Err(ServiceError::invalid(ValidationError::new(
                            "staff",
                            "",
                            Rule::Required,
                        )));
                    }
                };
                let member = self
                    .db
                    .staff(staff_id)
                    .await
                    .map_err(|_| ServiceError::NotFound {
                        entity: "staff",
                        id: staff_id.to_string(),
                    })?;
                let store = member
                    .store_id
                    .filter(|sid| stores.iter().any(|s| s.id == *sid))
                    .ok_or_else(|| ServiceError::NotFound {
                        entity: "staff",
                        id: staff_id.to_string(),
                    })?;
                Ok(KpiScope {
                    level,
                    id: Some(staff_id),
                    name: member.name,
                    stores: vec![store],
                    staff: Some(staff_id),
                })
            }
            other => Err(bad("scope", other, &["staff", "store", "brand", "group"])),
        }
    }

    async fn kpi_point(&self, def: &KpiDef, p: &Period, scope: &KpiScope) -> Result<KpiPoint> {
        let sums = self
            .db
            .kpi_sums(def.id, &select(p, scope, self.clock.today()), KpiBy::Total)
            .await?;
        let (num, den) = sums.iter().fold((0, 0), |a, s| (a.0 + s.num, a.1 + s.den));
        Ok(point(def, p, num, den))
    }

    /// A KPI's value for the period and scope, with the previous and the year-ago period.
    pub async fn kpi_value(&self, actor: &Actor, q: &KpiQuery) -> Result<KpiValue> {
        let (def, period, scope) = self.kpi_resolve(actor, q).await?;
        // The three periods at once (each its own statements, on its own connection).
        let (before, last_year) = (period.previous(), period.year_ago());
        let (current, previous, year_ago) = tokio::try_join!(
            self.kpi_point(def, &period, &scope),
            self.kpi_point(def, &before, &scope),
            self.kpi_point(def, &last_year, &scope)
        )?;
        let mom = kpi::change(def, current.value, previous.value);
        let yoy = kpi::change(def, current.value, year_ago.value);
        Ok(KpiValue {
            kpi: def.id.to_string(),
            scope,
            mom_display: kpi::format_change(def, mom),
            yoy_display: kpi::format_change(def, yoy),
            mom_better: kpi::is_improvement(def, mom),
            yoy_better: kpi::is_improvement(def, yoy),
            mom,
            yoy,
            current,
            previous,
            year_ago,
        })
    }

    /// The KPI month by month: the `months` months ending with the query's period (one
    /// grouped query per record set, not one per month).
    pub async fn kpi_trend(
        &self,
        actor: &Actor,
        q: &KpiQuery,
        months: u32,
    ) -> Result<Vec<KpiPoint>> {
        let (def, period, scope) = self.kpi_resolve(actor, q).await?;
        let last = period.until().pred_opt().unwrap_or(period.start);
        let ms = kpi::trailing_months(last, months.clamp(1, 36));
        let (Some(first), Some(end)) = (ms.first(), ms.last()) else {
            return Ok(Vec::new());
        };
        let sel = KpiSelect {
            from: first.start,
            until: end.until(),
            stores: scope.stores.clone(),
            staff: scope.staff,
            through: Some(self.clock.today()),
        };
        let sums = self.db.kpi_sums(def.id, &sel, KpiBy::Month).await?;
        Ok(ms
            .iter()
            .map(|m| {
                let key = (m.start.year() * 100 + m.start.month() as i32) as i64;
                let (n, d) = sums
                    .iter()
                    .find(|s| s.key == key)
                    .map_or((0, 0), |s| (s.num, s.den));
                point(def, m, n, d)
            })
            .collect())
    }

    /// Stores, brands, staff or models of the scope ranked on a KPI, with the rank in the
    /// previous period (direction-aware: for the defeat rate the lowest ranks first).
    pub async fn kpi_ranking(&self, actor: &Actor, q: &KpiQuery, by: &str) -> Result<KpiRanking> {
        let (def, period, scope) = self.kpi_resolve(actor, q).await?;
        let by_store = by == "store" || by == "brand";
        let store_by = match by {
            "store" | "brand" => KpiBy::Store,
            "staff" => KpiBy::Staff,
            "model" => KpiBy::Model,
            other => return Err(bad("by", other, &["store", "brand", "staff", "model"])),
        };
        if !dealerbase_store::kpi::kpi_supports(def.id, store_by) {
            return Err(bad(
                "by",
                by,
                &if def.per_staff {
                    vec!["store", "brand", "staff"]
                } else {
                    vec!["store", "brand"]
                },
            ));
        }
        if by_store && scope.staff.is_some() {
            return Err(bad("by", by, &["staff"]));
        }
        let stores = self.kpi_stores(actor).await?;
        let now = self
            .db
            .kpi_sums(
                def.id,
                &select(&period, &scope, self.clock.today()),
                store_by,
            )
            .await?;
        let before = self
            .db
            .kpi_sums(
                def.id,
                &select(&period.previous(), &scope, self.clock.today()),
                store_by,
            )
            .await?;
        // Brands: Σ over the brand's stores' records.
        let regroup = |rows: Vec<KpiSum>| -> Vec<KpiSum> {
            if by != "brand" {
                return rows;
            }
            let mut out: Vec<KpiSum> = Vec::new();
            for r in rows {
                let brand = stores
                    .iter()
                    .find(|s| s.id == r.key)
                    .map_or(0, |s| s.brand_id);
                match out.iter_mut().find(|x| x.key == brand) {
                    Some(x) => {
                        x.num += r.num;
                        x.den += r.den;
                    }
                    None => out.push(KpiSum { key: brand, ..r }),
                }
            }
            out
        };
        let (now, before) = (regroup(now), regroup(before));
        // Every store (brand) of the scope is listed, even without records.
        let mut keys: Vec<Id> = now.iter().chain(before.iter()).map(|s| s.key).collect();
        match by {
            "store" => keys.extend(scope.stores.iter().copied()),
            "brand" => keys.extend(
                stores
                    .iter()
                    .filter(|s| scope.stores.contains(&s.id))
                    .map(|s| s.brand_id),
            ),
            _ => {}
        }
        keys.sort_unstable();
        keys.dedup();
        let names: Vec<(Id, String)> = match by {
            "store" => stores.iter().map(|s| (s.id, s.name.clone())).collect(),
            "brand" => stores
                .iter()
                .map(|s| (s.brand_id, s.brand_name.clone()))
                .collect(),
            "staff" => self.db.kpi_staff_names(&keys).await?,
            _ => self.db.kpi_model_names(&keys).await?,
        };
        let get = |rows: &[KpiSum], k: Id| {
            rows.iter()
                .find(|s| s.key == k)
                .map_or((0, 0), |s| (s.num, s.den))
        };
        let values_now: Vec<Option<f64>> = keys
            .iter()
            .map(|k| {
                let (n, d) = get(&now, *k);
                def.value(n, d)
            })
            .collect();
        let values_before: Vec<Option<f64>> = keys
            .iter()
            .map(|k| {
                let (n, d) = get(&before, *k);
                def.value(n, d)
            })
            .collect();
        let ranks_now = kpi::ranks(def.direction, &values_now);
        let ranks_before = kpi::ranks(def.direction, &values_before);
        let mut rows: Vec<KpiRankRow> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let (n, d) = get(&now, *k);
                KpiRankRow {
                    key: *k,
                    name: names.iter().find(|(id, _)| id == k).map_or_else(
                        || if *k == 0 { "—".into() } else { k.to_string() },
                        |x| x.1.clone(),
                    ),
                    numerator: n,
                    denominator: d,
                    value: values_now[i],
                    display: def.format(values_now[i]),
                    rank: ranks_now[i],
                    previous_rank: ranks_before[i],
                    rank_change: kpi::rank_change(ranks_now[i], ranks_before[i]),
                }
            })
            .collect();
        rows.sort_by_key(|r| (r.rank.unwrap_or(u32::MAX), r.key));
        Ok(KpiRanking {
            kpi: def.id.to_string(),
            period: period.label(),
            previous_period: period.previous().label(),
            scope,
            by: by.to_string(),
            rows,
        })
    }

    /// The records behind a KPI value: `which` = all | hit | miss (e.g. the non-renewed
    /// policies of a renewal rate). Customer names are masked.
    pub async fn kpi_records(
        &self,
        actor: &Actor,
        q: &KpiQuery,
        which: Option<&str>,
        page: i64,
    ) -> Result<KpiRecords> {
        let (def, period, scope) = self.kpi_resolve(actor, q).await?;
        let which = match which.map(str::trim).filter(|s| !s.is_empty()) {
            None | Some("all") => KpiRecordFilter::All,
            Some("hit") => KpiRecordFilter::Hit,
            Some("miss") => KpiRecordFilter::Miss,
            Some(other) => return Err(bad("which", other, &["all", "hit", "miss"])),
        };
        const PAGE: i64 = 100;
        let page = page.max(1);
        let mut rows = self
            .db
            .kpi_records(
                def.id,
                &select(&period, &scope, self.clock.today()),
                which,
                PAGE + 1,
                (page - 1) * PAGE,
            )
            .await?;
        let has_more = rows.len() as i64 > PAGE;
        rows.truncate(PAGE as usize);
        Ok(KpiRecords {
            kpi: def.id.to_string(),
            period: period.label(),
            scope,
            has_more,
            items: rows
                .into_iter()
                .map(|r| KpiRecordRow {
                    id: r.id,
                    part: r.part,
                    on: r.on.chars().take(16).collect::<String>().replace('T', " "),
                    store_name: r.store_name,
                    staff_name: r.staff_name,
                    customer_id: r.customer_id,
                    customer_name: mask_name(&r.customer_name),
                    label: r.label,
                    numerator: r.num,
                    denominator: r.den,
                    hit: r.num != 0,
                })
                .collect(),
        })
    }
}

/// The records of a period in a scope, counted up to `today` when the period runs past it.
fn select(p: &Period, scope: &KpiScope, today: chrono::NaiveDate) -> KpiSelect {
    KpiSelect {
        from: p.start,
        until: p.until(),
        stores: scope.stores.clone(),
        staff: scope.staff,
        through: Some(today),
    }
}

fn point(def: &KpiDef, p: &Period, num: i64, den: i64) -> KpiPoint {
    let value = def.value(num, den);
    KpiPoint {
        period: p.label(),
        numerator: num,
        denominator: if def.unit == kpi::Unit::Percent {
            den
        } else {
            0
        },
        value,
        display: def.format(value),
    }
}

/// A catalogue entry as the API sends it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KpiInfo {
    pub id: String,
    pub name_zh: String,
    pub name_en: String,
    pub formula_zh: String,
    pub formula_en: String,
    /// percent | count | money (money in fen)
    pub unit: String,
    /// higher_is_better | lower_is_better
    pub direction: String,
    /// sales | aftersales | finance
    pub area: String,
    pub per_staff: bool,
    pub definition_zh: String,
    pub definition_en: String,
}

impl From<&KpiDef> for KpiInfo {
    fn from(k: &KpiDef) -> KpiInfo {
        let code = |v: serde_json::Value| v.as_str().unwrap_or_default().to_string();
        KpiInfo {
            id: k.id.into(),
            name_zh: k.name_zh.into(),
            name_en: k.name_en.into(),
            formula_zh: k.formula_zh.into(),
            formula_en: k.formula_en.into(),
            unit: code(serde_json::json!(k.unit)),
            direction: code(serde_json::json!(k.direction)),
            area: code(serde_json::json!(k.area)),
            per_staff: k.per_staff,
            definition_zh: k.definition_zh.into(),
            definition_en: k.definition_en.into(),
        }
    }
}

// ---- operating costs and service absorption ---------------------------------------------------

/// A store's costs of one month as entered: every line replaces the month's lines.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default)]
pub struct CostsInput {
    /// Store code (S01) or id.
    pub store: String,
    /// 2026-10
    pub month: String,
    pub lines: Vec<CostLineInput>,
}

/// One cost line: a category (rent, payroll, utilities, …), fixed or variable, and the
/// amount in yuan ("12,345.60").
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default)]
pub struct CostLineInput {
    pub category: String,
    pub kind: String,
    pub amount: String,
}

/// A store's month of costs.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CostsView {
    pub store_id: Id,
    pub store_code: String,
    pub store_name: String,
    pub month: String,
    pub lines: Vec<CostLineView>,
    pub fixed_fen: i64,
    pub variable_fen: i64,
    pub total_fen: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CostLineView {
    pub category: String,
    pub kind: String,
    pub amount_fen: i64,
}

/// Service absorption of a scope: after-sales gross profit ÷ operating costs, its band,
/// and the 12 months up to the period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AbsorptionView {
    pub scope: KpiScope,
    pub period: String,
    pub gross_profit_fen: i64,
    pub costs_fen: i64,
    pub rate: Option<f64>,
    pub display: String,
    /// critical (< 60%) | weak (60–80%) | good (80–100%) | covered (≥ 100%)
    pub band: Option<String>,
    pub trend: Vec<AbsorptionPoint>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AbsorptionPoint {
    pub month: String,
    pub gross_profit_fen: i64,
    pub costs_fen: i64,
    pub rate: Option<f64>,
}

/// Whether a role may enter operating costs and targets (the store's general manager for
/// the store; group staff and administrators for every store).
pub fn may_manage(role: dealerbase_domain::model::Role) -> bool {
    use dealerbase_domain::model::Role;
    matches!(role, Role::GeneralManager | Role::Group | Role::Admin)
}

fn line_field(i: usize, f: &str) -> String {
    format!("lines[{i}].{f}")
}

impl Services {
    async fn store_choice(&self, actor: &Actor, store: &str) -> Result<StoreChoice> {
        let s = store.trim();
        if s.is_empty() {
            return Err(ServiceError::invalid(ValidationError::new(
                "store",
                store,
                Rule::Required,
            )));
        }
        self.kpi_stores(actor)
            .await?
            .into_iter()
            .find(|c| c.code.eq_ignore_ascii_case(s) || c.id.to_string() == s)
            .ok_or_else(|| ServiceError::NotFound {
                entity: "store",
                id: s.to_string(),
            })
    }

    /// A store's cost lines of a month.
    pub async fn operating_costs(
        &self,
        actor: &Actor,
        store: &str,
        month: &str,
    ) -> Result<CostsView> {
        let st = self.store_choice(actor, store).await?;
        let m = Period::parse(PeriodKind::Month, month)
            .map_err(|e| ServiceError::invalid(e.with_field("month")))?;
        let rows = self
            .db
            .operating_costs(&[st.id], m.start, m.until())
            .await?;
        let sum = |k: &str| {
            rows.iter()
                .filter(|r| r.kind == k)
                .map(|r| r.amount_fen)
                .sum::<i64>()
        };
        Ok(CostsView {
            store_id: st.id,
            store_code: st.code,
            store_name: st.name,
            month: m.label(),
            fixed_fen: sum("fixed"),
            variable_fen: sum("variable"),
            total_fen: rows.iter().map(|r| r.amount_fen).sum(),
            lines: rows
                .into_iter()
                .map(|r| CostLineView {
                    category: r.category,
                    kind: r.kind,
                    amount_fen: r.amount_fen,
                })
                .collect(),
        })
    }

    /// Replaces a store's costs of a month (blank lines are skipped). Every bad field is
    /// reported at once, named `lines[i].amount` etc.
    pub async fn set_operating_costs(
        &self,
        actor: &Actor,
        input: &CostsInput,
    ) -> Result<CostsView> {
        if !may_manage(actor.role) {
            return Err(ServiceError::Forbidden("enter operating costs"));
        }
        let st = self.store_choice(actor, &input.store).await?;
        let mut errors = Vec::new();
        let month = match Period::parse(PeriodKind::Month, &input.month) {
            Ok(m) => Some(m),
            Err(e) => {
                errors.push(e.with_field("month"));
                None
            }
        };
        let mut lines: Vec<(String, String, i64)> = Vec::new();
        for (i, l) in input.lines.iter().enumerate() {
            let category = l.category.trim();
            if category.is_empty() && l.amount.trim().is_empty() {
                continue;
            }
            if category.is_empty() {
                errors.push(ValidationError::new(
                    line_field(i, "category"),
                    "",
                    Rule::Required,
                ));
            } else if category.chars().count() > 40 {
                errors.push(ValidationError::new(
                    line_field(i, "category"),
                    category,
                    Rule::TooLong { max: 40 },
                ));
            } else if lines.iter().any(|x| x.0 == category) {
                errors.push(ValidationError::new(
                    line_field(i, "category"),
                    category,
                    Rule::OneOf {
                        allowed: vec!["a category not entered twice".into()],
                    },
                ));
            }
            let kind = match kpi::CostKind::parse(&line_field(i, "kind"), &l.kind) {
                Ok(k) => k.code().to_string(),
                Err(e) => {
                    errors.push(e);
                    String::new()
                }
            };
            let amount =
                match dealerbase_domain::money::parse_yuan(&line_field(i, "amount"), &l.amount) {
                    Ok(a) => a,
                    Err(e) => {
                        errors.push(e);
                        0
                    }
                };
            lines.push((category.to_string(), kind, amount));
        }
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }
        let month = month.expect("checked");
        self.db
            .replace_operating_costs(st.id, month.start, &lines, actor.staff_id, self.clock.now())
            .await?;
        self.operating_costs(actor, &st.code, &month.label()).await
    }

    /// Imports cost lines from an XLSX sheet with the columns 门店编码 (store), 月份
    /// (month), 费用类别 (category), 性质 (kind), 金额 (amount, yuan). Nothing is written
    /// unless every row is valid; errors name the row and the column.
    pub async fn import_operating_costs_xlsx(&self, actor: &Actor, bytes: &[u8]) -> Result<u64> {
        use calamine::{Data, Reader, Xlsx};
        if !may_manage(actor.role) {
            return Err(ServiceError::Forbidden("enter operating costs"));
        }
        let bad_file = |why: String| {
            ServiceError::invalid(ValidationError::new(
                "file",
                why,
                Rule::OneOf {
                    allowed: vec!["xlsx".into()],
                },
            ))
        };
        let mut book: Xlsx<_> =
            Xlsx::new(std::io::Cursor::new(bytes)).map_err(|e| bad_file(e.to_string()))?;
        let first = book
            .sheet_names()
            .first()
            .cloned()
            .ok_or_else(|| bad_file("no sheet".into()))?;
        let range = book
            .worksheet_range(&first)
            .map_err(|e| bad_file(e.to_string()))?;
        let text = |d: &Data| -> String {
            match d {
                Data::DateTime(x) => {
                    dealerbase_domain::dates::excel_serial_to_date(x.as_f64().floor() as i64)
                        .map(|t| t.format("%Y-%m").to_string())
                        .unwrap_or_else(|| d.to_string())
                }
                Data::Float(f) if f.fract() == 0.0 => format!("{}", *f as i64),
                other => other.to_string().trim().to_string(),
            }
        };
        let mut rows = range.rows();
        let header: Vec<String> = rows
            .next()
            .map(|r| r.iter().map(text).collect())
            .unwrap_or_default();
        let col = |names: &[&str]| {
            header
                .iter()
                .position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)))
        };
        let cols = [
            ("store", col(&["门店编码", "门店", "store"])),
            ("month", col(&["月份", "month"])),
            ("category", col(&["费用类别", "类别", "category"])),
            ("kind", col(&["性质", "费用性质", "kind"])),
            ("amount", col(&["金额", "金额（元）", "amount"])),
        ];
        let mut errors = Vec::new();
        for (name, c) in &cols {
            if c.is_none() {
                errors.push(ValidationError::new(
                    format!("column {name}"),
                    header.join(","),
                    Rule::Required,
                ));
            }
        }
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }
        let stores = self.kpi_stores(actor).await?;
        let mut out: Vec<dealerbase_store::management::CostRow> = Vec::new();
        for (i, r) in rows.enumerate() {
            let line = i + 2;
            let get = |k: usize| {
                cols[k]
                    .1
                    .and_then(|c| r.get(c))
                    .map(text)
                    .unwrap_or_default()
            };
            let (store, month, category, kind, amount) = (get(0), get(1), get(2), get(3), get(4));
            if [&store, &month, &category, &kind, &amount]
                .iter()
                .all(|v| v.is_empty())
            {
                continue;
            }
            let f = |c: &str| format!("row {line}: {c}");
            let st = stores.iter().find(|s| s.code.eq_ignore_ascii_case(&store));
            if st.is_none() {
                errors.push(ValidationError::new(
                    f("store"),
                    &store,
                    Rule::OneOf {
                        allowed: stores.iter().map(|s| s.code.clone()).collect(),
                    },
                ));
            }
            let m = Period::parse(PeriodKind::Month, &month).map_err(|e| e.with_field(f("month")));
            let k = kpi::CostKind::parse(&f("kind"), &kind);
            let a = dealerbase_domain::money::parse_yuan(&f("amount"), &amount);
            if category.is_empty() {
                errors.push(ValidationError::new(f("category"), "", Rule::Required));
            }
            match (st, m, k, a) {
                (Some(st), Ok(m), Ok(k), Ok(a)) if !category.is_empty() => {
                    out.push(dealerbase_store::management::CostRow {
                        store_id: st.id,
                        month_start: m.start,
                        category,
                        kind: k.code().to_string(),
                        amount_fen: a,
                    })
                }
                (_, m, k, a) => {
                    errors.extend(m.err());
                    errors.extend(k.err());
                    errors.extend(a.err());
                }
            }
        }
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }
        if actor.role == dealerbase_domain::model::Role::GeneralManager
            && out.iter().any(|r| Some(r.store_id) != actor.store_id)
        {
            return Err(ServiceError::Forbidden("write to another store"));
        }
        Ok(self
            .db
            .upsert_operating_costs(&out, actor.staff_id, self.clock.now())
            .await?)
    }

    /// Service absorption for the period and scope with its band and the 12 months up to
    /// the period's last month (store, brand or group; never per staff member).
    pub async fn absorption(&self, actor: &Actor, q: &KpiQuery) -> Result<AbsorptionView> {
        let q = KpiQuery {
            kpi: "service_absorption".into(),
            ..q.clone()
        };
        let (def, period, scope) = self.kpi_resolve(actor, &q).await?;
        let now = self.kpi_point(def, &period, &scope).await?;
        let trend = self
            .kpi_trend(actor, &q, 12)
            .await?
            .into_iter()
            .map(|p| AbsorptionPoint {
                month: p.period,
                gross_profit_fen: p.numerator,
                costs_fen: p.denominator,
                rate: p.value,
            })
            .collect();
        Ok(AbsorptionView {
            scope,
            period: period.label(),
            gross_profit_fen: now.numerator,
            costs_fen: now.denominator,
            band: now
                .value
                .map(|v| kpi::AbsorptionBand::of(v).code().to_string()),
            rate: now.value,
            display: now.display,
            trend,
        })
    }
}

// ---- targets ----------------------------------------------------------------------------------

/// Sets one target: a store's (no `staff`) or a staff member's share, for a month.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default)]
pub struct TargetInput {
    /// 2026-10
    pub month: String,
    /// sales | traffic | renewals | service_revenue
    pub metric: String,
    /// Store code or id.
    pub store: String,
    pub staff: Option<Id>,
    /// A count, or yuan for service_revenue.
    pub value: String,
}

/// Splits a total: the group's over its stores (no `store`), or a store's over its
/// consultants (sales, traffic) or advisors (service revenue).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default)]
pub struct SplitInput {
    pub month: String,
    pub metric: String,
    pub store: Option<String>,
    /// A count, or yuan for service_revenue.
    pub total: String,
    /// last_year (proportional to the same month's actuals a year before) | even
    pub method: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TargetLine {
    pub store_id: Id,
    pub store_code: String,
    /// 0 for the store's own line.
    pub staff_id: Id,
    pub name: String,
    pub target: i64,
    pub actual: i64,
    pub completion: Option<f64>,
}

/// Actual against target for a month: the stores of the group, or the staff of a store.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TargetsView {
    pub month: String,
    pub metric: String,
    /// group (rows are stores) | store (rows are staff)
    pub level: String,
    pub store_code: Option<String>,
    pub rows: Vec<TargetLine>,
    pub target: i64,
    pub actual: i64,
    pub completion: Option<f64>,
}

impl Services {
    fn target_value(
        metric: kpi::TargetMetric,
        field: &str,
        s: &str,
    ) -> std::result::Result<i64, ValidationError> {
        if metric.is_money() {
            dealerbase_domain::money::parse_yuan(field, s)
        } else {
            let t = s.trim().replace(',', "");
            t.parse::<i64>()
                .ok()
                .filter(|v| (0..=100_000_000).contains(v))
                .ok_or_else(|| {
                    ValidationError::new(
                        field,
                        s,
                        Rule::OutOfRange {
                            min: 0,
                            max: 100_000_000,
                        },
                    )
                })
        }
    }

    /// The staff who carry a metric in a store: consultants for sales and traffic,
    /// advisors for service revenue.
    async fn target_staff(
        &self,
        store_id: Id,
        metric: kpi::TargetMetric,
    ) -> Result<Vec<(Id, String)>> {
        let role = match metric {
            kpi::TargetMetric::ServiceRevenue => "service_advisor",
            _ => "sales_consultant",
        };
        Ok(self
            .db
            .staff_of_store(store_id)
            .await?
            .into_iter()
            .filter(|s| s.active && s.role == role)
            .map(|s| (s.id, s.name))
            .collect())
    }

    /// Actual against target for a month and metric: the group's stores, or (with a store,
    /// and always for store roles) that store's staff.
    pub async fn targets(
        &self,
        actor: &Actor,
        month: &str,
        metric: &str,
        store: Option<&str>,
    ) -> Result<TargetsView> {
        let m = Period::parse(PeriodKind::Month, month)
            .map_err(|e| ServiceError::invalid(e.with_field("month")))?;
        let metric = kpi::TargetMetric::parse("metric", metric).map_err(ServiceError::invalid)?;
        let stores = self.kpi_stores(actor).await?;
        let group_role = actor.role.scope_level() == ScopeLevel::Group;
        let store = match store.map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => Some(self.store_choice(actor, s).await?),
            None if group_role => None,
            None => stores.first().cloned(),
        };
        let ids: Vec<Id> = match &store {
            Some(s) => vec![s.id],
            None => stores.iter().map(|s| s.id).collect(),
        };
        let targets = self.db.kpi_targets(&ids, m.start, m.until()).await?;
        let target_of = |store: Id, staff: Id| {
            targets
                .iter()
                .find(|t| t.store_id == store && t.staff_id == staff && t.metric == metric.code())
                .map_or(0, |t| t.value)
        };
        let sel = KpiSelect {
            from: m.start,
            until: m.until(),
            stores: ids.clone(),
            staff: None,
            through: Some(self.clock.today()),
        };
        let mut rows = Vec::new();
        match &store {
            None => {
                let actual = self.db.kpi_sums(metric.kpi(), &sel, KpiBy::Store).await?;
                for s in &stores {
                    let a = actual.iter().find(|x| x.key == s.id).map_or(0, |x| x.num);
                    let t = target_of(s.id, 0);
                    rows.push(TargetLine {
                        store_id: s.id,
                        store_code: s.code.clone(),
                        staff_id: 0,
                        name: s.name.clone(),
                        target: t,
                        actual: a,
                        completion: kpi::completion(a, t),
                    });
                }
            }
            Some(s) => {
                let store_actual = self.db.kpi_sums(metric.kpi(), &sel, KpiBy::Total).await?;
                let a = store_actual.iter().map(|x| x.num).sum();
                let t = target_of(s.id, 0);
                rows.push(TargetLine {
                    store_id: s.id,
                    store_code: s.code.clone(),
                    staff_id: 0,
                    name: s.name.clone(),
                    target: t,
                    actual: a,
                    completion: kpi::completion(a, t),
                });
                if metric.per_staff() {
                    let actual = self.db.kpi_sums(metric.kpi(), &sel, KpiBy::Staff).await?;
                    for (id, name) in self.target_staff(s.id, metric).await? {
                        let a = actual.iter().find(|x| x.key == id).map_or(0, |x| x.num);
                        let t = target_of(s.id, id);
                        rows.push(TargetLine {
                            store_id: s.id,
                            store_code: s.code.clone(),
                            staff_id: id,
                            name,
                            target: t,
                            actual: a,
                            completion: kpi::completion(a, t),
                        });
                    }
                }
            }
        }
        let (target, actual) = match &store {
            None => rows
                .iter()
                .fold((0, 0), |acc, r| (acc.0 + r.target, acc.1 + r.actual)),
            Some(_) => (rows[0].target, rows[0].actual),
        };
        Ok(TargetsView {
            month: m.label(),
            metric: metric.code().into(),
            level: if store.is_some() { "store" } else { "group" }.into(),
            store_code: store.map(|s| s.code),
            rows,
            target,
            actual,
            completion: kpi::completion(actual, target),
        })
    }

    /// Sets one target (an edit after a split).
    pub async fn set_target(&self, actor: &Actor, input: &TargetInput) -> Result<TargetsView> {
        if !may_manage(actor.role) {
            return Err(ServiceError::Forbidden("set targets"));
        }
        let mut errors = Vec::new();
        let m = Period::parse(PeriodKind::Month, &input.month).map_err(|e| e.with_field("month"));
        let metric = kpi::TargetMetric::parse("metric", &input.metric);
        let st = self.store_choice(actor, &input.store).await?;
        let value = match &metric {
            Ok(mt) => Self::target_value(*mt, "value", &input.value)
                .map_err(|e| errors.push(e))
                .ok(),
            Err(_) => None,
        };
        let (m, metric) = match (m, metric) {
            (Ok(m), Ok(mt)) => (m, mt),
            (m, mt) => {
                errors.extend(m.err());
                errors.extend(mt.err());
                return Err(ServiceError::Invalid(errors));
            }
        };
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }
        let staff = input.staff.unwrap_or(0);
        if staff != 0
            && !self
                .target_staff(st.id, metric)
                .await?
                .iter()
                .any(|(id, _)| *id == staff)
        {
            return Err(ServiceError::NotFound {
                entity: "staff",
                id: staff.to_string(),
            });
        }
        self.db
            .set_kpi_targets(
                &[dealerbase_store::management::TargetRow {
                    store_id: st.id,
                    staff_id: staff,
                    month_start: m.start,
                    metric: metric.code().into(),
                    value: value.unwrap_or(0),
                }],
                actor.staff_id,
                self.clock.now(),
            )
            .await?;
        self.targets(
            actor,
            &m.label(),
            metric.code(),
            if staff == 0 && actor.role.scope_level() == ScopeLevel::Group {
                None
            } else {
                Some(&st.code)
            },
        )
        .await
    }

    /// Splits a total target down (group → stores, store → staff), proportional to the same
    /// month's actuals a year before or evenly, and saves the store's (or group's) total
    /// with the shares in one transaction.
    pub async fn split_target(&self, actor: &Actor, input: &SplitInput) -> Result<TargetsView> {
        if !may_manage(actor.role) {
            return Err(ServiceError::Forbidden("set targets"));
        }
        let mut errors = Vec::new();
        let m = Period::parse(PeriodKind::Month, &input.month).map_err(|e| e.with_field("month"));
        let metric = kpi::TargetMetric::parse("metric", &input.metric);
        let even = match input.method.trim() {
            "" | "last_year" => false,
            "even" => true,
            other => {
                errors.push(ValidationError::new(
                    "method",
                    other,
                    Rule::OneOf {
                        allowed: vec!["last_year".into(), "even".into()],
                    },
                ));
                false
            }
        };
        let total = match &metric {
            Ok(mt) => Self::target_value(*mt, "total", &input.total)
                .map_err(|e| errors.push(e))
                .ok(),
            Err(_) => None,
        };
        let (m, metric) = match (m, metric) {
            (Ok(m), Ok(mt)) if errors.is_empty() => (m, mt),
            (m, mt) => {
                errors.extend(m.err());
                errors.extend(mt.err());
                return Err(ServiceError::Invalid(errors));
            }
        };
        let total = total.unwrap_or(0);
        let store = match input
            .store
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(s) => Some(self.store_choice(actor, s).await?),
            None if actor.role.scope_level() == ScopeLevel::Group => None,
            None => {
                return Err(ServiceError::invalid(ValidationError::new(
                    "store",
                    "",
                    Rule::Required,
                )));
            }
        };
        let last_year = m.year_ago();
        let mut rows = Vec::new();
        match &store {
            None => {
                let stores = self.kpi_stores(actor).await?;
                let ids: Vec<Id> = stores.iter().map(|s| s.id).collect();
                let weights: Vec<i64> = if even {
                    vec![0; ids.len()]
                } else {
                    let sums = self
                        .db
                        .kpi_sums(
                            metric.kpi(),
                            &KpiSelect {
                                from: last_year.start,
                                until: last_year.until(),
                                stores: ids.clone(),
                                staff: None,
                                through: Some(self.clock.today()),
                            },
                            KpiBy::Store,
                        )
                        .await?;
                    ids.iter()
                        .map(|id| sums.iter().find(|x| x.key == *id).map_or(0, |x| x.num))
                        .collect()
                };
                for (id, v) in ids.iter().zip(kpi::split_proportional(total, &weights)) {
                    rows.push((*id, 0, v));
                }
            }
            Some(s) => {
                if !metric.per_staff() {
                    return Err(ServiceError::invalid(ValidationError::new(
                        "metric",
                        metric.code(),
                        Rule::OneOf {
                            allowed: vec![
                                "sales".into(),
                                "traffic".into(),
                                "service_revenue".into(),
                            ],
                        },
                    )));
                }
                let staff = self.target_staff(s.id, metric).await?;
                let weights: Vec<i64> = if even {
                    vec![0; staff.len()]
                } else {
                    let sums = self
                        .db
                        .kpi_sums(
                            metric.kpi(),
                            &KpiSelect {
                                from: last_year.start,
                                until: last_year.until(),
                                stores: vec![s.id],
                                staff: None,
                                through: Some(self.clock.today()),
                            },
                            KpiBy::Staff,
                        )
                        .await?;
                    staff
                        .iter()
                        .map(|(id, _)| sums.iter().find(|x| x.key == *id).map_or(0, |x| x.num))
                        .collect()
                };
                rows.push((s.id, 0, total));
                for ((id, _), v) in staff.iter().zip(kpi::split_proportional(total, &weights)) {
                    rows.push((s.id, *id, v));
                }
            }
        }
        let rows: Vec<dealerbase_store::management::TargetRow> = rows
            .into_iter()
            .map(
                |(store_id, staff_id, value)| dealerbase_store::management::TargetRow {
                    store_id,
                    staff_id,
                    month_start: m.start,
                    metric: metric.code().into(),
                    value,
                },
            )
            .collect();
        self.db
            .set_kpi_targets(&rows, actor.staff_id, self.clock.now())
            .await?;
        self.targets(
            actor,
            &m.label(),
            metric.code(),
            store.as_ref().map(|s| s.code.as_str()),
        )
        .await
    }
}

// ---- dashboards and the monthly report ----------------------------------------------------------

/// A dashboard: tiles (value, MoM, YoY), two 12-month trends, a ranking, and for the
/// general manager and group views the service absorption and the sales target.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ManagementDashboard {
    /// group | general_manager | sales | aftersales
    pub view: String,
    pub period: String,
    pub scope: KpiScope,
    pub tiles: Vec<KpiValue>,
    pub trends: Vec<(String, Vec<KpiPoint>)>,
    pub ranking: Option<KpiRanking>,
    pub absorption: Option<AbsorptionView>,
    pub targets: Option<TargetsView>,
}

/// The month's management report: every KPI of the scope, the stores side by side (group
/// and brand), targets and service absorption.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MonthlyReport {
    pub period: String,
    pub scope: KpiScope,
    pub values: Vec<KpiValue>,
    /// KPI ids of the store table's columns.
    pub store_kpis: Vec<String>,
    /// (store name, display values in the order of `store_kpis`)
    pub stores: Vec<(String, Vec<String>)>,
    pub targets: Vec<TargetsView>,
    pub absorption: Option<AbsorptionView>,
}

const GROUP_TILES: &[&str] = &[
    "orders",
    "deliveries",
    "traffic",
    "conversion_rate",
    "service_revenue",
    "aftersales_gross_profit",
    "service_absorption",
    "renewal_rate",
    "csi_satisfaction_rate",
];
const SALES_TILES: &[&str] = &[
    "traffic",
    "registration_rate",
    "invitation_show_rate",
    "test_drive_rate",
    "conversion_rate",
    "defeat_rate",
    "orders",
    "deliveries",
    "ssi_satisfaction_rate",
];
const AFTERSALES_TILES: &[&str] = &[
    "work_orders",
    "service_revenue",
    "aftersales_gross_profit",
    "first_service_return_rate",
    "second_service_return_rate",
    "renewal_rate",
    "follow_up_success_rate",
    "complaint_closure_rate",
    "csi_satisfaction_rate",
];
/// KPIs the monthly report leaves to their own page: each value looks at every visit of
/// the months around the period (a group's takes seconds on ten million work orders).
const NOT_IN_REPORT: &[&str] = &["churn_rate", "retention_rate"];
const REPORT_STORE_KPIS: &[&str] = &[
    "orders",
    "conversion_rate",
    "renewal_rate",
    "service_revenue",
    "service_absorption",
];

impl Services {
    /// The dashboard of a role (or `view`): group, general_manager, sales, aftersales.
    pub async fn management_dashboard(
        &self,
        actor: &Actor,
        q: &KpiQuery,
        view: Option<&str>,
    ) -> Result<ManagementDashboard> {
        use dealerbase_domain::model::Role;
        let picked_store =
            q.store.as_deref().is_some_and(|s| !s.trim().is_empty()) || q.brand.is_some();
        let view = match view.map(str::trim).filter(|v| !v.is_empty()) {
            Some(v @ ("group" | "general_manager" | "sales" | "aftersales")) => v.to_string(),
            Some(other) => {
                return Err(bad(
                    "view",
                    other,
                    &["group", "general_manager", "sales", "aftersales"],
                ));
            }
            None => match actor.role {
                Role::Group | Role::Admin if !picked_store => "group".into(),
                Role::SalesManager | Role::SalesConsultant => "sales".into(),
                Role::ServiceAdvisor | Role::CareSpecialist => "aftersales".into(),
                _ => "general_manager".into(),
            },
        };
        let (tiles, trends, rank_kpi): (&[&str], [&str; 2], &str) = match view.as_str() {
            "group" => (GROUP_TILES, ["orders", "renewal_rate"], "renewal_rate"),
            "general_manager" => (
                GROUP_TILES,
                ["orders", "service_revenue"],
                "conversion_rate",
            ),
            "sales" => (
                SALES_TILES,
                ["orders", "conversion_rate"],
                "conversion_rate",
            ),
            _ => (
                AFTERSALES_TILES,
                ["service_revenue", "renewal_rate"],
                "service_revenue",
            ),
        };
        let kq = |kpi: &str| KpiQuery {
            kpi: kpi.into(),
            ..q.clone()
        };
        let (_, period, scope) = self.kpi_resolve(actor, &kq(tiles[0])).await?;
        // The tiles and the trends are independent reads: asked all at once, they spread
        // over the pool's connections (and both cores) instead of queueing.
        let mut shown = Vec::new();
        for id in tiles {
            let def = kpi::find("kpi", id).map_err(ServiceError::invalid)?;
            if scope.staff.is_none() || def.per_staff {
                shown.push(kq(id));
            }
        }
        let trend_qs: Vec<KpiQuery> = trends.iter().map(|id| kq(id)).collect();
        let (values, trend_points) = tokio::try_join!(
            futures_util::future::try_join_all(shown.iter().map(|q| self.kpi_value(actor, q))),
            futures_util::future::try_join_all(
                trend_qs.iter().map(|q| self.kpi_trend(actor, q, 12))
            )
        )?;
        let trend_out: Vec<_> = trends
            .iter()
            .map(|id| id.to_string())
            .zip(trend_points)
            .collect();
        let by = match scope.level.as_str() {
            "group" | "brand" => Some("store"),
            "store" => Some("staff"),
            _ => None,
        };
        let ranking = match by {
            Some(by) if by == "store" || kpi::find("kpi", rank_kpi).is_ok_and(|d| d.per_staff) => {
                Some(self.kpi_ranking(actor, &kq(rank_kpi), by).await?)
            }
            _ => None,
        };
        let money_view = matches!(view.as_str(), "group" | "general_manager");
        let absorption = if money_view && scope.staff.is_none() {
            Some(self.absorption(actor, q).await?)
        } else {
            None
        };
        let targets = if scope.staff.is_none() && period.kind == PeriodKind::Month {
            let metric = if view == "aftersales" {
                "service_revenue"
            } else {
                "sales"
            };
            let store = if scope.level == "store" {
                scope.id.map(|i| i.to_string())
            } else {
                None
            };
            Some(
                self.targets(actor, &period.label(), metric, store.as_deref())
                    .await?,
            )
        } else {
            None
        };
        Ok(ManagementDashboard {
            view,
            period: period.label(),
            scope,
            tiles: values,
            trends: trend_out,
            ranking,
            absorption,
            targets,
        })
    }

    /// The month's management report for the scope (every KPI, stores side by side,
    /// targets, absorption).
    pub async fn monthly_report(&self, actor: &Actor, q: &KpiQuery) -> Result<MonthlyReport> {
        let kq = |kpi: &str| KpiQuery {
            kpi: kpi.into(),
            period: Some("month".into()),
            ..q.clone()
        };
        let (_, period, scope) = self.kpi_resolve(actor, &kq("orders")).await?;
        let mut values = Vec::new();
        for def in kpi::CATALOGUE {
            if (scope.staff.is_some() && !def.per_staff) || NOT_IN_REPORT.contains(&def.id) {
                continue;
            }
            values.push(self.kpi_value(actor, &kq(def.id)).await?);
        }
        let mut stores: Vec<(String, Vec<String>)> = Vec::new();
        if matches!(scope.level.as_str(), "group" | "brand") {
            let all = self.kpi_stores(actor).await?;
            let mut cols = Vec::new();
            for id in REPORT_STORE_KPIS {
                cols.push(self.kpi_ranking(actor, &kq(id), "store").await?);
            }
            for s in all.iter().filter(|s| scope.stores.contains(&s.id)) {
                let vals = cols
                    .iter()
                    .map(|r| {
                        r.rows
                            .iter()
                            .find(|x| x.key == s.id)
                            .map_or("—".into(), |x| x.display.clone())
                    })
                    .collect();
                stores.push((s.name.clone(), vals));
            }
        }
        let mut targets = Vec::new();
        let absorption = if scope.staff.is_none() {
            let store = if scope.level == "store" {
                scope.id.map(|i| i.to_string())
            } else {
                None
            };
            for metric in kpi::TargetMetric::ALL {
                targets.push(
                    self.targets(actor, &period.label(), metric.code(), store.as_deref())
                        .await?,
                );
            }
            Some(self.absorption(actor, &kq("service_absorption")).await?)
        } else {
            None
        };
        Ok(MonthlyReport {
            period: period.label(),
            scope,
            values,
            store_kpis: REPORT_STORE_KPIS.iter().map(|s| s.to_string()).collect(),
            stores,
            targets,
            absorption,
        })
    }

    /// The monthly report as an XLSX workbook (sheets: KPIs, stores, targets, absorption),
    /// in the actor's language. No personal data; the download is audited.
    pub async fn monthly_report_xlsx(
        &self,
        actor: &Actor,
        q: &KpiQuery,
        lang: dealerbase_domain::Lang,
    ) -> Result<(String, Vec<u8>)> {
        let r = self.monthly_report(actor, q).await?;
        let xl = |e: rust_xlsxwriter::XlsxError| ServiceError::Internal(format!("xlsx: {e}"));
        let zh = lang == dealerbase_domain::Lang::Zh;
        let tr = |zh_s: &'static str, en_s: &'static str| if zh { zh_s } else { en_s };
        let mut book = rust_xlsxwriter::Workbook::new();
        let bold = rust_xlsxwriter::Format::new().set_bold();
        let scope_name = if r.scope.level == "group" {
            tr("集团合计", "Whole group").to_string()
        } else {
            r.scope.name.clone()
        };
        {
            let s = book.add_worksheet();
            s.set_name(tr("经营指标", "KPIs")).map_err(xl)?;
            s.write_string_with_format(
                0,
                0,
                format!(
                    "{} · {} · {}",
                    tr("月度经营报告", "Monthly management report"),
                    scope_name,
                    r.period
                ),
                &bold,
            )
            .map_err(xl)?;
            let heads = [
                tr("指标", "KPI"),
                tr("数值", "Value"),
                tr("分子", "Numerator"),
                tr("分母", "Denominator"),
                tr("上期", "Previous"),
                tr("环比", "MoM"),
                tr("去年同期", "A year before"),
                tr("同比", "YoY"),
                tr("公式", "Formula"),
            ];
            for (c, h) in heads.iter().enumerate() {
                s.write_string_with_format(2, c as u16, *h, &bold)
                    .map_err(xl)?;
            }
            for (i, v) in r.values.iter().enumerate() {
                let def = kpi::find("kpi", &v.kpi).map_err(ServiceError::invalid)?;
                let row = i as u32 + 3;
                s.write_string(row, 0, def.name(lang)).map_err(xl)?;
                s.write_string(row, 1, &v.current.display).map_err(xl)?;
                s.write_number(row, 2, v.current.numerator as f64)
                    .map_err(xl)?;
                s.write_number(row, 3, v.current.denominator as f64)
                    .map_err(xl)?;
                s.write_string(row, 4, &v.previous.display).map_err(xl)?;
                s.write_string(row, 5, &v.mom_display).map_err(xl)?;
                s.write_string(row, 6, &v.year_ago.display).map_err(xl)?;
                s.write_string(row, 7, &v.yoy_display).map_err(xl)?;
                s.write_string(row, 8, def.formula(lang)).map_err(xl)?;
            }
            s.set_column_width(0, 22).map_err(xl)?;
            s.set_column_width(8, 40).map_err(xl)?;
        }
        if !r.stores.is_empty() {
            let s = book.add_worksheet();
            s.set_name(tr("门店对比", "Stores")).map_err(xl)?;
            s.write_string_with_format(0, 0, tr("门店", "Store"), &bold)
                .map_err(xl)?;
            for (c, id) in r.store_kpis.iter().enumerate() {
                let def = kpi::find("kpi", id).map_err(ServiceError::invalid)?;
                s.write_string_with_format(0, c as u16 + 1, def.name(lang), &bold)
                    .map_err(xl)?;
            }
            for (i, (name, vals)) in r.stores.iter().enumerate() {
                s.write_string(i as u32 + 1, 0, name).map_err(xl)?;
                for (c, v) in vals.iter().enumerate() {
                    s.write_string(i as u32 + 1, c as u16 + 1, v).map_err(xl)?;
                }
            }
            s.set_column_width(0, 24).map_err(xl)?;
        }
        if !r.targets.is_empty() {
            let s = book.add_worksheet();
            s.set_name(tr("目标完成", "Targets")).map_err(xl)?;
            let heads = [
                tr("目标项", "Metric"),
                tr("名称", "Name"),
                tr("目标", "Target"),
                tr("实际", "Actual"),
                tr("完成率", "Completion"),
            ];
            for (c, h) in heads.iter().enumerate() {
                s.write_string_with_format(0, c as u16, *h, &bold)
                    .map_err(xl)?;
            }
            let mut row = 1;
            for t in &r.targets {
                let m =
                    kpi::TargetMetric::parse("metric", &t.metric).map_err(ServiceError::invalid)?;
                let div = if m.is_money() { 100.0 } else { 1.0 };
                for l in &t.rows {
                    s.write_string(row, 0, m.label(lang)).map_err(xl)?;
                    s.write_string(row, 1, &l.name).map_err(xl)?;
                    s.write_number(row, 2, l.target as f64 / div).map_err(xl)?;
                    s.write_number(row, 3, l.actual as f64 / div).map_err(xl)?;
                    s.write_string(
                        row,
                        4,
                        l.completion
                            .map_or("—".into(), |c| format!("{:.1}%", c * 100.0)),
                    )
                    .map_err(xl)?;
                    row += 1;
                }
            }
            s.set_column_width(1, 24).map_err(xl)?;
        }
        if let Some(a) = &r.absorption {
            let s = book.add_worksheet();
            s.set_name(tr("服务吸收率", "Absorption")).map_err(xl)?;
            let heads = [
                tr("月份", "Month"),
                tr("售后毛利（元）", "Gross profit (yuan)"),
                tr("运营费用（元）", "Operating costs (yuan)"),
                tr("吸收率", "Absorption"),
            ];
            for (c, h) in heads.iter().enumerate() {
                s.write_string_with_format(0, c as u16, *h, &bold)
                    .map_err(xl)?;
            }
            for (i, p) in a.trend.iter().enumerate() {
                let row = i as u32 + 1;
                s.write_string(row, 0, &p.month).map_err(xl)?;
                s.write_number(row, 1, p.gross_profit_fen as f64 / 100.0)
                    .map_err(xl)?;
                s.write_number(row, 2, p.costs_fen as f64 / 100.0)
                    .map_err(xl)?;
                s.write_string(
                    row,
                    3,
                    p.rate.map_or("—".into(), |x| format!("{:.1}%", x * 100.0)),
                )
                .map_err(xl)?;
            }
        }
        let bytes = book.save_to_buffer().map_err(xl)?;
        let detail = serde_json::json!({"format": "xlsx", "period": r.period, "scope": r.scope.level, "scope_id": r.scope.id});
        self.db
            .audit(
                Some(actor.staff_id),
                "export",
                "management_report",
                None,
                &detail.to_string(),
                self.clock.now(),
            )
            .await?;
        let name = format!("management-report-{}.xlsx", r.period);
        Ok((name, bytes))
    }
}

// ---- daily jobs ---------------------------------------------------------------------------------

impl Services {
    /// Rebuilds the KPI day facts (per day, store, staff member and model) for every day
    /// before today; the KPI values read them for those days and the records for today.
    /// Run by the daily job, the demo generator and `dealerbase bench --scenario management`.
    pub async fn rebuild_kpi_facts(&self) -> Result<u64> {
        Ok(self
            .db
            .rebuild_kpi_facts(self.clock.today(), self.clock.now())
            .await?)
    }

    /// The management part of the daily jobs (run under the daily job lock, after the other
    /// jobs' writes): the KPI day facts. Returns their number of rows.
    pub async fn run_management_jobs(&self) -> Result<u64> {
        let rows = self.rebuild_kpi_facts().await?;
        tracing::info!(kpi_facts = rows, "management jobs done");
        Ok(rows)
    }
}
