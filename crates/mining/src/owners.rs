//! Dealer features at a date, from the columns the nightly job reads: the churn-risk
//! features (DOMAIN.md's reasons owners stop coming) and the trade-in features, with their
//! outcomes one year later, so that a model can be trained on a past cut-off and checked on
//! a later one (a time split). Pure: columns in, columns out.

/// Days in the outcome window (one year).
pub const HORIZON_DAYS: i32 = 365;

/// Churn features, in column order; codes are stable (stored as reasons).
pub const CHURN_FEATURES: [&str; 10] = [
    "recency",
    "frequency",
    "spend",
    "vehicle_age",
    "km_per_day",
    "warranty_left",
    "first_service_here",
    "satisfaction",
    "complaints",
    "insurance_here",
];

/// Trade-in features, in column order.
pub const TRADE_IN_FEATURES: [&str; 4] =
    ["vehicle_age", "mileage", "repair_trend", "warranty_over"];

/// Words for a reason code `feature+` (the value is high) or `feature-` (low).
pub fn reason_words(code: &str, zh: bool) -> String {
    let (feature, high) = match code.strip_suffix('+') {
        Some(f) => (f, true),
        None => (code.trim_end_matches('-'), false),
    };
    let (z, e) = match (feature, high) {
        ("recency", true) => ("距上次回厂时间长", "long since the last visit"),
        ("recency", false) => ("最近刚回厂", "visited recently"),
        ("frequency", true) => ("回厂次数多", "many visits"),
        ("frequency", false) => ("回厂次数少", "few visits"),
        ("spend", true) => ("消费金额高", "high spend"),
        ("spend", false) => ("消费金额低", "low spend"),
        ("vehicle_age" | "vehicle_age_t", true) => ("车龄长", "old vehicle"),
        ("vehicle_age", false) => ("车龄短", "young vehicle"),
        ("km_per_day", true) => ("日均里程高", "high daily mileage"),
        ("km_per_day", false) => ("日均里程低", "low daily mileage"),
        ("warranty_left", true) => ("保修期剩余长", "much warranty left"),
        ("warranty_left", false) => ("保修期将尽或已过", "warranty ending or over"),
        ("first_service_here", true) => ("首保在本店", "first service done here"),
        ("first_service_here", false) => ("首保未在本店", "first service not done here"),
        ("satisfaction", true) => ("满意度高", "high satisfaction"),
        ("satisfaction", false) => ("满意度低", "low satisfaction"),
        ("complaints", true) => ("有投诉", "has complained"),
        ("complaints", false) => ("无投诉", "no complaints"),
        ("insurance_here", true) => ("在本店投保", "insured with us"),
        ("insurance_here", false) => ("未在本店投保", "not insured with us"),
        ("mileage", true) => ("行驶里程高", "high mileage"),
        ("mileage", false) => ("行驶里程低", "low mileage"),
        ("repair_trend", true) => ("维修支出上升", "rising repair spend"),
        ("repair_trend", false) => ("维修支出下降", "falling repair spend"),
        ("warranty_over", true) => ("已过保修期", "warranty over"),
        ("warranty_over", false) => ("仍在保修期", "still under warranty"),
        _ => ("", ""),
    };
    if z.is_empty() {
        return code.to_string();
    }
    if zh { z.to_string() } else { e.to_string() }
}

/// Everything the features need, as columns. Customer ids are `customers` (sorted,
/// distinct); the other tables refer to them by id. Amounts in yuan.
#[derive(Debug, Default, Clone)]
pub struct OwnerData {
    pub customers: Vec<u32>,
    pub visit_customer: Vec<u32>,
    pub visit_vehicle: Vec<u32>,
    pub visit_day: Vec<i32>,
    pub visit_amount: Vec<f64>,
    /// -1 when not recorded.
    pub visit_km: Vec<i32>,
    pub visit_repair: Vec<bool>,
    pub own_customer: Vec<u32>,
    pub own_vehicle: Vec<u32>,
    pub own_from: Vec<i32>,
    pub own_to: Vec<i32>,
    pub own_delivery: Vec<i32>,
    /// i32::MIN when unknown.
    pub own_warranty_end: Vec<i32>,
    pub survey_customer: Vec<u32>,
    pub survey_day: Vec<i32>,
    pub survey_service: Vec<i8>,
    pub complaint_customer: Vec<u32>,
    pub complaint_day: Vec<i32>,
    pub policy_customer: Vec<u32>,
    pub policy_start: Vec<i32>,
    pub policy_end: Vec<i32>,
    pub policy_here: Vec<bool>,
}

/// Row indices of each table grouped by customer (CSR), visits sorted by day.
pub struct OwnerIndex {
    slot: Vec<u32>,
    visits: Csr,
    owns: Csr,
    surveys: Csr,
    complaints: Csr,
    policies: Csr,
}

struct Csr {
    start: Vec<u32>,
    rows: Vec<u32>,
}

impl Csr {
    fn build(slot: &[u32], keys: &[u32], n: usize) -> Csr {
        let mut start = vec![0u32; n + 1];
        for &k in keys {
            let s = slot.get(k as usize).copied().unwrap_or(u32::MAX);
            if s != u32::MAX {
                start[s as usize + 1] += 1;
            }
        }
        for i in 0..n {
            start[i + 1] += start[i];
        }
        let mut fill = start.clone();
        let mut rows = vec![0u32; start[n] as usize];
        for (r, &k) in keys.iter().enumerate() {
            let s = slot.get(k as usize).copied().unwrap_or(u32::MAX);
            if s != u32::MAX {
                rows[fill[s as usize] as usize] = r as u32;
                fill[s as usize] += 1;
            }
        }
        Csr { start, rows }
    }
    fn of(&self, i: usize) -> &[u32] {
        &self.rows[self.start[i] as usize..self.start[i + 1] as usize]
    }
}

impl OwnerIndex {
    pub fn new(d: &OwnerData) -> OwnerIndex {
        let max = d.customers.iter().copied().max().unwrap_or(0) as usize;
        let mut slot = vec![u32::MAX; max + 1];
        for (i, &c) in d.customers.iter().enumerate() {
            slot[c as usize] = i as u32;
        }
        let n = d.customers.len();
        let mut visits = Csr::build(&slot, &d.visit_customer, n);
        for i in 0..n {
            let (a, b) = (visits.start[i] as usize, visits.start[i + 1] as usize);
            visits.rows[a..b].sort_by_key(|&r| d.visit_day[r as usize]);
        }
        OwnerIndex {
            visits,
            owns: Csr::build(&slot, &d.own_customer, n),
            surveys: Csr::build(&slot, &d.survey_customer, n),
            complaints: Csr::build(&slot, &d.complaint_customer, n),
            policies: Csr::build(&slot, &d.policy_customer, n),
            slot,
        }
    }

    /// Position of a customer id in `customers`.
    pub fn slot(&self, customer: u32) -> Option<usize> {
        match self.slot.get(customer as usize) {
            Some(&s) if s != u32::MAX => Some(s as usize),
            _ => None,
        }
    }

    /// Visit rows of customer position `i`, by day.
    pub fn visits(&self, i: usize) -> &[u32] {
        self.visits.of(i)
    }
}

/// Features of the customers who had at least one visit on or before `at`, with the
/// outcomes in the following year.
#[derive(Debug, Default, Clone)]
pub struct FeatureSet {
    /// Positions in `customers`.
    pub rows: Vec<usize>,
    pub churn: Vec<Vec<f64>>,
    /// No visit in (at, at + 365]; only meaningful when the window has passed.
    pub churned: Vec<bool>,
    pub trade_in: Vec<Vec<f64>>,
    /// A vehicle newly owned in (at, at + 365].
    pub bought_again: Vec<bool>,
}

impl FeatureSet {
    pub fn churn_columns(&self) -> Vec<&[f64]> {
        self.churn.iter().map(|c| c.as_slice()).collect()
    }
    pub fn trade_in_columns(&self) -> Vec<&[f64]> {
        self.trade_in.iter().map(|c| c.as_slice()).collect()
    }
}

/// Satisfaction assumed for customers who never answered a survey: 4 of 5, the usual
/// answer, so that "no survey" neither raises nor lowers the risk much.
const DEFAULT_SATISFACTION: f64 = 4.0;

/// Features as of day `at` (only facts on or before `at` are used).
pub fn features_at(d: &OwnerData, ix: &OwnerIndex, at: i32) -> FeatureSet {
    let mut out = FeatureSet {
        churn: vec![Vec::new(); CHURN_FEATURES.len()],
        trade_in: vec![Vec::new(); TRADE_IN_FEATURES.len()],
        ..FeatureSet::default()
    };
    let year = 365.25;
    for i in 0..d.customers.len() {
        let visits = ix.visits(i);
        let past = visits.partition_point(|&r| d.visit_day[r as usize] <= at);
        if past == 0 {
            continue;
        }
        let last = d.visit_day[visits[past - 1] as usize];
        let churned = !visits[past..]
            .iter()
            .any(|&r| d.visit_day[r as usize] <= at + HORIZON_DAYS);
        let (mut freq, mut spend, mut repair_recent, mut repair_before) = (0.0, 0.0, 0.0, 0.0);
        let mut last_km: Option<(i32, u32, i32)> = None;
        for &r in &visits[..past] {
            let r = r as usize;
            let day = d.visit_day[r];
            if day > at - 3 * 365 {
                freq += 1.0;
                spend += d.visit_amount[r];
            }
            if d.visit_repair[r] {
                if day > at - 365 {
                    repair_recent += d.visit_amount[r];
                } else if day > at - 730 {
                    repair_before += d.visit_amount[r];
                }
            }
            if d.visit_km[r] >= 0 {
                last_km = Some((day, d.visit_vehicle[r], d.visit_km[r]));
            }
        }
        let owns = ix.owns.of(i);
        let (mut first_delivery, mut oldest_owned, mut warranty_end) =
            (i32::MAX, i32::MAX, i32::MIN);
        let mut bought_again = false;
        let mut owned_any = false;
        for &o in owns {
            let o = o as usize;
            if d.own_from[o] <= at {
                first_delivery = first_delivery.min(d.own_delivery[o]);
                if d.own_to[o] > at {
                    owned_any = true;
                    oldest_owned = oldest_owned.min(d.own_delivery[o]);
                    warranty_end = warranty_end.max(d.own_warranty_end[o]);
                }
            } else if d.own_from[o] <= at + HORIZON_DAYS {
                bought_again = true;
            }
        }
        if !owned_any {
            oldest_owned = first_delivery;
        }
        let vehicle_age = if oldest_owned == i32::MAX {
            0.0
        } else {
            f64::from((at - oldest_owned).max(0)) / year
        };
        let (km_per_day, mileage) = match last_km {
            Some((day, vehicle, km)) => {
                let delivered = owns
                    .iter()
                    .map(|&o| o as usize)
                    .find(|&o| d.own_vehicle[o] == vehicle)
                    .map_or(first_delivery, |o| d.own_delivery[o]);
                let days = if delivered == i32::MAX {
                    365
                } else {
                    (day - delivered).max(30)
                };
                (f64::from(km) / f64::from(days), f64::from(km))
            }
            None => (0.0, 0.0),
        };
        let warranty_left = if warranty_end == i32::MIN {
            0.0
        } else {
            f64::from((warranty_end - at).max(0)) / year
        };
        let first_service_here = first_delivery != i32::MAX
            && visits[..past].iter().any(|&r| {
                let day = d.visit_day[r as usize];
                day >= first_delivery && day <= first_delivery + 400
            });
        let satisfaction = ix
            .surveys
            .of(i)
            .iter()
            .map(|&s| s as usize)
            .filter(|&s| d.survey_day[s] <= at)
            .max_by_key(|&s| d.survey_day[s])
            .map_or(DEFAULT_SATISFACTION, |s| f64::from(d.survey_service[s]));
        let complaints = ix
            .complaints
            .of(i)
            .iter()
            .filter(|&&c| d.complaint_day[c as usize] <= at)
            .count() as f64;
        let insured_here = ix.policies.of(i).iter().any(|&p| {
            let p = p as usize;
            d.policy_here[p] && d.policy_start[p] <= at && d.policy_end[p] >= at
        });
        out.rows.push(i);
        let c = [
            f64::from(at - last),
            freq,
            spend,
            vehicle_age,
            km_per_day,
            warranty_left,
            f64::from(u8::from(first_service_here)),
            satisfaction,
            complaints,
            f64::from(u8::from(insured_here)),
        ];
        for (col, v) in out.churn.iter_mut().zip(c) {
            col.push(v);
        }
        out.churned.push(churned);
        let t = [
            vehicle_age,
            mileage,
            repair_recent - repair_before,
            f64::from(u8::from(warranty_end != i32::MIN && warranty_end < at)),
        ];
        for (col, v) in out.trade_in.iter_mut().zip(t) {
            col.push(v);
        }
        out.bought_again.push(bought_again);
    }
    out
}

/// Reason codes for a model's top reasons: the feature code plus `+` when the customer's
/// value is above the mean, `-` below.
pub fn reason_codes(
    names: &[&str],
    model: &crate::logistic::LogisticModel,
    columns: &[&[f64]],
    row: usize,
    top: usize,
) -> String {
    model
        .top_reasons(columns, row, top)
        .iter()
        .map(|r| {
            let sign = if columns[r.feature][row] >= model.mean[r.feature] {
                '+'
            } else {
                '-'
            };
            format!("{}{sign}", names[r.feature])
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> OwnerData {
        OwnerData {
            customers: vec![3, 7],
            visit_customer: vec![3, 3, 7, 3],
            visit_vehicle: vec![1, 1, 2, 1],
            visit_day: vec![100, 500, 200, 300],
            visit_amount: vec![10.0, 30.0, 5.0, 20.0],
            visit_km: vec![1000, 9000, -1, 5000],
            visit_repair: vec![false, true, false, false],
            own_customer: vec![3, 7, 7],
            own_vehicle: vec![1, 2, 5],
            own_from: vec![0, 0, 600],
            own_to: vec![i32::MAX, i32::MAX, i32::MAX],
            own_delivery: vec![0, 0, 600],
            own_warranty_end: vec![1000, 100, 1700],
            ..OwnerData::default()
        }
    }

    #[test]
    fn features_use_only_the_past_and_label_the_next_year() {
        let d = data();
        let ix = OwnerIndex::new(&d);
        let f = features_at(&d, &ix, 350);
        assert_eq!(f.rows, vec![0, 1]);
        // customer 3: visits on days 100 and 300 by day 350, next on 500 (within a year)
        assert_eq!(f.churn[0], vec![50.0, 150.0]);
        assert_eq!(f.churn[1], vec![2.0, 1.0]);
        assert_eq!(f.churn[2], vec![30.0, 5.0]);
        assert_eq!(f.churned, vec![false, true]);
        // km per day from the last reading: 5000 km on day 300, delivered on day 0
        assert!((f.churn[4][0] - 5000.0 / 300.0).abs() < 1e-12);
        assert_eq!(f.churn[6], vec![1.0, 1.0]);
        // customer 7 takes a new car on day 600: bought again within the year
        assert_eq!(f.bought_again, vec![false, true]);
        // customer 7's warranty ended on day 100
        assert_eq!(f.trade_in[3], vec![0.0, 1.0]);
        assert_eq!(reason_words("recency+", false), "long since the last visit");
        assert_eq!(reason_words("insurance_here-", true), "未在本店投保");
    }
}
