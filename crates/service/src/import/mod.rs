//! Importing DMS exports: customers, vehicles, sales, work orders (one row per line, rows
//! of one work order sharing its number) and insurance policies, from CSV (UTF-8 with or
//! without BOM, GBK/GB18030) or XLSX.
//!
//! Every kind goes the same way: the file is streamed (`read.rs`), headers are matched
//! against the usual Chinese and English names or a mapping file, each row is validated
//! with the domain rules, rows are grouped into batches, and each batch is written in one
//! transaction together with the run's progress and its rejected rows, so a killed import
//! leaves whole batches only and a rerun of the same file resumes after the last one.
//! Customers are recognised within the file and against the database by mobile, ID number
//! or the VIN of a vehicle they own; a value in the file fills an empty field or replaces
//! an older one, and each change is recorded. Re-importing a file changes nothing.
//!
//! `--dry-run` runs the same code and writes nothing; `--all-or-nothing` runs a dry pass
//! first and writes only if no row was rejected.

mod customers;
pub mod read;
mod records;
mod upload;

pub(crate) use customers::changes as field_changes;
pub use upload::UploadRequest;

pub use read::Mapping;

use crate::{Actor, Result, ServiceError, Services};
use dealerbase_domain::model::Role;
use dealerbase_domain::{Lang, Rule, ValidationError};
use dealerbase_store::Id;
pub use dealerbase_store::import::{ImportCounts, ImportProblem as RowProblem, ImportRun};
use dealerbase_store::import::{ImportProblem, NewImportRun};
use read::{RowResult, Source};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;
use utoipa::ToSchema;

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ImportKind {
    Customers,
    Vehicles,
    Sales,
    WorkOrders,
    Policies,
}

impl ImportKind {
    pub const ALL: &'static [ImportKind] = &[
        ImportKind::Customers,
        ImportKind::Vehicles,
        ImportKind::Sales,
        ImportKind::WorkOrders,
        ImportKind::Policies,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ImportKind::Customers => "customers",
            ImportKind::Vehicles => "vehicles",
            ImportKind::Sales => "sales",
            ImportKind::WorkOrders => "work-orders",
            ImportKind::Policies => "policies",
        }
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (ImportKind::Customers, Lang::Zh) => "客户",
            (ImportKind::Vehicles, Lang::Zh) => "车辆",
            (ImportKind::Sales, Lang::Zh) => "销售订单",
            (ImportKind::WorkOrders, Lang::Zh) => "维修工单",
            (ImportKind::Policies, Lang::Zh) => "保险保单",
            (ImportKind::Customers, Lang::En) => "Customers",
            (ImportKind::Vehicles, Lang::En) => "Vehicles",
            (ImportKind::Sales, Lang::En) => "Sales",
            (ImportKind::WorkOrders, Lang::En) => "Work orders",
            (ImportKind::Policies, Lang::En) => "Insurance policies",
        }
    }

    pub fn parse(s: &str) -> Result<ImportKind> {
        let t = s.trim().to_ascii_lowercase().replace('_', "-");
        ImportKind::ALL
            .iter()
            .copied()
            .find(|k| k.code() == t || (t == "work-order" && *k == ImportKind::WorkOrders))
            .ok_or_else(|| {
                ServiceError::invalid(ValidationError::new(
                    "kind",
                    s,
                    Rule::OneOf {
                        allowed: ImportKind::ALL.iter().map(|k| k.code().into()).collect(),
                    },
                ))
            })
    }

    /// Columns without which the file cannot be imported at all.
    fn required_columns(self) -> &'static [&'static [&'static str]] {
        match self {
            ImportKind::Customers => &[&["name"]],
            ImportKind::Vehicles => &[&["vin"]],
            ImportKind::Sales => &[&["order_no", "vin"], &["ordered_on"]],
            ImportKind::WorkOrders => {
                &[&["number"], &["vin", "plate"], &["opened_on", "settled_on"]]
            }
            ImportKind::Policies => &[&["policy_no"], &["vin", "plate"], &["end_date"]],
        }
    }
}

/// How an import treats rejected rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportMode {
    /// Keep the valid rows, report the rejected ones.
    #[default]
    Write,
    /// Write nothing, report the same.
    DryRun,
    /// Write nothing if any row is rejected.
    AllOrNothing,
}

impl ImportMode {
    pub fn code(self) -> &'static str {
        match self {
            ImportMode::Write => "write",
            ImportMode::DryRun => "dry_run",
            ImportMode::AllOrNothing => "all_or_nothing",
        }
    }
    pub fn parse(s: &str) -> Result<ImportMode> {
        match s.trim() {
            "" | "write" => Ok(ImportMode::Write),
            "dry_run" | "dry-run" => Ok(ImportMode::DryRun),
            "all_or_nothing" | "all-or-nothing" => Ok(ImportMode::AllOrNothing),
            other => Err(ServiceError::invalid(ValidationError::new(
                "mode",
                other,
                Rule::OneOf {
                    allowed: vec!["write".into(), "dry_run".into(), "all_or_nothing".into()],
                },
            ))),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub store_id: Option<Id>,
    pub mapping: Option<Mapping>,
    pub dry_run: bool,
    pub all_or_nothing: bool,
    /// Sheet of an XLSX file (default: the first).
    pub sheet: Option<String>,
    /// Rows per transaction.
    pub batch_size: usize,
    pub lang: Lang,
    /// A run created beforehand (the upload page) that this import reports into.
    pub run_id: Option<Id>,
    /// Tests only: the write of the k-th customer batch starts `test_write_delays[k]` later
    /// (the last value for every later batch), so that the next batch is looked up before
    /// the previous one commits, or a batch is written before the one ahead of it.
    #[doc(hidden)]
    pub test_write_delays: Vec<std::time::Duration>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            store_id: None,
            mapping: None,
            dry_run: false,
            all_or_nothing: false,
            sheet: None,
            batch_size: 10_000,
            lang: Lang::Zh,
            run_id: None,
            test_write_delays: Vec::new(),
        }
    }
}

impl ImportOptions {
    fn mode(&self) -> ImportMode {
        if self.dry_run {
            ImportMode::DryRun
        } else if self.all_or_nothing {
            ImportMode::AllOrNothing
        } else {
            ImportMode::Write
        }
    }
}

/// Problems kept in a summary; beyond this they are counted (and, for a run, stored).
pub const MAX_PROBLEMS_IN_SUMMARY: usize = 100_000;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct ImportSummary {
    pub run_id: Option<Id>,
    pub kind: String,
    pub encoding: String,
    /// Data rows read (blank rows are skipped and not counted).
    pub read: i64,
    pub inserted: i64,
    pub updated: i64,
    pub unchanged: i64,
    /// Rows folded into an earlier row of the same file.
    pub merged: i64,
    pub rejected: i64,
    /// Customers created as owners (vehicles, sales, work orders, policies).
    pub customers_created: i64,
    /// Whether anything was written (false for a dry run or a refused all-or-nothing run).
    pub written: bool,
    /// Rows skipped because an interrupted run of the same file had committed them.
    pub resumed_after: i64,
    pub unknown_columns: Vec<String>,
    /// The rejected rows' problems (the first [`MAX_PROBLEMS_IN_SUMMARY`]).
    pub problems: Vec<RowProblem>,
}

/// One cell of a source row that feeds a field.
#[derive(Debug, Clone)]
pub(crate) struct Cell {
    pub field: &'static str,
    /// Shared by every row of the file (one allocation per column, not per cell).
    pub header: std::sync::Arc<str>,
    pub value: String,
}

/// A row read from the file.
#[derive(Debug, Clone)]
pub(crate) struct SourceRow {
    /// How many records were consumed up to and including this one (the resume point).
    pub ordinal: i64,
    pub line: u64,
    pub cells: Vec<Cell>,
    /// A record that could not be parsed, with the reason.
    pub broken: Option<String>,
}

impl SourceRow {
    /// The trimmed, non-empty value of a field.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.cells
            .iter()
            .find(|c| c.field == field)
            .map(|c| c.value.trim())
            .filter(|v| !v.is_empty())
    }
    /// The header a field came from (to name the column of a problem).
    pub fn header(&self, field: &str) -> String {
        self.cells
            .iter()
            .find(|c| c.field == field)
            .map(|c| c.header.to_string())
            .unwrap_or_else(|| field.to_string())
    }
}

/// A compact key for "seen in this pass" sets: 8 bytes per key instead of the string.
pub(crate) fn key_hash(prefix: &str, key: &str) -> u64 {
    let mut h = DefaultHasher::new();
    prefix.hash(&mut h);
    key.hash(&mut h);
    h.finish()
}

/// State kept across the batches of one pass.
#[derive(Default)]
pub(crate) struct PassState {
    pub counts: ImportCounts,
    /// Problems of the batch being processed (written with it).
    pub batch_problems: Vec<ImportProblem>,
    pub problems: Vec<ImportProblem>,
    /// Keys of records created or matched earlier in this pass: a later row with the same
    /// key is a duplicate within the file (counted as merged).
    pub seen: HashSet<u64>,
    /// Keys of customers created in this pass (so a pass that writes nothing counts each
    /// new customer once).
    pub created_customers: HashSet<u64>,
}

impl PassState {
    pub fn reject(&mut self, line: u64, column: String, value: String, reason: String) {
        self.batch_problems.push(ImportProblem {
            line: line as i64,
            column,
            value,
            reason,
        });
    }
    /// Moves the batch's problems into the summary (up to its limit) and returns them.
    fn flush_problems(&mut self) -> Vec<ImportProblem> {
        let batch = std::mem::take(&mut self.batch_problems);
        let room = MAX_PROBLEMS_IN_SUMMARY.saturating_sub(self.problems.len());
        self.problems.extend(batch.iter().take(room).cloned());
        batch
    }
}

/// What a pass needs besides its state.
pub(crate) struct PassCtx<'a> {
    pub opts: &'a ImportOptions,
    pub store: dealerbase_store::Store,
    pub write: bool,
    pub run_id: Option<Id>,
    pub kind: ImportKind,
}

impl PassCtx<'_> {
    pub fn lang(&self) -> Lang {
        self.opts.lang
    }
    /// Text in the import's language.
    pub fn say(&self, zh: &str, en: &str) -> String {
        match self.opts.lang {
            Lang::Zh => zh.to_string(),
            Lang::En => en.to_string(),
        }
    }
}

/// Roles that may import files, merge customers by hand and review merges.
pub fn may_import(role: Role) -> bool {
    matches!(
        role,
        Role::Admin | Role::GeneralManager | Role::SalesManager | Role::Group
    )
}

impl Services {
    /// Imports customers from a CSV or XLSX file (kept for callers of the first version).
    pub async fn import_customers(
        &self,
        actor: &Actor,
        path: &Path,
        opts: &ImportOptions,
    ) -> Result<ImportSummary> {
        self.import_file(actor, ImportKind::Customers, path, opts)
            .await
    }

    /// Imports a file of some kind into a store (the actor's unless given). Only
    /// administrators, group staff, general managers and sales managers may import.
    pub async fn import_file(
        &self,
        actor: &Actor,
        kind: ImportKind,
        path: &Path,
        opts: &ImportOptions,
    ) -> Result<ImportSummary> {
        if !may_import(actor.role) {
            return Err(ServiceError::Forbidden("import data"));
        }
        let Some(store_id) = opts.store_id.or(actor.store_id) else {
            return Err(ServiceError::invalid(ValidationError::new(
                "store_id",
                "",
                Rule::Required,
            )));
        };
        self.check_store_access(actor, store_id).await?;
        let write = !opts.dry_run;
        if opts.all_or_nothing && write {
            let check = self
                .import_pass(actor, kind, path, opts, store_id, false)
                .await?;
            if check.rejected > 0 {
                if let Some(run) = opts.run_id {
                    self.db
                        .end_import_run(run, "refused", None, self.clock.now())
                        .await?;
                }
                return Ok(check);
            }
            if let Some(run) = opts.run_id {
                self.db.reset_import_run(run).await?;
            }
        }
        let summary = self
            .import_pass(actor, kind, path, opts, store_id, write)
            .await?;
        if let Some(run) = summary.run_id {
            self.db
                .end_import_run(run, "done", None, self.clock.now())
                .await?;
        }
        if write {
            let detail = serde_json::json!({
                "kind": kind.code(),
                "file": path.file_name().map(|f| f.to_string_lossy().to_string()),
                "run": summary.run_id, "read": summary.read, "inserted": summary.inserted,
                "updated": summary.updated, "merged": summary.merged, "rejected": summary.rejected,
                "customers_created": summary.customers_created,
            });
            self.db
                .audit(
                    Some(actor.staff_id),
                    "import",
                    match kind {
                        ImportKind::Customers => "customer",
                        ImportKind::Vehicles => "vehicle",
                        ImportKind::Sales => "sales_order",
                        ImportKind::WorkOrders => "work_order",
                        ImportKind::Policies => "insurance_policy",
                    },
                    summary.run_id,
                    &detail.to_string(),
                    self.clock.now(),
                )
                .await?;
        }
        Ok(summary)
    }

    async fn import_pass(
        &self,
        actor: &Actor,
        kind: ImportKind,
        path: &Path,
        opts: &ImportOptions,
        store_id: Id,
        write: bool,
    ) -> Result<ImportSummary> {
        let store = self.db.store(store_id).await?;
        let source: Source = read::open_source(path, opts.sheet.as_deref())?;
        let headers = source.headers.clone();
        let (columns, unknown_columns) =
            read::match_headers(kind, &headers, opts.mapping.as_ref())?;
        for any_of in kind.required_columns() {
            if !any_of.iter().any(|f| columns.contains(&Some(*f))) {
                return Err(ServiceError::invalid(ValidationError::new(
                    any_of.join("|"),
                    headers.join(","),
                    Rule::Required,
                )));
            }
        }
        let run = match (opts.run_id, write) {
            (Some(id), _) => Some(self.db.import_run(id).await?),
            (None, true) => {
                let mut sha = read::file_sha256(path).map_err(|e| read::file_error(path, e))?;
                if let Some(s) = &opts.sheet {
                    sha.push(':');
                    sha.push_str(s);
                }
                let name = path
                    .file_name()
                    .map(|f| f.to_string_lossy().to_string())
                    .unwrap_or_default();
                Some(
                    self.db
                        .start_import_run(
                            &NewImportRun {
                                kind: kind.code(),
                                file_name: &name,
                                file_sha256: &sha,
                                staff_id: Some(actor.staff_id),
                                store_id,
                                status: "running",
                                mode: opts.mode().code(),
                                sheet: opts.sheet.as_deref(),
                                rows_total: None,
                            },
                            self.clock.now(),
                        )
                        .await?,
                )
            }
            (None, false) => None,
        };
        if let Some(r) = &run {
            self.db
                .describe_import_run(r.id, source.encoding, &unknown_columns.join(", "))
                .await?;
        }
        // Only a writing run resumes: its committed batches are in the database.
        let skip = run.as_ref().filter(|_| write).map_or(0, |r| r.rows_done);
        let ctx = PassCtx {
            opts,
            store,
            write,
            run_id: run.as_ref().map(|r| r.id),
            kind,
        };
        let mut proc = match kind {
            ImportKind::Customers => Processor::Customers(customers::CustomerImport::default()),
            _ => Processor::Records(Box::new(records::RecordImport::new(self, &ctx).await?)),
        };
        let mut state = PassState::default();
        // A reader thread reads the file, groups rows into batches and (customers) validates
        // them, while this task writes the previous batch; a bounded channel keeps at most a
        // few batches in memory.
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Read>(1);
        let reader = Reader {
            columns,
            headers: headers.iter().map(|h| h.as_str().into()).collect(),
            kind,
            skip,
            batch_size: opts.batch_size.max(1),
            store_id: ctx.store.id,
            lang: opts.lang,
            today: self.clock.today(),
        };
        std::thread::Builder::new()
            .name("import-reader".into())
            .spawn(move || reader.run(source, tx))
            .map_err(|e| ServiceError::Internal(format!("starting the import reader: {e}")))?;
        let mut read_end: Option<(i64, &'static str)> = None;
        let looped: Result<()> = async {
            while let Some(msg) = rx.recv().await {
                match msg {
                    Read::Batch(b) => self.run_batch(&ctx, &mut proc, b?, &mut state).await?,
                    Read::End { consumed, encoding } => read_end = Some((consumed, encoding)),
                }
            }
            Ok(())
        }
        .await;
        // The last batch's write (customers write one batch while folding the next),
        // waited for also when reading failed, so the run's state is settled either way.
        let finished = match &mut proc {
            Processor::Customers(c) => c.finish().await,
            Processor::Records(_) => Ok(()),
        };
        looped?;
        finished?;
        let Some((consumed, encoding)) = read_end else {
            return Err(ServiceError::Internal(
                "the import reader stopped before the end of the file".into(),
            ));
        };
        let mut summary = ImportSummary {
            run_id: run.as_ref().map(|r| r.id),
            kind: kind.code().into(),
            encoding: encoding.to_string(),
            resumed_after: skip,
            unknown_columns,
            problems: std::mem::take(&mut state.problems),
            written: write,
            ..Default::default()
        };
        let c = state.counts;
        match &run {
            Some(r) if write => {
                // Counters of a resumed run include the batches of the interrupted one.
                let r = self.db.import_run(r.id).await?;
                summary.read = r.rows_done;
                summary.inserted = r.inserted;
                summary.updated = r.updated;
                summary.unchanged = r.unchanged;
                summary.merged = r.merged;
                summary.rejected = r.rejected;
                summary.customers_created = r.customers_created;
            }
            _ => {
                summary.read = consumed;
                summary.inserted = c.inserted;
                summary.updated = c.updated;
                summary.unchanged = c.unchanged;
                summary.merged = c.merged;
                summary.rejected = c.rejected;
                summary.customers_created = c.customers_created;
            }
        }
        Ok(summary)
    }

    async fn run_batch(
        &self,
        ctx: &PassCtx<'_>,
        proc: &mut Processor,
        batch: Batch,
        state: &mut PassState,
    ) -> Result<()> {
        let rows_done = batch.rows_done;
        let before = state.counts;
        match (proc, batch.work) {
            (Processor::Customers(c), Work::Customers(v)) => {
                c.batch(self, ctx, v, state, rows_done).await?
            }
            (Processor::Records(r), Work::Rows(rows)) => {
                r.batch(self, ctx, rows, state, rows_done).await?
            }
            _ => {
                return Err(ServiceError::Internal(
                    "an import batch of the wrong kind".into(),
                ));
            }
        }
        // A pass that writes no data still reports progress and problems to its run (the
        // upload page polls it); a writing pass did so in the batch's transaction.
        let problems = state.flush_problems();
        if let (false, Some(run)) = (ctx.write, ctx.run_id) {
            self.db
                .record_import_progress(run, rows_done, state.counts.minus(before), &problems)
                .await?;
        }
        Ok(())
    }
}

/// What the reader thread sends: batches in file order, then the end of the file.
enum Read {
    Batch(Result<Batch>),
    End {
        /// Records read (the summary's `read` for a pass that writes nothing).
        consumed: i64,
        encoding: &'static str,
    },
}

/// One batch of rows, ready for its processor.
struct Batch {
    /// Source records consumed once this batch is committed (the resume point).
    rows_done: i64,
    work: Work,
}

enum Work {
    /// Rows of vehicles, sales, work orders or policies (resolved row by row later).
    Rows(Vec<SourceRow>),
    /// Customer rows already validated.
    Customers(customers::Validated),
}

/// The reader thread: reads the file, skips what an interrupted run committed, groups rows
/// into batches (never splitting the rows of one work order) and validates customer rows.
struct Reader {
    columns: Vec<Option<&'static str>>,
    headers: Vec<std::sync::Arc<str>>,
    kind: ImportKind,
    skip: i64,
    batch_size: usize,
    store_id: Id,
    lang: Lang,
    today: chrono::NaiveDate,
}

impl Reader {
    fn run(self, mut source: Source, tx: tokio::sync::mpsc::Sender<Read>) {
        let kind = self.kind;
        let file_headers: customers::FileHeaders = std::sync::Arc::new(
            self.columns
                .iter()
                .zip(&self.headers)
                .filter_map(|(f, h)| f.map(|f| (f, h.to_string())))
                .collect(),
        );
        let mut consumed: i64 = 0;
        let mut batch: Vec<SourceRow> = Vec::new();
        let send = |rows: Vec<SourceRow>| {
            let rows_done = rows.last().map_or(0, |r| r.ordinal);
            let work = match kind {
                ImportKind::Customers => {
                    customers::validate(rows, &file_headers, self.store_id, self.lang, self.today)
                        .map(Work::Customers)
                }
                _ => Ok(Work::Rows(rows)),
            };
            // Fails only when the writer stopped (an error): nothing more to do.
            tx.blocking_send(Read::Batch(work.map(|work| Batch { rows_done, work })))
                .is_ok()
        };
        loop {
            let next = source.next_row();
            let end = next.is_none();
            let row = match next {
                None => None,
                Some(r) => match to_source_row(r, &self.columns, &self.headers, &mut consumed) {
                    Some(row) if row.ordinal > self.skip => Some(row),
                    _ => continue,
                },
            };
            // A batch ends at its size, but never inside the rows of one work order.
            let same_group = |row: &SourceRow| {
                let k = group_key(kind, row);
                k.is_some() && k == batch.last().and_then(|last| group_key(kind, last))
            };
            if let Some(row) = &row
                && batch.len() >= self.batch_size
                && !same_group(row)
                && !send(std::mem::take(&mut batch))
            {
                return;
            }
            if let Some(row) = row {
                batch.push(row);
            }
            if end {
                if !batch.is_empty() && !send(std::mem::take(&mut batch)) {
                    return;
                }
                break;
            }
        }
        let _ = tx.blocking_send(Read::End {
            consumed,
            encoding: source.encoding,
        });
    }
}

enum Processor {
    Customers(customers::CustomerImport),
    Records(Box<records::RecordImport>),
}

/// The key that keeps rows together in one batch (the work-order number).
fn group_key(kind: ImportKind, row: &SourceRow) -> Option<String> {
    match kind {
        ImportKind::WorkOrders => row.get("number").map(str::to_string),
        _ => None,
    }
}

/// A record of the file as a source row (None for a blank row, which is not counted).
fn to_source_row(
    r: RowResult,
    columns: &[Option<&'static str>],
    headers: &[std::sync::Arc<str>],
    consumed: &mut i64,
) -> Option<SourceRow> {
    match r {
        Err(broken) => {
            *consumed += 1;
            Some(SourceRow {
                ordinal: *consumed,
                line: broken.line,
                cells: Vec::new(),
                broken: Some(broken.reason),
            })
        }
        Ok(raw) => {
            if raw.cells.iter().all(|c| c.trim().is_empty()) {
                return None;
            }
            *consumed += 1;
            let mut cells = Vec::new();
            for (i, value) in raw.cells.into_iter().enumerate() {
                let Some(Some(field)) = columns.get(i) else {
                    continue;
                };
                cells.push(Cell {
                    field,
                    header: headers.get(i).cloned().unwrap_or_else(|| "".into()),
                    value,
                });
            }
            Some(SourceRow {
                ordinal: *consumed,
                line: raw.line,
                cells,
                broken: None,
            })
        }
    }
}
