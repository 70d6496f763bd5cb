//! `dealerbase mine …`: the mining library (crates/mining) on plain CSV files. This module
//! only opens files, shows progress and prints summaries; every rule and formula lives in
//! the mining crate.

use anyhow::{Context, Result, bail};
use dealerbase_mining as mining;
use dealerbase_mining::files::{self, Lang};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `println!` that ignores a closed stdout (e.g. `dealerbase mine … | head`): the output
/// files are already written by then.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

#[derive(clap::Subcommand)]
pub enum MineCommand {
    /// RFM values, 1–5 quintile scores and named segments per customer from transactions.
    #[command(
        after_help = "Input columns: customer_id,date,amount. Output: customer_id,recency_days,frequency,monetary,r,f,m,segment.\n\n\
Example: dealerbase mine rfm --transactions tx.csv --as-of 2024-06-30 --out rfm.csv"
    )]
    Rfm {
        /// Transactions CSV (customer_id,date,amount)
        #[arg(long, env = "DEALERBASE_MINE_TRANSACTIONS")]
        transactions: PathBuf,
        /// Score as of this date (YYYY-MM-DD); later transactions are ignored. Default: the last date in the file
        #[arg(long, env = "DEALERBASE_MINE_AS_OF")]
        as_of: Option<String>,
        /// Output CSV
        #[arg(long)]
        out: PathBuf,
        /// Language of the segment names: zh or en
        #[arg(long, default_value = "zh", env = "DEALERBASE_LANG")]
        lang: String,
    },
    /// Customer lifetime value: BG/NBD purchases and Gamma-Gamma spend fitted by maximum likelihood.
    #[command(
        after_help = "Input columns: customer_id,date,amount. Output: customer_id,frequency,recency,T,monetary,p_alive,expected_purchases,expected_spend,clv.\n\
Same-day purchases are one occasion; a week is 7 days, a month 365.25/12 days.\n\n\
Example: dealerbase mine clv --transactions tx.csv --calibration-end 2023-12-31 --period week --horizon 52 --out clv.csv --params-out clv.json"
    )]
    Clv {
        /// Transactions CSV (customer_id,date,amount)
        #[arg(long, env = "DEALERBASE_MINE_TRANSACTIONS")]
        transactions: PathBuf,
        /// Last day of the calibration window (YYYY-MM-DD)
        #[arg(long, env = "DEALERBASE_MINE_CALIBRATION_END")]
        calibration_end: String,
        /// Time unit for recency, T and the horizon: day, week or month
        #[arg(long, default_value = "week", env = "DEALERBASE_MINE_PERIOD")]
        period: String,
        /// Prediction horizon in periods. Default: one year (365 days, 52 weeks or 12 months)
        #[arg(long, env = "DEALERBASE_MINE_HORIZON")]
        horizon: Option<f64>,
        /// Discount rate per period for CLV (0 = undiscounted)
        #[arg(long, default_value_t = 0.0, env = "DEALERBASE_MINE_DISCOUNT_RATE")]
        discount_rate: f64,
        /// Output CSV
        #[arg(long)]
        out: PathBuf,
        /// Write the fitted parameters, standard errors and log-likelihoods here (JSON)
        #[arg(long)]
        params_out: Option<PathBuf>,
    },
    /// Kaplan-Meier retention curves with 95% intervals, medians and the log-rank test.
    #[command(
        after_help = "Input columns: duration,event[,group] (event 1 = happened, 0 = censored).\n\
Output: group,time,at_risk,events,censored,survival,ci_lower,ci_upper.\n\n\
Example: dealerbase mine survival --durations visits.csv --group-col store --out km.csv"
    )]
    Survival {
        /// Durations CSV (duration,event and optionally a group column)
        #[arg(long, env = "DEALERBASE_MINE_DURATIONS")]
        durations: PathBuf,
        /// Column holding the group label (one curve per group, log-rank test between them)
        #[arg(long)]
        group_col: Option<String>,
        /// Output CSV
        #[arg(long)]
        out: PathBuf,
        /// Write medians and the log-rank test here (JSON)
        #[arg(long)]
        summary_out: Option<PathBuf>,
    },
    /// Association rules between items bought together, by FP-growth.
    #[command(after_help = "Input columns: basket_id,item (one line per item).\n\
Output: antecedent,consequent,support,confidence,lift,conviction (items sorted, joined by ';').\n\n\
Example: dealerbase mine rules --baskets lines.csv --min-support 0.01 --min-confidence 0.3 --min-lift 1.2 --out rules.csv")]
    Rules {
        /// Baskets CSV (basket_id,item), e.g. work-order lines
        #[arg(long, env = "DEALERBASE_MINE_BASKETS")]
        baskets: PathBuf,
        /// Smallest share of baskets an itemset must appear in (0–1)
        #[arg(long, env = "DEALERBASE_MINE_MIN_SUPPORT")]
        min_support: f64,
        /// Smallest confidence of a rule (0–1)
        #[arg(long, env = "DEALERBASE_MINE_MIN_CONFIDENCE")]
        min_confidence: f64,
        /// Smallest lift of a rule
        #[arg(long, default_value_t = 0.0, env = "DEALERBASE_MINE_MIN_LIFT")]
        min_lift: f64,
        /// Longest itemset to consider (default: no limit)
        #[arg(long)]
        max_len: Option<usize>,
        /// Output CSV
        #[arg(long)]
        out: PathBuf,
    },
    /// Customer segments by k-means++ on standardised features, with a profile per segment.
    #[command(
        after_help = "Input: an id column (id or customer_id, optional) and numeric feature columns.\n\
Output: id,segment; profiles (size, share, feature means, description) go to --profile-out or the terminal.\n\n\
Example: dealerbase mine segments --features features.csv --k auto --out segments.csv --profile-out profiles.csv"
    )]
    Segments {
        /// Features CSV
        #[arg(long, env = "DEALERBASE_MINE_FEATURES")]
        features: PathBuf,
        /// Number of segments, or `auto` to choose 2–8 by silhouette
        #[arg(long, default_value = "auto", env = "DEALERBASE_MINE_K")]
        k: String,
        /// k-means++ restarts (the best is kept)
        #[arg(long, default_value_t = 10)]
        restarts: usize,
        /// Random seed (runs are deterministic)
        #[arg(long, default_value_t = 42, env = "DEALERBASE_MINE_SEED")]
        seed: u64,
        /// Output CSV (id,segment)
        #[arg(long)]
        out: PathBuf,
        /// Write the segment profiles here (CSV)
        #[arg(long)]
        profile_out: Option<PathBuf>,
        /// Language of the profile descriptions: zh or en
        #[arg(long, default_value = "zh", env = "DEALERBASE_LANG")]
        lang: String,
    },
    /// Mine the dealer database and store today's snapshot (RFM, value tiers, CLV, churn
    /// risk with reasons, trade-in propensity, retention curves, rules, loyalty matrix).
    #[command(
        after_help = "Skips when the snapshot for the date exists (the daily job runs the same step).\n\n\
Example: dealerbase mine all --database-url sqlite://dealerbase.db --as-of 2024-06-30"
    )]
    All {
        /// Database: sqlite://FILE or postgres://USER@HOST/DB
        #[arg(
            long,
            env = "DEALERBASE_DATABASE_URL",
            default_value = "sqlite://dealerbase.db"
        )]
        database_url: String,
        /// Snapshot date (YYYY-MM-DD); facts after it are ignored. Default: today
        #[arg(long, env = "DEALERBASE_MINE_AS_OF")]
        as_of: Option<String>,
    },
}

pub fn run(cmd: MineCommand) -> Result<()> {
    match cmd {
        MineCommand::All {
            database_url,
            as_of,
        } => all(&database_url, as_of.as_deref()),
        MineCommand::Rfm {
            transactions,
            as_of,
            out,
            lang,
        } => rfm(&transactions, as_of.as_deref(), &out, parse_lang(&lang)?),
        MineCommand::Clv {
            transactions,
            calibration_end,
            period,
            horizon,
            discount_rate,
            out,
            params_out,
        } => clv(
            &transactions,
            &calibration_end,
            &period,
            horizon,
            discount_rate,
            &out,
            params_out.as_deref(),
        ),
        MineCommand::Survival {
            durations,
            group_col,
            out,
            summary_out,
        } => survival(
            &durations,
            group_col.as_deref(),
            &out,
            summary_out.as_deref(),
        ),
        MineCommand::Rules {
            baskets,
            min_support,
            min_confidence,
            min_lift,
            max_len,
            out,
        } => rules(
            &baskets,
            min_support,
            min_confidence,
            min_lift,
            max_len,
            &out,
        ),
        MineCommand::Segments {
            features,
            k,
            restarts,
            seed,
            out,
            profile_out,
            lang,
        } => segments(
            &features,
            &k,
            restarts,
            seed,
            &out,
            profile_out.as_deref(),
            parse_lang(&lang)?,
        ),
    }
}

fn parse_lang(text: &str) -> Result<Lang> {
    Lang::parse(text).with_context(|| format!("--lang must be zh or en, not {text:?}"))
}

fn parse_day(text: &str, flag: &str) -> Result<i32> {
    mining::date::parse_date(text)
        .with_context(|| format!("{flag}: not a date: {text:?} (use YYYY-MM-DD)"))
}

/// A spinner on stderr (hidden when stderr is not a terminal) that names the current step.
fn spinner() -> ProgressBar {
    let pb = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
        pb.set_style(style);
    }
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

fn read<T>(
    path: &Path,
    pb: &ProgressBar,
    parse: impl FnOnce(&mut dyn std::io::Read) -> mining::Result<T>,
) -> Result<T> {
    pb.set_message(format!("reading {}", path.display()));
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    parse(&mut BufReader::with_capacity(1 << 20, file))
        .with_context(|| format!("{}", path.display()))
}

fn write(
    path: &Path,
    pb: &ProgressBar,
    body: impl FnOnce(&mut dyn Write) -> mining::Result<()>,
) -> Result<()> {
    pb.set_message(format!("writing {}", path.display()));
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    body(&mut w).with_context(|| format!("writing {}", path.display()))?;
    w.flush()
        .with_context(|| format!("writing {}", path.display()))
}

fn rfm(transactions: &Path, as_of: Option<&str>, out: &Path, lang: Lang) -> Result<()> {
    let pb = spinner();
    let tx = read(transactions, &pb, files::read_transactions)?;
    let as_of = match as_of {
        Some(text) => parse_day(text, "--as-of")?,
        None => tx.date.iter().copied().max().unwrap_or_default(),
    };
    pb.set_message("scoring");
    let table = mining::rfm::rfm(
        &tx.customer,
        &tx.date,
        &tx.amount,
        as_of,
        Default::default(),
    )?;
    write(out, &pb, |w| {
        files::write_rfm(w, &table, &tx.customers, lang)
    })?;
    pb.finish_and_clear();
    say!(
        "RFM as of {} for {} customers ({} transactions) → {}",
        mining::date::format_date(as_of),
        table.len(),
        tx.customer.len(),
        out.display()
    );
    for (segment, count) in mining::rfm::segment_counts(&table) {
        say!(
            "  {:<10} {:<20} {:>9} {:>6.1}%",
            segment.name_zh(),
            segment.name_en(),
            count,
            100.0 * count as f64 / table.len() as f64
        );
    }
    Ok(())
}

fn clv(
    transactions: &Path,
    calibration_end: &str,
    period: &str,
    horizon: Option<f64>,
    discount_rate: f64,
    out: &Path,
    params_out: Option<&Path>,
) -> Result<()> {
    let end = parse_day(calibration_end, "--calibration-end")?;
    let period = mining::clv::Period::parse(period)
        .with_context(|| format!("--period must be day, week or month, not {period:?}"))?;
    let horizon = horizon.unwrap_or(match period {
        mining::clv::Period::Day => 365.0,
        mining::clv::Period::Week => 52.0,
        mining::clv::Period::Month => 12.0,
    });
    let pb = spinner();
    let tx = read(transactions, &pb, files::read_transactions)?;
    pb.set_message("summarising customers");
    let summary = mining::clv::summarize(&tx.customer, &tx.date, &tx.amount, end, period)?;
    pb.set_message(format!("fitting BG/NBD on {} customers", summary.len()));
    let bg = mining::clv::fit_bgnbd(&summary, period)?;
    pb.set_message("fitting Gamma-Gamma");
    let gg = mining::clv::fit_gamma_gamma(&summary)?;
    pb.set_message("predicting");
    let pred = mining::clv::predict(&summary, &bg.params, &gg.params, horizon, discount_rate)?;
    write(out, &pb, |w| {
        files::write_clv(w, &summary, &pred, &tx.customers)
    })?;
    let params = files::ClvParams {
        calibration_end: mining::date::format_date(end),
        period,
        horizon,
        discount_rate,
        bgnbd: bg,
        gamma_gamma: gg,
    };
    if let Some(path) = params_out {
        write(path, &pb, |w| files::write_json(w, &params))?;
    }
    pb.finish_and_clear();
    let (b, g) = (&params.bgnbd, &params.gamma_gamma);
    say!(
        "CLV for {} customers over {horizon} {}s → {}",
        summary.len(),
        period.name(),
        out.display()
    );
    say!(
        "  BG/NBD       r = {:.4} ({:.4})  alpha = {:.4} ({:.4})  a = {:.4} ({:.4})  b = {:.4} ({:.4})  log-likelihood {:.2}",
        b.params.r,
        b.std_errors.r,
        b.params.alpha,
        b.std_errors.alpha,
        b.params.a,
        b.std_errors.a,
        b.params.b,
        b.std_errors.b,
        b.log_likelihood
    );
    say!(
        "  Gamma-Gamma  p = {:.4} ({:.4})  q = {:.4} ({:.4})  v = {:.4} ({:.4})  on {} repeat customers",
        g.params.p,
        g.std_errors.p,
        g.params.q,
        g.std_errors.q,
        g.params.v,
        g.std_errors.v,
        g.customers
    );
    say!(
        "  total CLV {:.2}",
        pred.clv.iter().filter(|v| v.is_finite()).sum::<f64>()
    );
    Ok(())
}

#[derive(serde::Serialize)]
struct SurvivalSummary {
    groups: Vec<GroupSummary>,
    log_rank: Option<mining::survival::LogRank>,
}

#[derive(serde::Serialize)]
struct GroupSummary {
    group: String,
    subjects: u64,
    events: u64,
    median: Option<f64>,
}

fn survival(
    durations: &Path,
    group_col: Option<&str>,
    out: &Path,
    summary_out: Option<&Path>,
) -> Result<()> {
    let pb = spinner();
    let d = read(durations, &pb, |r| files::read_durations(r, group_col))?;
    pb.set_message("estimating");
    let mut curves = mining::survival::kaplan_meier(&d.duration, &d.event, d.group.as_deref())?;
    let groups = d.group.as_ref().map(|_| &d.groups);
    if let Some(names) = groups {
        curves.sort_by(|a, b| names.name(a.group).cmp(names.name(b.group)));
    }
    let log_rank = match &d.group {
        Some(g) if d.groups.len() >= 2 => {
            Some(mining::survival::log_rank(&d.duration, &d.event, g)?)
        }
        _ => None,
    };
    write(out, &pb, |w| files::write_km(w, &curves, groups))?;
    let summary = SurvivalSummary {
        groups: curves
            .iter()
            .map(|c| GroupSummary {
                group: groups.map_or(String::new(), |n| n.name(c.group).to_string()),
                subjects: c.at_risk.first().copied().unwrap_or(0),
                events: c.events.iter().sum(),
                median: c.median,
            })
            .collect(),
        log_rank,
    };
    if let Some(path) = summary_out {
        write(path, &pb, |w| files::write_json(w, &summary))?;
    }
    pb.finish_and_clear();
    say!(
        "Kaplan-Meier for {} subjects → {}",
        d.duration.len(),
        out.display()
    );
    for g in &summary.groups {
        let median = g
            .median
            .map_or("not reached".to_string(), |m| m.to_string());
        let name = if g.group.is_empty() { "all" } else { &g.group };
        say!(
            "  {name:<12} subjects {:>9}  events {:>9}  median {median}",
            g.subjects,
            g.events
        );
    }
    if let Some(lr) = &summary.log_rank {
        say!(
            "  log-rank chi-square {:.3}, df {}, p = {:.4e}",
            lr.chi_square,
            lr.df,
            lr.p_value
        );
    }
    Ok(())
}

fn rules(
    baskets: &Path,
    min_support: f64,
    min_confidence: f64,
    min_lift: f64,
    max_len: Option<usize>,
    out: &Path,
) -> Result<()> {
    let pb = spinner();
    let b = read(baskets, &pb, files::read_baskets)?;
    pb.set_message(format!("mining {} baskets", b.baskets.len()));
    let sets = mining::fpgrowth::frequent_itemsets(&b.baskets, min_support, max_len)?;
    let rules =
        mining::fpgrowth::association_rules(&sets, b.baskets.len(), min_confidence, min_lift)?;
    write(out, &pb, |w| files::write_rules(w, &rules, &b.items))?;
    pb.finish_and_clear();
    say!(
        "{} baskets, {} items, {} frequent itemsets, {} rules → {}",
        b.baskets.len(),
        b.items.len(),
        sets.len(),
        rules.len(),
        out.display()
    );
    for r in rules.iter().take(5) {
        say!(
            "  {} → {}  support {:.4}  confidence {:.3}  lift {:.2}",
            files::join_items(&r.antecedent, &b.items),
            files::join_items(&r.consequent, &b.items),
            r.support,
            r.confidence,
            r.lift
        );
    }
    Ok(())
}

fn segments(
    features: &Path,
    k: &str,
    restarts: usize,
    seed: u64,
    out: &Path,
    profile_out: Option<&Path>,
    lang: Lang,
) -> Result<()> {
    use mining::kmeans::{KChoice, KMeansOptions};
    let k = if k.eq_ignore_ascii_case("auto") {
        KChoice::Auto { min: 2, max: 8 }
    } else {
        match k.parse::<usize>() {
            Ok(n) if n >= 1 => KChoice::Fixed(n),
            _ => bail!("--k must be a positive number or auto, not {k:?}"),
        }
    };
    let pb = spinner();
    let table = read(features, &pb, |r| files::read_features(r, None))?;
    pb.set_message(format!("k-means on {} rows", table.ids.len()));
    let options = KMeansOptions {
        k,
        restarts,
        seed,
        ..KMeansOptions::default()
    };
    let seg = mining::kmeans::segment(&table.column_refs(), &options)?;
    write(out, &pb, |w| files::write_segments(w, &seg, &table.ids))?;
    if let Some(path) = profile_out {
        write(path, &pb, |w| {
            files::write_segment_profiles(w, &seg, &table.names, lang)
        })?;
    }
    pb.finish_and_clear();
    let silhouette = seg
        .silhouette
        .map_or("n/a".to_string(), |s| format!("{s:.3}"));
    say!(
        "{} segments for {} rows (silhouette {silhouette}) → {}",
        seg.k,
        table.ids.len(),
        out.display()
    );
    for (k, s) in &seg.silhouette_by_k {
        say!("  k = {k}: silhouette {s:.3}");
    }
    for p in &seg.profiles {
        say!(
            "  segment {}: {} rows ({:.1}%): {}",
            p.segment,
            p.size,
            100.0 * p.share,
            files::describe_profile(p, &table.names, lang)
        );
    }
    Ok(())
}

/// `mine all`: the service's snapshot on the dealer database, with a spinner naming the
/// step. `run` is synchronous (the file commands need no runtime), so this builds its own.
fn all(database_url: &str, as_of: Option<&str>) -> Result<()> {
    use dealerbase_domain::{Clock, SystemClock};
    let as_of = match as_of {
        Some(text) => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .with_context(|| format!("--as-of: not a date: {text:?} (use YYYY-MM-DD)"))?,
        None => SystemClock.today(),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async {
        let db = dealerbase_store::Db::open(database_url)
            .await
            .with_context(|| format!("opening {database_url}"))?;
        let svc = dealerbase_service::Services::new(db, std::sync::Arc::new(SystemClock));
        let pb = spinner();
        let report = svc
            .mine_all(as_of, |step| pb.set_message(step.to_string()))
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        pb.finish_and_clear();
        if report.in_progress {
            say!("a snapshot for {as_of} is being computed by another run; nothing to do");
            return Ok(());
        }
        if report.skipped {
            say!("snapshot for {as_of} already exists; nothing to do");
            return Ok(());
        }
        let f = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.3}"));
        say!(
            "snapshot {as_of}: {} customers scored from {} visits in {:.1} s",
            report.customers,
            report.visits,
            report.seconds
        );
        say!(
            "churn model AUC {} (recency alone {}, BG/NBD P(alive) {}), Brier {}; trade-in AUC {}; revenue Gini {}",
            f(report.churn_auc),
            f(report.recency_auc),
            f(report.p_alive_auc),
            f(report.churn_brier),
            f(report.trade_in_auc),
            f(report.gini)
        );
        Ok(())
    })
}
