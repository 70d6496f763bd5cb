//! Mining on the dealer database: reads the facts through the store as columns, runs the
//! pure functions of `dealerbase-mining`, and writes a dated snapshot (a row per customer
//! with at least one service visit, and the group-level results as JSON). Used by
//! `dealerbase mine all`, the daily job, and the pages and API that show the results.

use crate::{Actor, Result, ServiceError, Services};
use chrono::{Months, NaiveDate};
use dealerbase_domain::Lang;
use dealerbase_mining::clv::{self, Period};
use dealerbase_mining::logistic::{self, LogisticOptions};
use dealerbase_mining::owners::{self, CHURN_FEATURES, OwnerData, OwnerIndex, TRADE_IN_FEATURES};
use dealerbase_mining::rfm::{self, RfmOptions};
use dealerbase_mining::{dealer, fpgrowth, kmeans, survival, value};
use dealerbase_store::Id;
use dealerbase_store::mining::{CustomerScore, MiningRun, RunStart, day_number};
use dealerbase_store::mining_views::MiningRule;
use serde::Serialize;
use serde_json::{Value, json};
use std::time::Instant;

/// Rows per write transaction.
const WRITE_BATCH: usize = 50_000;
/// P(return within the next 12 months) below which an owner counts as lost: the churn
/// critical point is the first month since the last visit where it falls below this.
const CRITICAL_THRESHOLD: f64 = 0.2;

#[derive(Debug, Clone, Default, Serialize)]
pub struct MineReport {
    pub as_of: Option<NaiveDate>,
    /// True when the day's snapshot already existed and nothing was computed.
    pub skipped: bool,
    /// True when nothing was computed because another run of the day is under way.
    pub in_progress: bool,
    pub run_id: Option<Id>,
    pub customers: usize,
    pub visits: usize,
    pub churn_auc: Option<f64>,
    pub churn_brier: Option<f64>,
    pub recency_auc: Option<f64>,
    pub p_alive_auc: Option<f64>,
    pub trade_in_auc: Option<f64>,
    pub gini: Option<f64>,
    pub seconds: f64,
}

fn internal(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(format!("mining: {e}"))
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")
}

impl Services {
    /// Computes and stores the snapshot for `as_of` unless a complete one exists.
    /// `progress` is told each step's name.
    pub async fn mine_all(&self, as_of: NaiveDate, progress: impl Fn(&str)) -> Result<MineReport> {
        let started = Instant::now();
        // Each step is also logged with the time so far, for tuning the nightly run.
        let progress = |step: &str| {
            tracing::info!(step, seconds = started.elapsed().as_secs_f64(), "mining");
            progress(step);
        };
        if self.db.mining_run_done(as_of).await? {
            return Ok(MineReport {
                as_of: Some(as_of),
                skipped: true,
                ..MineReport::default()
            });
        }
        // One input at a time (the work orders and the lines are each read as four slices
        // at once): reading everything at once would hold every connection's page cache
        // and the row buffers of all reads together, past the 2 GB budget at 1M customers.
        progress("reading customers");
        let customers = self.db.mining_customers().await?;
        progress("reading work orders");
        let visits = self.db.mining_visits(as_of).await?;
        progress("reading vehicles, surveys, complaints, policies");
        let owns = self.db.mining_ownerships().await?;
        let surveys = self.db.mining_surveys().await?;
        let (complaint_customer, complaint_day) = self.db.mining_complaints().await?;
        let policies = self.db.mining_policies().await?;
        progress("reading work-order lines");
        // The baskets: the lines of the last twelve months' visits.
        let year_ago = day_number(as_of.checked_sub_months(Months::new(12)).unwrap_or(as_of));
        let recent: Vec<u32> = visits
            .id
            .iter()
            .zip(&visits.day)
            .filter(|&(_, &d)| d > year_ago)
            .map(|(&id, _)| id)
            .collect();
        let baskets = self.db.mining_line_baskets(&recent, 3_000_000).await?;
        drop(recent);
        let run_id = match self.db.start_mining_run(as_of, self.clock.now()).await? {
            RunStart::Started(id) => id,
            other => {
                return Ok(MineReport {
                    as_of: Some(as_of),
                    skipped: true,
                    in_progress: other == RunStart::Running,
                    ..MineReport::default()
                });
            }
        };
        progress("computing");
        let at = day_number(as_of);
        let data = OwnerData {
            customers: customers.id.clone(),
            visit_amount: visits
                .amount_fen
                .iter()
                .map(|&f| f as f64 / 100.0)
                .collect(),
            visit_customer: visits.customer,
            visit_vehicle: visits.vehicle,
            visit_day: visits.day,
            visit_km: visits.odometer_km,
            visit_repair: visits.repair,
            own_customer: owns.customer.clone(),
            own_vehicle: owns.vehicle.clone(),
            own_from: owns.from_day.clone(),
            own_to: owns.to_day.clone(),
            own_delivery: owns.delivery_day.clone(),
            own_warranty_end: owns.warranty_end_day.clone(),
            survey_customer: surveys.customer.clone(),
            survey_day: surveys.day.clone(),
            survey_service: surveys.service_score.clone(),
            complaint_customer,
            complaint_day,
            policy_customer: policies.customer,
            policy_start: policies.start_day,
            policy_end: policies.end_day,
            policy_here: policies.sold_here,
        };
        let mut report = MineReport {
            as_of: Some(as_of),
            run_id: Some(run_id),
            visits: data.visit_day.len(),
            ..MineReport::default()
        };
        let mut summary = serde_json::Map::new();
        summary.insert("as_of".into(), json!(as_of));
        if data.visit_day.is_empty() {
            self.db
                .finish_mining_run(
                    run_id,
                    self.clock.now(),
                    0,
                    0,
                    &Value::Object(summary).to_string(),
                )
                .await?;
            report.seconds = started.elapsed().as_secs_f64();
            return Ok(report);
        }
        let ix = OwnerIndex::new(&data);

        // RFM and value tiers over every visit up to today.
        let rfm = rfm::rfm(
            &data.visit_customer,
            &data.visit_day,
            &data.visit_amount,
            at,
            RfmOptions::default(),
        )
        .map_err(internal)?;
        let tiers =
            value::value_tiers(&rfm.monetary, value::TierCutoffs::default()).map_err(internal)?;
        let gini = value::gini(&rfm.monetary).map_err(internal)?;
        report.gini = Some(gini);
        summary.insert(
            "segments".into(),
            json!(rfm::segment_counts(&rfm)
                .iter()
                .map(|(s, n)| json!({"code": s.code(), "zh": s.name_zh(), "en": s.name_en(), "customers": n}))
                .collect::<Vec<_>>()),
        );
        let mut tier_counts = [0usize; 4];
        for t in &tiers {
            tier_counts[value::Tier::ALL.iter().position(|x| x == t).unwrap_or(3)] += 1;
        }
        summary.insert(
            "tiers".into(),
            json!(
                value::Tier::ALL
                    .iter()
                    .zip(tier_counts)
                    .map(|(t, n)| json!({"code": t.code(), "zh": t.name_zh(), "customers": n}))
                    .collect::<Vec<_>>()
            ),
        );
        summary.insert(
            "pareto".into(),
            json!(value::pareto_table(&rfm.monetary).map_err(internal)?),
        );
        summary.insert(
            "lorenz".into(),
            json!(value::lorenz_curve(&rfm.monetary, 51).map_err(internal)?),
        );
        summary.insert("gini".into(), json!(gini));

        // k-means clusters on log recency, log visits and log spend.
        let (cluster_of, clusters_json) = clusters(&rfm)?;
        summary.insert("clusters".into(), clusters_json);

        // CLV and P(alive): BG/NBD + Gamma-Gamma on monthly periods, 12 months ahead.
        let (clv_of, clv_params) = clv_today(&data, at)?;
        summary.insert("clv_params".into(), clv_params);

        // Churn and trade-in: train on the cut-off two years ago (outcome known a year
        // later), check on the cut-off one year ago, score today.
        let train = owners::features_at(&data, &ix, at - 2 * owners::HORIZON_DAYS);
        let test = owners::features_at(&data, &ix, at - owners::HORIZON_DAYS);
        let now_f = owners::features_at(&data, &ix, at);
        let churn_model = fit(&train.churn_columns(), &train.churned)?;
        let trade_model = fit(&train.trade_in_columns(), &train.bought_again)?;
        let mut quality = serde_json::Map::new();
        if let (Some(m), false) = (&churn_model, test.rows.is_empty()) {
            let p = m.predict(&test.churn_columns()).map_err(internal)?;
            let auc = logistic::auc(&p, &test.churned).ok();
            let brier = logistic::brier_score(&p, &test.churned).ok();
            let recency_auc = logistic::auc(&test.churn[0], &test.churned).ok();
            let p_alive_auc = p_alive_auc(&data, &ix, at - owners::HORIZON_DAYS, &test);
            report.churn_auc = auc;
            report.churn_brier = brier;
            report.recency_auc = recency_auc;
            report.p_alive_auc = p_alive_auc;
            quality.insert("churn".into(), json!({
                "train_cutoff": epoch() + chrono::Duration::days(i64::from(at - 2 * owners::HORIZON_DAYS)),
                "test_cutoff": epoch() + chrono::Duration::days(i64::from(at - owners::HORIZON_DAYS)),
                "train_rows": train.rows.len(), "test_rows": test.rows.len(),
                "base_rate": test.churned.iter().filter(|&&c| c).count() as f64 / test.churned.len() as f64,
                "auc": auc, "brier": brier, "recency_auc": recency_auc, "p_alive_auc": p_alive_auc,
                "calibration": logistic::calibration_table(&p, &test.churned, 10).ok(),
                "features": CHURN_FEATURES, "coef": m.coef,
            }));
        }
        if let (Some(m), false) = (&trade_model, test.rows.is_empty()) {
            let p = m.predict(&test.trade_in_columns()).map_err(internal)?;
            let auc = logistic::auc(&p, &test.bought_again).ok();
            report.trade_in_auc = auc;
            quality.insert("trade_in".into(), json!({
                "auc": auc, "brier": logistic::brier_score(&p, &test.bought_again).ok(),
                "test_rows": test.rows.len(),
                "calibration": logistic::calibration_table(&p, &test.bought_again, 10).ok(),
                "base_rate": test.bought_again.iter().filter(|&&c| c).count() as f64 / test.bought_again.len().max(1) as f64,
                "features": TRADE_IN_FEATURES, "coef": m.coef,
            }));
        }
        summary.insert("models".into(), Value::Object(quality));
        let churn_cols = now_f.churn_columns();
        let trade_cols = now_f.trade_in_columns();
        let churn_p = match &churn_model {
            Some(m) => m.predict(&churn_cols).map_err(internal)?,
            None => vec![0.0; now_f.rows.len()],
        };
        let trade_p = match &trade_model {
            Some(m) => m.predict(&trade_cols).map_err(internal)?,
            None => vec![0.0; now_f.rows.len()],
        };
        let mut histogram = [0usize; 10];
        for &p in &churn_p {
            histogram[((p * 10.0) as usize).min(9)] += 1;
        }
        summary.insert("churn_histogram".into(), json!(histogram));

        progress("retention curves, rules, loyalty");
        summary.insert("retention".into(), retention(&data, &ix, &owns, at)?);
        let (rules_json, rule_rows) = rules(&baskets)?;
        summary.insert("rules".into(), rules_json);
        self.db.write_mining_rules(run_id, &rule_rows).await?;
        progress("campaign response");
        let touches = self
            .db
            .mining_campaign_touches(
                &CAMPAIGN_PURPOSES,
                day_start(as_of.checked_sub_months(Months::new(24)).unwrap_or(as_of)),
                day_start(as_of - chrono::Duration::days(i64::from(RESPONSE_WINDOW_DAYS) - 1)),
            )
            .await?;
        summary.insert(
            "campaign_response".into(),
            campaign_response(&data, &ix, &touches)?,
        );
        summary.insert("loyalty".into(), loyalty(&surveys, at)?);

        // Per-customer rows: RFM table order; the feature rows are looked up by position.
        let mut feature_row = vec![u32::MAX; data.customers.len()];
        for (k, &i) in now_f.rows.iter().enumerate() {
            feature_row[i] = k as u32;
        }
        progress("writing scores");
        let mut batch = Vec::with_capacity(WRITE_BATCH);
        let mut written = 0usize;
        // One index walks the RFM table, the tiers and the customer positions together.
        #[allow(clippy::needless_range_loop)]
        for k in 0..rfm.len() {
            let c = rfm.customer[k];
            let Some(i) = ix.slot(c) else { continue };
            let fr = feature_row[i];
            let (risk, reasons, trade, trade_reasons) = if fr == u32::MAX {
                (0.0, String::new(), 0.0, String::new())
            } else {
                let fr = fr as usize;
                (
                    churn_p[fr],
                    churn_model.as_ref().map_or_else(String::new, |m| {
                        owners::reason_codes(&CHURN_FEATURES, m, &churn_cols, fr, 3)
                    }),
                    trade_p[fr],
                    trade_model.as_ref().map_or_else(String::new, |m| {
                        owners::reason_codes(&TRADE_IN_FEATURES, m, &trade_cols, fr, 2)
                    }),
                )
            };
            let clv = clv_of.get(&c);
            batch.push(CustomerScore {
                run_id,
                customer_id: i64::from(c),
                store_id: i64::from(customers.store[i]),
                consultant_id: (customers.consultant[i] != 0)
                    .then(|| i64::from(customers.consultant[i])),
                recency_days: i64::from(rfm.recency_days[k]),
                frequency: i64::from(rfm.frequency[k]),
                monetary_fen: (rfm.monetary[k] * 100.0).round() as i64,
                r: i64::from(rfm.r[k]),
                f: i64::from(rfm.f[k]),
                m: i64::from(rfm.m[k]),
                segment: rfm.segment[k].code().to_string(),
                tier: tiers[k].code().to_string(),
                p_alive: clv.map(|v| v.0),
                expected_visits: clv.map(|v| v.1),
                clv_fen: clv.map(|v| (v.2 * 100.0).round() as i64),
                churn_risk: risk,
                churn_reasons: reasons,
                trade_in: trade,
                trade_in_reasons: trade_reasons,
                cluster: cluster_of.get(k).map(|&c| i64::from(c)),
            });
            if batch.len() == WRITE_BATCH {
                self.db.write_customer_scores(&batch).await?;
                written += batch.len();
                batch.clear();
            }
        }
        self.db.write_customer_scores(&batch).await?;
        written += batch.len();
        report.customers = written;
        self.db
            .finish_mining_run(
                run_id,
                self.clock.now(),
                written as i64,
                report.visits as i64,
                &Value::Object(summary).to_string(),
            )
            .await?;
        report.seconds = started.elapsed().as_secs_f64();
        tracing::info!(?report, "mining snapshot written");
        Ok(report)
    }

    /// The newest snapshot's group-level results. Customer-level lists are scoped; these
    /// are aggregates over the group, shown to managers and group staff.
    pub async fn mining_summary(&self, actor: &Actor) -> Result<Option<(MiningRun, Value)>> {
        if !crate::mining_views::may_see_mining(actor.role) {
            return Err(ServiceError::Forbidden("mining results"));
        }
        let Some(run) = self.db.latest_mining_run().await? else {
            return Ok(None);
        };
        let v: Value = serde_json::from_str(&run.summary_json).map_err(internal)?;
        Ok(Some((run, v)))
    }

    /// A customer's scores in the newest snapshot (None when the customer has none or is
    /// out of the actor's scope).
    pub async fn customer_scores(
        &self,
        actor: &Actor,
        customer_id: Id,
    ) -> Result<Option<CustomerScore>> {
        Ok(self.db.customer_score(&actor.scope(), customer_id).await?)
    }

    /// Customers in scope with the highest churn risk (a campaign target list).
    pub async fn churn_risk_list(&self, actor: &Actor, limit: i64) -> Result<Vec<CustomerScore>> {
        Ok(self
            .db
            .top_churn_risks(&actor.scope(), limit.clamp(1, 1000))
            .await?)
    }
}

/// Reason codes in words, joined by the language's list separator.
pub fn reasons_in_words(codes: &str, lang: Lang) -> String {
    codes
        .split(',')
        .filter(|c| !c.is_empty())
        .map(|c| owners::reason_words(c, lang == Lang::Zh))
        .collect::<Vec<_>>()
        .join(if lang == Lang::Zh { "；" } else { "; " })
}

fn fit(columns: &[&[f64]], y: &[bool]) -> Result<Option<logistic::LogisticModel>> {
    // A model needs both outcomes among its training rows.
    if y.len() < 20 || y.iter().all(|&v| v) || !y.iter().any(|&v| v) {
        return Ok(None);
    }
    logistic::fit_logistic(columns, y, LogisticOptions::default())
        .map(Some)
        .map_err(internal)
}

type ClvOf = std::collections::HashMap<u32, (f64, f64, f64)>;

/// P(alive), expected visits and CLV (yuan) over 12 months per customer, and the fitted
/// parameters. Empty when the models cannot be fitted (too little history).
/// Clusters of the scored customers: k-means (k = 5, k-means++, 4 restarts, a fixed seed) on
/// ln(1 + recency days), ln(1 + visits) and ln(1 + spend), which tames the long tails the
/// three have; clusters numbered 1… by decreasing size. Returns each RFM row's cluster
/// (empty below 5 customers) and a profile per cluster: size, share, the mean recency,
/// visits and spend in their own units, and whether each is high, average or low.
fn clusters(rfm: &rfm::RfmTable) -> Result<(Vec<u32>, Value)> {
    const K: usize = 5;
    let n = rfm.len();
    if n < K {
        return Ok((Vec::new(), json!([])));
    }
    let rec: Vec<f64> = rfm
        .recency_days
        .iter()
        .map(|&d| f64::from(d.max(0)).ln_1p())
        .collect();
    let vis: Vec<f64> = rfm
        .frequency
        .iter()
        .map(|&f| f64::from(f).ln_1p())
        .collect();
    let spend: Vec<f64> = rfm.monetary.iter().map(|&m| m.max(0.0).ln_1p()).collect();
    let seg = kmeans::segment(
        &[&rec, &vis, &spend],
        &kmeans::KMeansOptions {
            k: kmeans::KChoice::Fixed(K),
            restarts: 4,
            seed: 7,
            silhouette_sample: 1000,
            ..kmeans::KMeansOptions::default()
        },
    )
    .map_err(internal)?;
    let mut sums = vec![[0.0f64; 3]; seg.k];
    for (i, &l) in seg.labels.iter().enumerate() {
        let s = &mut sums[l as usize];
        s[0] += f64::from(rfm.recency_days[i]);
        s[1] += f64::from(rfm.frequency[i]);
        s[2] += rfm.monetary[i];
    }
    let profiles: Vec<Value> = seg
        .profiles
        .iter()
        .map(|p| {
            let s = sums[p.segment as usize];
            let m = |x: f64| x / p.size.max(1) as f64;
            json!({
                "cluster": p.segment + 1,
                "customers": p.size,
                "share": p.share,
                "recency_days": m(s[0]),
                "visits": m(s[1]),
                "spend": m(s[2]),
                "levels": p.level,
            })
        })
        .collect();
    Ok((
        seg.labels.iter().map(|&l| l + 1).collect(),
        json!({"silhouette": seg.silhouette, "profiles": profiles}),
    ))
}

fn clv_today(d: &OwnerData, at: i32) -> Result<(ClvOf, Value)> {
    let summary = clv::summarize(
        &d.visit_customer,
        &d.visit_day,
        &d.visit_amount,
        at,
        Period::Month,
    )
    .map_err(internal)?;
    let (Ok(bg), Ok(gg)) = (
        clv::fit_bgnbd(&summary, Period::Month),
        clv::fit_gamma_gamma(&summary),
    ) else {
        return Ok((ClvOf::new(), Value::Null));
    };
    let pred = clv::predict(&summary, &bg.params, &gg.params, 12.0, 0.01).map_err(internal)?;
    let mut out = ClvOf::with_capacity(summary.len());
    for k in 0..summary.len() {
        out.insert(
            summary.customer[k],
            (pred.p_alive[k], pred.expected_purchases[k], pred.clv[k]),
        );
    }
    let params = json!({
        "bgnbd": {"r": bg.params.r, "alpha": bg.params.alpha, "a": bg.params.a, "b": bg.params.b, "log_likelihood": bg.log_likelihood},
        "gamma_gamma": {"p": gg.params.p, "q": gg.params.q, "v": gg.params.v},
        "period": "month", "horizon": 12, "discount_rate": 0.01,
    });
    Ok((out, params))
}

/// AUC of 1 − P(alive) (BG/NBD fitted on the history up to the cut-off) for the churn
/// outcome of the test rows: the baseline the churn model must beat.
fn p_alive_auc(
    d: &OwnerData,
    ix: &OwnerIndex,
    cutoff: i32,
    test: &owners::FeatureSet,
) -> Option<f64> {
    let s = clv::summarize(
        &d.visit_customer,
        &d.visit_day,
        &d.visit_amount,
        cutoff,
        Period::Month,
    )
    .ok()?;
    let bg = clv::fit_bgnbd(&s, Period::Month).ok()?;
    let mut by_customer = std::collections::HashMap::with_capacity(s.len());
    for k in 0..s.len() {
        by_customer.insert(
            s.customer[k],
            bg.params.p_alive(s.frequency[k], s.recency[k], s.age[k]),
        );
    }
    let score: Vec<f64> = test
        .rows
        .iter()
        .map(|&i| 1.0 - by_customer.get(&d.customers[i]).copied().unwrap_or(0.5))
        .collect();
    let _ = ix;
    logistic::auc(&score, &test.churned).ok()
}

/// Kaplan-Meier curves from delivery to the 1st, 2nd and 3rd visit of the vehicle, by
/// purchase-year, model and store cohort, in months; and the churn critical point from
/// the gaps between visits.
fn retention(
    d: &OwnerData,
    ix: &OwnerIndex,
    owns: &dealerbase_store::mining::OwnershipColumns,
    at: i32,
) -> Result<Value> {
    let month = 365.25 / 12.0;
    // Visits per vehicle, by day.
    let mut by_vehicle: std::collections::HashMap<u32, Vec<i32>> = std::collections::HashMap::new();
    for r in 0..d.visit_day.len() {
        by_vehicle
            .entry(d.visit_vehicle[r])
            .or_default()
            .push(d.visit_day[r]);
    }
    for v in by_vehicle.values_mut() {
        v.sort_unstable();
    }
    let mut out = serde_json::Map::new();
    for (cohort, key) in [("purchase_year", 0), ("model", 1), ("store", 2)] {
        let mut per_service = Vec::new();
        for nth in 1..=3usize {
            let (mut dur, mut ev, mut grp) = (Vec::new(), Vec::new(), Vec::new());
            for o in 0..owns.customer.len() {
                // The dealer's own sales, from delivery by their first owner.
                if !owns.own_sold[o] || owns.from_day[o] > owns.delivery_day[o] + 30 {
                    continue;
                }
                let delivered = owns.delivery_day[o];
                if delivered > at {
                    continue;
                }
                let visits = by_vehicle
                    .get(&owns.vehicle[o])
                    .map_or(&[][..], |v| v.as_slice());
                let after: Vec<i32> = visits
                    .iter()
                    .copied()
                    .filter(|&v| v >= delivered && v <= at)
                    .collect();
                let (t, e) = match after.get(nth - 1) {
                    Some(&v) => (v - delivered, true),
                    None => (at - delivered, false),
                };
                dur.push((f64::from(t) / month).round());
                ev.push(e);
                grp.push(match key {
                    0 => dealerbase_mining::date::civil_from_days(delivered).0 as u32,
                    1 => owns.model[o],
                    _ => owns.store[o],
                });
            }
            if dur.is_empty() {
                continue;
            }
            let curves = survival::kaplan_meier(&dur, &ev, Some(&grp)).map_err(internal)?;
            per_service.push(json!({
                "service": nth,
                "curves": curves.iter().map(|c| json!({
                    "group": c.group, "median": c.median,
                    "time": c.time, "at_risk": c.at_risk, "survival": c.survival,
                })).collect::<Vec<_>>(),
            }));
        }
        out.insert(cohort.into(), json!(per_service));
    }
    // Gaps between a customer's visits (the last gap censored today), in months.
    let (mut dur, mut ev) = (Vec::new(), Vec::new());
    for i in 0..d.customers.len() {
        let v = ix.visits(i);
        for (k, &r) in v.iter().enumerate() {
            let day = d.visit_day[r as usize];
            match v.get(k + 1) {
                Some(&n) => {
                    dur.push(f64::from(d.visit_day[n as usize] - day) / month);
                    ev.push(true);
                }
                None => {
                    dur.push(f64::from(at - day) / month);
                    ev.push(false);
                }
            }
        }
    }
    if !dur.is_empty() {
        for x in dur.iter_mut() {
            *x = x.round();
        }
        let curves = survival::kaplan_meier(&dur, &ev, None).map_err(internal)?;
        if let Some(c) = curves.first() {
            out.insert(
                "return_curve".into(),
                json!({"time": c.time, "survival": c.survival}),
            );
            out.insert(
                "critical_month".into(),
                json!(survival::churn_critical_point(
                    c,
                    CRITICAL_THRESHOLD,
                    Some(12.0)
                )),
            );
            out.insert("critical_threshold".into(), json!(CRITICAL_THRESHOLD));
        }
    }
    Ok(Value::Object(out))
}

/// Rules kept per snapshot (the dashboard shows the first 50; cross-selling uses all).
const MAX_RULES: usize = 200;

fn rules(b: &dealerbase_store::mining::LineBaskets) -> Result<(Value, Vec<MiningRule>)> {
    if b.basket.is_empty() {
        return Ok((json!([]), Vec::new()));
    }
    let baskets = fpgrowth::Baskets::from_pairs(&b.basket, &b.item).map_err(internal)?;
    let sets = fpgrowth::frequent_itemsets(&baskets, 0.01, Some(3)).map_err(internal)?;
    let rules = fpgrowth::association_rules(&sets, baskets.len(), 0.3, 1.2).map_err(internal)?;
    // Items of a side sorted by code, so that a side is written one way only.
    let side = |ids: &[u32]| {
        let mut items: Vec<(String, String)> = ids
            .iter()
            .map(|&i| {
                (
                    b.codes.get(i as usize).cloned().unwrap_or_default(),
                    b.names.get(i as usize).cloned().unwrap_or_default(),
                )
            })
            .collect();
        items.sort();
        let (codes, names): (Vec<String>, Vec<String>) = items.into_iter().unzip();
        (codes.join(","), names.join("; "))
    };
    let rows: Vec<MiningRule> = rules
        .iter()
        .take(MAX_RULES)
        .enumerate()
        .map(|(k, r)| {
            let (antecedent, antecedent_names) = side(&r.antecedent);
            let (consequent, consequent_names) = side(&r.consequent);
            MiningRule {
                rule_no: k as i64 + 1,
                antecedent,
                consequent,
                antecedent_names,
                consequent_names,
                support: r.support,
                confidence: r.confidence,
                lift: r.lift,
            }
        })
        .collect();
    let shown = json!(
        rows.iter()
            .take(50)
            .map(|r| json!({
                "antecedent": r.antecedent_names, "consequent": r.consequent_names,
                "support": r.support, "confidence": r.confidence, "lift": r.lift,
            }))
            .collect::<Vec<_>>()
    );
    Ok((shown, rows))
}

/// Contact purposes that count as campaign touches (outbound contacts only): marketing
/// campaigns, the call lists made from mining results, and win-back calls to lapsing owners.
pub const CAMPAIGN_PURPOSES: [&str; 3] = ["campaign", "marketing", "win_back"];
/// A touch is answered by a service visit within this many days (the touch day included).
pub const RESPONSE_WINDOW_DAYS: i32 = 30;
/// Rows of the response table: 0–12 months since the last visit, 12 and more pooled.
pub const RESPONSE_MAX_MONTHS: u32 = 12;

fn day_start(d: NaiveDate) -> chrono::DateTime<chrono::Utc> {
    // Midnight in China (UTC+8).
    (d.and_hms_opt(0, 0, 0).expect("midnight") - chrono::Duration::hours(8)).and_utc()
}

/// Response to campaign touches by whole months since the customer's last service visit,
/// for the group and per store (the store that made the contact). Touches of customers
/// who had never visited are counted apart.
fn campaign_response(
    d: &OwnerData,
    ix: &OwnerIndex,
    t: &dealerbase_store::mining_views::TouchColumns,
) -> Result<Value> {
    let mut group: (Vec<u32>, Vec<bool>) = (Vec::new(), Vec::new());
    let mut stores: std::collections::BTreeMap<u32, (Vec<u32>, Vec<bool>)> =
        std::collections::BTreeMap::new();
    let (mut never, mut never_responded) = (0u64, 0u64);
    let mut days = Vec::new();
    for k in 0..t.customer.len() {
        days.clear();
        if let Some(i) = ix.slot(t.customer[k]) {
            days.extend(ix.visits(i).iter().map(|&r| d.visit_day[r as usize]));
        }
        match dealer::touch_outcome(t.day[k], &days, RESPONSE_WINDOW_DAYS) {
            (Some(m), responded) => {
                group.0.push(m);
                group.1.push(responded);
                let s = stores.entry(t.store[k]).or_default();
                s.0.push(m);
                s.1.push(responded);
            }
            (None, responded) => {
                never += 1;
                never_responded += u64::from(responded);
            }
        }
    }
    let table = |(m, r): &(Vec<u32>, Vec<bool>)| -> Result<Value> {
        if m.is_empty() {
            return Ok(json!([]));
        }
        Ok(json!(
            dealer::response_by_recency(m, r, RESPONSE_MAX_MONTHS).map_err(internal)?
        ))
    };
    let mut by_store = serde_json::Map::new();
    for (s, cols) in &stores {
        by_store.insert(s.to_string(), table(cols)?);
    }
    Ok(json!({
        "window_days": RESPONSE_WINDOW_DAYS, "purposes": CAMPAIGN_PURPOSES,
        "touches": t.customer.len(), "group": table(&group)?, "stores": by_store,
        "never_visited": {"contacted": never, "responded": never_responded},
    }))
}

/// Loyalty matrix over each customer's latest survey with both scores (threshold 4 of 5).
fn loyalty(s: &dealerbase_store::mining::SurveyColumns, at: i32) -> Result<Value> {
    let mut latest: std::collections::HashMap<u32, (i32, i8, i8)> =
        std::collections::HashMap::new();
    for k in 0..s.customer.len() {
        if s.product_score[k] < 0 || s.day[k] > at {
            continue;
        }
        let e = latest.entry(s.customer[k]).or_insert((i32::MIN, 0, 0));
        if s.day[k] >= e.0 {
            *e = (s.day[k], s.product_score[k], s.service_score[k]);
        }
    }
    if latest.is_empty() {
        return Ok(Value::Null);
    }
    let (product, service): (Vec<f64>, Vec<f64>) = latest
        .values()
        .map(|&(_, p, s)| (f64::from(p), f64::from(s)))
        .unzip();
    let (_, counts) = dealer::loyalty_matrix(&product, &service, 4.0).map_err(internal)?;
    Ok(json!(
        dealer::Loyalty::ALL
            .iter()
            .zip(counts)
            .map(|(l, n)| json!({"code": l.code(), "zh": l.name_zh(), "customers": n}))
            .collect::<Vec<_>>()
    ))
}
