//! Times each algorithm on the files written by `bench/generate.py`, apart from parsing:
//! `cargo run --release -p dealerbase-mining --example bench -- bench/data`.
//! Prints one JSON line per task (seconds for parsing and for the algorithm itself).

use dealerbase_mining::clv::{Period, fit_bgnbd, fit_gamma_gamma, predict, summarize};
use dealerbase_mining::files::{read_baskets, read_durations, read_features, read_transactions};
use dealerbase_mining::fpgrowth::{association_rules, frequent_itemsets};
use dealerbase_mining::kmeans::{KChoice, KMeansOptions, segment};
use dealerbase_mining::rfm::{RfmOptions, rfm};
use dealerbase_mining::survival::{kaplan_meier, log_rank};
use std::time::Instant;

fn open(dir: &str, name: &str) -> std::io::BufReader<std::fs::File> {
    let path = format!("{dir}/{name}");
    std::io::BufReader::new(std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
}

fn report(task: &str, parse: f64, core: f64, note: &str) {
    println!(
        "{{\"task\":\"{task}\",\"tool\":\"dealerbase (library)\",\"parse_s\":{parse:.4},\"core_s\":{core:.4},\"note\":\"{note}\"}}"
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "bench/data".into());
    let only = std::env::args().nth(2);
    let want = |t: &str| only.as_deref().is_none_or(|o| o == t);

    if want("cdnow") {
        // The published CDNow fit (tests/cdnow.rs), timed over 50 runs after parsing.
        let mut file: &[u8] = include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/cdnow_sample_tx.csv"
        ));
        let t0 = Instant::now();
        let tx = read_transactions(&mut file)?;
        let end = dealerbase_mining::date::days_from_civil(1997, 9, 30).unwrap_or_default();
        let s = summarize(&tx.customer, &tx.date, &tx.amount, end, Period::Week)?;
        let parse = t0.elapsed().as_secs_f64();
        let mut bg_times = Vec::new();
        let mut both_times = Vec::new();
        let mut params = String::new();
        for _ in 0..50 {
            let t1 = Instant::now();
            let bg = fit_bgnbd(&s, Period::Week)?;
            bg_times.push(t1.elapsed().as_secs_f64());
            let gg = fit_gamma_gamma(&s)?;
            both_times.push(t1.elapsed().as_secs_f64());
            params = format!(
                "r={:.4} alpha={:.4} a={:.4} b={:.4} LL={:.2}; p={:.4} q={:.4} v={:.4}",
                bg.params.r,
                bg.params.alpha,
                bg.params.a,
                bg.params.b,
                bg.log_likelihood,
                gg.params.p,
                gg.params.q,
                gg.params.v
            );
        }
        bg_times.sort_by(f64::total_cmp);
        both_times.sort_by(f64::total_cmp);
        report(
            "cdnow",
            parse,
            both_times[25],
            &format!(
                "median of 50: BG/NBD {:.2} ms, BG/NBD + Gamma-Gamma {:.2} ms; {params}",
                bg_times[25] * 1e3,
                both_times[25] * 1e3
            ),
        );
    }
    if want("rfm") || want("clv") {
        let t0 = Instant::now();
        let tx = read_transactions(&mut open(&dir, "tx.csv"))?;
        let parse = t0.elapsed().as_secs_f64();
        let as_of = tx.date.iter().copied().max().unwrap_or(0);
        if want("rfm") {
            let t1 = Instant::now();
            let table = rfm(
                &tx.customer,
                &tx.date,
                &tx.amount,
                as_of,
                RfmOptions::default(),
            )?;
            let core = t1.elapsed().as_secs_f64();
            report(
                "rfm",
                parse,
                core,
                &format!("{} rows, {} customers", tx.customer.len(), table.len()),
            );
        }
        if want("clv") {
            let t1 = Instant::now();
            let s = summarize(&tx.customer, &tx.date, &tx.amount, as_of, Period::Week)?;
            let t_sum = t1.elapsed().as_secs_f64();
            let bg = fit_bgnbd(&s, Period::Week)?;
            let t_bg = t1.elapsed().as_secs_f64() - t_sum;
            let gg = fit_gamma_gamma(&s)?;
            let t_gg = t1.elapsed().as_secs_f64() - t_sum - t_bg;
            let pred = predict(&s, &bg.params, &gg.params, 52.0, 0.0)?;
            let core = t1.elapsed().as_secs_f64();
            let total: f64 = pred.clv.iter().sum();
            report(
                "clv",
                parse,
                core,
                &format!(
                    "summary {t_sum:.3}s, BG/NBD {t_bg:.3}s ({} it), GG {t_gg:.3}s, predict {:.3}s; r={:.4} alpha={:.4} a={:.4} b={:.4}; p={:.4} q={:.4} v={:.4}; total clv {total:.0}",
                    bg.iterations,
                    core - t_sum - t_bg - t_gg,
                    bg.params.r,
                    bg.params.alpha,
                    bg.params.a,
                    bg.params.b,
                    gg.params.p,
                    gg.params.q,
                    gg.params.v
                ),
            );
        }
    }
    if want("survival") {
        let t0 = Instant::now();
        let d = read_durations(&mut open(&dir, "durations.csv"), Some("group"))?;
        let parse = t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        let g = d.group.as_deref();
        let curves = kaplan_meier(&d.duration, &d.event, g)?;
        let lr = log_rank(&d.duration, &d.event, g.unwrap_or_default())?;
        let core = t1.elapsed().as_secs_f64();
        let medians: Vec<String> = curves
            .iter()
            .map(|c| c.median.map_or("none".into(), |m| m.to_string()))
            .collect();
        report(
            "survival",
            parse,
            core,
            &format!(
                "medians {}; log-rank chi2 {:.1}",
                medians.join("/"),
                lr.chi_square
            ),
        );
    }
    if want("rules") {
        let t0 = Instant::now();
        let b = read_baskets(&mut open(&dir, "baskets.csv"))?;
        let parse = t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        let sets = frequent_itemsets(&b.baskets, 0.01, None)?;
        let rules = association_rules(&sets, b.baskets.len(), 0.3, 0.0)?;
        let core = t1.elapsed().as_secs_f64();
        report(
            "rules",
            parse,
            core,
            &format!(
                "{} baskets, {} itemsets, {} rules",
                b.baskets.len(),
                sets.len(),
                rules.len()
            ),
        );
    }
    if want("segments") {
        let t0 = Instant::now();
        let f = read_features(&mut open(&dir, "features.csv"), None)?;
        let parse = t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        let opts = KMeansOptions {
            k: KChoice::Fixed(5),
            restarts: 10,
            ..KMeansOptions::default()
        };
        let s = segment(&f.column_refs(), &opts)?;
        let core = t1.elapsed().as_secs_f64();
        report(
            "segments",
            parse,
            core,
            &format!(
                "k=5, 10 restarts, inertia {:.1}, silhouette {:.4}",
                s.inertia,
                s.silhouette.unwrap_or(f64::NAN)
            ),
        );
    }
    Ok(())
}
