//! Files of vehicles, sales, work orders and insurance policies. Their rows refer to each
//! other and to customers, so each batch is one store transaction ([`ImportTx`]) in which
//! rows are resolved and written one after the other: the owner is recognised by mobile,
//! ID number or the VIN of the vehicle (or created from the row), the vehicle by VIN (or
//! plate), the record by its own key (VIN, order number, work-order number, policy number
//! and kind). A record found again is compared field by field: unchanged, or updated.
//! A pass that writes nothing runs the same transaction and rolls it back.

use super::customers::changes;
use super::read::parse_yes_no;
use super::{ImportKind, PassCtx, PassState, SourceRow, key_hash};
use crate::input::{CustomerInput, VehicleInput, WorkOrderInput, WorkOrderLineInput};
use crate::{Result, ServiceError, Services};
use chrono::{Months, NaiveDate};
use dealerbase_domain::class::{ClassFacts, DEFAULT_LAPSE_MONTHS, classify};
use dealerbase_domain::dates::parse_dms_date;
use dealerbase_domain::model::{PolicyKind, SalesOrderKind, SalesOrderStatus};
use dealerbase_domain::money::{parse_number, parse_yuan};
use dealerbase_domain::text::normalize;
use dealerbase_domain::{Plate, Rule, ValidationError, Vin};
use dealerbase_store::import_tx::{FoundVehicle, ImportTx, PolicyFields, SaleFields};
use dealerbase_store::{Id, VehicleModel, WorkOrderFields};
use std::collections::BTreeSet;

/// Why a row (or the rows of one work order) was not imported.
enum RowError {
    /// Problems to report: (line, column, value, reason).
    Rejected(Vec<(u64, String, String, String)>),
    Fatal(ServiceError),
}

impl From<ServiceError> for RowError {
    fn from(e: ServiceError) -> RowError {
        RowError::Fatal(e)
    }
}

impl From<dealerbase_store::StoreError> for RowError {
    fn from(e: dealerbase_store::StoreError) -> RowError {
        RowError::Fatal(e.into())
    }
}

type RowResult<T> = std::result::Result<T, RowError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Inserted,
    Updated,
    Unchanged,
    Merged,
}

/// State of an import of records across batches.
pub(crate) struct RecordImport {
    models: Vec<VehicleModel>,
    /// (id, store, login, name) of the group's staff.
    staff: Vec<(Id, Option<Id>, String, String)>,
    class: (String, String),
}

fn reject<T>(row: &SourceRow, field: &str, reason: String) -> RowResult<T> {
    Err(RowError::Rejected(vec![(
        row.line,
        row.header(field),
        row.get(field).unwrap_or_default().to_string(),
        reason,
    )]))
}

/// A validation error of a field as a rejection naming the column.
fn invalid<T>(row: &SourceRow, field: &str, e: ValidationError, ctx: &PassCtx<'_>) -> RowResult<T> {
    let header = row.header(field);
    let value = e.value.clone();
    Err(RowError::Rejected(vec![(
        row.line,
        header.clone(),
        value,
        e.with_field(header).message(ctx.lang()),
    )]))
}

fn date(row: &SourceRow, field: &str, ctx: &PassCtx<'_>) -> RowResult<Option<NaiveDate>> {
    match row.get(field) {
        None => Ok(None),
        Some(v) => match parse_dms_date(field, v) {
            Ok(d) => Ok(Some(d)),
            Err(e) => invalid(row, field, e, ctx),
        },
    }
}

fn yuan(row: &SourceRow, field: &str, ctx: &PassCtx<'_>) -> RowResult<Option<i64>> {
    match row.get(field) {
        None => Ok(None),
        Some(v) => match parse_yuan(field, v) {
            Ok(f) => Ok(Some(f)),
            Err(e) => invalid(row, field, e, ctx),
        },
    }
}

fn number(row: &SourceRow, field: &str, ctx: &PassCtx<'_>) -> RowResult<Option<f64>> {
    match row.get(field) {
        None => Ok(None),
        Some(v) => match parse_number(field, v) {
            Ok(f) => Ok(Some(f)),
            Err(e) => invalid(row, field, e, ctx),
        },
    }
}

fn required<'r>(row: &'r SourceRow, field: &str, ctx: &PassCtx<'_>) -> RowResult<&'r str> {
    match row.get(field) {
        Some(v) => Ok(v),
        None => invalid(
            row,
            field,
            ValidationError::new(field, "", Rule::Required),
            ctx,
        ),
    }
}

fn yes_no(row: &SourceRow, field: &str, ctx: &PassCtx<'_>) -> RowResult<Option<bool>> {
    match row.get(field) {
        None => Ok(None),
        Some(v) => match parse_yes_no(v) {
            Some(b) => Ok(Some(b)),
            None => invalid(
                row,
                field,
                ValidationError::new(
                    field,
                    v,
                    Rule::OneOf {
                        allowed: vec!["是".into(), "否".into()],
                    },
                ),
                ctx,
            ),
        },
    }
}

/// A validation failure of one of the service's inputs, with each field named by its
/// column (`lines[2].name` → the line-name column of the 2nd row of a work order).
fn invalid_input<T>(
    rows: &[SourceRow],
    e: ServiceError,
    ctx: &PassCtx<'_>,
    map: &[(&str, &str)],
) -> RowResult<T> {
    let ServiceError::Invalid(errors) = e else {
        return Err(RowError::Fatal(e));
    };
    let mut out = Vec::new();
    for e in errors {
        let (row, field) = match e
            .field
            .strip_prefix("lines[")
            .and_then(|r| r.split_once("]."))
        {
            Some((n, f)) => (
                n.parse::<usize>()
                    .ok()
                    .and_then(|n| rows.get(n.saturating_sub(1)))
                    .unwrap_or(&rows[0]),
                f.to_string(),
            ),
            None => (&rows[0], e.field.clone()),
        };
        let field = map
            .iter()
            .find(|(from, _)| *from == field)
            .map_or(field.clone(), |(_, to)| to.to_string());
        let header = row.header(&field);
        out.push((
            row.line,
            header.clone(),
            e.value.clone(),
            e.with_field(header).message(ctx.lang()),
        ));
    }
    Err(RowError::Rejected(out))
}

impl RecordImport {
    pub async fn new(svc: &Services, ctx: &PassCtx<'_>) -> Result<RecordImport> {
        let d = classify(
            &ClassFacts::default(),
            svc.clock.today(),
            DEFAULT_LAPSE_MONTHS,
        );
        Ok(RecordImport {
            models: svc.db.vehicle_models().await?,
            staff: svc.db.staff_names(ctx.store.group_id).await?,
            class: (d.class.code().to_string(), d.reason),
        })
    }

    pub async fn batch(
        &mut self,
        svc: &Services,
        ctx: &PassCtx<'_>,
        rows: Vec<SourceRow>,
        state: &mut PassState,
        rows_done: i64,
    ) -> Result<()> {
        let before = state.counts;
        let mut tx = svc.db.begin_import().await?;
        let mut touched: BTreeSet<Id> = BTreeSet::new();
        // Work orders: consecutive rows with one number are one work order with lines.
        let mut groups: Vec<Vec<SourceRow>> = Vec::new();
        for row in rows {
            let same = ctx.kind == ImportKind::WorkOrders
                && row.broken.is_none()
                && row.get("number").is_some()
                && groups.last().is_some_and(|g| {
                    g[0].broken.is_none() && g[0].get("number") == row.get("number")
                });
            match groups.last_mut() {
                Some(g) if same => g.push(row),
                _ => groups.push(vec![row]),
            }
        }
        for group in groups {
            if let Some(reason) = &group[0].broken {
                state.counts.rejected += 1;
                state.reject(group[0].line, String::new(), String::new(), reason.clone());
                continue;
            }
            let result = match ctx.kind {
                ImportKind::Vehicles => self.vehicle(svc, ctx, &mut tx, &group[0], state).await,
                ImportKind::Sales => self.sale(svc, ctx, &mut tx, &group[0], state).await,
                ImportKind::WorkOrders => self.work_order(svc, ctx, &mut tx, &group, state).await,
                ImportKind::Policies => self.policy(svc, ctx, &mut tx, &group[0], state).await,
                ImportKind::Customers => Err(RowError::Fatal(ServiceError::Internal(
                    "customers go the fast path".into(),
                ))),
            };
            match result {
                Ok((outcome, customer)) => {
                    match outcome {
                        Outcome::Inserted => state.counts.inserted += 1,
                        Outcome::Updated => state.counts.updated += 1,
                        Outcome::Unchanged => state.counts.unchanged += 1,
                        Outcome::Merged => state.counts.merged += 1,
                    }
                    touched.insert(customer);
                }
                Err(RowError::Rejected(problems)) => {
                    state.counts.rejected += 1;
                    for (line, column, value, reason) in problems {
                        state.reject(line, column, value, reason);
                    }
                }
                Err(RowError::Fatal(e)) => return Err(e),
            }
        }
        match (ctx.write, ctx.run_id) {
            (true, Some(run_id)) => {
                tx.progress(
                    run_id,
                    rows_done,
                    state.counts.minus(before),
                    &state.batch_problems,
                )
                .await?;
                tx.commit().await?;
                // Owners' classes follow their new vehicles, sales and visits.
                for id in touched {
                    svc.reclassify(id).await?;
                }
            }
            _ => tx.rollback().await?,
        }
        Ok(())
    }

    fn model(&self, s: &str) -> Option<&VehicleModel> {
        let k = normalize(s).to_lowercase();
        self.models
            .iter()
            .find(|m| m.code.to_lowercase() == k)
            .or_else(|| {
                self.models
                    .iter()
                    .find(|m| normalize(&m.name).to_lowercase() == k)
            })
    }

    fn staff_named(&self, s: &str, store_id: Id) -> Option<Id> {
        let k = normalize(s);
        let matches = |(_, _, login, name): &&(Id, Option<Id>, String, String)| {
            *name == k || login.eq_ignore_ascii_case(&k)
        };
        self.staff
            .iter()
            .filter(matches)
            .find(|(_, store, _, _)| *store == Some(store_id))
            .or_else(|| self.staff.iter().find(matches))
            .map(|(id, _, _, _)| *id)
    }

    /// A row's VIN, validated (check digit included).
    fn vin(row: &SourceRow, ctx: &PassCtx<'_>) -> RowResult<Option<String>> {
        match row.get("vin") {
            None => Ok(None),
            Some(v) => match Vin::parse(v) {
                Ok(v) => Ok(Some(v.as_str().to_string())),
                Err(e) => invalid(row, "vin", e, ctx),
            },
        }
    }

    /// The vehicle a row is about, by VIN or else by plate; None when the file has neither
    /// or the vehicle is not known.
    async fn find_vehicle(
        tx: &mut ImportTx,
        ctx: &PassCtx<'_>,
        row: &SourceRow,
    ) -> RowResult<(Option<String>, Option<FoundVehicle>)> {
        let vin = Self::vin(row, ctx)?;
        let found = if let Some(v) = &vin {
            tx.vehicle_by_vin(v).await?
        } else if let Some(p) = row.get("plate") {
            let plate = match Plate::parse_optional(p) {
                Ok(Some(p)) => p.as_str().to_string(),
                Ok(None) => return Ok((None, None)),
                Err(e) => return invalid(row, "plate", e, ctx),
            };
            let mut found = tx.vehicles_by_plate(ctx.store.group_id, &plate).await?;
            if found.len() > 1 {
                return reject(
                    row,
                    "plate",
                    ctx.say(
                        "该车牌号对应多辆车，请提供车架号",
                        "several vehicles have this plate; give the VIN",
                    ),
                );
            }
            found.pop()
        } else {
            None
        };
        if let Some(v) = &found
            && v.group_id != ctx.store.group_id
        {
            return reject(
                row,
                "vin",
                ctx.say(
                    "该车架号的车辆属于其他集团",
                    "the vehicle with this VIN belongs to another dealer group",
                ),
            );
        }
        Ok((vin, found))
    }

    /// The customer a row names (by mobile or ID number; created from the row when new),
    /// or else `fallback` (the vehicle's owner). The row's values fill or replace the
    /// customer's, each change recorded.
    async fn customer(
        &self,
        svc: &Services,
        ctx: &PassCtx<'_>,
        tx: &mut ImportTx,
        row: &SourceRow,
        state: &mut PassState,
        fallback: Option<Id>,
    ) -> RowResult<Option<Id>> {
        let today = svc.clock.today();
        let input = CustomerInput {
            name: row.get("name").map(str::to_string),
            mobile: row.get("mobile").map(str::to_string),
            id_number: row.get("id_number").map(str::to_string),
            ..Default::default()
        };
        if input.mobile.is_none() && input.id_number.is_none() {
            return Ok(fallback);
        }
        // Validated on its own first, so a bad mobile or ID number names its column.
        let probe = CustomerInput {
            name: Some(input.name.clone().unwrap_or_else(|| "-".into())),
            store_id: Some(ctx.store.id),
            ..input.clone()
        };
        let fields = match probe.apply(None, today) {
            Ok(f) => f,
            Err(e) => return invalid_input(std::slice::from_ref(row), e, ctx, &[]),
        };
        let found = tx
            .customer_ids_by_keys(
                ctx.store.group_id,
                fields.mobile.as_deref(),
                fields.id_number.as_deref(),
                None,
            )
            .await?;
        let mut ids: Vec<Id> = found.iter().map(|(_, id)| *id).collect();
        ids.sort_unstable();
        ids.dedup();
        let keys: Vec<u64> = [
            fields
                .mobile
                .as_ref()
                .map(|m| key_hash("", &format!("m:{m}"))),
            fields
                .id_number
                .as_ref()
                .map(|i| key_hash("", &format!("i:{i}"))),
        ]
        .into_iter()
        .flatten()
        .collect();
        // Two different customers: a mobile of one and an ID number of another.
        let by_mobile: Vec<Id> = found
            .iter()
            .filter(|(k, _)| *k == dealerbase_store::import::KeyKind::Mobile)
            .map(|(_, id)| *id)
            .collect();
        let by_id: Vec<Id> = found
            .iter()
            .filter(|(k, _)| *k == dealerbase_store::import::KeyKind::IdNumber)
            .map(|(_, id)| *id)
            .collect();
        if !by_mobile.is_empty()
            && !by_id.is_empty()
            && !by_mobile.iter().any(|m| by_id.contains(m))
        {
            return reject(
                row,
                "mobile",
                ctx.say(
                    "手机号与证件号码分别属于两个不同的客户，请先人工合并",
                    "the mobile and the ID number belong to two different customers; merge them by hand first",
                ),
            );
        }
        if let Some(&id) = ids.first() {
            let c = tx.customer(id).await?;
            let mut update = input.clone();
            update.store_id = None;
            let new = match update.apply(Some(&c.fields), today) {
                Ok(f) => f,
                Err(e) => return invalid_input(std::slice::from_ref(row), e, ctx, &[]),
            };
            let ch = changes(&c.fields, &new);
            if !ch.is_empty() {
                tx.update_customer(id, &new, &ch, ctx.run_id, svc.clock.now())
                    .await?;
            }
            return Ok(Some(id));
        }
        if input.name.is_none() {
            return reject(
                row,
                "name",
                ctx.say("新客户需要客户姓名", "a new customer needs a name"),
            );
        }
        let id = tx
            .insert_customer(&fields, (&self.class.0, &self.class.1), svc.clock.now())
            .await?;
        // Counted once per pass, also when a pass that writes nothing meets it again.
        if !keys.iter().any(|k| state.created_customers.contains(k)) {
            state.counts.customers_created += 1;
        }
        state.created_customers.extend(keys);
        Ok(Some(id))
    }

    /// Whether a record key was met earlier in this pass (then the row is a duplicate).
    fn seen(state: &mut PassState, prefix: &str, key: &str) -> bool {
        !state.seen.insert(key_hash(prefix, key))
    }

    async fn vehicle(
        &self,
        svc: &Services,
        ctx: &PassCtx<'_>,
        tx: &mut ImportTx,
        row: &SourceRow,
        state: &mut PassState,
    ) -> RowResult<(Outcome, Id)> {
        required(row, "vin", ctx)?;
        let (vin, found) = Self::find_vehicle(tx, ctx, row).await?;
        let Some(vin) = vin else {
            return reject(row, "vin", String::new());
        };
        let model_id = match row.get("model") {
            Some(m) => match self.model(m) {
                Some(m) => Some(m.id),
                None => {
                    return reject(
                        row,
                        "model",
                        ctx.say(
                            &format!("车型「{m}」不在车型目录中（按车型代码或名称匹配）"),
                            &format!(
                                "model {m:?} is not in the catalogue (matched by code or name)"
                            ),
                        ),
                    );
                }
            },
            None => None,
        };
        if found.is_none() && model_id.is_none() {
            return invalid(
                row,
                "model",
                ValidationError::new("model", "", Rule::Required),
                ctx,
            );
        }
        let km = number(row, "odometer_km", ctx)?;
        if let Some(km) = km
            && !(0.0..=2_000_000.0).contains(&km)
        {
            return invalid(
                row,
                "odometer_km",
                ValidationError::new(
                    "odometer_km",
                    km.to_string(),
                    Rule::OutOfRange {
                        min: 0,
                        max: 2_000_000,
                    },
                ),
                ctx,
            );
        }
        let odometer_on = date(row, "odometer_date", ctx)?;
        let input = VehicleInput {
            vin: Some(vin.clone()),
            engine_no: row.get("engine_no").map(str::to_string),
            model_id,
            colour: row.get("colour").map(str::to_string),
            model_year: number(row, "model_year", ctx)?.map(|y| y as i64),
            plate: row.get("plate").map(str::to_string),
            purchase_date: row.get("purchase_date").map(str::to_string),
            invoice_date: row.get("invoice_date").map(str::to_string),
            delivery_date: row.get("delivery_date").map(str::to_string),
            own_sold: yes_no(row, "own_sold", ctx)?,
            warranty_end_date: row.get("warranty_end_date").map(str::to_string),
            warranty_end_km: number(row, "warranty_end_km", ctx)?.map(|k| k as i64),
            compulsory_insurance_end: row.get("compulsory_insurance_end").map(str::to_string),
            commercial_insurance_end: row.get("commercial_insurance_end").map(str::to_string),
            inspection_due: row.get("inspection_due").map(str::to_string),
            store_id: found.is_none().then_some(ctx.store.id),
            ..Default::default()
        };
        let mut fields = match input.apply(found.as_ref().map(|v| &v.fields)) {
            Ok(f) => f,
            Err(e) => return invalid_input(std::slice::from_ref(row), e, ctx, &[]),
        };
        let owner = self
            .customer(
                svc,
                ctx,
                tx,
                row,
                state,
                found.as_ref().and_then(|v| v.owner_id),
            )
            .await?;
        let Some(owner) = owner else {
            return reject(
                row,
                "mobile",
                ctx.say(
                    "无法确定车主：需要车主手机号或证件号码",
                    "the owner cannot be recognised: give the owner's mobile or ID number",
                ),
            );
        };
        let dup = Self::seen(state, "vehicle", &vin);
        let today = svc.clock.today();
        let (outcome, vehicle_id) = match found {
            None => {
                if fields.own_sold {
                    fields.selling_store_id = fields.selling_store_id.or(Some(ctx.store.id));
                }
                // Warranty from the delivery (or invoice) date by the model's terms.
                if fields.warranty_end_date.is_none()
                    && let Some(m) = self.models.iter().find(|m| m.id == fields.model_id)
                    && let Some(start) = fields.delivery_date.or(fields.invoice_date)
                {
                    fields.warranty_end_date =
                        start.checked_add_months(Months::new(m.warranty_months as u32));
                    fields.warranty_end_km = fields.warranty_end_km.or(Some(m.warranty_km));
                }
                let from = fields
                    .delivery_date
                    .or(fields.purchase_date)
                    .unwrap_or(today);
                let id = tx
                    .insert_vehicle(&fields, owner, from, svc.clock.now())
                    .await?;
                (Outcome::Inserted, id)
            }
            Some(v) => {
                let mut changed =
                    serde_json::to_value(&v.fields).ok() != serde_json::to_value(&fields).ok();
                if changed {
                    tx.update_vehicle(v.id, &fields).await?;
                }
                if v.owner_id != Some(owner) {
                    let on = fields
                        .delivery_date
                        .or(fields.purchase_date)
                        .filter(|d| *d <= today)
                        .unwrap_or(today);
                    tx.transfer_vehicle(v.id, owner, on).await?;
                    changed = true;
                }
                (
                    if changed {
                        Outcome::Updated
                    } else {
                        Outcome::Unchanged
                    },
                    v.id,
                )
            }
        };
        if let Some(km) = km {
            let added = tx
                .add_odometer_reading(
                    vehicle_id,
                    odometer_on.unwrap_or(today),
                    km as i64,
                    "import",
                )
                .await?;
            if added && outcome == Outcome::Unchanged {
                return Ok((
                    if dup {
                        Outcome::Merged
                    } else {
                        Outcome::Updated
                    },
                    owner,
                ));
            }
        }
        Ok((if dup { Outcome::Merged } else { outcome }, owner))
    }

    async fn sale(
        &self,
        svc: &Services,
        ctx: &PassCtx<'_>,
        tx: &mut ImportTx,
        row: &SourceRow,
        state: &mut PassState,
    ) -> RowResult<(Outcome, Id)> {
        let order_no = row.get("order_no").map(normalize);
        if order_no.as_ref().is_some_and(|n| n.chars().count() > 40) {
            return invalid(
                row,
                "order_no",
                ValidationError::new(
                    "order_no",
                    order_no.clone().unwrap_or_default(),
                    Rule::TooLong { max: 40 },
                ),
                ctx,
            );
        }
        let (vin, found) = Self::find_vehicle(tx, ctx, row).await?;
        if order_no.is_none() && vin.is_none() {
            return reject(
                row,
                "order_no",
                ctx.say(
                    "订单号和车架号都为空，无法识别这笔销售",
                    "neither order number nor VIN: the sale cannot be recognised",
                ),
            );
        }
        let ordered_on = date(row, "ordered_on", ctx)?;
        let Some(ordered_on) = ordered_on else {
            return invalid(
                row,
                "ordered_on",
                ValidationError::new("ordered_on", "", Rule::Required),
                ctx,
            );
        };
        let delivered_on = date(row, "delivered_on", ctx)?;
        let price_fen = yuan(row, "price", ctx)?.unwrap_or(0);
        let deposit_fen = yuan(row, "deposit", ctx)?.unwrap_or(0);
        let kind = match row.get("sale_kind") {
            None => SalesOrderKind::New,
            Some(k) => SalesOrderKind::parse("sale_kind", k)
                .or_else(|e| invalid(row, "sale_kind", e, ctx))?,
        };
        let status = match row.get("status") {
            None if delivered_on.is_some() => SalesOrderStatus::Delivered,
            None => SalesOrderStatus::Open,
            Some(s) => {
                SalesOrderStatus::parse("status", s).or_else(|e| invalid(row, "status", e, ctx))?
            }
        };
        let model_id = match (row.get("model"), &found) {
            (Some(m), _) => match self.model(m) {
                Some(m) => m.id,
                None => {
                    return reject(
                        row,
                        "model",
                        ctx.say(
                            &format!("车型「{m}」不在车型目录中（按车型代码或名称匹配）"),
                            &format!(
                                "model {m:?} is not in the catalogue (matched by code or name)"
                            ),
                        ),
                    );
                }
            },
            (None, Some(v)) => v.fields.model_id,
            (None, None) => {
                return invalid(
                    row,
                    "model",
                    ValidationError::new("model", "", Rule::Required),
                    ctx,
                );
            }
        };
        let consultant_id = row
            .get("consultant")
            .and_then(|s| self.staff_named(s, ctx.store.id));
        let plate = match row.get("plate").map(Plate::parse_optional) {
            Some(Ok(p)) => p.map(|p| p.as_str().to_string()),
            Some(Err(e)) => return invalid(row, "plate", e, ctx),
            None => None,
        };
        let customer = self
            .customer(
                svc,
                ctx,
                tx,
                row,
                state,
                found.as_ref().and_then(|v| v.owner_id),
            )
            .await?;
        let Some(customer) = customer else {
            return reject(
                row,
                "mobile",
                ctx.say(
                    "无法确定客户：需要客户手机号或证件号码",
                    "the customer cannot be recognised: give the mobile or ID number",
                ),
            );
        };
        let now = svc.clock.now();
        // The vehicle of the sale: created when the file names a new VIN, handed to the
        // buyer when delivered.
        let vehicle_id = match (&vin, &found) {
            (Some(vin), None) => {
                let mut f = dealerbase_store::VehicleFields {
                    vin: vin.clone(),
                    model_id,
                    plate,
                    purchase_date: Some(ordered_on),
                    delivery_date: delivered_on,
                    selling_store_id: Some(ctx.store.id),
                    own_sold: true,
                    store_id: ctx.store.id,
                    ..Default::default()
                };
                if let Some(m) = self.models.iter().find(|m| m.id == model_id)
                    && let Some(d) = delivered_on
                {
                    f.warranty_end_date =
                        d.checked_add_months(Months::new(m.warranty_months as u32));
                    f.warranty_end_km = Some(m.warranty_km);
                }
                Some(
                    tx.insert_vehicle(&f, customer, delivered_on.unwrap_or(ordered_on), now)
                        .await?,
                )
            }
            (_, Some(v)) => {
                if status == SalesOrderStatus::Delivered && v.owner_id != Some(customer) {
                    tx.transfer_vehicle(v.id, customer, delivered_on.unwrap_or(ordered_on))
                        .await?;
                }
                Some(v.id)
            }
            (None, None) => None,
        };
        let fields = SaleFields {
            store_id: ctx.store.id,
            customer_id: customer,
            vehicle_id,
            model_id,
            consultant_id,
            kind: kind.code().into(),
            status: status.code().into(),
            ordered_on,
            deposit_fen,
            price_fen,
            delivered_on,
            order_no: order_no.clone(),
        };
        let key = order_no.clone().or(vin.clone()).unwrap_or_default();
        let dup = Self::seen(state, "sale", &key);
        let outcome = match tx
            .find_sale(ctx.store.id, order_no.as_deref(), vehicle_id)
            .await?
        {
            None => {
                tx.insert_sale(&fields).await?;
                Outcome::Inserted
            }
            Some((id, old)) => {
                // A sale found by its vehicle keeps its order number unless the file has one.
                let fields = SaleFields {
                    order_no: fields.order_no.clone().or(old.order_no.clone()),
                    ..fields
                };
                if old == fields {
                    Outcome::Unchanged
                } else {
                    tx.update_sale(id, &fields).await?;
                    Outcome::Updated
                }
            }
        };
        Ok((if dup { Outcome::Merged } else { outcome }, customer))
    }

    async fn work_order(
        &self,
        svc: &Services,
        ctx: &PassCtx<'_>,
        tx: &mut ImportTx,
        rows: &[SourceRow],
        state: &mut PassState,
    ) -> RowResult<(Outcome, Id)> {
        let first = &rows[0];
        let wo_number = normalize(required(first, "number", ctx)?);
        if Self::seen(state, "wo", &wo_number) {
            return reject(
                first,
                "number",
                ctx.say(
                    "同一工单号的行在文件中不相邻（一个工单的明细行应连续排列）",
                    "rows of this work-order number are not together in the file (a work order's lines must be consecutive)",
                ),
            );
        }
        // Header fields must agree across the work order's rows; the first value given wins.
        const HEADER: &[&str] = &[
            "vin",
            "plate",
            "wo_kind",
            "opened_on",
            "settled_on",
            "odometer_km",
            "paid_by",
            "advisor",
            "total",
            "name",
            "mobile",
            "id_number",
        ];
        let mut head = first.clone();
        for field in HEADER {
            let mut value: Option<(&SourceRow, &str)> = None;
            for r in rows {
                if let Some(v) = r.get(field) {
                    match value {
                        None => value = Some((r, v)),
                        Some((_, w)) if normalize(w) != normalize(v) => {
                            return reject(
                                r,
                                field,
                                ctx.say(
                                    &format!("与同一工单前面的行不一致（{w}）"),
                                    &format!(
                                        "differs from an earlier row of the same work order ({w})"
                                    ),
                                ),
                            );
                        }
                        _ => {}
                    }
                }
            }
            if let Some((r, v)) = value
                && head.get(field).is_none()
            {
                head.cells.push(super::Cell {
                    field,
                    header: r.header(field).into(),
                    value: v.to_string(),
                });
            }
        }
        let (_, found) = Self::find_vehicle(tx, ctx, &head).await?;
        let Some(vehicle) = found else {
            return reject(
                &head,
                if head.get("vin").is_some() {
                    "vin"
                } else {
                    "plate"
                },
                ctx.say(
                    "车辆不存在，请先导入车辆",
                    "no such vehicle: import the vehicles first",
                ),
            );
        };
        let lines: Vec<WorkOrderLineInput> = rows
            .iter()
            .filter(|r| {
                r.get("line_name").is_some()
                    || r.get("line_code").is_some()
                    || r.get("line_amount").is_some()
            })
            .map(|r| -> RowResult<WorkOrderLineInput> {
                Ok(WorkOrderLineInput {
                    line_kind: r.get("line_kind").map(str::to_string),
                    code: r.get("line_code").map(str::to_string),
                    name: r.get("line_name").map(str::to_string),
                    quantity: number(r, "quantity", ctx)?,
                    amount_fen: yuan(r, "line_amount", ctx)?,
                    cost_fen: yuan(r, "line_cost", ctx)?,
                })
            })
            .collect::<RowResult<_>>()?;
        let line_rows: Vec<SourceRow> = rows
            .iter()
            .filter(|r| {
                r.get("line_name").is_some()
                    || r.get("line_code").is_some()
                    || r.get("line_amount").is_some()
            })
            .cloned()
            .collect();
        let opened = head
            .get("opened_on")
            .or(head.get("settled_on"))
            .map(str::to_string);
        let input = WorkOrderInput {
            number: Some(wo_number.clone()),
            kind: head.get("wo_kind").map(str::to_string),
            opened_on: opened,
            settled_on: head.get("settled_on").map(str::to_string),
            odometer_km: number(&head, "odometer_km", ctx)?.map(|k| k as i64),
            paid_by: head.get("paid_by").map(str::to_string),
            lines,
            ..Default::default()
        };
        let v = match input.validate() {
            Ok(v) => v,
            Err(e) => {
                let rows_for_lines = if line_rows.is_empty() {
                    vec![head.clone()]
                } else {
                    line_rows
                };
                return invalid_input(
                    &rows_for_lines,
                    e,
                    ctx,
                    &[
                        ("kind", "wo_kind"),
                        ("line_kind", "line_kind"),
                        ("code", "line_code"),
                        ("name", "line_name"),
                        ("amount_fen", "line_amount"),
                        ("cost_fen", "line_cost"),
                    ],
                );
            }
        };
        let total_fen = if v.lines.is_empty() {
            yuan(&head, "total", ctx)?.unwrap_or(0)
        } else {
            v.total_fen
        };
        let customer = self
            .customer(svc, ctx, tx, &head, state, vehicle.owner_id)
            .await?;
        let Some(customer) = customer else {
            return reject(
                &head,
                "mobile",
                ctx.say(
                    "车辆没有车主，且行中没有客户手机号或证件号码",
                    "the vehicle has no owner and the row names no customer",
                ),
            );
        };
        let fields = WorkOrderFields {
            store_id: ctx.store.id,
            number: v.number.clone(),
            vehicle_id: vehicle.id,
            customer_id: customer,
            advisor_id: head
                .get("advisor")
                .and_then(|a| self.staff_named(a, ctx.store.id)),
            kind: v.kind.code().into(),
            status: if v.settled_on.is_some() {
                "settled".into()
            } else {
                "open".into()
            },
            opened_on: v.opened_on,
            settled_on: v.settled_on,
            odometer_km: v.odometer_km,
            total_fen,
            paid_by: v.paid_by.code().into(),
        };
        let outcome = match tx
            .work_order_by_number(ctx.store.id, &fields.number)
            .await?
        {
            None => {
                tx.write_work_order(None, &fields, &v.lines).await?;
                Outcome::Inserted
            }
            Some(old) => {
                let same = serde_json::to_value(&old.fields).ok()
                    == serde_json::to_value(&fields).ok()
                    && serde_json::to_value(&old.lines).ok() == serde_json::to_value(&v.lines).ok();
                if same {
                    Outcome::Unchanged
                } else {
                    tx.write_work_order(Some(old.id), &fields, &v.lines).await?;
                    Outcome::Updated
                }
            }
        };
        Ok((outcome, customer))
    }

    async fn policy(
        &self,
        svc: &Services,
        ctx: &PassCtx<'_>,
        tx: &mut ImportTx,
        row: &SourceRow,
        state: &mut PassState,
    ) -> RowResult<(Outcome, Id)> {
        let policy_no = normalize(required(row, "policy_no", ctx)?);
        if policy_no.chars().count() > 40 {
            return invalid(
                row,
                "policy_no",
                ValidationError::new("policy_no", policy_no.clone(), Rule::TooLong { max: 40 }),
                ctx,
            );
        }
        let kind = PolicyKind::parse("policy_kind", required(row, "policy_kind", ctx)?)
            .or_else(|e| invalid(row, "policy_kind", e, ctx))?;
        let insurer = normalize(required(row, "insurer", ctx)?);
        if insurer.chars().count() > 50 {
            return invalid(
                row,
                "insurer",
                ValidationError::new("insurer", insurer.clone(), Rule::TooLong { max: 50 }),
                ctx,
            );
        }
        let Some(end_date) = date(row, "end_date", ctx)? else {
            return invalid(
                row,
                "end_date",
                ValidationError::new("end_date", "", Rule::Required),
                ctx,
            );
        };
        // A year's cover when the start is not given.
        let start_date = match date(row, "start_date", ctx)? {
            Some(d) => d,
            None => end_date
                .checked_sub_months(Months::new(12))
                .and_then(|d| d.succ_opt())
                .unwrap_or(end_date),
        };
        if start_date > end_date {
            return invalid(
                row,
                "start_date",
                ValidationError::new("start_date", start_date.to_string(), Rule::DateFormat),
                ctx,
            );
        }
        let premium_fen = yuan(row, "premium", ctx)?.unwrap_or(0);
        let sold_here = yes_no(row, "sold_here", ctx)?.unwrap_or(true);
        let (_, found) = Self::find_vehicle(tx, ctx, row).await?;
        let Some(vehicle) = found else {
            return reject(
                row,
                if row.get("vin").is_some() {
                    "vin"
                } else {
                    "plate"
                },
                ctx.say(
                    "车辆不存在，请先导入车辆",
                    "no such vehicle: import the vehicles first",
                ),
            );
        };
        let customer = self
            .customer(svc, ctx, tx, row, state, vehicle.owner_id)
            .await?;
        let Some(customer) = customer else {
            return reject(
                row,
                "mobile",
                ctx.say(
                    "车辆没有车主，且行中没有客户手机号或证件号码",
                    "the vehicle has no owner and the row names no customer",
                ),
            );
        };
        let fields = PolicyFields {
            store_id: ctx.store.id,
            vehicle_id: vehicle.id,
            customer_id: customer,
            kind: kind.code().into(),
            insurer,
            policy_no: policy_no.clone(),
            start_date,
            end_date,
            premium_fen,
            sold_here,
        };
        let dup = Self::seen(state, "policy", &format!("{policy_no}/{}", kind.code()));
        let outcome = match tx
            .find_policy(ctx.store.group_id, &policy_no, kind.code())
            .await?
        {
            None => {
                tx.write_policy(None, &fields).await?;
                Outcome::Inserted
            }
            Some((id, old)) => {
                // A policy keeps the store that sold it.
                let fields = PolicyFields {
                    store_id: old.store_id,
                    ..fields
                };
                if old == fields {
                    Outcome::Unchanged
                } else {
                    tx.write_policy(Some(id), &fields).await?;
                    Outcome::Updated
                }
            }
        };
        // The vehicle's insurance end date follows its latest policy of the kind.
        let mut v = vehicle.fields.clone();
        let slot = match kind {
            PolicyKind::Compulsory => &mut v.compulsory_insurance_end,
            PolicyKind::Commercial => &mut v.commercial_insurance_end,
        };
        if slot.is_none_or(|d| d < end_date) {
            *slot = Some(end_date);
            tx.update_vehicle(vehicle.id, &v).await?;
        }
        Ok((if dup { Outcome::Merged } else { outcome }, customer))
    }
}
