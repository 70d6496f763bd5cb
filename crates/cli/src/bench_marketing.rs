//! `dealerbase bench --scenario segments`: latency of evaluating three typical segments
//! (count and a sample of 20) over the whole group as the administrator sees it, through
//! the same service the builder page and `POST /api/v1/segments/evaluate` call. The first
//! sample prints each segment's count and query plan (EXPLAIN), to check index use.

use crate::bench::Report;
use anyhow::{Context, Result, anyhow};
use dealerbase_domain::Lang;
use dealerbase_domain::segment::Definition;
use dealerbase_service::marketing::SAMPLE_SIZE;
use dealerbase_service::{Actor, Services};
use dealerbase_store::segments::SegmentQuery;
use std::time::{Duration, Instant};

fn report(name: &'static str, mut t: Vec<Duration>) -> Report {
    t.sort();
    let at = |q: f64| t[((t.len() as f64 * q).ceil() as usize).clamp(1, t.len()) - 1];
    Report {
        name,
        samples: t.len(),
        p50: at(0.5),
        p95: at(0.95),
        max: t[t.len() - 1],
    }
}

/// The three segments: lapsed owners with a high CLV; insurance due within 60 days (not
/// renewed); H-grade open leads without contact for 7 days.
pub fn typical() -> Vec<(&'static str, Definition)> {
    let parse = |v: serde_json::Value| -> Definition {
        serde_json::from_value(v).expect("a valid definition")
    };
    vec![
        (
            "segment: lapsed owners (≥ 12 months) with CLV ≥ 1,000 yuan",
            parse(serde_json::json!({"conditions": [
                {"field": "work_order.months_since_visit", "op": "ge", "value": 12},
                {"field": "mining.clv", "op": "ge", "value": 1000}
            ]})),
        ),
        (
            "segment: insurance due in 60 days, not renewed",
            parse(serde_json::json!({"conditions": [
                {"field": "policy.end_date", "op": "within_next_days", "value": 60},
                {"field": "policy.renewed", "op": "is_false"}
            ]})),
        ),
        (
            "segment: H leads, open, no contact in 7 days",
            parse(serde_json::json!({"conditions": [
                {"field": "lead.grade", "op": "in", "value": ["H"]},
                {"field": "lead.status", "op": "in", "value": ["open"]},
                {"field": "lead.days_since_contact", "op": "ge", "value": 7}
            ]})),
        ),
    ]
}

pub async fn run(svc: &Services, samples: u32) -> Result<Vec<Report>> {
    let s = svc
        .db
        .staff_by_login("admin")
        .await?
        .context("the segments benchmark signs in as `admin`: run it on the demo group")?;
    let admin = Actor::from_staff(&s).map_err(|e| anyhow!("{e}"))?;
    let n = samples.clamp(3, 100) as usize;
    let mut out = Vec::new();
    for (name, def) in typical() {
        let node = def.validate().map_err(|e| anyhow!("{e:?}"))?;
        let scope = admin.scope();
        let sq = SegmentQuery {
            scope: &scope,
            node: &node,
            today: svc.clock.today(),
        };
        for line in svc.db.segment_explain(&sq).await? {
            eprintln!("  plan: {line}");
        }
        let mut times = Vec::new();
        for i in 0..n {
            let t = Instant::now();
            let e = svc
                .evaluate_segment(&admin, &def, SAMPLE_SIZE, Lang::Zh)
                .await
                .map_err(|e| anyhow!("{e}"))?;
            times.push(t.elapsed());
            if i == 0 {
                eprintln!("{name}: {} customers", e.count);
            }
        }
        out.push(report(name, times));
    }
    Ok(out)
}

/// Recipients the campaign benchmark aims at (issue 8: "preparing a 100,000-recipient
/// campaign ≤ 10 s").
const CAMPAIGN_SIZE: i64 = 100_000;

/// Prepares one SMS campaign (10% control group) to the customers of the group's first
/// stores, as many stores as it takes to reach 100,000 customers (everyone on a smaller
/// group), and reports how long it took; the campaign stays in the database (run on a
/// copy).
pub async fn prepare(svc: &Services) -> Result<Report> {
    use dealerbase_service::marketing::{CampaignInput, SegmentInput};
    let s = svc
        .db
        .staff_by_login("admin")
        .await?
        .context("the campaign benchmark signs in as `admin`: run it on the demo group")?;
    let admin = Actor::from_staff(&s).map_err(|e| anyhow!("{e}"))?;
    let stores: Vec<i64> = svc
        .db
        .kpi_group_stores(admin.group_id)
        .await?
        .into_iter()
        .map(|s| s.0)
        .collect();
    let mut definition = Definition::default();
    for k in 1..=stores.len() {
        let d: Definition = serde_json::from_value(serde_json::json!({"conditions": [
            {"field": "customer.store", "op": "in", "value": &stores[..k]}
        ]}))
        .map_err(|e| anyhow!("{e}"))?;
        let n = svc
            .evaluate_segment(&admin, &d, 0, Lang::Zh)
            .await
            .map_err(|e| anyhow!("{e}"))?
            .count;
        definition = d;
        if n >= CAMPAIGN_SIZE {
            break;
        }
    }
    let seg = svc
        .create_segment(
            &admin,
            &SegmentInput {
                name: "bench: customers of the first stores".into(),
                definition,
            },
        )
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let c = svc
        .create_campaign(
            &admin,
            &CampaignInput {
                name: "bench: SMS to 100,000 customers".into(),
                kind: "sms".into(),
                segment_id: Some(seg.id),
                control_pct: Some(10.0),
                sms_template: Some(
                    "{姓名}您好，您的{车牌}（{车型}）{到期日}到期，{门店}恭候。回T退订".into(),
                ),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let t = Instant::now();
    let r = svc
        .prepare_campaign(&admin, c.campaign.id)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let d = t.elapsed();
    eprintln!(
        "campaign prepared: {} recipients, {} held out, in {:.2} s",
        r.recipients,
        r.held_out,
        d.as_secs_f64()
    );
    Ok(report(
        "campaign: prepare an SMS campaign to ≥ 100,000 customers (10% control)",
        vec![d],
    ))
}
