//! Imports through the upload page and the API: the uploaded file is saved by the shell,
//! checked and registered here as a queued run (so a bad header or mapping is refused at
//! once), then imported by a background task that reports progress in the run's row; the
//! page polls the run, and the report of rejected rows is streamed from the database.

use super::{ImportKind, ImportMode, ImportOptions, Mapping, may_import, read};
use crate::export::neutralize;
use crate::{Actor, Result, ServiceError, Services};
use dealerbase_domain::Lang;
use dealerbase_domain::model::ScopeLevel;
use dealerbase_store::Id;
use dealerbase_store::import::{ImportRun, NewImportRun};
use std::io::Write;
use std::path::Path;

/// What the upload form or API call asks for.
#[derive(Debug, Clone, Default)]
pub struct UploadRequest {
    pub kind: Option<ImportKind>,
    /// The name the file had on the user's computer.
    pub file_name: String,
    /// The mapping file's text, if one was sent.
    pub mapping: Option<String>,
    pub mode: ImportMode,
    pub sheet: Option<String>,
    pub store_id: Option<Id>,
    pub lang: Lang,
}

impl UploadRequest {
    fn options(&self, run_id: Id, store_id: Id) -> Result<ImportOptions> {
        Ok(ImportOptions {
            store_id: Some(store_id),
            mapping: match self.mapping.as_deref().map(str::trim) {
                Some(t) if !t.is_empty() => Some(Mapping::parse(t)?),
                _ => None,
            },
            dry_run: self.mode == ImportMode::DryRun,
            all_or_nothing: self.mode == ImportMode::AllOrNothing,
            sheet: self.sheet.clone().filter(|s| !s.trim().is_empty()),
            lang: self.lang,
            run_id: Some(run_id),
            ..Default::default()
        })
    }
}

impl Services {
    /// Registers an uploaded file (saved at `path`) as a queued import run after checking
    /// the role, the store, the mapping and the header row. The caller then runs
    /// [`Services::run_upload`] in the background.
    pub async fn start_upload(
        &self,
        actor: &Actor,
        req: &UploadRequest,
        path: &Path,
    ) -> Result<ImportRun> {
        if !may_import(actor.role) {
            return Err(ServiceError::Forbidden("import data"));
        }
        let kind = req.kind.ok_or_else(|| {
            ServiceError::invalid(dealerbase_domain::ValidationError::new(
                "kind",
                "",
                dealerbase_domain::Rule::Required,
            ))
        })?;
        let Some(store_id) = req.store_id.or(actor.store_id) else {
            return Err(ServiceError::invalid(
                dealerbase_domain::ValidationError::new(
                    "store_id",
                    "",
                    dealerbase_domain::Rule::Required,
                ),
            ));
        };
        self.check_store_access(actor, store_id).await?;
        let opts = req.options(0, store_id)?;
        // The header row now, so that a file of the wrong kind is refused on the form.
        let source = read::open_source(path, opts.sheet.as_deref())?;
        let (columns, _) = read::match_headers(kind, &source.headers, opts.mapping.as_ref())?;
        for any_of in kind.required_columns() {
            if !any_of.iter().any(|f| columns.contains(&Some(*f))) {
                return Err(ServiceError::invalid(
                    dealerbase_domain::ValidationError::new(
                        any_of.join("|"),
                        source.headers.join(","),
                        dealerbase_domain::Rule::Required,
                    ),
                ));
            }
        }
        drop(source);
        let sha = read::file_sha256(path).map_err(|e| read::file_error(path, e))?;
        let rows_total = read::count_rows(path, opts.sheet.as_deref());
        Ok(self
            .db
            .create_import_run(
                &NewImportRun {
                    kind: kind.code(),
                    file_name: &req.file_name,
                    file_sha256: &sha,
                    staff_id: Some(actor.staff_id),
                    store_id,
                    status: "queued",
                    mode: req.mode.code(),
                    sheet: opts.sheet.as_deref(),
                    rows_total,
                },
                self.clock.now(),
            )
            .await?)
    }

    /// Runs a queued upload to its end; a failure is recorded in the run (the page shows
    /// it). The uploaded file is removed afterwards.
    pub async fn run_upload(&self, actor: &Actor, run_id: Id, req: &UploadRequest, path: &Path) {
        let result = async {
            let run = self.db.import_run(run_id).await?;
            let kind = ImportKind::parse(&run.kind)?;
            let opts = req.options(run_id, run.store_id)?;
            self.import_file(actor, kind, path, &opts).await
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(run_id, error = %e, "import failed");
            let _ = self
                .db
                .end_import_run(
                    run_id,
                    "failed",
                    Some(&e.message(req.lang)),
                    self.clock.now(),
                )
                .await;
        }
        let _ = std::fs::remove_file(path);
    }

    /// A run, if the actor may import and the run belongs to a store in their reach.
    pub async fn import_run_for(&self, actor: &Actor, id: Id) -> Result<ImportRun> {
        if !may_import(actor.role) {
            return Err(ServiceError::Forbidden("import data"));
        }
        let run = self.db.import_run(id).await?;
        let store = self.db.store(run.store_id).await?;
        let ok = match actor.role.scope_level() {
            ScopeLevel::Group => store.group_id == actor.group_id,
            _ => actor.store_id == Some(run.store_id),
        };
        if !ok {
            return Err(ServiceError::NotFound {
                entity: "import run",
                id: id.to_string(),
            });
        }
        Ok(run)
    }

    /// Recent runs of the stores the actor may import into, newest first.
    pub async fn import_runs(&self, actor: &Actor) -> Result<Vec<ImportRun>> {
        if !may_import(actor.role) {
            return Err(ServiceError::Forbidden("import data"));
        }
        let stores: Vec<Id> = match actor.role.scope_level() {
            ScopeLevel::Group => self
                .db
                .stores_of_group(actor.group_id)
                .await?
                .into_iter()
                .map(|s| s.id)
                .collect(),
            _ => actor.store_id.into_iter().collect(),
        };
        Ok(self.db.import_runs(Some(&stores), 20).await?)
    }

    /// The rejected rows of a run as CSV (`line,column,value,reason`, UTF-8 with BOM so
    /// that Excel opens it; cells neutralised against formula injection), streamed from the
    /// database. Returns the number of rows.
    pub async fn write_import_report(
        &self,
        actor: &Actor,
        id: Id,
        out: &mut (dyn Write + Send),
    ) -> Result<usize> {
        self.import_run_for(actor, id).await?;
        write_report_rows(self, id, out).await
    }
}

/// The report of a run without a role check (the CLI reports its own run).
pub(crate) async fn write_report_rows(
    svc: &Services,
    id: Id,
    out: &mut (dyn Write + Send),
) -> Result<usize> {
    let io = |e: std::io::Error| ServiceError::Internal(format!("writing the report: {e}"));
    out.write_all("\u{feff}".as_bytes()).map_err(io)?;
    let mut w = csv::Writer::from_writer(out);
    let csv_err = |e: csv::Error| ServiceError::Internal(format!("writing the report: {e}"));
    w.write_record(["line", "column", "value", "reason"])
        .map_err(csv_err)?;
    let mut after = 0;
    let mut n = 0;
    loop {
        let page = svc.db.import_problems(id, after, 5000).await?;
        if page.is_empty() {
            break;
        }
        for (pid, p) in &page {
            after = *pid;
            n += 1;
            w.write_record([
                p.line.to_string(),
                neutralize(&p.column),
                neutralize(&p.value),
                neutralize(&p.reason),
            ])
            .map_err(csv_err)?;
        }
    }
    w.flush().map_err(io)?;
    Ok(n)
}

impl Services {
    /// The report of a run the caller just made (CLI).
    pub async fn import_report_of_run(
        &self,
        id: Id,
        out: &mut (dyn Write + Send),
    ) -> Result<usize> {
        write_report_rows(self, id, out).await
    }
}
