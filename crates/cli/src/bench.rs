//! `dealerbase bench`: latency of the customer searches and the 360 document on an existing
//! database (usually the demo group), measured through the same services the API uses.

use anyhow::{Context, Result, bail};
use dealerbase_domain::Lang;
use dealerbase_service::records::CustomerQuery;
use dealerbase_service::{Actor, Services};
use std::time::{Duration, Instant};

pub struct Report {
    pub name: &'static str,
    pub samples: usize,
    pub p50: Duration,
    pub p95: Duration,
    pub max: Duration,
}

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

pub async fn run(svc: &Services, samples: u32) -> Result<Vec<Report>> {
    let admin = svc
        .db
        .staff_by_login("admin")
        .await?
        .context("the benchmark signs in as `admin`: run it on the demo group")?;
    let actor = Actor::from_staff(&admin).map_err(|e| anyhow::anyhow!("{e}"))?;
    let picks = svc.db.sample_customers(samples).await?;
    if picks.is_empty() {
        bail!("no customers with vehicles: generate the demo group first (dealerbase demo)");
    }
    eprintln!("{} customers sampled; warming up …", picks.len());
    let search = async |q: String| -> Result<Duration> {
        let query = CustomerQuery {
            q: Some(q.clone()),
            ..Default::default()
        };
        let t = Instant::now();
        let page = svc
            .list_customers(&actor, &query)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let d = t.elapsed();
        if page.items.is_empty() {
            bail!("search {q:?} found nothing");
        }
        Ok(d)
    };
    for (_, name, ..) in picks.iter().take(20) {
        search(name.clone()).await?;
    }
    let (mut by_mobile, mut by_plate, mut by_vin, mut by_name, mut doc) =
        (vec![], vec![], vec![], vec![], vec![]);
    for (id, name, mobile, plate, vin) in &picks {
        if let Some(m) = mobile {
            by_mobile.push(search(m.clone()).await?);
        }
        if let Some(p) = plate {
            by_plate.push(search(p.clone()).await?);
        }
        by_vin.push(search(vin.clone()).await?);
        // A fragment: the given name without the surname (the harder, less selective case).
        let fragment: String = name.chars().skip(1).collect();
        by_name.push(
            search(if fragment.is_empty() {
                name.clone()
            } else {
                fragment
            })
            .await?,
        );
        let t = Instant::now();
        svc.customer_360(&actor, *id, Lang::Zh)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        doc.push(t.elapsed());
    }
    Ok(vec![
        report("search by mobile", by_mobile),
        report("search by plate", by_plate),
        report("search by VIN", by_vin),
        report("search by name fragment", by_name),
        report("customer 360 document", doc),
    ])
}
