//! Customer files, the fast path: a batch is validated row by row, the existing customers
//! its rows may be are found with one query per kind of key (mobile, ID number, VIN of a
//! vehicle they own), rows are folded into new or existing customers, and the batch is
//! written with bulk rows (`Db::write_customer_batch`).

use super::{PassCtx, PassState, SourceRow, key_hash};
use crate::input::CustomerInput;
use crate::{Result, ServiceError, Services};
use chrono::NaiveDate;
use dealerbase_domain::class::{ClassFacts, DEFAULT_LAPSE_MONTHS, classify};
use dealerbase_domain::{Lang, Rule, ValidationError, Vin};
use dealerbase_store::import::{CustomerBatch, FieldChange, ImportProblem, KeyKind};
use dealerbase_store::{Customer, CustomerFields, Id};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Sets one field of a customer input from a cell (Err: a yes/no cell that is neither).
pub(crate) fn set_field(
    input: &mut CustomerInput,
    field: &str,
    v: String,
) -> std::result::Result<(), ()> {
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
        "vip" => input.vip = Some(super::read::parse_yes_no(&v).ok_or(())?),
        _ => {}
    }
    Ok(())
}

/// The profile fields of a customer as text, to compare and to record changes.
fn field_values(f: &CustomerFields) -> [(&'static str, Option<String>); 24] {
    [
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

/// What differs between two versions of a customer, field by field.
pub(crate) fn changes(old: &CustomerFields, new: &CustomerFields) -> Vec<FieldChange> {
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

/// Recognition keys of a customer (and, from the file, the VIN of a vehicle they own).
fn keys(f: &CustomerFields, vin: Option<&str>) -> Vec<String> {
    let mut k = Vec::with_capacity(3);
    if let Some(m) = &f.mobile {
        k.push(format!("m:{m}"));
    }
    if let Some(i) = &f.id_number {
        k.push(format!("i:{i}"));
    }
    if let Some(v) = vin {
        k.push(format!("v:{v}"));
    }
    k
}

/// A customer a row may be: one with an id (saved in the database, or new in a batch
/// being written whose ids were reserved), or new in the batch still being written (by its
/// place among that batch's inserts; the id comes back from the write — SQLite).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Target {
    Saved(Id),
    Writing(usize),
}

/// Where the rows of a batch go: a new customer or a known one (with its fields before
/// this batch).
struct Slot {
    known: Option<(Target, CustomerFields)>,
    fields: CustomerFields,
    keys: Vec<String>,
}

/// A batch whose write is under way while the next batch is looked up and folded, with
/// what the next batch's look-ups cannot see until it commits.
struct Pending {
    write: tokio::task::JoinHandle<std::result::Result<Vec<Id>, dealerbase_store::StoreError>>,
    batch: Arc<CustomerBatch>,
    /// Mobile and ID-number keys of the customers it inserts or changes.
    keys: HashMap<String, Target>,
    /// Keys a changed customer no longer has.
    gone: HashSet<String>,
    /// Changed customers: their place in `batch.updates`.
    updated: HashMap<Id, usize>,
    /// New customers whose ids were reserved: their place in `batch.inserts`.
    inserted: HashMap<Id, usize>,
}

impl Pending {
    /// A customer's fields once this batch is committed, if it writes them.
    fn fields(&self, t: Target) -> Option<&CustomerFields> {
        match t {
            Target::Writing(i) => self.batch.inserts.get(i),
            Target::Saved(id) => self
                .updated
                .get(&id)
                .map(|&k| &self.batch.updates[k].1)
                .or_else(|| self.inserted.get(&id).map(|&k| &self.batch.inserts[k])),
        }
    }
}

/// State of a customer import across batches.
#[derive(Default)]
pub(crate) struct CustomerImport {
    /// Existing customers already matched by an earlier batch of this file (and the new
    /// customers of its batches): a later match is a duplicate row of the file, counted as
    /// merged.
    touched: HashSet<Id>,
    /// Batches the database is writing, oldest first: one at a time on SQLite (its ids
    /// are assigned in the write), two on PostgreSQL, where ids are reserved beforehand and
    /// the second batch streams its new customers while the first finishes.
    pending: std::collections::VecDeque<Pending>,
    /// Resolves when the newest batch handed to the database has committed (true) or
    /// failed (false): the next batch's turn.
    last_turn: Option<tokio::sync::oneshot::Receiver<bool>>,
    /// Batches handed to the database so far.
    written: usize,
}

/// Batches written at once when ids can be reserved beforehand.
const WRITES_IN_FLIGHT: usize = 2;

struct Valid {
    line: u64,
    input: CustomerInput,
    fields: CustomerFields,
    vin: Option<String>,
    /// Headers of this row's fields when the row is shorter than the header row (else the
    /// file's [`FileHeaders`]).
    short_headers: Option<HashMap<&'static str, String>>,
}

/// The header each field comes from, the same for every full row of a file (built once,
/// not once per row).
pub(crate) type FileHeaders = std::sync::Arc<HashMap<&'static str, String>>;

/// The header a field of a valid row came from.
fn header_of(
    short: Option<&HashMap<&'static str, String>>,
    file: &FileHeaders,
    field: &str,
) -> Option<String> {
    short.unwrap_or(file).get(field).cloned()
}

/// A batch of customer rows validated each on its own. This needs no database, so the
/// reader thread validates the next batch while the previous one is written.
pub(crate) struct Validated {
    valid: Vec<Valid>,
    headers: FileHeaders,
    problems: Vec<ImportProblem>,
    rejected: i64,
}

/// Validates every row of a batch on its own (domain rules, the yes/no cells, a key to
/// recognise the customer by).
pub(crate) fn validate(
    rows: Vec<SourceRow>,
    headers: &FileHeaders,
    store_id: Id,
    lang: Lang,
    today: NaiveDate,
) -> Result<Validated> {
    let full = headers.len();
    let mut out = Validated {
        valid: Vec::with_capacity(rows.len()),
        headers: headers.clone(),
        problems: Vec::new(),
        rejected: 0,
    };
    fn reject(
        problems: &mut Vec<ImportProblem>,
        line: u64,
        column: String,
        value: String,
        reason: String,
    ) {
        problems.push(ImportProblem {
            line: line as i64,
            column,
            value,
            reason,
        })
    }
    for row in rows {
        if let Some(reason) = &row.broken {
            out.rejected += 1;
            reject(
                &mut out.problems,
                row.line,
                String::new(),
                String::new(),
                reason.clone(),
            );
            continue;
        }
        let mut input = CustomerInput::default();
        let mut bad = false;
        let mut vin = None;
        for c in &row.cells {
            if c.value.trim().is_empty() {
                continue;
            }
            if c.field == "vin" {
                match Vin::parse(&c.value) {
                    Ok(v) => vin = Some(v.as_str().to_string()),
                    Err(e) => {
                        bad = true;
                        reject(
                            &mut out.problems,
                            row.line,
                            c.header.to_string(),
                            c.value.clone(),
                            e.with_field(c.header.to_string()).message(lang),
                        );
                    }
                }
            } else if set_field(&mut input, c.field, c.value.clone()).is_err() {
                bad = true;
                let e = ValidationError::new(
                    c.header.to_string(),
                    c.value.as_str(),
                    Rule::OneOf {
                        allowed: vec!["是".into(), "否".into()],
                    },
                );
                reject(
                    &mut out.problems,
                    row.line,
                    c.header.to_string(),
                    c.value.clone(),
                    e.message(lang),
                );
            }
        }
        input.store_id = Some(store_id);
        // A row with every column has the file's headers; a shorter one keeps its own.
        let short_headers: Option<HashMap<&'static str, String>> =
            (row.cells.len() != full).then(|| {
                row.cells
                    .iter()
                    .map(|c| (c.field, c.header.to_string()))
                    .collect()
            });
        let header_of = |field: &str| {
            short_headers
                .as_ref()
                .unwrap_or(headers)
                .get(field)
                .cloned()
                .unwrap_or_else(|| field.to_string())
        };
        match input.apply(None, today) {
            Err(ServiceError::Invalid(errors)) => {
                bad = true;
                for e in errors {
                    let column = header_of(&e.field);
                    let value = e.value.clone();
                    reject(
                        &mut out.problems,
                        row.line,
                        column.clone(),
                        value,
                        e.with_field(column).message(lang),
                    );
                }
            }
            Err(other) => return Err(other),
            Ok(_) if bad => {}
            Ok(f) if f.mobile.is_none() && f.id_number.is_none() && vin.is_none() => {
                bad = true;
                reject(
                    &mut out.problems,
                    row.line,
                    header_of("mobile"),
                    String::new(),
                    say(
                        lang,
                        "手机号、证件号码和车架号都为空，无法识别客户",
                        "no mobile, ID number or VIN: the customer cannot be recognised",
                    ),
                );
            }
            Ok(fields) => out.valid.push(Valid {
                line: row.line,
                input,
                fields,
                vin,
                short_headers,
            }),
        }
        if bad {
            out.rejected += 1;
        }
    }
    Ok(out)
}

fn say(lang: Lang, zh: &str, en: &str) -> String {
    match lang {
        Lang::Zh => zh.to_string(),
        Lang::En => en.to_string(),
    }
}

/// The existing customers the rows of a batch may be: one query per kind of key (the
/// oldest customer where the database already holds duplicates).
async fn look_up(
    svc: &Services,
    group_id: Id,
    valid: &[Valid],
) -> Result<(HashMap<String, Id>, HashMap<Id, Customer>)> {
    let mobiles: Vec<String> = valid
        .iter()
        .filter_map(|v| v.fields.mobile.clone())
        .collect();
    let ids: Vec<String> = valid
        .iter()
        .filter_map(|v| v.fields.id_number.clone())
        .collect();
    let vins: Vec<String> = valid.iter().filter_map(|v| v.vin.clone()).collect();
    let found = svc
        .db
        .customer_ids_by_keys(group_id, &mobiles, &ids, &vins)
        .await?;
    let mut key_to_id: HashMap<String, Id> = HashMap::with_capacity(found.len());
    for (kind, key, id) in found {
        let prefix = match kind {
            KeyKind::Mobile => "m",
            KeyKind::IdNumber => "i",
            KeyKind::Vin => "v",
        };
        key_to_id
            .entry(format!("{prefix}:{key}"))
            .and_modify(|e| *e = (*e).min(id))
            .or_insert(id);
    }
    let mut matched: Vec<Id> = key_to_id.values().copied().collect();
    matched.sort_unstable();
    matched.dedup();
    let existing = svc
        .db
        .customers_by_ids(&matched)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    Ok((key_to_id, existing))
}

impl CustomerImport {
    /// Waits for the oldest batch's write; returns the ids of its new customers.
    async fn settle(&mut self) -> Result<Vec<Id>> {
        let Some(p) = self.pending.pop_front() else {
            return Ok(Vec::new());
        };
        let ids = p
            .write
            .await
            .map_err(|e| ServiceError::Internal(format!("writing an import batch: {e}")))??;
        // Found again by a later batch, these are duplicates of this file's rows.
        self.touched.extend(ids.iter().copied());
        Ok(ids)
    }

    /// Waits for every batch being written; the first failure is the error.
    async fn settle_all(&mut self) -> Result<()> {
        let mut outcome = Ok(());
        while !self.pending.is_empty() {
            let r = self.settle().await;
            if outcome.is_ok() {
                outcome = r.map(|_| ());
            }
        }
        outcome
    }

    /// Waits for the last batches' writes (called once the file is read, also after an
    /// error).
    pub async fn finish(&mut self) -> Result<()> {
        self.settle_all().await
    }

    /// Looks a batch up and folds its rows into new and known customers while the
    /// previous batch is still being written, then hands it to the database in turn.
    /// The look-ups cannot see the previous batch before it commits, so what it writes
    /// (its customers' keys and fields, new customers by their place in it) is laid
    /// over what they find: the outcome is the one of batches run one after the other.
    pub async fn batch(
        &mut self,
        svc: &Services,
        ctx: &PassCtx<'_>,
        validated: Validated,
        state: &mut PassState,
        rows_done: i64,
    ) -> Result<()> {
        let today = svc.clock.today();
        let before = state.counts;
        let lang = ctx.lang();
        let started = std::time::Instant::now();
        // 1. The rows' own problems (found by `validate`) come first.
        state.counts.rejected += validated.rejected;
        state.batch_problems.extend(validated.problems);
        let valid = validated.valid;
        let headers = validated.headers;
        // 2. The existing customers these rows may be. A key the previous batch takes
        // away from a customer may belong to another one: then that batch is waited for
        // and the look-up made again.
        let group_id = ctx.store.group_id;
        let (mut key_to_id, mut existing) = look_up(svc, group_id, &valid).await?;
        let stale = self.pending.iter().any(|p| {
            !p.gone.is_empty()
                && valid
                    .iter()
                    .any(|v| keys(&v.fields, None).iter().any(|k| p.gone.contains(k)))
        });
        if stale {
            self.settle_all().await?;
            (key_to_id, existing) = look_up(svc, group_id, &valid).await?;
        }
        let mut key_to: HashMap<String, Target> = key_to_id
            .into_iter()
            .map(|(k, id)| (k, Target::Saved(id)))
            .collect();
        // Oldest first: what a later batch writes wins.
        for p in &self.pending {
            key_to.extend(p.keys.iter().map(|(k, t)| (k.clone(), *t)));
        }
        let known_fields = |t: Target| -> Option<CustomerFields> {
            self.pending
                .iter()
                .rev()
                .find_map(|p| p.fields(t))
                .or_else(|| match t {
                    Target::Saved(id) => existing.get(&id).map(|c| &c.fields),
                    Target::Writing(_) => None,
                })
                .cloned()
        };
        let looked_up = std::time::Instant::now();
        // 3. Fold the rows into slots: new customers or known ones.
        let mut slots: Vec<Slot> = Vec::new();
        let mut slot_keys: HashMap<String, usize> = HashMap::new();
        let mut slot_of_known: HashMap<Target, usize> = HashMap::new();
        for v in valid {
            let row_keys = keys(&v.fields, v.vin.as_deref());
            let mut in_batch: Vec<usize> = row_keys
                .iter()
                .filter_map(|k| slot_keys.get(k).copied())
                .collect();
            let mut in_db: Vec<Target> = row_keys
                .iter()
                .filter_map(|k| key_to.get(k).copied())
                .collect();
            in_batch.sort_unstable();
            in_batch.dedup();
            in_db.sort_unstable_by_key(|t| match t {
                Target::Saved(id) => (0, *id),
                Target::Writing(i) => (1, *i as i64),
            });
            in_db.dedup();
            // A customer of this batch already matched in the database is one target.
            in_db.retain(|t| match slot_of_known.get(t) {
                Some(s) => {
                    if !in_batch.contains(s) {
                        in_batch.push(*s);
                    }
                    false
                }
                None => true,
            });
            if in_batch.len() + in_db.len() > 1 {
                state.counts.rejected += 1;
                state.reject(
                    v.line,
                    String::new(),
                    row_keys.join(" "),
                    ctx.say(
                        "手机号、证件号码或车架号分别属于不同的客户，请先人工合并",
                        "the mobile, ID number or VIN belong to different customers; merge them by hand first",
                    ),
                );
                continue;
            }
            // A matched customer keeps its store; the row only brings field values.
            let mut input = v.input;
            let slot = if let Some(&s) = in_batch.first() {
                input.store_id = None;
                match input.apply(Some(&slots[s].fields), today) {
                    Ok(f) => {
                        state.counts.merged += 1;
                        slots[s].fields = f;
                    }
                    Err(e) => {
                        state.counts.rejected += 1;
                        let column = e
                            .field()
                            .map(|f| {
                                header_of(v.short_headers.as_ref(), &headers, f)
                                    .unwrap_or_else(|| f.to_string())
                            })
                            .unwrap_or_default();
                        state.reject(v.line, column, String::new(), e.message(lang));
                        continue;
                    }
                }
                s
            } else if let Some(&t) = in_db.first() {
                input.store_id = None;
                let Some(old) = known_fields(t) else {
                    continue;
                };
                let fields = input
                    .apply(Some(&old), today)
                    .unwrap_or_else(|_| old.clone());
                slot_of_known.insert(t, slots.len());
                slots.push(Slot {
                    known: Some((t, old)),
                    fields,
                    keys: Vec::new(),
                });
                slots.len() - 1
            } else if v.fields.mobile.is_none() && v.fields.id_number.is_none() {
                // Known only by a VIN nobody owns: there is no one to update, and a new
                // customer could never be recognised again.
                state.counts.rejected += 1;
                state.reject(
                    v.line,
                    header_of(v.short_headers.as_ref(), &headers, "vin").unwrap_or_default(),
                    v.vin.clone().unwrap_or_default(),
                    ctx.say(
                        "没有客户拥有该车架号的车辆，且手机号和证件号码都为空，无法识别客户",
                        "no customer owns a vehicle with this VIN, and there is no mobile or ID number: the customer cannot be recognised",
                    ),
                );
                continue;
            } else if !ctx.write
                && row_keys
                    .iter()
                    .any(|k| state.created_customers.contains(&key_hash("", k)))
            {
                // A duplicate of a row of an earlier batch in a pass that writes nothing
                // (a writing pass finds that row's customer in the database).
                state.counts.merged += 1;
                continue;
            } else {
                slots.push(Slot {
                    known: None,
                    fields: v.fields,
                    keys: Vec::new(),
                });
                slots.len() - 1
            };
            for k in keys(&slots[slot].fields, v.vin.as_deref()) {
                slot_keys.insert(k.clone(), slot);
                slots[slot].keys.push(k);
            }
        }
        // 4. Count, and what this batch changes for the next one's look-ups.
        let mut inserts: Vec<CustomerFields> = Vec::new();
        let mut updates: Vec<(Target, CustomerFields, Vec<FieldChange>)> = Vec::new();
        let mut gone: HashSet<String> = HashSet::new();
        for slot in slots {
            match slot.known {
                None => {
                    state.counts.inserted += 1;
                    if !ctx.write {
                        state
                            .created_customers
                            .extend(slot.keys.iter().map(|k| key_hash("", k)));
                    }
                    inserts.push(slot.fields);
                }
                Some((t, old)) => {
                    // Matched again after an earlier batch of this file: a duplicate row.
                    let again = match t {
                        Target::Saved(id) => !self.touched.insert(id),
                        Target::Writing(_) => true,
                    };
                    let ch = changes(&old, &slot.fields);
                    if again {
                        state.counts.merged += 1;
                    } else if ch.is_empty() {
                        state.counts.unchanged += 1;
                    } else {
                        state.counts.updated += 1;
                    }
                    if !ch.is_empty() {
                        let now = keys(&slot.fields, None);
                        gone.extend(keys(&old, None).into_iter().filter(|k| !now.contains(k)));
                        updates.push((t, slot.fields, ch));
                    }
                }
            }
        }
        let folded = std::time::Instant::now();
        let (true, Some(run_id)) = (ctx.write, ctx.run_id) else {
            return Ok(());
        };
        // 5. The new customers of the batches being written have ids: this batch's
        // changes to them can name them. Where ids come from the write (SQLite) that is
        // once the previous batch has committed; where they are reserved (PostgreSQL) the
        // batch waits only while as many batches as may be written at once are.
        let reserved = svc.db.reserve_customer_ids(inserts.len()).await?;
        let in_flight = if reserved.is_some() {
            WRITES_IN_FLIGHT
        } else {
            1
        };
        // The new customers' rows are built now, while the batches before are written.
        let decision = classify(&ClassFacts::default(), today, DEFAULT_LAPSE_MONTHS);
        let now = svc.clock.now();
        let rows = svc.db.new_customer_rows(
            &inserts,
            reserved.clone(),
            (decision.class.code(), &decision.reason),
            now,
        )?;
        let mut previous = Vec::new();
        while self.pending.len() >= in_flight {
            previous = self.settle().await?;
        }
        let settled = std::time::Instant::now();
        let resolve = |t: Target| -> Result<Id> {
            match t {
                Target::Saved(id) => Ok(id),
                Target::Writing(i) => previous.get(i).copied().ok_or_else(|| {
                    ServiceError::Internal("an import batch without its new customers".into())
                }),
            }
        };
        let mut out = CustomerBatch {
            rows_done,
            inserts,
            counts: state.counts.minus(before),
            problems: state.batch_problems.clone(),
            ..Default::default()
        };
        for (t, fields, ch) in updates {
            out.updates.push((resolve(t)?, fields, ch));
        }
        let mut next_keys: HashMap<String, Target> = HashMap::new();
        let mut inserted = HashMap::new();
        for (i, f) in out.inserts.iter().enumerate() {
            let t = match &reserved {
                Some(ids) => {
                    inserted.insert(ids[i], i);
                    // Found again by a later batch: a duplicate of this file's rows.
                    self.touched.insert(ids[i]);
                    Target::Saved(ids[i])
                }
                None => Target::Writing(i),
            };
            next_keys.extend(keys(f, None).into_iter().map(|k| (k, t)));
        }
        let mut updated = HashMap::with_capacity(out.updates.len());
        for (k, (id, f, _)) in out.updates.iter().enumerate() {
            next_keys.extend(
                keys(f, None)
                    .into_iter()
                    .map(|key| (key, Target::Saved(*id))),
            );
            updated.insert(*id, k);
        }
        let batch = Arc::new(out);
        let write = {
            let (db, batch) = (svc.db.clone(), batch.clone());
            let delays = &ctx.opts.test_write_delays;
            let delay = delays
                .get(self.written.min(delays.len().saturating_sub(1)))
                .copied();
            self.written += 1;
            // This batch's turn comes when the one before it has committed; the next
            // batch's when this one has.
            let before = self.last_turn.take();
            let (done, turn) = tokio::sync::oneshot::channel();
            self.last_turn = Some(turn);
            tokio::spawn(async move {
                if let Some(d) = delay {
                    tokio::time::sleep(d).await;
                }
                let r = db
                    .write_customer_batch(run_id, &batch, rows, now, async move {
                        match before {
                            Some(before) => before.await.unwrap_or(false),
                            None => true,
                        }
                    })
                    .await;
                let _ = done.send(r.is_ok());
                r
            })
        };
        self.pending.push_back(Pending {
            write,
            batch,
            keys: next_keys,
            gone,
            updated,
            inserted,
        });
        // Where a batch's time goes (DEALERBASE_LOG=dealerbase_service::import=debug).
        tracing::debug!(
            rows_done,
            lookup_ms = (looked_up - started).as_millis() as u64,
            fold_ms = (folded - looked_up).as_millis() as u64,
            wait_ms = (settled - folded).as_millis() as u64,
            "customer import batch"
        );
        Ok(())
    }
}
