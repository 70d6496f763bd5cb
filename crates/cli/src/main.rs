//! `dealerbase`: the command line. A thin shell over the services: it parses flags (each
//! also readable from a `DEALERBASE_*` environment variable), opens the database, and
//! calls the same code the web application calls.

mod aftersales;
mod bench;
mod bench_management;
mod bench_marketing;
mod bench_sales;
mod export;
mod import;
mod loyalty;
mod mine;
mod outbox;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use dealerbase_domain::SystemClock;
use dealerbase_domain::model::Role;
use dealerbase_service::Services;
use dealerbase_store::Db;
use indicatif::{ProgressBar, ProgressStyle};
use std::sync::Arc;

// The import, the demo and the miner allocate many small strings on several threads:
// glibc's allocator took a third of an import's instructions (callgrind), mimalloc far less.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "dealerbase",
    version,
    about = "CRM and customer-database mining for car dealerships and dealer groups."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct DbArgs {
    /// Database: sqlite://FILE (created if missing) or postgres://USER@HOST/DB
    #[arg(
        long,
        env = "DEALERBASE_DATABASE_URL",
        default_value = "sqlite://dealerbase.db"
    )]
    database_url: String,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web application and the JSON API.
    #[command(after_help = "Example: dealerbase serve --demo --bind 127.0.0.1:8080")]
    Serve {
        #[command(flatten)]
        db: DbArgs,
        /// Address to listen on
        #[arg(long, env = "DEALERBASE_BIND", default_value = "127.0.0.1:8080")]
        bind: String,
        /// Fill an empty database with the demo dealer group first
        #[arg(long, env = "DEALERBASE_DEMO")]
        demo: bool,
        /// Number of demo customers when --demo fills the database
        #[arg(long, env = "DEALERBASE_DEMO_CUSTOMERS", default_value_t = 5000)]
        demo_customers: u64,
        #[command(flatten)]
        messaging: outbox::MessagingArgs,
    },
    /// Generate the demo dealer group (seeded, deterministic) into an empty database.
    #[command(
        after_help = "Example: dealerbase demo --customers 100000 --stores 12 --seed 7 --database-url sqlite://demo.db"
    )]
    Demo {
        #[command(flatten)]
        db: DbArgs,
        /// Number of customers
        #[arg(long, env = "DEALERBASE_DEMO_CUSTOMERS", default_value_t = 5000)]
        customers: u64,
        /// Number of stores (brands rotate across stores)
        #[arg(long, env = "DEALERBASE_DEMO_STORES", default_value_t = 8)]
        stores: u32,
        /// Random seed: the same seed and date give the same data
        #[arg(long, env = "DEALERBASE_DEMO_SEED", default_value_t = 42)]
        seed: u64,
        /// The demo's "today" (YYYY-MM-DD); five years of history end here. Default: today
        #[arg(long, env = "DEALERBASE_DEMO_AS_OF")]
        as_of: Option<String>,
    },
    /// Apply pending database migrations (also done automatically by serve and demo).
    #[command(
        after_help = "Example: dealerbase migrate --database-url postgres://postgres@127.0.0.1/dealerbase"
    )]
    Migrate {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Manage users (staff accounts).
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Measure search and customer-360 latency (p50/p95) on an existing database.
    #[command(
        after_help = "Example: dealerbase demo --customers 1000000 --database-url sqlite://big.db && dealerbase bench --database-url sqlite://big.db"
    )]
    Bench {
        #[command(flatten)]
        db: DbArgs,
        /// Number of customers to sample
        #[arg(long, default_value_t = 500)]
        samples: u32,
        /// customers (searches and the 360 document), sales (analytics and traffic pages),
        /// aftersales (the daily reminder generation, twice) or management (the group's
        /// management dashboard for a month, a store's, the monthly report)
        #[arg(long, default_value = "customers")]
        scenario: String,
        /// The day the aftersales scenario generates for, or whose month the management
        /// scenario ends with (YYYY-MM-DD); default today
        #[arg(long)]
        as_of: Option<String>,
    },
    /// After-sales retention: run the day's reminder and follow-up generation now.
    #[command(subcommand)]
    Aftersales(AftersalesCommand),
    /// Messaging: send what is due from the outbox now (as `serve` does every 30 s).
    #[command(
        after_help = "Example: dealerbase outbox --sms-url http://gateway.local/send --database-url sqlite://dealerbase.db"
    )]
    Outbox {
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        messaging: outbox::MessagingArgs,
    },
    /// Mine customer data in plain files (RFM, CLV, survival, association rules, segments).
    #[command(subcommand)]
    Mine(mine::MineCommand),
    /// Import DMS exports (validated, de-duplicated, merged, resumable).
    #[command(subcommand)]
    Import(import::ImportCommand),
    /// Export lists (masked, filtered, audited) to CSV or XLSX.
    #[command(subcommand)]
    Export(export::ExportCommand),
    /// Loyalty points: accrue points for settled work orders and delivered sales now.
    #[command(subcommand)]
    Loyalty(loyalty::LoyaltyCommand),
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user. The password is read from DEALERBASE_PASSWORD or asked for on the terminal.
    #[command(
        after_help = "Example: dealerbase user add --login wang.li --name 王丽 --role sales_consultant --store S01"
    )]
    Add {
        #[command(flatten)]
        db: DbArgs,
        /// Sign-in name (letters, digits, . _ - @)
        #[arg(long)]
        login: String,
        /// Display name; defaults to the login
        #[arg(long, default_value = "")]
        name: String,
        /// sales_consultant | sales_manager | service_advisor | care_specialist | marketing | general_manager | group | admin
        #[arg(long)]
        role: String,
        /// Store code (e.g. S01); not needed for group and admin
        #[arg(long)]
        store: Option<String>,
        #[arg(long, env = "DEALERBASE_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
}

#[derive(Subcommand)]
enum AftersalesCommand {
    /// Generate the day's reminders, care and follow-up calls, no-shows, escalations and
    /// the maintenance prediction (idempotent; `serve` runs it nightly under the job lock).
    #[command(after_help = "Example: dealerbase aftersales generate --as-of 2026-11-23")]
    Generate {
        #[command(flatten)]
        db: DbArgs,
        /// The day to generate for (YYYY-MM-DD); default today
        #[arg(long)]
        as_of: Option<String>,
    },
}

fn as_of_date(s: Option<String>) -> Result<chrono::NaiveDate> {
    match s {
        Some(s) => dealerbase_domain::dates::parse_dms_date("--as-of", &s)
            .map_err(|e| anyhow::anyhow!("{e}")),
        None => Ok(chrono::Local::now().date_naive()),
    }
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API token for a user and print it once.
    #[command(after_help = "Example: dealerbase token create --login admin --label reporting")]
    Create {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        login: String,
        #[arg(long, default_value = "")]
        label: String,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DEALERBASE_LOG")
                .unwrap_or_else(|_| "info,sqlx=error".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Mine(cmd) => mine::run(cmd),
        other => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("starting the runtime")
            .and_then(|rt| rt.block_on(run(other))),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn open(db: &DbArgs) -> Result<Db> {
    Db::open(&db.database_url)
        .await
        .with_context(|| format!("opening {}", db.database_url))
}

fn services(db: Db) -> Services {
    Services::new(db, Arc::new(SystemClock))
}

async fn run(cmd: Command) -> Result<()> {
    match cmd {
        Command::Serve {
            db,
            bind,
            demo,
            demo_customers,
            messaging,
        } => {
            let messaging = messaging.config()?;
            let database = open(&db).await?;
            if demo && database.is_empty().await? {
                run_demo(
                    &database,
                    demo_customers,
                    8,
                    42,
                    chrono::Local::now().date_naive(),
                )
                .await?;
            }
            let listener = tokio::net::TcpListener::bind(&bind)
                .await
                .with_context(|| format!("listening on {bind}"))?;
            eprintln!("dealerbase is serving on http://{}", listener.local_addr()?);
            if database.is_empty().await? {
                eprintln!(
                    "The database is empty. Create the administrator with:\n  dealerbase user add --login admin --role admin --database-url {}",
                    db.database_url
                );
            }
            let svc = services(database).with_messaging(messaging);
            spawn_daily_jobs(svc.clone());
            outbox::spawn_outbox_dispatcher(svc.clone());
            dealerbase_web::serve(listener, svc).await?;
            Ok(())
        }
        Command::Demo {
            db,
            customers,
            stores,
            seed,
            as_of,
        } => {
            let as_of = match as_of {
                Some(s) => dealerbase_domain::dates::parse_dms_date("--as-of", &s)
                    .map_err(|e| anyhow::anyhow!("{e}"))?,
                None => chrono::Local::now().date_naive(),
            };
            let database = open(&db).await?;
            run_demo(&database, customers, stores, seed, as_of).await
        }
        Command::Migrate { db } => {
            let database = open(&db).await?;
            eprintln!(
                "migrations applied: {:?}",
                database.migrations_applied().await?
            );
            Ok(())
        }
        Command::User(UserCommand::Add {
            db,
            login,
            name,
            role,
            store,
            password,
        }) => {
            let role = Role::parse("--role", &role).map_err(|e| anyhow::anyhow!("{e}"))?;
            let database = open(&db).await?;
            let group_id = match database.groups().await?.first() {
                Some(g) => g.id,
                None => {
                    database
                        .create_group("dealer group", chrono::Utc::now())
                        .await?
                }
            };
            let store_id = match store {
                Some(code) => Some(
                    database
                        .store_by_code(&code)
                        .await?
                        .with_context(|| format!("--store {code:?}: no store has this code"))?
                        .id,
                ),
                None => None,
            };
            let password = match password {
                Some(p) => p,
                None => read_password()?,
            };
            let svc = services(database);
            let id = svc
                .add_user(group_id, store_id, &login, &name, role, &password)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.message(dealerbase_domain::Lang::En)))?;
            eprintln!("user {login} created (id {id}, role {})", role.code());
            Ok(())
        }
        Command::Token(TokenCommand::Create { db, login, label }) => {
            let database = open(&db).await?;
            let staff = database
                .staff_by_login(&login)
                .await?
                .with_context(|| format!("--login {login:?}: no such user"))?;
            let token = services(database)
                .issue_api_token(staff.id, &label)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{token}");
            Ok(())
        }
        Command::Import(cmd) => import::run(cmd).await,
        Command::Export(cmd) => export::run(cmd).await,
        Command::Loyalty(cmd) => loyalty::run(cmd).await,
        Command::Bench {
            db,
            scenario,
            as_of,
            ..
        } if scenario == "aftersales" => {
            let as_of = as_of_date(as_of)?;
            let database = open(&db).await?;
            let svc = Services::new(database, Arc::new(dealerbase_domain::FixedClock::on(as_of)));
            aftersales::bench(&svc, as_of).await
        }
        Command::Outbox { db, messaging } => {
            let config = messaging.config()?;
            let database = open(&db).await?;
            let report = services(database)
                .with_messaging(config)
                .run_outbox()
                .await?;
            println!("{}", serde_json::to_string(&report)?);
            Ok(())
        }
        Command::Aftersales(AftersalesCommand::Generate { db, as_of }) => {
            let as_of = as_of_date(as_of)?;
            let database = open(&db).await?;
            aftersales::generate(&services(database), as_of).await
        }
        Command::Bench {
            db,
            samples,
            scenario,
            as_of,
        } => {
            let database = open(&db).await?;
            let customers = database.max_id("customer").await?;
            let leads = database.max_id("lead").await?;
            let reports = match scenario.as_str() {
                "customers" => bench::run(&services(database), samples).await?,
                "sales" => bench_sales::run(&services(database), samples).await?,
                "segments" => bench_marketing::run(&services(database), samples).await?,
                "campaigns" => vec![bench_marketing::prepare(&services(database)).await?],
                "management" => match as_of {
                    Some(_) => {
                        let day = as_of_date(as_of)?;
                        let svc = Services::new(
                            database,
                            Arc::new(dealerbase_domain::FixedClock::on(day)),
                        );
                        bench_management::run(&svc, samples).await?
                    }
                    None => bench_management::run(&services(database), samples).await?,
                },
                other => {
                    bail!("--scenario {other:?}: use customers, sales, aftersales or management")
                }
            };
            println!(
                "| operation ({customers} customers, {leads} leads) | samples | p50 ms | p95 ms | max ms |\n|---|---|---|---|---|"
            );
            for r in reports {
                let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
                println!(
                    "| {} | {} | {:.2} | {:.2} | {:.2} |",
                    r.name,
                    r.samples,
                    ms(r.p50),
                    ms(r.p95),
                    ms(r.max)
                );
            }
            Ok(())
        }
        Command::Mine(_) => bail!("mine runs without the async runtime"),
    }
}

/// Every instance tries the daily jobs each quarter hour; the job lock in the database makes
/// one of them run each job once a day.
fn spawn_daily_jobs(svc: Services) {
    let holder = format!(
        "{}-{}",
        std::env::var("HOSTNAME").unwrap_or_else(|_| "dealerbase".into()),
        std::process::id()
    );
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(15 * 60));
        loop {
            tick.tick().await;
            if let Err(e) = svc.run_daily_jobs(&holder).await {
                tracing::error!(error = %e, "daily jobs failed; retrying at the next tick");
            }
        }
    });
}

fn read_password() -> Result<String> {
    use std::io::{BufRead, IsTerminal, Write};
    if std::io::stdin().is_terminal() {
        eprint!("Password (at least 8 characters; it is shown as you type): ");
        std::io::stderr().flush()?;
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let p = line.trim_end_matches(['\r', '\n']).to_string();
    if p.is_empty() {
        bail!("no password given: set DEALERBASE_PASSWORD or type one");
    }
    Ok(p)
}

async fn run_demo(
    db: &Db,
    customers: u64,
    stores: u32,
    seed: u64,
    as_of: chrono::NaiveDate,
) -> Result<()> {
    let bar = ProgressBar::new(customers);
    bar.set_style(
        ProgressStyle::with_template("demo {bar:40} {pos}/{len} customers  {per_sec}  eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let opts = dealerbase_demo::DemoOptions {
        customers,
        stores,
        seed,
        as_of,
        batch: 1000,
    };
    let b = bar.clone();
    let summary = dealerbase_demo::generate(db, &opts, move |n| b.set_position(n)).await?;
    bar.finish();
    for (table, n) in &summary.counts {
        eprintln!("  {table:<18} {n:>10}");
    }
    eprintln!(
        "Demo accounts (password {}):",
        dealerbase_demo::DEMO_PASSWORD
    );
    for l in summary
        .logins
        .iter()
        .filter(|l| !l.login.contains(".sales") || l.login.ends_with(".sales1"))
        .take(14)
    {
        eprintln!(
            "  {:<18} {:<14} {}",
            l.login,
            l.role.label(dealerbase_domain::Lang::Zh),
            l.store.as_deref().unwrap_or("集团")
        );
    }
    Ok(())
}
