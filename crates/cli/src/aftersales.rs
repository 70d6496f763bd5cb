//! `dealerbase aftersales generate`: the daily after-sales generation on demand, and the
//! `dealerbase bench --scenario aftersales` timing of it.

use anyhow::Result;
use dealerbase_service::Services;
use dealerbase_service::aftersales::GenerationReport;
use std::time::Instant;

fn print(r: &GenerationReport) {
    for (rule, n) in &r.created {
        eprintln!("  {rule:<24} {n:>8}");
    }
    eprintln!(
        "  vehicles predicted {} · no-shows {} · escalations {} · {} ms",
        r.vehicles, r.no_shows, r.escalations, r.elapsed_ms
    );
    let steps: Vec<String> = r
        .timings_ms
        .iter()
        .filter(|(_, ms)| *ms > 0)
        .map(|(step, ms)| format!("{step} {ms} ms"))
        .collect();
    eprintln!("  time by step: {}", steps.join(" · "));
}

/// Runs the generation for a day (idempotent: a second run creates nothing new). The
/// daily job of `serve` does the same under the job lock.
pub async fn generate(svc: &Services, as_of: chrono::NaiveDate) -> Result<()> {
    let r = svc
        .generate_aftersales(as_of)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    eprintln!(
        "after-sales generation for {as_of}: {} tasks created",
        r.total()
    );
    print(&r);
    Ok(())
}

/// Times the generation twice on an existing database (the first run does the day's work
/// and writes the maintenance-prediction snapshot; the second finds everything done) and
/// prints the data size it ran on.
pub async fn bench(svc: &Services, as_of: chrono::NaiveDate) -> Result<()> {
    let counts = svc.db.counts().await?;
    let size: Vec<String> = counts
        .iter()
        .filter(|(t, _)| {
            matches!(
                *t,
                "store" | "customer" | "vehicle" | "work_order" | "insurance_policy" | "task"
            )
        })
        .map(|(t, n)| format!("{t} {n}"))
        .collect();
    println!("data: {}", size.join(", "));
    println!("| run | seconds | tasks created | vehicles predicted |\n|---|---|---|---|");
    for run in ["first (the day's work)", "second (idempotent re-run)"] {
        let t = Instant::now();
        let r = svc
            .generate_aftersales(as_of)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        println!(
            "| {run} | {:.1} | {} | {} |",
            t.elapsed().as_secs_f64(),
            r.total(),
            r.vehicles
        );
        print(&r);
    }
    Ok(())
}
