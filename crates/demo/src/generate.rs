//! Per-customer generation of the demo history. Each customer draws from its own seeded
//! stream, so the data set depends only on the seed, the options and the as-of date.

use crate::DemoOptions;
use crate::data::*;
use crate::rng::Rng;
use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, Utc};
use dealerbase_domain::class::{ClassFacts, DEFAULT_LAPSE_MONTHS, OwnedVehicle, classify};
use dealerbase_domain::model::*;
use dealerbase_domain::{resident_id, vin};
use dealerbase_store::bulk::{TableRows, Val};
use dealerbase_store::{name_grams, name_grams_value};

pub(crate) struct ModelInfo {
    pub id: i64,
    pub price_yuan: i64,
    pub wmi: &'static str,
    pub schedule: (i64, i64, i64, i64),
    pub code: &'static str,
}

pub(crate) struct StoreInfo {
    pub id: i64,
    pub code: String,
    pub brand: usize,
    pub city: usize,
    pub manager: i64,
    pub consultants: Vec<i64>,
    pub advisors: Vec<i64>,
    pub care: Vec<i64>,
}

/// Tables in foreign-key order, as written per batch.
pub(crate) const TABLES: &[&str] = &[
    "customer",
    "customer_name_gram",
    "customer_assignment",
    "company_contact",
    "customer_relation",
    "vehicle",
    "vehicle_ownership",
    "lead",
    "showroom_visit",
    "test_drive",
    "contact",
    "defeat_request",
    "sales_order",
    "work_order",
    "work_order_line",
    "insurance_policy",
    "task",
    "complaint",
    "survey_response",
    "consent",
];

macro_rules! table {
    ($name:literal, [$($col:literal),+ $(,)?]) => {
        TableRows::new($name, &[$($col),+])
    };
}

fn new_batch(grams_column: Option<&'static str>) -> Vec<TableRows> {
    let customer = |t: TableRows| match grams_column {
        Some(c) => t.with_column(c),
        None => t,
    };
    vec![
        customer(table!(
            "customer",
            [
                "id",
                "store_id",
                "kind",
                "name",
                "title",
                "gender",
                "id_type",
                "id_number",
                "birthday",
                "lunar_birthday",
                "mobile",
                "email",
                "province_code",
                "city_code",
                "address",
                "industry",
                "occupation",
                "source",
                "vip",
                "key_account",
                "consultant_id",
                "class",
                "class_reason",
                "created_at",
                "updated_at"
            ]
        )),
        table!("customer_name_gram", ["gram", "customer_id"]),
        table!(
            "customer_assignment",
            [
                "id",
                "customer_id",
                "staff_id",
                "assigned_at",
                "ended_at",
                "assigned_by",
                "reason"
            ]
        ),
        table!(
            "company_contact",
            ["id", "customer_id", "name", "position", "mobile"]
        ),
        table!(
            "customer_relation",
            [
                "id",
                "customer_id",
                "related_customer_id",
                "kind",
                "created_at"
            ]
        ),
        table!(
            "vehicle",
            [
                "id",
                "vin",
                "engine_no",
                "model_id",
                "colour",
                "model_year",
                "plate",
                "purchase_date",
                "invoice_date",
                "delivery_date",
                "selling_store_id",
                "own_sold",
                "warranty_end_date",
                "warranty_end_km",
                "compulsory_insurance_end",
                "commercial_insurance_end",
                "inspection_due",
                "store_id",
                "created_at"
            ]
        ),
        table!(
            "vehicle_ownership",
            ["id", "vehicle_id", "customer_id", "from_date", "to_date"]
        ),
        table!(
            "lead",
            [
                "id",
                "store_id",
                "customer_id",
                "grade",
                "source",
                "source_detail",
                "desired_model_id",
                "status",
                "owner_id",
                "next_follow_up",
                "created_at",
                "updated_at",
                "closed_at"
            ]
        ),
        table!(
            "showroom_visit",
            [
                "id",
                "store_id",
                "channel",
                "arrived_at",
                "left_at",
                "party_size",
                "consultant_id",
                "first_visit",
                "source",
                "desired_model_id",
                "customer_id",
                "lead_id",
                "visitor_name"
            ]
        ),
        table!(
            "test_drive",
            [
                "id",
                "lead_id",
                "model_id",
                "staff_id",
                "booked_at",
                "done_at",
                "status"
            ]
        ),
        table!(
            "contact",
            [
                "id",
                "store_id",
                "customer_id",
                "lead_id",
                "staff_id",
                "channel",
                "direction",
                "purpose",
                "occurred_at",
                "outcome",
                "note",
                "grade_before",
                "grade_after",
                "next_date"
            ]
        ),
        table!(
            "defeat_request",
            [
                "id",
                "lead_id",
                "requested_by",
                "requested_at",
                "reason",
                "competitor_brand",
                "competitor_model",
                "note",
                "status",
                "decided_by",
                "decided_at",
                "manager_comment"
            ]
        ),
        table!(
            "sales_order",
            [
                "id",
                "store_id",
                "customer_id",
                "lead_id",
                "vehicle_id",
                "model_id",
                "consultant_id",
                "kind",
                "status",
                "ordered_on",
                "deposit_fen",
                "price_fen",
                "expected_delivery",
                "delivered_on"
            ]
        ),
        table!(
            "work_order",
            [
                "id",
                "store_id",
                "number",
                "vehicle_id",
                "customer_id",
                "advisor_id",
                "kind",
                "status",
                "opened_on",
                "settled_on",
                "odometer_km",
                "total_fen",
                "paid_by"
            ]
        ),
        table!(
            "work_order_line",
            [
                "id",
                "work_order_id",
                "line_kind",
                "code",
                "name",
                "quantity",
                "amount_fen",
                "cost_fen"
            ]
        ),
        table!(
            "insurance_policy",
            [
                "id",
                "store_id",
                "vehicle_id",
                "customer_id",
                "kind",
                "insurer",
                "policy_no",
                "start_date",
                "end_date",
                "premium_fen",
                "sold_here",
                "renewal_of"
            ]
        ),
        table!(
            "task",
            [
                "id",
                "store_id",
                "kind",
                "customer_id",
                "lead_id",
                "vehicle_id",
                "assignee_id",
                "role",
                "due_on",
                "status",
                "outcome",
                "created_at",
                "done_at"
            ]
        ),
        table!(
            "complaint",
            [
                "id",
                "store_id",
                "customer_id",
                "vehicle_id",
                "category",
                "severity",
                "owner_id",
                "status",
                "description",
                "resolution",
                "opened_at",
                "resolved_at"
            ]
        ),
        table!(
            "survey_response",
            [
                "id",
                "store_id",
                "customer_id",
                "kind",
                "sales_order_id",
                "work_order_id",
                "answered_on",
                "product_score",
                "service_score",
                "comment"
            ]
        ),
        table!(
            "consent",
            [
                "id",
                "customer_id",
                "purpose",
                "channel",
                "granted_at",
                "notice_version",
                "withdrawn_at"
            ]
        ),
    ]
}

const T_CUSTOMER: usize = 0;
const T_GRAM: usize = 1;
const T_ASSIGN: usize = 2;
const T_CCONTACT: usize = 3;
const T_RELATION: usize = 4;
const T_VEHICLE: usize = 5;
const T_OWNERSHIP: usize = 6;
const T_LEAD: usize = 7;
const T_VISIT: usize = 8;
const T_TESTDRIVE: usize = 9;
const T_CONTACT: usize = 10;
const T_DEFEAT: usize = 11;
const T_ORDER: usize = 12;
const T_WO: usize = 13;
const T_LINE: usize = 14;
const T_POLICY: usize = 15;
const T_TASK: usize = 16;
const T_COMPLAINT: usize = 17;
const T_SURVEY: usize = 18;
const T_CONSENT: usize = 19;

/// Share of vehicles that come back for the n-th service (DOMAIN.md §3, one JV brand).
const RETURN_AT_SERVICE: [f64; 4] = [0.94, 0.63, 0.42, 0.31];
const RETURN_AFTER_WARRANTY: f64 = 0.18;

/// Next id per table (ids are assigned here so one batch can reference its own rows).
#[derive(Default)]
struct Ids([i64; 20]);

impl Ids {
    fn next(&mut self, table: usize) -> i64 {
        self.0[table] += 1;
        self.0[table]
    }
}

fn ts(d: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    // Local China time → UTC.
    let local = d
        .and_hms_opt(hour.min(23), minute.min(59), 0)
        .unwrap_or_default();
    DateTime::from_naive_utc_and_offset(local - Duration::hours(8), Utc)
}

fn yuan(y: i64) -> Val {
    Val::I64(y * 100)
}

pub(crate) struct Generator {
    opts: DemoOptions,
    stores: Vec<StoreInfo>,
    models: Vec<Vec<ModelInfo>>,
    ids: Ids,
    start: NaiveDate,
    /// The customer column holding the name fragments (PostgreSQL), else fragment rows.
    grams_column: Option<&'static str>,
}

/// What generating one customer decided, for the class rules.
struct Facts {
    class: ClassFacts,
    first: NaiveDate,
    last: NaiveDate,
}

impl Generator {
    pub fn new(
        opts: DemoOptions,
        stores: Vec<StoreInfo>,
        models: Vec<Vec<ModelInfo>>,
        grams_column: Option<&'static str>,
    ) -> Generator {
        let start = opts
            .as_of
            .checked_sub_months(Months::new(60))
            .unwrap_or(opts.as_of);
        Generator {
            opts,
            stores,
            models,
            ids: Ids::default(),
            start,
            grams_column,
        }
    }

    pub fn run(mut self, tx: tokio::sync::mpsc::Sender<(u64, Vec<TableRows>)>) {
        let mut batch = new_batch(self.grams_column);
        self.walk_ins(&mut batch);
        let mut in_batch = 0;
        for n in 0..self.opts.customers {
            self.customer(n, &mut batch);
            in_batch += 1;
            if in_batch == self.opts.batch.max(1) {
                if tx
                    .blocking_send((
                        in_batch,
                        std::mem::replace(&mut batch, new_batch(self.grams_column)),
                    ))
                    .is_err()
                {
                    return;
                }
                in_batch = 0;
            }
        }
        let _ = tx.blocking_send((in_batch, batch));
    }

    /// Walk-ins and calls that never became a lead: they count in the registration rate.
    fn walk_ins(&mut self, b: &mut [TableRows]) {
        let mut r = Rng::fork(self.opts.seed, u64::MAX);
        let days = 180;
        for s in 0..self.stores.len() {
            for d in 0..days {
                let day = self.opts.as_of - Duration::days(d);
                let weekend = day.weekday().number_from_monday() >= 6;
                for _ in 0..r.poisson(if weekend { 4.0 } else { 1.5 }) {
                    let id = self.ids.next(T_VISIT);
                    let store = &self.stores[s];
                    let hour = r.range(9, 19) as u32;
                    let arrived = ts(day, hour, r.range(0, 59) as u32);
                    let channel = if r.chance(0.8) {
                        LeadSource::WalkIn
                    } else {
                        LeadSource::PhoneIn
                    };
                    b[T_VISIT].push([
                        id.into(),
                        store.id.into(),
                        channel.code().into(),
                        arrived.into(),
                        Val::from(arrived + Duration::minutes(r.range(5, 40))),
                        r.range(1, 3).into(),
                        (*r.pick(&store.consultants)).into(),
                        true.into(),
                        channel.code().into(),
                        Val::Null,
                        Val::Null,
                        Val::Null,
                        Val::Null,
                    ]);
                }
            }
        }
    }

    fn mobile(&self, n: u64) -> String {
        const PREFIX: [&str; 20] = [
            "139", "138", "137", "136", "135", "150", "151", "152", "158", "159", "186", "187",
            "188", "177", "133", "153", "180", "181", "189", "199",
        ];
        // A bijection on 0..10^8 (multiplication by an odd number coprime to 10^8), so each
        // customer has a different number.
        let body = ((n / 20).wrapping_mul(48_271_349) + 12_345_678) % 100_000_000;
        format!("{}{:08}", PREFIX[(n % 20) as usize], body)
    }

    fn date_between(r: &mut Rng, a: NaiveDate, b: NaiveDate) -> NaiveDate {
        let span = (b - a).num_days().max(0);
        a + Duration::days(r.range(0, span))
    }

    fn customer(&mut self, n: u64, b: &mut [TableRows]) {
        let mut r = Rng::fork(self.opts.seed, n);
        let store_ix = (n % self.stores.len() as u64) as usize;
        let cid = self.ids.next(T_CUSTOMER);
        let as_of = self.opts.as_of;
        let kind = match r.weighted(&[93.0, 5.0, 1.5, 0.5]) {
            0 => CustomerKind::Individual,
            1 => CustomerKind::Company,
            2 => CustomerKind::Contract,
            _ => CustomerKind::Partner,
        };
        // The customer's story: owner (bought here / elsewhere), open lead, defeated,
        // other-brand owner, base or prospect.
        let story = r.weighted(&[66.0, 6.0, 10.0, 8.0, 6.0, 2.5, 1.5]);
        let consultant = *r.pick(&self.stores[store_ix].consultants);
        let loyalty = r.f64();
        let mut facts = Facts {
            class: ClassFacts::default(),
            first: as_of,
            last: self.start,
        };
        match story {
            0 => {
                let purchases = 1 + r.weighted(&[35.0, 35.0, 30.0]);
                let mut when = Self::date_between(&mut r, self.start, as_of - Duration::days(5));
                let mut previous_vehicle: Option<(i64, i64)> = None;
                for k in 0..purchases {
                    if when >= as_of - Duration::days(3) {
                        break;
                    }
                    let trade_in = k > 0 && r.chance(0.5);
                    let order_kind = if k == 0 {
                        if r.chance(0.06) {
                            SalesOrderKind::Referral
                        } else {
                            SalesOrderKind::New
                        }
                    } else if trade_in {
                        SalesOrderKind::Replacement
                    } else {
                        SalesOrderKind::Additional
                    };
                    let vid = self.purchase(
                        &mut r, b, cid, store_ix, consultant, when, order_kind, loyalty, &mut facts,
                    );
                    if let (true, Some((old_vehicle, old_ownership))) = (trade_in, previous_vehicle)
                    {
                        // The traded-in car leaves the customer on the day of the new delivery.
                        close_ownership(b, old_ownership, old_vehicle, when);
                        facts.class.vehicles.pop();
                    }
                    previous_vehicle = Some((vid, self.ids.0[T_OWNERSHIP]));
                    when = when + Duration::days(r.range(300, 1100));
                }
                // A second household car of another brand of the group, serviced here now and then.
                if r.chance(0.25) {
                    self.other_brand_car(
                        &mut r,
                        b,
                        cid,
                        store_ix,
                        1000,
                        90,
                        loyalty * 0.5,
                        &mut facts,
                    );
                }
            }
            1 => {
                // Bought our brand at another dealer; services here now and then.
                let delivered = Self::date_between(
                    &mut r,
                    self.start - Duration::days(700),
                    as_of - Duration::days(30),
                );
                self.vehicle(
                    &mut r,
                    b,
                    cid,
                    store_ix,
                    self.stores[store_ix].brand,
                    delivered,
                    false,
                    loyalty * 0.8,
                    &mut facts,
                );
            }
            2 | 3 => {
                if story == 2 {
                    self.open_lead(&mut r, b, cid, store_ix, consultant, &mut facts);
                } else {
                    self.defeated_lead(&mut r, b, cid, store_ix, consultant, &mut facts);
                }
                // Many leads already drive a car of another brand of the group (a trade-in prospect).
                if r.chance(0.35) {
                    self.other_brand_car(
                        &mut r,
                        b,
                        cid,
                        store_ix,
                        1500,
                        365,
                        loyalty * 0.2,
                        &mut facts,
                    );
                }
            }
            4 => {
                // Owns a car of another brand of the group; comes for repairs and insurance.
                self.other_brand_car(&mut r, b, cid, store_ix, 900, 60, loyalty * 0.3, &mut facts);
            }
            5 => {
                // Base: met at an event or called once.
                let day = Self::date_between(&mut r, self.start, as_of - Duration::days(1));
                let store = &self.stores[store_ix];
                let id = self.ids.next(T_CONTACT);
                b[T_CONTACT].push([
                    id.into(),
                    store.id.into(),
                    cid.into(),
                    Val::Null,
                    (*r.pick(&store.care)).into(),
                    ContactChannel::Phone.code().into(),
                    Direction::Inbound.code().into(),
                    "enquiry".into(),
                    ts(day, 10, 30).into(),
                    ContactOutcome::Reached.code().into(),
                    "咨询活动信息".into(),
                    Val::Null,
                    Val::Null,
                    Val::Null,
                ]);
                facts.class.any_interaction = true;
                facts.first = day;
                facts.last = day;
            }
            _ => {
                // Prospect from a marketing list: no records yet.
                facts.first = Self::date_between(&mut r, self.start, as_of);
                facts.last = facts.first;
            }
        }
        facts.class.vip = story == 0 && r.chance(0.02);
        let decision = classify(&facts.class, as_of, DEFAULT_LAPSE_MONTHS);

        let city = CITIES[self.stores[store_ix].city];
        let (name, gender) = match kind {
            CustomerKind::Individual => {
                let male = r.chance(0.68);
                (
                    format!("{}{}", r.pick(SURNAMES), r.pick(GIVEN)),
                    Some(if male { "male" } else { "female" }),
                )
            }
            _ => (
                format!(
                    "{}{}{}",
                    city.0,
                    r.pick(COMPANY_WORDS),
                    r.pick(COMPANY_KINDS)
                ),
                None,
            ),
        };
        let birthday = if kind == CustomerKind::Individual {
            NaiveDate::from_ymd_opt(
                r.range(1960, 2002) as i32,
                r.range(1, 12) as u32,
                r.range(1, 28) as u32,
            )
        } else {
            None
        };
        let id_number = match (birthday, gender) {
            (Some(bd), Some(g)) if r.chance(0.6) => {
                let seq = r.range(0, 49) * 2 + if g == "male" { 1 } else { 0 };
                let first17 = format!(
                    "{}{}{:03}",
                    ID_REGIONS[self.stores[store_ix].city],
                    bd.format("%Y%m%d"),
                    seq
                );
                resident_id::check_char(&first17).map(|c| format!("{first17}{c}"))
            }
            _ => None,
        };
        let created = ts(facts.first, 10, 0);
        let updated = ts(facts.last.max(facts.first), 18, 0);
        let key_account = (kind != CustomerKind::Individual && r.chance(0.3))
            .then(|| if r.chance(0.6) { "TKA" } else { "PKA" });
        let row = [
            cid.into(),
            self.stores[store_ix].id.into(),
            kind.code().into(),
            name.clone().into(),
            Val::from(gender.map(|g| if g == "male" { "先生" } else { "女士" })),
            Val::from(gender),
            Val::from(id_number.as_ref().map(|_| "resident")),
            Val::from(id_number.clone()),
            Val::from(birthday),
            (birthday.is_some() && r.chance(0.15)).into(),
            self.mobile(n).into(),
            Val::from(r.chance(0.2).then(|| format!("c{cid}@example.cn"))),
            city.2.into(),
            city.3.into(),
            format!(
                "{}市{}路{}号",
                city.0,
                r.pick(&["人民", "中山", "解放", "建设", "长江", "延安"]),
                r.range(1, 999)
            )
            .into(),
            Val::from(r.chance(0.4).then(|| *r.pick(INDUSTRIES))),
            Val::from(r.chance(0.4).then(|| *r.pick(OCCUPATIONS))),
            Val::from(Some(
                ["展厅来店", "网络平台", "转介绍", "活动"][r.weighted(&[55.0, 25.0, 12.0, 8.0])],
            )),
            facts.class.vip.into(),
            Val::from(key_account),
            consultant.into(),
            decision.class.code().into(),
            decision.reason.into(),
            created.into(),
            updated.into(),
        ];
        // The name fragments: in the customer row on PostgreSQL, rows of their own on SQLite.
        if self.grams_column.is_some() {
            b[T_CUSTOMER].push(row.into_iter().chain([name_grams_value(&name)]));
        } else {
            b[T_CUSTOMER].push(row);
            for g in name_grams(&name) {
                b[T_GRAM].push([g.into(), cid.into()]);
            }
        }
        // Consultant assignment with history: some customers were handed over when staff left.
        let store = &self.stores[store_ix];
        if r.chance(0.1) && store.consultants.len() > 1 {
            let before = *store
                .consultants
                .iter()
                .find(|c| **c != consultant)
                .unwrap_or(&consultant);
            let handover = Self::date_between(&mut r, facts.first, as_of);
            let a = self.ids.next(T_ASSIGN);
            b[T_ASSIGN].push([
                a.into(),
                cid.into(),
                before.into(),
                created.into(),
                ts(handover, 9, 0).into(),
                Val::Null,
                "created".into(),
            ]);
            let a = self.ids.next(T_ASSIGN);
            b[T_ASSIGN].push([
                a.into(),
                cid.into(),
                consultant.into(),
                ts(handover, 9, 0).into(),
                Val::Null,
                store.manager.into(),
                "顾问离职交接".into(),
            ]);
        } else {
            let a = self.ids.next(T_ASSIGN);
            b[T_ASSIGN].push([
                a.into(),
                cid.into(),
                consultant.into(),
                created.into(),
                Val::Null,
                Val::Null,
                "created".into(),
            ]);
        }
        if kind != CustomerKind::Individual {
            for c in 0..r.range(1, 2) {
                let id = self.ids.next(T_CCONTACT);
                b[T_CCONTACT].push([
                    id.into(),
                    cid.into(),
                    format!("{}{}", r.pick(SURNAMES), r.pick(GIVEN)).into(),
                    (if c == 0 { "车管负责人" } else { "财务" }).into(),
                    self.mobile(n + 7_000_000_000 + c as u64).into(),
                ]);
            }
        }
        // Households and referrals point at an earlier customer of the same store.
        let earlier = cid - self.stores.len() as i64 * r.range(1, 50);
        if earlier > 0 && r.chance(0.06) {
            let id = self.ids.next(T_RELATION);
            let kind = if r.chance(0.4) {
                RelationKind::Household
            } else {
                RelationKind::Referral
            };
            b[T_RELATION].push([
                id.into(),
                cid.into(),
                earlier.into(),
                kind.code().into(),
                created.into(),
            ]);
        }
        if r.chance(0.6) {
            let id = self.ids.next(T_CONSENT);
            let withdrawn = r.chance(0.05).then(|| updated);
            b[T_CONSENT].push([
                id.into(),
                cid.into(),
                "marketing".into(),
                "sms".into(),
                created.into(),
                "2021-11".into(),
                Val::from(withdrawn),
            ]);
            // Mining (issue 7): owners who consented get the store's SMS campaigns, up to
            // three in the last two years; drawn from a stream of their own, so the rest of
            // the demo is as it was. Whether a visit follows is left to the owner's story.
            if withdrawn.is_none() && story <= 1 {
                let mut cr = Rng::fork(self.opts.seed ^ 0x0CA3_FA16_0000_0007, n);
                let store = &self.stores[store_ix];
                for _ in 0..cr.range(0, 3) {
                    let day = Self::date_between(
                        &mut cr,
                        self.opts.as_of - Duration::days(730),
                        self.opts.as_of - Duration::days(1),
                    );
                    if day < facts.first {
                        continue;
                    }
                    let id = self.ids.next(T_CONTACT);
                    b[T_CONTACT].push([
                        id.into(),
                        store.id.into(),
                        cid.into(),
                        Val::Null,
                        (*cr.pick(&store.care)).into(),
                        ContactChannel::Sms.code().into(),
                        Direction::Outbound.code().into(),
                        "marketing".into(),
                        ts(day, 10, 0).into(),
                        ContactOutcome::Reached.code().into(),
                        "保养季短信活动".into(),
                        Val::Null,
                        Val::Null,
                        Val::Null,
                    ]);
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn purchase(
        &mut self,
        r: &mut Rng,
        b: &mut [TableRows],
        cid: i64,
        store_ix: usize,
        consultant: i64,
        delivered: NaiveDate,
        order_kind: SalesOrderKind,
        loyalty: f64,
        facts: &mut Facts,
    ) -> i64 {
        let brand = self.stores[store_ix].brand;
        let model_ix = r.range(0, self.models[brand].len() as i64 - 1) as usize;
        let (model_id, price) = (
            self.models[brand][model_ix].id,
            self.models[brand][model_ix].price_yuan,
        );
        let created = delivered - Duration::days(r.range(10, 75));
        let ordered = delivered - Duration::days(r.range(1, 20)).min(delivered - created);
        let source = if order_kind == SalesOrderKind::Referral {
            LeadSource::OwnerReferral
        } else {
            lead_source(r)
        };
        let lead = self.lead_history(
            r, b, cid, store_ix, consultant, created, ordered, source, model_id, facts,
        );
        let vid = self.vehicle_with_model(
            r, b, cid, store_ix, brand, model_ix, delivered, true, loyalty, facts,
        );
        let store = &self.stores[store_ix];
        let oid = self.ids.next(T_ORDER);
        let sale_price = price - r.range(0, price / 12);
        b[T_ORDER].push([
            oid.into(),
            store.id.into(),
            cid.into(),
            lead.into(),
            vid.into(),
            model_id.into(),
            consultant.into(),
            order_kind.code().into(),
            SalesOrderStatus::Delivered.code().into(),
            ordered.into(),
            yuan(r.range(5, 20) * 1000),
            yuan(sale_price),
            delivered.into(),
            delivered.into(),
        ]);
        b[T_LEAD].push([
            lead.into(),
            store.id.into(),
            cid.into(),
            LeadGrade::O.code().into(),
            source.code().into(),
            Val::from(source_detail(r, source)),
            model_id.into(),
            LeadStatus::Delivered.code().into(),
            consultant.into(),
            Val::Null,
            ts(created, 10, 0).into(),
            ts(delivered, 16, 0).into(),
            Val::from(ts(delivered, 16, 0)),
        ]);
        // Post-delivery calls: D+3 consultant, D+7 manager, D+30 care team (task rows for
        // the last year's deliveries; older ones survive as the D+3 contact record).
        let recent = delivered > self.opts.as_of - Duration::days(365);
        for (days, staff, role) in [
            (3, consultant, Role::SalesConsultant),
            (7, store.manager, Role::SalesManager),
            (30, store.care[0], Role::CareSpecialist),
        ] {
            let due = delivered + Duration::days(days);
            let done = due < self.opts.as_of;
            if done && days == 3 {
                let c = self.ids.next(T_CONTACT);
                b[T_CONTACT].push([
                    c.into(),
                    store.id.into(),
                    cid.into(),
                    lead.into(),
                    staff.into(),
                    ContactChannel::Phone.code().into(),
                    Direction::Outbound.code().into(),
                    "after_sales".into(),
                    ts(due, 11, 0).into(),
                    ContactOutcome::Reached.code().into(),
                    "交车后回访，车辆使用正常".into(),
                    Val::Null,
                    Val::Null,
                    Val::Null,
                ]);
            }
            if !recent {
                continue;
            }
            let id = self.ids.next(T_TASK);
            b[T_TASK].push([
                id.into(),
                store.id.into(),
                TaskKind::DeliveryFollowUp.code().into(),
                cid.into(),
                lead.into(),
                vid.into(),
                staff.into(),
                role.code().into(),
                due.into(),
                (if done { "done" } else { "open" }).into(),
                Val::from(done.then_some("reached")),
                ts(delivered, 17, 0).into(),
                Val::from(done.then(|| ts(due, 11, 0))),
            ]);
        }
        if r.chance(0.5) && delivered + Duration::days(7) < self.opts.as_of {
            let id = self.ids.next(T_SURVEY);
            let score = r.weighted(&[1.0, 2.0, 6.0, 30.0, 61.0]) as i64 + 1;
            let product = (score - r.range(0, 1)).max(1);
            b[T_SURVEY].push([
                id.into(),
                store.id.into(),
                cid.into(),
                "ssi".into(),
                oid.into(),
                Val::Null,
                (delivered + Duration::days(7)).into(),
                product.into(),
                score.into(),
                Val::Null,
            ]);
        }
        vid
    }

    /// The lead's contacts, visit and test drive up to the order; returns the lead id
    /// (the lead row itself is written by the caller, which knows its final state).
    #[allow(clippy::too_many_arguments)]
    fn lead_history(
        &mut self,
        r: &mut Rng,
        b: &mut [TableRows],
        cid: i64,
        store_ix: usize,
        consultant: i64,
        created: NaiveDate,
        until: NaiveDate,
        source: LeadSource,
        model_id: i64,
        facts: &mut Facts,
    ) -> i64 {
        let lead = self.ids.next(T_LEAD);
        let store_id = self.stores[store_ix].id;
        facts.first = facts.first.min(created);
        facts.last = facts.last.max(until);
        facts.class.any_interaction = true;
        if matches!(
            source,
            LeadSource::WalkIn
                | LeadSource::PhoneIn
                | LeadSource::OwnerReferral
                | LeadSource::Online
        ) || r.chance(0.5)
        {
            let v = self.ids.next(T_VISIT);
            let arrived = ts(created, r.range(9, 18) as u32, r.range(0, 59) as u32);
            let channel = if source == LeadSource::PhoneIn {
                LeadSource::PhoneIn
            } else {
                LeadSource::WalkIn
            };
            b[T_VISIT].push([
                v.into(),
                store_id.into(),
                channel.code().into(),
                arrived.into(),
                Val::from(arrived + Duration::minutes(r.range(20, 90))),
                r.range(1, 4).into(),
                consultant.into(),
                true.into(),
                source.code().into(),
                model_id.into(),
                cid.into(),
                lead.into(),
                Val::Null,
            ]);
        }
        let mut grade = *r.pick(&[LeadGrade::H, LeadGrade::A, LeadGrade::B, LeadGrade::C]);
        let mut day = created;
        let contacts = r.range(1, 4);
        for i in 0..contacts {
            let next = (day + Duration::days(grade.default_cadence_days() as i64)).min(until);
            let after = if i == contacts - 1 && until < self.opts.as_of {
                grade
            } else {
                upgrade(r, grade)
            };
            let c = self.ids.next(T_CONTACT);
            b[T_CONTACT].push([
                c.into(),
                store_id.into(),
                cid.into(),
                lead.into(),
                consultant.into(),
                (if i == 0 {
                    ContactChannel::Visit
                } else {
                    ContactChannel::Phone
                })
                .code()
                .into(),
                Direction::Outbound.code().into(),
                "develop".into(),
                ts(day, r.range(9, 19) as u32, r.range(0, 59) as u32).into(),
                ContactOutcome::Reached.code().into(),
                "跟进意向，介绍车型与金融方案".into(),
                grade.code().into(),
                after.code().into(),
                Val::from(Some(next)),
            ]);
            grade = after;
            day = next;
            if day >= until {
                break;
            }
        }
        if r.chance(0.6) {
            let t = self.ids.next(T_TESTDRIVE);
            let when = Self::date_between(r, created, until);
            b[T_TESTDRIVE].push([
                t.into(),
                lead.into(),
                model_id.into(),
                consultant.into(),
                ts(when, 10, 0).into(),
                Val::from(ts(when, 11, 0)),
                "done".into(),
            ]);
        }
        lead
    }

    /// A car of another brand of the group (an other-brand owner, a household's second car,
    /// a lead's current car), delivered between `days_before_start` before the five-year
    /// window and `days_before_as_of` before today.
    #[allow(clippy::too_many_arguments)]
    fn other_brand_car(
        &mut self,
        r: &mut Rng,
        b: &mut [TableRows],
        cid: i64,
        store_ix: usize,
        days_before_start: i64,
        days_before_as_of: i64,
        loyalty: f64,
        facts: &mut Facts,
    ) {
        let other = (self.stores[store_ix].brand + 1 + r.range(0, 2) as usize) % self.models.len();
        let delivered = Self::date_between(
            r,
            self.start - Duration::days(days_before_start),
            self.opts.as_of - Duration::days(days_before_as_of),
        );
        self.vehicle(r, b, cid, store_ix, other, delivered, false, loyalty, facts);
    }

    fn open_lead(
        &mut self,
        r: &mut Rng,
        b: &mut [TableRows],
        cid: i64,
        store_ix: usize,
        consultant: i64,
        facts: &mut Facts,
    ) {
        let brand = self.stores[store_ix].brand;
        let model_id = r.pick(&self.models[brand]).id;
        let as_of = self.opts.as_of;
        let created = as_of - Duration::days(r.range(0, 90));
        let source = lead_source(r);
        let lead = self.lead_history(
            r, b, cid, store_ix, consultant, created, as_of, source, model_id, facts,
        );
        let grade = *r.pick(&[
            LeadGrade::H,
            LeadGrade::A,
            LeadGrade::A,
            LeadGrade::B,
            LeadGrade::B,
            LeadGrade::C,
            LeadGrade::C,
            LeadGrade::O,
        ]);
        // Some follow-ups are overdue, as in any showroom.
        let next = as_of + Duration::days(r.range(-5, grade.default_cadence_days() as i64));
        let status = if grade == LeadGrade::O {
            LeadStatus::Ordered
        } else {
            LeadStatus::Open
        };
        let store = &self.stores[store_ix];
        b[T_LEAD].push([
            lead.into(),
            store.id.into(),
            cid.into(),
            grade.code().into(),
            source.code().into(),
            Val::from(source_detail(r, source)),
            model_id.into(),
            status.code().into(),
            consultant.into(),
            next.into(),
            ts(created, 10, 0).into(),
            ts(as_of, 9, 0).into(),
            Val::Null,
        ]);
        let t = self.ids.next(T_TASK);
        b[T_TASK].push([
            t.into(),
            store.id.into(),
            TaskKind::LeadFollowUp.code().into(),
            cid.into(),
            lead.into(),
            Val::Null,
            consultant.into(),
            Role::SalesConsultant.code().into(),
            next.into(),
            "open".into(),
            Val::Null,
            ts(as_of, 8, 0).into(),
            Val::Null,
        ]);
        if grade == LeadGrade::O {
            let o = self.ids.next(T_ORDER);
            let price = self.models[brand]
                .iter()
                .find(|m| m.id == model_id)
                .map_or(150_000, |m| m.price_yuan);
            b[T_ORDER].push([
                o.into(),
                store.id.into(),
                cid.into(),
                lead.into(),
                Val::Null,
                model_id.into(),
                consultant.into(),
                SalesOrderKind::New.code().into(),
                SalesOrderStatus::Open.code().into(),
                (as_of - Duration::days(r.range(0, 10))).into(),
                yuan(10_000),
                yuan(price),
                (as_of + Duration::days(r.range(3, 30))).into(),
                Val::Null,
            ]);
        }
        facts.class.open_lead = true;
    }

    fn defeated_lead(
        &mut self,
        r: &mut Rng,
        b: &mut [TableRows],
        cid: i64,
        store_ix: usize,
        consultant: i64,
        facts: &mut Facts,
    ) {
        let brand = self.stores[store_ix].brand;
        let model_id = r.pick(&self.models[brand]).id;
        let as_of = self.opts.as_of;
        let created = Self::date_between(r, self.start, as_of - Duration::days(20));
        let requested = created + Duration::days(r.range(7, 60));
        let requested = requested.min(as_of - Duration::days(1));
        let source = lead_source(r);
        let lead = self.lead_history(
            r, b, cid, store_ix, consultant, created, requested, source, model_id, facts,
        );
        let store = &self.stores[store_ix];
        let pending = requested > as_of - Duration::days(3) && r.chance(0.5);
        let reason = *r.pick(DefeatReason::ALL);
        let (cb, cm) = if reason == DefeatReason::CompetitorBrand {
            let c = r.pick(COMPETITORS);
            (Some(c.0), Some(c.1))
        } else {
            (None, None)
        };
        let d = self.ids.next(T_DEFEAT);
        b[T_DEFEAT].push([
            d.into(),
            lead.into(),
            consultant.into(),
            ts(requested, 17, 0).into(),
            reason.code().into(),
            Val::from(cb),
            Val::from(cm),
            Val::from(Some(defeat_note(reason))),
            (if pending { "pending" } else { "approved" }).into(),
            Val::from((!pending).then_some(store.manager)),
            Val::from((!pending).then(|| ts(requested + Duration::days(1), 10, 0))),
            Val::from((!pending).then_some("同意战败")),
        ]);
        let status = if pending {
            LeadStatus::DefeatPending
        } else {
            LeadStatus::Defeated
        };
        b[T_LEAD].push([
            lead.into(),
            store.id.into(),
            cid.into(),
            LeadGrade::C.code().into(),
            source.code().into(),
            Val::from(source_detail(r, source)),
            model_id.into(),
            status.code().into(),
            consultant.into(),
            Val::Null,
            ts(created, 10, 0).into(),
            ts(requested, 17, 0).into(),
            Val::from((!pending).then(|| ts(requested + Duration::days(1), 10, 0))),
        ]);
        if pending {
            facts.class.open_lead = true;
        } else {
            facts.class.defeated_lead = true;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn vehicle(
        &mut self,
        r: &mut Rng,
        b: &mut [TableRows],
        cid: i64,
        store_ix: usize,
        brand: usize,
        delivered: NaiveDate,
        own_sold: bool,
        loyalty: f64,
        facts: &mut Facts,
    ) -> i64 {
        let model_ix = r.range(0, self.models[brand].len() as i64 - 1) as usize;
        self.vehicle_with_model(
            r, b, cid, store_ix, brand, model_ix, delivered, own_sold, loyalty, facts,
        )
    }

    /// A vehicle, its ownership, insurance and its whole service history.
    #[allow(clippy::too_many_arguments)]
    fn vehicle_with_model(
        &mut self,
        r: &mut Rng,
        b: &mut [TableRows],
        cid: i64,
        store_ix: usize,
        brand: usize,
        model_ix: usize,
        delivered: NaiveDate,
        own_sold: bool,
        loyalty: f64,
        facts: &mut Facts,
    ) -> i64 {
        let as_of = self.opts.as_of;
        let vid = self.ids.next(T_VEHICLE);
        let m = &self.models[brand][model_ix];
        let store = &self.stores[store_ix];
        let vin = make_vin(m.wmi, m.code, delivered.year(), vid);
        let plate = if delivered > as_of - Duration::days(10) && r.chance(0.5) {
            None
        } else {
            let prefix = CITIES[store.city].1;
            let tail: String = (0..5)
                .map(|i| {
                    let set: &[u8] = if i < 2 && r.chance(0.3) {
                        b"ABCDEFGHJKLMNPQRSTUVWXYZ"
                    } else {
                        b"0123456789"
                    };
                    set[(r.next_u64() % set.len() as u64) as usize] as char
                })
                .collect();
            Some(format!("{prefix}{tail}"))
        };
        let warranty_end = delivered.checked_add_months(Months::new(36));
        let our_brand = brand == store.brand;
        let (schedule, model_id) = (m.schedule, m.id);
        facts.class.vehicles.push(OwnedVehicle {
            our_brand,
            own_sold,
            delivered_on: Some(delivered),
        });
        facts.first = facts.first.min(delivered);
        facts.last = facts.last.max(delivered);
        facts.class.any_interaction = true;

        // Daily mileage differs a lot between owners (log-normal around 40 km a day).
        let daily_km = (40.0 * (0.45 * r.normal()).exp()).clamp(8.0, 200.0);
        // Loyalty mostly belongs to the customer, sometimes to the car.
        let l = if r.chance(0.8) { loyalty } else { r.f64() };
        let (first_km, first_months, interval_km, interval_months) = schedule;
        let first_days = ((first_months as f64 * 30.44).min(first_km as f64 / daily_km)).max(30.0);
        let interval_days =
            ((interval_months as f64 * 30.44).min(interval_km as f64 / daily_km)).max(45.0);
        let mut due = delivered + Duration::days(first_days as i64);
        let mut k = 0usize;
        let mut last_service: Option<NaiveDate> = None;
        let mut km_prev = 0i64;
        let advisors = store.advisors.clone();
        let care = store.care[0];
        let store_id = store.id;
        let code = store.code.clone();
        let mut service_dates = Vec::new();
        while due < as_of {
            let returning = match k {
                0..=3 => RETURN_AT_SERVICE[k],
                _ if warranty_end.is_some_and(|w| due <= w) => RETURN_AT_SERVICE[3],
                _ => RETURN_AFTER_WARRANTY - 0.01 * (k as f64 - 4.0).min(8.0),
            };
            // Other-sold and other-brand owners come back less.
            let returning = if our_brand && own_sold {
                returning
            } else if our_brand {
                returning * 0.8
            } else {
                returning * 0.3
            };
            if l <= 1.0 - returning {
                break;
            }
            let day = (due + Duration::days(r.range(-12, 25)))
                .min(as_of - Duration::days(1))
                .max(delivered + Duration::days(7));
            let kind = if k == 0 && our_brand {
                WorkOrderKind::FirstService
            } else {
                WorkOrderKind::Maintenance
            };
            let km =
                (daily_km * (day - delivered).num_days() as f64 * (1.0 + 0.05 * r.normal())) as i64;
            let km = km.max(km_prev + 100);
            km_prev = km;
            let advisor = *r.pick(&advisors);
            self.work_order(r, b, store_id, &code, vid, cid, advisor, kind, day, km, k);
            service_dates.push(day);
            last_service = Some(day);
            k += 1;
            due = day + Duration::days(interval_days as i64);
        }
        // Repairs, accidents and warranty claims while the owner still comes to us.
        let active_until = last_service
            .map_or(delivered + Duration::days(180), |d| d + Duration::days(200))
            .min(as_of - Duration::days(1));
        let years = ((active_until - delivered).num_days() as f64 / 365.25).max(0.0);
        // Loyal owners also come for quick repairs, tyres and body work between services.
        for (rate, kind) in [
            (2.0, WorkOrderKind::Repair),
            (0.15, WorkOrderKind::Accident),
            (0.2, WorkOrderKind::Warranty),
        ] {
            for _ in 0..r.poisson(rate * years * if our_brand { 1.0 } else { 1.5 }) {
                let day = Self::date_between(r, delivered + Duration::days(20), active_until);
                if kind == WorkOrderKind::Warranty && warranty_end.is_some_and(|w| day > w) {
                    continue;
                }
                let km = (daily_km * (day - delivered).num_days() as f64) as i64;
                let advisor = *r.pick(&advisors);
                self.work_order(r, b, store_id, &code, vid, cid, advisor, kind, day, km, 0);
                service_dates.push(day);
            }
        }
        if own_sold && r.chance(0.3) {
            let advisor = *r.pick(&advisors);
            self.work_order(
                r,
                b,
                store_id,
                &code,
                vid,
                cid,
                advisor,
                WorkOrderKind::Accessory,
                delivered,
                10,
                0,
            );
        }
        if let Some(last) = service_dates.iter().max() {
            facts.last = facts.last.max(*last);
            facts.class.last_service_on = facts.class.last_service_on.max(Some(*last));
        }
        // A post-service call for a share of recent visits (D+2, care team).
        for d in service_dates
            .iter()
            .filter(|d| **d > as_of - Duration::days(10))
        {
            let t = self.ids.next(T_TASK);
            let due = *d + Duration::days(2);
            let done = due < as_of;
            b[T_TASK].push([
                t.into(),
                store_id.into(),
                TaskKind::ServiceFollowUp.code().into(),
                cid.into(),
                Val::Null,
                vid.into(),
                care.into(),
                Role::CareSpecialist.code().into(),
                due.into(),
                (if done { "done" } else { "open" }).into(),
                Val::from(done.then_some("reached")),
                ts(*d, 18, 0).into(),
                Val::from(done.then(|| ts(due, 10, 0))),
            ]);
        }
        if !service_dates.is_empty() && r.chance(0.02) {
            let day = *r.pick(&service_dates);
            let c = self.ids.next(T_COMPLAINT);
            let open = day > as_of - Duration::days(14);
            b[T_COMPLAINT].push([
                c.into(),
                store_id.into(),
                cid.into(),
                vid.into(),
                (*r.pick(COMPLAINT_CATEGORIES)).into(),
                (*r.pick(&["low", "medium", "high"])).into(),
                care.into(),
                (if open { "open" } else { "closed" }).into(),
                "客户对本次服务不满意，要求说明".into(),
                Val::from((!open).then_some("已致电道歉并免费复检，客户接受")),
                ts(day, 15, 0).into(),
                Val::from((!open).then(|| ts(day + Duration::days(r.range(1, 10)), 15, 0))),
            ]);
        }
        // Insurance: sold with the car, then renewed here while the owner stays with us.
        let mut compulsory_end = None;
        let mut commercial_end = None;
        if own_sold && r.chance(0.85) {
            let mut start = delivered;
            let mut previous: [Option<i64>; 2] = [None, None];
            let mut year = 0;
            while start < as_of {
                for (i, kind) in [PolicyKind::Compulsory, PolicyKind::Commercial]
                    .iter()
                    .enumerate()
                {
                    let p = self.ids.next(T_POLICY);
                    let end = start.checked_add_months(Months::new(12)).unwrap_or(start)
                        - Duration::days(1);
                    let premium = if *kind == PolicyKind::Compulsory {
                        950
                    } else {
                        (m_price(&self.models[brand][model_ix]) as f64 * 0.025) as i64 - year * 150
                    };
                    b[T_POLICY].push([
                        p.into(),
                        store_id.into(),
                        vid.into(),
                        cid.into(),
                        kind.code().into(),
                        (*r.pick(INSURERS)).into(),
                        format!("P{}{:09}", start.year(), p).into(),
                        start.into(),
                        end.into(),
                        yuan(premium.max(800)),
                        true.into(),
                        Val::from(previous[i]),
                    ]);
                    previous[i] = Some(p);
                    if i == 0 {
                        compulsory_end = Some(end)
                    } else {
                        commercial_end = Some(end)
                    }
                }
                year += 1;
                start = start.checked_add_months(Months::new(12)).unwrap_or(as_of);
                let still_ours = last_service.is_some_and(|d| d > start - Duration::days(365));
                if !r.chance(if still_ours { 0.72 } else { 0.2 }) {
                    break;
                }
            }
        }
        let inspection_due = delivered.checked_add_months(Months::new(72));
        let store_for_row = self.stores[store_ix].id;
        b[T_VEHICLE].push([
            vid.into(),
            vin.into(),
            format!("E{:08}", vid).into(),
            model_id.into(),
            (*r.pick(COLOURS)).into(),
            (delivered.year() as i64).into(),
            Val::from(plate),
            (delivered - Duration::days(r.range(0, 5))).into(),
            delivered.into(),
            delivered.into(),
            Val::from(own_sold.then_some(store_for_row)),
            own_sold.into(),
            Val::from(warranty_end),
            100_000i64.into(),
            Val::from(compulsory_end),
            Val::from(commercial_end),
            Val::from(inspection_due),
            store_for_row.into(),
            ts(delivered, 16, 0).into(),
        ]);
        let o = self.ids.next(T_OWNERSHIP);
        b[T_OWNERSHIP].push([
            o.into(),
            vid.into(),
            cid.into(),
            delivered.into(),
            Val::Null,
        ]);
        vid
    }

    #[allow(clippy::too_many_arguments)]
    fn work_order(
        &mut self,
        r: &mut Rng,
        b: &mut [TableRows],
        store_id: i64,
        store_code: &str,
        vid: i64,
        cid: i64,
        advisor: i64,
        kind: WorkOrderKind,
        day: NaiveDate,
        km: i64,
        nth: usize,
    ) {
        let wid = self.ids.next(T_WO);
        let mut lines: Vec<(LineKind, &str, &str, f64, i64)> = Vec::new();
        match kind {
            WorkOrderKind::FirstService | WorkOrderKind::Maintenance => {
                lines.push((
                    LineKind::Labour,
                    "L-MAINT",
                    "常规保养工时",
                    1.0,
                    r.range(150, 300),
                ));
                lines.push((
                    LineKind::Part,
                    "P-OIL",
                    "全合成机油 4L",
                    1.0,
                    r.range(280, 480),
                ));
                lines.push((LineKind::Part, "P-OILF", "机油滤清器", 1.0, r.range(40, 80)));
                if nth % 2 == 1 {
                    lines.push((
                        LineKind::Part,
                        "P-AIRF",
                        "空气滤清器",
                        1.0,
                        r.range(80, 150),
                    ));
                    lines.push((LineKind::Part, "P-ACF", "空调滤清器", 1.0, r.range(60, 120)));
                }
                if nth % 4 == 3 {
                    lines.push((LineKind::Part, "P-BRKF", "刹车油", 1.0, r.range(180, 260)));
                    lines.push((LineKind::Part, "P-SPARK", "火花塞", 4.0, r.range(300, 600)));
                }
            }
            WorkOrderKind::Repair | WorkOrderKind::Warranty | WorkOrderKind::Claim => {
                let (code, name, lo, hi) = *r.pick(&[
                    ("P-BRKP", "前刹车片", 600, 1200),
                    ("P-WIPER", "雨刮片", 120, 200),
                    ("P-BATT", "蓄电池", 600, 950),
                    ("P-TYRE", "轮胎", 800, 1500),
                    ("P-SHOCK", "减震器", 900, 1800),
                    ("P-BULB", "大灯灯泡", 80, 300),
                ]);
                lines.push((
                    LineKind::Labour,
                    "L-REPAIR",
                    "维修工时",
                    1.0,
                    r.range(100, 600),
                ));
                lines.push((
                    LineKind::Part,
                    code,
                    name,
                    if code == "P-TYRE" { 2.0 } else { 1.0 },
                    r.range(lo, hi),
                ));
            }
            WorkOrderKind::Accident => {
                lines.push((
                    LineKind::Labour,
                    "L-BODY",
                    "钣金喷漆",
                    1.0,
                    r.range(1500, 8000),
                ));
                lines.push((
                    LineKind::Part,
                    "P-BUMPER",
                    "前保险杠",
                    1.0,
                    r.range(900, 3500),
                ));
            }
            WorkOrderKind::Accessory => {
                let (code, name, lo, hi) = *r.pick(&[
                    ("A-FILM", "隔热膜", 1500, 4000),
                    ("A-MAT", "全包围脚垫", 600, 1500),
                    ("A-DASH", "行车记录仪", 800, 1800),
                ]);
                lines.push((LineKind::Part, code, name, 1.0, r.range(lo, hi)));
            }
            WorkOrderKind::Pdi => lines.push((LineKind::Labour, "L-PDI", "新车PDI检查", 1.0, 200)),
        }
        let paid_by = match kind {
            WorkOrderKind::FirstService
            | WorkOrderKind::Warranty
            | WorkOrderKind::Claim
            | WorkOrderKind::Pdi => PaidBy::Oem,
            WorkOrderKind::Accident => PaidBy::Insurer,
            _ => PaidBy::Customer,
        };
        let mut total = 0;
        for (lk, code, name, qty, amount) in lines {
            let l = self.ids.next(T_LINE);
            let cost = amount * r.range(55, 75) / 100;
            total += amount;
            b[T_LINE].push([
                l.into(),
                wid.into(),
                lk.code().into(),
                code.into(),
                name.into(),
                qty.into(),
                yuan(amount),
                yuan(cost),
            ]);
        }
        let settled = day
            + Duration::days(if kind == WorkOrderKind::Accident {
                r.range(2, 10)
            } else {
                0
            });
        let settled = settled.min(self.opts.as_of);
        b[T_WO].push([
            wid.into(),
            store_id.into(),
            format!("{store_code}-{}-{wid:07}", day.format("%y%m%d")).into(),
            vid.into(),
            cid.into(),
            advisor.into(),
            kind.code().into(),
            "settled".into(),
            day.into(),
            settled.into(),
            km.into(),
            yuan(total),
            paid_by.code().into(),
        ]);
        if r.chance(0.08) {
            let s = self.ids.next(T_SURVEY);
            let score = r.weighted(&[2.0, 3.0, 10.0, 35.0, 50.0]) as i64 + 1;
            b[T_SURVEY].push([
                s.into(),
                store_id.into(),
                cid.into(),
                "csi".into(),
                Val::Null,
                wid.into(),
                (settled + Duration::days(2)).min(self.opts.as_of).into(),
                Val::Null,
                score.into(),
                Val::Null,
            ]);
        }
    }
}

fn m_price(m: &ModelInfo) -> i64 {
    m.price_yuan
}

fn close_ownership(b: &mut [TableRows], ownership_id: i64, vehicle_id: i64, on: NaiveDate) {
    // Ownership rows are written by this generator only, so replace the open row.
    let _ = vehicle_id;
    b[T_OWNERSHIP].set_last_matching(0, Val::I64(ownership_id), 4, Val::Date(on));
}

fn upgrade(r: &mut Rng, g: LeadGrade) -> LeadGrade {
    if !r.chance(0.5) {
        return g;
    }
    match g {
        LeadGrade::C => LeadGrade::B,
        LeadGrade::B => LeadGrade::A,
        LeadGrade::A => LeadGrade::H,
        other => other,
    }
}

fn lead_source(r: &mut Rng) -> LeadSource {
    use LeadSource::*;
    let all = [
        WalkIn,
        PhoneIn,
        Online,
        OwnerReferral,
        BaseMaintenance,
        KeyAccount,
        OutdoorShow,
        Oem,
        Event,
        Staff,
    ];
    all[r.weighted(&[42.0, 18.0, 18.0, 7.0, 4.0, 2.0, 3.0, 3.0, 2.0, 1.0])]
}

fn source_detail(r: &mut Rng, s: LeadSource) -> Option<&'static str> {
    match s {
        LeadSource::Online => Some(*r.pick(ONLINE_PLATFORMS)),
        LeadSource::Event => Some("周末团购会"),
        LeadSource::OutdoorShow => Some("商场外展"),
        _ => None,
    }
}

fn defeat_note(reason: DefeatReason) -> &'static str {
    match reason {
        DefeatReason::Price => "竞品优惠更大",
        DefeatReason::CompetitorBrand => "已购买竞品",
        DefeatReason::Financing => "贷款方案未通过",
        DefeatReason::Product => "对配置不满意",
        DefeatReason::OurService => "对接待不满意",
        DefeatReason::Postponed => "暂缓购车",
        DefeatReason::LostContact => "多次联系未接通",
        DefeatReason::Other => "其他原因",
    }
}

/// A valid VIN: the brand's WMI, a model descriptor, the check digit, the model-year code,
/// a plant code and a serial unique per vehicle id.
fn make_vin(wmi: &str, model_code: &str, year: i32, vid: i64) -> String {
    const ALNUM: &[u8] = b"ABCDEFGHJKLMNPRSTUVWXYZ0123456789";
    const YEAR: &[u8] = b"ABCDEFGHJKLMNPRSTVWXY123456789";
    let h = model_code
        .bytes()
        .fold(7u64, |a, c| a.wrapping_mul(31).wrapping_add(c as u64));
    let mut v: Vec<u8> = wmi.bytes().collect();
    for i in 0..5 {
        v.push(ALNUM[((h >> (i * 5)) % ALNUM.len() as u64) as usize]);
    }
    v.push(b'0');
    v.push(YEAR[((year - 2010).rem_euclid(30)) as usize]);
    let plant = ALNUM[((vid / 1_000_000) as usize) % 23];
    v.push(plant);
    v.extend(format!("{:06}", vid % 1_000_000).bytes());
    let c = vin::check_digit(&v).unwrap_or('0');
    v[8] = c as u8;
    String::from_utf8(v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_vins_are_valid_and_unique() {
        let a = make_vin("LFV", "FV-SAG-200", 2023, 1);
        let b = make_vin("LFV", "FV-SAG-200", 2023, 2);
        assert!(dealerbase_domain::Vin::parse(&a).is_ok(), "{a}");
        assert_ne!(a, b);
        assert_eq!(
            dealerbase_domain::Vin::parse(&a)
                .unwrap()
                .model_year_near(2023),
            2023
        );
    }
}
