//! Importing DMS exports of customers: encoding detection (UTF-8 with or without BOM,
//! otherwise GB18030, which covers GBK), header matching (usual Chinese and English
//! headers, or a mapping file), validation with [`CustomerInput::apply`] (the same rules as
//! the forms), recognition of the same person by mobile or ID number within the file and
//! against the database, merge (a value in the file fills an empty field or replaces an
//! older one; every change is recorded), and crash-safe batches (each batch commits with
//! the run's progress, so a rerun of the same file resumes after the last committed batch).
//!
//! The file is streamed: memory holds one batch plus the ids and keys already seen.

use crate::input::CustomerInput;
use crate::{Actor, Result, ServiceError, Services};
use dealerbase_domain::class::{ClassFacts, DEFAULT_LAPSE_MONTHS, classify};
use dealerbase_domain::model::Role;
use dealerbase_domain::text::normalize;
use dealerbase_domain::{Lang, Rule, ValidationError};
use dealerbase_store::import::{CustomerBatch, FieldChange, ImportCounts};
use dealerbase_store::{Customer, CustomerFields, Id};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

/// Customer fields that a column can feed, with their usual headers in DMS exports.
const CUSTOMER_HEADERS: &[(&str, &[&str])] = &[
    (
        "name",
        &[
            "客户姓名",
            "客户名称",
            "姓名",
            "客户",
            "车主姓名",
            "车主",
            "name",
            "customername",
            "customer",
        ],
    ),
    (
        "mobile",
        &[
            "手机",
            "手机号",
            "手机号码",
            "移动电话",
            "联系电话",
            "联系手机",
            "电话",
            "mobile",
            "mobilephone",
            "phone",
            "cellphone",
            "tel",
        ],
    ),
    (
        "id_number",
        &[
            "身份证号",
            "身份证号码",
            "身份证",
            "证件号码",
            "证件号",
            "idnumber",
            "idno",
            "idcard",
        ],
    ),
    ("id_type", &["证件类型", "idtype"]),
    ("gender", &["性别", "gender", "sex"]),
    (
        "birthday",
        &["出生日期", "生日", "birthday", "dateofbirth", "birthdate"],
    ),
    (
        "email",
        &["邮箱", "电子邮件", "电子邮箱", "email", "e-mail"],
    ),
    (
        "address",
        &["地址", "联系地址", "家庭住址", "通讯地址", "address"],
    ),
    ("title", &["称谓", "称呼", "title"]),
    ("kind", &["客户类型", "客户性质", "kind", "customertype"]),
    (
        "other_phones",
        &["其他电话", "固定电话", "座机", "otherphones", "landline"],
    ),
    ("province_code", &["省份代码", "provincecode"]),
    ("city_code", &["城市代码", "citycode"]),
    ("district_code", &["区县代码", "districtcode"]),
    ("industry", &["行业", "industry"]),
    ("occupation", &["职业", "occupation"]),
    ("marital_status", &["婚姻状况", "婚否", "maritalstatus"]),
    ("income_band", &["收入", "收入水平", "incomeband", "income"]),
    ("education", &["学历", "教育程度", "education"]),
    ("interests", &["兴趣爱好", "爱好", "interests"]),
    ("source", &["客户来源", "来源", "source"]),
    ("vip", &["vip", "是否vip", "贵宾"]),
    ("key_account", &["大客户", "keyaccount"]),
];

/// Headers compared without case, spaces, underscores, asterisks (required-column marks)
/// and full-width forms.
fn header_key(h: &str) -> String {
    normalize(h)
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '*' | ':' | '：'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// A mapping file: `[columns]` with `"header in the file" = "field"` (or `"ignore"`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    #[serde(default)]
    pub columns: HashMap<String, String>,
}

impl Mapping {
    pub fn parse(text: &str) -> Result<Mapping> {
        let m: Mapping = toml::from_str(text).map_err(|e| {
            ServiceError::invalid(ValidationError::new(
                "mapping",
                e.to_string(),
                Rule::OneOf {
                    allowed: vec!["[columns] \"header\" = \"field\"".into()],
                },
            ))
        })?;
        for (header, field) in &m.columns {
            if field != "ignore" && !CUSTOMER_HEADERS.iter().any(|(f, _)| f == field) {
                let mut allowed: Vec<String> = CUSTOMER_HEADERS
                    .iter()
                    .map(|(f, _)| f.to_string())
                    .collect();
                allowed.push("ignore".into());
                return Err(ServiceError::invalid(ValidationError::new(
                    format!("mapping {header}"),
                    field.as_str(),
                    Rule::OneOf { allowed },
                )));
            }
        }
        Ok(m)
    }
}

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub store_id: Option<Id>,
    pub mapping: Option<Mapping>,
    pub dry_run: bool,
    pub all_or_nothing: bool,
    /// Rows per transaction.
    pub batch_size: usize,
    pub lang: Lang,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            store_id: None,
            mapping: None,
            dry_run: false,
            all_or_nothing: false,
            batch_size: 2000,
            lang: Lang::Zh,
        }
    }
}

/// One problem with one cell (or a whole row, then `column` is empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowProblem {
    /// Line in the file (the header is line 1).
    pub line: u64,
    pub column: String,
    pub value: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    pub run_id: Option<Id>,
    pub encoding: String,
    /// Data rows read (blank rows are skipped and not counted).
    pub read: i64,
    pub inserted: i64,
    pub updated: i64,
    pub unchanged: i64,
    /// Rows folded into an earlier row of the same file.
    pub merged: i64,
    pub rejected: i64,
    /// Whether anything was written (false for a dry run or a refused all-or-nothing run).
    pub written: bool,
    /// Rows skipped because an interrupted run of the same file had committed them.
    pub resumed_after: i64,
    pub unknown_columns: Vec<String>,
    pub problems: Vec<RowProblem>,
}

// ---- reading ------------------------------------------------------------------------

/// Turns the bytes of a file into UTF-8, decoding GB18030 on the fly when needed.
struct Utf8Reader<R> {
    inner: R,
    decoder: Option<encoding_rs::Decoder>,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    pos: usize,
    done: bool,
}

impl<R: Read> Read for Utf8Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.pos < self.out.len() {
                let n = buf.len().min(self.out.len() - self.pos);
                buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            if self.done {
                return Ok(0);
            }
            self.out.clear();
            self.pos = 0;
            let n = self.inner.read(&mut self.inbuf)?;
            let last = n == 0;
            match &mut self.decoder {
                None => self.out.extend_from_slice(&self.inbuf[..n]),
                Some(d) => {
                    let cap = d.max_utf8_buffer_length(n).unwrap_or(n * 4 + 16);
                    let mut s = String::with_capacity(cap);
                    let _ = d.decode_to_string(&self.inbuf[..n], &mut s, last);
                    self.out = s.into_bytes();
                }
            }
            self.done = last;
        }
    }
}

/// Opens a CSV file as UTF-8: a UTF-8 BOM is dropped; when the first 64 KiB are not UTF-8
/// the file is read as GB18030 (a superset of GBK and GB2312, which DMS exports use).
fn open_text(path: &Path) -> io::Result<(Box<dyn Read>, &'static str)> {
    let mut f = File::open(path)?;
    let mut head = vec![0u8; 64 * 1024];
    let mut n = 0;
    while n < head.len() {
        let k = f.read(&mut head[n..])?;
        if k == 0 {
            break;
        }
        n += k;
    }
    head.truncate(n);
    let (skip, utf8, label) = if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        (3, true, "utf-8-bom")
    } else {
        // A character cut at the end of the sample is not an error.
        let ok = match std::str::from_utf8(&head) {
            Ok(_) => true,
            Err(e) => e.error_len().is_none(),
        };
        (0, ok, if ok { "utf-8" } else { "gb18030" })
    };
    let head = head.split_off(skip);
    let inner = io::Cursor::new(head).chain(f);
    let decoder = (!utf8).then(|| encoding_rs::GB18030.new_decoder_without_bom_handling());
    Ok((
        Box::new(Utf8Reader {
            inner,
            decoder,
            inbuf: vec![0; 64 * 1024],
            out: Vec::new(),
            pos: 0,
            done: false,
        }),
        label,
    ))
}

fn file_sha256(path: &Path) -> io::Result<String> {
    let mut f = BufReader::new(File::open(path)?);
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn io_error(path: &Path, e: impl std::fmt::Display) -> ServiceError {
    ServiceError::invalid(ValidationError::new(
        "file",
        format!("{}: {e}", path.display()),
        Rule::Required,
    ))
}

/// Which field each column feeds (None: ignored or unknown), and the unknown headers.
fn match_headers(
    headers: &[String],
    mapping: Option<&Mapping>,
) -> (Vec<Option<&'static str>>, Vec<String>) {
    let mut unknown = Vec::new();
    let mut taken: HashSet<&'static str> = HashSet::new();
    let cols = headers
        .iter()
        .map(|h| {
            let mapped = mapping.and_then(|m| {
                m.columns
                    .iter()
                    .find(|(k, _)| header_key(k) == header_key(h))
                    .map(|(_, v)| v.as_str())
            });
            let field = match mapped {
                Some("ignore") => return None,
                Some(f) => CUSTOMER_HEADERS
                    .iter()
                    .find(|(name, _)| *name == f)
                    .map(|(name, _)| *name),
                None => {
                    let key = header_key(h);
                    CUSTOMER_HEADERS
                        .iter()
                        .find(|(name, aliases)| {
                            key == *name || aliases.iter().any(|a| header_key(a) == key)
                        })
                        .map(|(name, _)| *name)
                }
            };
            // A second column for the same field is reported rather than overwriting the first.
            match field {
                Some(f) if taken.insert(f) => Some(f),
                _ => {
                    if !h.trim().is_empty() {
                        unknown.push(h.clone());
                    }
                    None
                }
            }
        })
        .collect();
    (cols, unknown)
}

fn set_field(input: &mut CustomerInput, field: &str, v: String) -> std::result::Result<(), ()> {
    match field {
        "name" => input.name = Some(v),
        "mobile" => input.mobile = Some(v),
        "id_number" => input.id_number = Some(v),
        "id_type" => input.id_type = Some(v),
        "gender" => input.gender = Some(v),
        "birthday" => input.birthday = Some(v),
        "email" => input.email = Some(v),
        "address" => input.address = Some(v),
        "title" => input.title = Some(v),
        "kind" => input.kind = Some(v),
        "other_phones" => input.other_phones = Some(v),
        "province_code" => input.province_code = Some(v),
        "city_code" => input.city_code = Some(v),
        "district_code" => input.district_code = Some(v),
        "industry" => input.industry = Some(v),
        "occupation" => input.occupation = Some(v),
        "marital_status" => input.marital_status = Some(v),
        "income_band" => input.income_band = Some(v),
        "education" => input.education = Some(v),
        "interests" => input.interests = Some(v),
        "source" => input.source = Some(v),
        "key_account" => input.key_account = Some(v),
        "vip" => {
            let k = header_key(&v);
            input.vip = Some(match k.as_str() {
                "是" | "y" | "yes" | "1" | "true" | "vip" => true,
                "否" | "n" | "no" | "0" | "false" => false,
                _ => return Err(()),
            })
        }
        _ => {}
    }
    Ok(())
}

/// The profile fields of a customer as text, to compare and to record changes.
fn field_values(f: &CustomerFields) -> Vec<(&'static str, Option<String>)> {
    vec![
        ("kind", Some(f.kind.clone())),
        ("name", Some(f.name.clone())),
        ("title", f.title.clone()),
        ("gender", f.gender.clone()),
        ("id_type", f.id_type.clone()),
        ("id_number", f.id_number.clone()),
        ("birthday", f.birthday.map(|d| d.to_string())),
        ("lunar_birthday", Some(f.lunar_birthday.to_string())),
        ("mobile", f.mobile.clone()),
        ("other_phones", f.other_phones.clone()),
        ("email", f.email.clone()),
        ("province_code", f.province_code.clone()),
        ("city_code", f.city_code.clone()),
        ("district_code", f.district_code.clone()),
        ("address", f.address.clone()),
        ("industry", f.industry.clone()),
        ("occupation", f.occupation.clone()),
        ("marital_status", f.marital_status.clone()),
        ("income_band", f.income_band.clone()),
        ("education", f.education.clone()),
        ("interests", f.interests.clone()),
        ("source", f.source.clone()),
        ("vip", Some(f.vip.to_string())),
        ("key_account", f.key_account.clone()),
    ]
}

fn changes(old: &CustomerFields, new: &CustomerFields) -> Vec<FieldChange> {
    field_values(old)
        .into_iter()
        .zip(field_values(new))
        .filter(|((_, a), (_, b))| a != b)
        .map(|((field, a), (_, b))| FieldChange {
            field: field.to_string(),
            old_value: a,
            new_value: b,
        })
        .collect()
}

/// A row read from the file.
struct SourceRow {
    line: u64,
    input: CustomerInput,
    /// (field, header, raw value) of every mapped cell, to name the column of a problem.
    cells: Vec<(&'static str, String, String)>,
}

/// Where the rows of a batch go: a new customer or an existing one.
struct Slot {
    existing: Option<Customer>,
    fields: CustomerFields,
}

fn keys(f: &CustomerFields) -> Vec<String> {
    let mut k = Vec::new();
    if let Some(m) = &f.mobile {
        k.push(format!("m:{m}"));
    }
    if let Some(i) = &f.id_number {
        k.push(format!("i:{i}"));
    }
    k
}

/// State kept across batches of one pass.
#[derive(Default)]
struct PassState {
    /// Existing customers already matched by an earlier batch of this file: a later match
    /// is a duplicate row of the file, counted as merged.
    touched: HashSet<Id>,
    /// Keys of rows that create customers; only a pass that writes nothing needs them (a
    /// writing pass finds earlier batches in the database).
    created_keys: HashSet<String>,
    counts: ImportCounts,
    problems: Vec<RowProblem>,
}

impl Services {
    /// Imports customers from a CSV file into a store (the actor's unless given). Only
    /// administrators and managers may import.
    pub async fn import_customers(
        &self,
        actor: &Actor,
        path: &Path,
        opts: &ImportOptions,
    ) -> Result<ImportSummary> {
        if !matches!(
            actor.role,
            Role::Admin | Role::GeneralManager | Role::SalesManager | Role::Group
        ) {
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
            let check = self.import_pass(actor, path, opts, store_id, false).await?;
            if check.rejected > 0 {
                return Ok(check);
            }
        }
        let summary = self.import_pass(actor, path, opts, store_id, write).await?;
        if write {
            let detail = serde_json::json!({
                "file": path.file_name().map(|f| f.to_string_lossy().to_string()),
                "run": summary.run_id, "read": summary.read, "inserted": summary.inserted,
                "updated": summary.updated, "merged": summary.merged, "rejected": summary.rejected,
            });
            self.db
                .audit(
                    Some(actor.staff_id),
                    "import",
                    "customer",
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
        path: &Path,
        opts: &ImportOptions,
        store_id: Id,
        write: bool,
    ) -> Result<ImportSummary> {
        let store = self.db.store(store_id).await?;
        let (reader, encoding) = open_text(path).map_err(|e| io_error(path, e))?;
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(reader);
        let mut records = csv.records();
        let headers: Vec<String> = match records.next() {
            Some(Ok(h)) => h.iter().map(|s| s.to_string()).collect(),
            Some(Err(e)) => return Err(io_error(path, e)),
            None => Vec::new(),
        };
        let (columns, unknown_columns) = match_headers(&headers, opts.mapping.as_ref());
        if !columns.contains(&Some("name")) {
            return Err(ServiceError::invalid(ValidationError::new(
                "name",
                headers.join(","),
                Rule::Required,
            )));
        }
        let run = if write {
            let sha = file_sha256(path).map_err(|e| io_error(path, e))?;
            let name = path
                .file_name()
                .map(|f| f.to_string_lossy().to_string())
                .unwrap_or_default();
            Some(
                self.db
                    .start_import_run(
                        "customers",
                        &name,
                        &sha,
                        Some(actor.staff_id),
                        store_id,
                        self.clock.now(),
                    )
                    .await?,
            )
        } else {
            None
        };
        let skip = run.as_ref().map_or(0, |r| r.rows_done);
        let mut state = PassState::default();
        let mut consumed: i64 = 0;
        let mut batch: Vec<SourceRow> = Vec::new();
        let batch_size = opts.batch_size.max(1);
        loop {
            let rec = records.next();
            let end = rec.is_none();
            if let Some(rec) = rec {
                let rec = match rec {
                    Ok(r) => r,
                    Err(e) => {
                        // A broken record (bad quoting) is one rejected row, not a failed import.
                        consumed += 1;
                        if consumed > skip {
                            state.counts.rejected += 1;
                            state.problems.push(RowProblem {
                                line: e.position().map_or(0, |p| p.line()),
                                column: String::new(),
                                value: String::new(),
                                reason: e.to_string(),
                            });
                        }
                        continue;
                    }
                };
                if rec.iter().all(|c| c.trim().is_empty()) {
                    continue;
                }
                consumed += 1;
                if consumed <= skip {
                    continue;
                }
                let line = rec.position().map_or(0, |p| p.line());
                let mut row = SourceRow {
                    line,
                    input: CustomerInput::default(),
                    cells: Vec::new(),
                };
                for (i, cell) in rec.iter().enumerate() {
                    let Some(Some(field)) = columns.get(i) else {
                        continue;
                    };
                    let header = headers.get(i).cloned().unwrap_or_default();
                    if cell.trim().is_empty() {
                        // Kept (empty) so that a "required" problem names the column.
                        row.cells.push((field, header, String::new()));
                        continue;
                    }
                    if set_field(&mut row.input, field, cell.to_string()).is_err() {
                        row.input.name = row.input.name.take().or(Some(String::new()));
                        state.problems.push(RowProblem {
                            line,
                            column: header.clone(),
                            value: cell.to_string(),
                            reason: ValidationError::new(
                                header.clone(),
                                cell,
                                Rule::OneOf {
                                    allowed: vec!["是".into(), "否".into()],
                                },
                            )
                            .message(opts.lang),
                        });
                        row.cells.push(("!", header, cell.to_string()));
                        continue;
                    }
                    row.cells.push((field, header, cell.to_string()));
                }
                batch.push(row);
            }
            if batch.len() >= batch_size || (end && !batch.is_empty()) {
                let rows = std::mem::take(&mut batch);
                self.import_batch(
                    rows,
                    &store,
                    &mut state,
                    opts,
                    write,
                    run.as_ref().map(|r| r.id),
                    consumed,
                )
                .await?;
            }
            if end {
                break;
            }
        }
        let mut summary = ImportSummary {
            run_id: run.as_ref().map(|r| r.id),
            encoding: encoding.to_string(),
            resumed_after: skip,
            unknown_columns,
            problems: state.problems,
            written: write,
            ..Default::default()
        };
        if let Some(run) = run {
            self.db.finish_import_run(run.id, self.clock.now()).await?;
            let r = self.db.import_run(run.id).await?;
            summary.read = r.rows_done;
            summary.inserted = r.inserted;
            summary.updated = r.updated;
            summary.unchanged = r.unchanged;
            summary.merged = r.merged;
            summary.rejected = r.rejected;
        } else {
            let c = state.counts;
            summary.read = consumed;
            summary.inserted = c.inserted;
            summary.updated = c.updated;
            summary.unchanged = c.unchanged;
            summary.merged = c.merged;
            summary.rejected = c.rejected;
        }
        Ok(summary)
    }

    #[allow(clippy::too_many_arguments)]
    async fn import_batch(
        &self,
        rows: Vec<SourceRow>,
        store: &dealerbase_store::Store,
        state: &mut PassState,
        opts: &ImportOptions,
        write: bool,
        run_id: Option<Id>,
        consumed: i64,
    ) -> Result<()> {
        let today = self.clock.today();
        let before = state.counts;
        // 1. Validate every row on its own.
        let mut valid: Vec<(SourceRow, CustomerFields)> = Vec::new();
        for mut row in rows {
            if row.cells.iter().any(|(f, _, _)| *f == "!") {
                state.counts.rejected += 1;
                continue;
            }
            row.input.store_id = Some(store.id);
            let header_of = |field: &str, cells: &[(&'static str, String, String)]| {
                cells
                    .iter()
                    .find(|(f, _, _)| *f == field)
                    .map(|(_, h, _)| h.clone())
                    .unwrap_or_else(|| field.to_string())
            };
            match row.input.apply(None, today) {
                Ok(f) if f.mobile.is_none() && f.id_number.is_none() => {
                    state.counts.rejected += 1;
                    state.problems.push(RowProblem {
                        line: row.line,
                        column: header_of("mobile", &row.cells),
                        value: String::new(),
                        reason: match opts.lang {
                            Lang::Zh => "手机号和证件号码都为空，无法识别客户".into(),
                            Lang::En => {
                                "neither mobile nor ID number: the customer cannot be recognised"
                                    .into()
                            }
                        },
                    });
                }
                Ok(f) => valid.push((row, f)),
                Err(ServiceError::Invalid(errors)) => {
                    state.counts.rejected += 1;
                    for e in errors {
                        let column = header_of(&e.field, &row.cells);
                        state.problems.push(RowProblem {
                            line: row.line,
                            column: column.clone(),
                            value: e.value.clone(),
                            reason: e.with_field(column).message(opts.lang),
                        });
                    }
                }
                Err(other) => return Err(other),
            }
        }
        // 2. The existing customers these rows may be.
        let mobiles: Vec<String> = valid.iter().filter_map(|(_, f)| f.mobile.clone()).collect();
        let ids: Vec<String> = valid
            .iter()
            .filter_map(|(_, f)| f.id_number.clone())
            .collect();
        let existing = self
            .db
            .customers_by_keys(store.group_id, &mobiles, &ids)
            .await?;
        let mut db_keys: HashMap<String, usize> = HashMap::new();
        for (i, c) in existing.iter().enumerate() {
            for k in keys(&c.fields) {
                db_keys.entry(k).or_insert(i);
            }
        }
        // 3. Fold the rows into slots: new customers or existing ones.
        let mut slots: Vec<Slot> = Vec::new();
        let mut slot_keys: HashMap<String, usize> = HashMap::new();
        let mut slot_of_existing: HashMap<Id, usize> = HashMap::new();
        for (row, fields) in valid {
            let row_keys = keys(&fields);
            let mut in_batch: Vec<usize> = row_keys
                .iter()
                .filter_map(|k| slot_keys.get(k).copied())
                .collect();
            let mut in_db: Vec<usize> = row_keys
                .iter()
                .filter_map(|k| db_keys.get(k).copied())
                .filter(|i| !slot_of_existing.contains_key(&existing[*i].id))
                .collect();
            in_batch.dedup();
            in_db.dedup();
            if in_batch.len() + in_db.len() > 1 {
                state.counts.rejected += 1;
                state.problems.push(RowProblem {
                    line: row.line,
                    column: String::new(),
                    value: row_keys.join(" "),
                    reason: match opts.lang {
                        Lang::Zh => "手机号与证件号码分别属于两个不同的客户，请先人工合并".into(),
                        Lang::En => "the mobile and the ID number belong to two different customers; merge them by hand first".into(),
                    },
                });
                continue;
            }
            // A matched customer keeps its store; the row only brings field values.
            let mut input = row.input.clone();
            let slot = if let Some(&s) = in_batch.first() {
                input.store_id = None;
                match input.apply(Some(&slots[s].fields), today) {
                    Ok(f) => {
                        state.counts.merged += 1;
                        slots[s].fields = f;
                    }
                    Err(e) => {
                        state.counts.rejected += 1;
                        state.problems.push(RowProblem {
                            line: row.line,
                            column: e.field().unwrap_or_default().to_string(),
                            value: String::new(),
                            reason: e.message(opts.lang),
                        });
                        continue;
                    }
                }
                s
            } else if let Some(&e) = in_db.first() {
                input.store_id = None;
                let c = existing[e].clone();
                let fields = input
                    .apply(Some(&c.fields), today)
                    .unwrap_or_else(|_| c.fields.clone());
                slot_of_existing.insert(c.id, slots.len());
                slots.push(Slot {
                    existing: Some(c),
                    fields,
                });
                slots.len() - 1
            } else if !write && row_keys.iter().any(|k| state.created_keys.contains(k)) {
                // A duplicate of a row of an earlier batch in a pass that writes nothing.
                state.counts.merged += 1;
                continue;
            } else {
                slots.push(Slot {
                    existing: None,
                    fields,
                });
                slots.len() - 1
            };
            for k in keys(&slots[slot].fields) {
                slot_keys.insert(k, slot);
            }
        }
        // 4. Count and write.
        let mut out = CustomerBatch {
            rows_done: consumed,
            ..Default::default()
        };
        for slot in slots {
            match slot.existing {
                None => {
                    state.counts.inserted += 1;
                    if !write {
                        state.created_keys.extend(keys(&slot.fields));
                    }
                    out.inserts.push(slot.fields);
                }
                Some(c) => {
                    // Matched again after an earlier batch of this file: a duplicate row.
                    let again = !state.touched.insert(c.id);
                    let ch = changes(&c.fields, &slot.fields);
                    if again {
                        state.counts.merged += 1;
                    } else if ch.is_empty() {
                        state.counts.unchanged += 1;
                    } else {
                        state.counts.updated += 1;
                    }
                    if !ch.is_empty() {
                        out.updates.push((c.id, slot.fields, ch));
                    }
                }
            }
        }
        if let (true, Some(run_id)) = (write, run_id) {
            let c = state.counts;
            out.counts = ImportCounts {
                inserted: c.inserted - before.inserted,
                updated: c.updated - before.updated,
                unchanged: c.unchanged - before.unchanged,
                merged: c.merged - before.merged,
                rejected: c.rejected - before.rejected,
            };
            let decision = classify(&ClassFacts::default(), today, DEFAULT_LAPSE_MONTHS);
            self.db
                .write_customer_batch(
                    run_id,
                    &out,
                    (decision.class.code(), &decision.reason),
                    self.clock.now(),
                )
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_match_chinese_english_and_mapping() {
        let h: Vec<String> = [
            "客户姓名",
            " 手机号码 ",
            "ID Number",
            "车架号",
            "备注",
            "Name2",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (cols, unknown) = match_headers(&h, None);
        assert_eq!(
            cols,
            vec![
                Some("name"),
                Some("mobile"),
                Some("id_number"),
                None,
                None,
                None
            ]
        );
        assert_eq!(unknown, vec!["车架号", "备注", "Name2"]);
        let m = Mapping::parse("[columns]\n\"备注\" = \"interests\"\n\"车架号\" = \"ignore\"\n")
            .expect("mapping");
        let (cols, unknown) = match_headers(&h, Some(&m));
        assert_eq!(cols[4], Some("interests"));
        assert_eq!(unknown, vec!["Name2"]);
        assert!(Mapping::parse("[columns]\n\"x\" = \"nonsense\"\n").is_err());
    }

    #[test]
    fn gbk_is_decoded_and_bom_dropped() {
        let dir = std::env::temp_dir().join(format!("dbimp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let (gbk, _, _) = encoding_rs::GBK.encode("姓名,手机\n张三,13800138000\n");
        std::fs::write(dir.join("g.csv"), &gbk).expect("write");
        let (mut r, label) = open_text(&dir.join("g.csv")).expect("open");
        let mut s = String::new();
        r.read_to_string(&mut s).expect("read");
        assert_eq!(
            (label, s.as_str()),
            ("gb18030", "姓名,手机\n张三,13800138000\n")
        );
        std::fs::write(dir.join("b.csv"), "\u{feff}姓名\n李四\n").expect("write");
        let (mut r, label) = open_text(&dir.join("b.csv")).expect("open");
        let mut s = String::new();
        r.read_to_string(&mut s).expect("read");
        assert_eq!((label, s.as_str()), ("utf-8-bom", "姓名\n李四\n"));
        let _ = std::fs::remove_dir_all(dir);
    }
}
