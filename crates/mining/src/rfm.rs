//! RFM scoring (Hughes, "Strategic Database Marketing") and the eight named segments of the
//! high/low R × F × M grid used by Chinese CRM practice (重要价值客户 …).
//!
//! Per customer, as of a given date: `recency_days` = as-of date − last purchase date,
//! `frequency` = number of transactions, `monetary` = total amount. Transactions after the
//! as-of date are ignored.
//!
//! Scores 1–5 by quintile with this tie rule: a customer's score is
//! 1 + ⌊5 · L / n⌋, where n is the number of customers and L the number of customers
//! with a strictly worse value (larger recency, smaller frequency or monetary). Equal values
//! therefore always get the same score (the score of the first rank of their tie group,
//! like `rank(method="min")`), and a value shared by many customers can leave a quintile
//! empty: if 60% of customers bought once, they all get F = 1 and the next value gets F = 4.

use crate::error::{MiningError, Result, same_len};
use crate::ids::{IdSpace, chunks, threads_for};
use serde::Serialize;

/// The eight R × F × M high/low segments. A score is "high" when it is at least
/// [`RfmOptions::high_from`] (default 3, i.e. the upper three quintiles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RfmSegment {
    /// R high, F high, M high — 重要价值客户.
    Champions,
    /// R high, F low, M high — 重要发展客户.
    PotentialLoyalists,
    /// R low, F high, M high — 重要保持客户.
    CantLoseThem,
    /// R low, F low, M high — 重要挽留客户.
    AtRisk,
    /// R high, F high, M low — 一般价值客户.
    LoyalCustomers,
    /// R high, F low, M low — 一般发展客户.
    NewCustomers,
    /// R low, F high, M low — 一般保持客户.
    NeedAttention,
    /// R low, F low, M low — 一般挽留客户.
    Hibernating,
}

impl RfmSegment {
    pub const ALL: [RfmSegment; 8] = [
        RfmSegment::Champions,
        RfmSegment::PotentialLoyalists,
        RfmSegment::CantLoseThem,
        RfmSegment::AtRisk,
        RfmSegment::LoyalCustomers,
        RfmSegment::NewCustomers,
        RfmSegment::NeedAttention,
        RfmSegment::Hibernating,
    ];

    pub fn from_high(r: bool, f: bool, m: bool) -> RfmSegment {
        match (r, f, m) {
            (true, true, true) => RfmSegment::Champions,
            (true, false, true) => RfmSegment::PotentialLoyalists,
            (false, true, true) => RfmSegment::CantLoseThem,
            (false, false, true) => RfmSegment::AtRisk,
            (true, true, false) => RfmSegment::LoyalCustomers,
            (true, false, false) => RfmSegment::NewCustomers,
            (false, true, false) => RfmSegment::NeedAttention,
            (false, false, false) => RfmSegment::Hibernating,
        }
    }

    /// Stable machine code, e.g. `champions`.
    pub fn code(self) -> &'static str {
        match self {
            RfmSegment::Champions => "champions",
            RfmSegment::PotentialLoyalists => "potential_loyalists",
            RfmSegment::CantLoseThem => "cant_lose_them",
            RfmSegment::AtRisk => "at_risk",
            RfmSegment::LoyalCustomers => "loyal_customers",
            RfmSegment::NewCustomers => "new_customers",
            RfmSegment::NeedAttention => "need_attention",
            RfmSegment::Hibernating => "hibernating",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            RfmSegment::Champions => "重要价值客户",
            RfmSegment::PotentialLoyalists => "重要发展客户",
            RfmSegment::CantLoseThem => "重要保持客户",
            RfmSegment::AtRisk => "重要挽留客户",
            RfmSegment::LoyalCustomers => "一般价值客户",
            RfmSegment::NewCustomers => "一般发展客户",
            RfmSegment::NeedAttention => "一般保持客户",
            RfmSegment::Hibernating => "一般挽留客户",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            RfmSegment::Champions => "Champions",
            RfmSegment::PotentialLoyalists => "Potential loyalists",
            RfmSegment::CantLoseThem => "Can't lose them",
            RfmSegment::AtRisk => "At risk",
            RfmSegment::LoyalCustomers => "Loyal customers",
            RfmSegment::NewCustomers => "New customers",
            RfmSegment::NeedAttention => "Need attention",
            RfmSegment::Hibernating => "Hibernating",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RfmOptions {
    /// A score counts as high from this value up (1–5).
    pub high_from: u8,
}

impl Default for RfmOptions {
    fn default() -> Self {
        RfmOptions { high_from: 3 }
    }
}

/// One row per customer with a transaction on or before the as-of date, in increasing
/// customer id order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RfmTable {
    pub customer: Vec<u32>,
    pub recency_days: Vec<i32>,
    pub frequency: Vec<u32>,
    pub monetary: Vec<f64>,
    pub r: Vec<u8>,
    pub f: Vec<u8>,
    pub m: Vec<u8>,
    pub segment: Vec<RfmSegment>,
}

impl RfmTable {
    pub fn len(&self) -> usize {
        self.customer.len()
    }

    pub fn is_empty(&self) -> bool {
        self.customer.is_empty()
    }
}

/// Per-customer accumulators.
struct Acc {
    last: Vec<i32>,
    count: Vec<u32>,
    total: Vec<f64>,
}

fn accumulate(space: &IdSpace, customer: &[u32], date: &[i32], amount: &[f64], as_of: i32) -> Acc {
    let n = space.len();
    let mut acc = Acc {
        last: vec![i32::MIN; n],
        count: vec![0; n],
        total: vec![0.0; n],
    };
    for ((&c, &d), &a) in customer.iter().zip(date).zip(amount) {
        if d <= as_of {
            let k = space.index(c);
            acc.last[k] = acc.last[k].max(d);
            acc.count[k] += 1;
            acc.total[k] += a;
        }
    }
    acc
}

/// RFM values, scores and segments. Amounts must be finite and non-negative.
pub fn rfm(
    customer: &[u32],
    date: &[i32],
    amount: &[f64],
    as_of: i32,
    options: RfmOptions,
) -> Result<RfmTable> {
    same_len(
        "customer, date, amount",
        &[customer.len(), date.len(), amount.len()],
    )?;
    if customer.is_empty() {
        return Err(MiningError::Empty);
    }
    if !(1..=5).contains(&options.high_from) {
        return Err(MiningError::invalid("high_from must be between 1 and 5"));
    }
    if let Some(row) = amount.iter().position(|a| !a.is_finite() || *a < 0.0) {
        return Err(MiningError::invalid(format!(
            "row {row}: amount must be a non-negative number, got {}",
            amount[row]
        )));
    }
    let space = IdSpace::new(customer);
    let threads = threads_for(customer.len(), 2_000_000);
    let acc = if threads == 1 {
        accumulate(&space, customer, date, amount, as_of)
    } else {
        let parts: Vec<Acc> = std::thread::scope(|s| {
            let hs: Vec<_> = chunks(customer.len(), threads)
                .into_iter()
                .map(|c| {
                    let space = &space;
                    s.spawn(move || {
                        accumulate(
                            space,
                            &customer[c.clone()],
                            &date[c.clone()],
                            &amount[c],
                            as_of,
                        )
                    })
                })
                .collect();
            hs.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        let mut it = parts.into_iter();
        let mut acc = it
            .next()
            .ok_or_else(|| MiningError::invalid("RFM worker failed"))?;
        for p in it {
            for k in 0..acc.count.len() {
                acc.last[k] = acc.last[k].max(p.last[k]);
                acc.count[k] += p.count[k];
                acc.total[k] += p.total[k];
            }
        }
        acc
    };
    let mut t = RfmTable::default();
    for k in 0..space.len() {
        if acc.count[k] > 0 {
            t.customer.push(space.id(k));
            t.recency_days.push(as_of - acc.last[k]);
            t.frequency.push(acc.count[k]);
            t.monetary.push(acc.total[k]);
        }
    }
    if t.is_empty() {
        return Err(MiningError::invalid(
            "no transaction on or before the as-of date",
        ));
    }
    let (r, (f, m)) = std::thread::scope(|s| {
        let h = s.spawn(|| {
            quintile_scores_i64(
                &t.recency_days
                    .iter()
                    .map(|&v| -i64::from(v))
                    .collect::<Vec<_>>(),
            )
        });
        let f = quintile_scores_i64(
            &t.frequency
                .iter()
                .map(|&v| i64::from(v))
                .collect::<Vec<_>>(),
        );
        let m = quintile_scores(&t.monetary);
        (h.join().unwrap_or_default(), (f, m))
    });
    let hi = options.high_from;
    t.segment = (0..t.len())
        .map(|i| RfmSegment::from_high(r[i] >= hi, f[i] >= hi, m[i] >= hi))
        .collect();
    (t.r, t.f, t.m) = (r, f, m);
    Ok(t)
}

/// Quintile scores 1–5 where larger values are better, by the tie rule in the module doc.
pub fn quintile_scores(values: &[f64]) -> Vec<u8> {
    let n = values.len();
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.sort_unstable_by(|&a, &b| values[a as usize].total_cmp(&values[b as usize]));
    let mut scores = vec![0u8; n];
    let mut start = 0;
    while start < n {
        let v = values[order[start] as usize];
        let mut end = start;
        while end < n && values[order[end] as usize].total_cmp(&v).is_eq() {
            end += 1;
        }
        let s = score_for(start, n);
        order[start..end]
            .iter()
            .for_each(|&i| scores[i as usize] = s);
        start = end;
    }
    scores
}

/// [`quintile_scores`] for integers, by counting when their range is small.
pub fn quintile_scores_i64(values: &[i64]) -> Vec<u8> {
    let n = values.len();
    let (Some(&lo), Some(&hi)) = (values.iter().min(), values.iter().max()) else {
        return Vec::new();
    };
    let range = (hi - lo) as u64 + 1;
    if range > 4 * n as u64 + 1024 {
        return quintile_scores(&values.iter().map(|&v| v as f64).collect::<Vec<_>>());
    }
    let mut below = vec![0usize; range as usize + 1];
    for &v in values {
        below[(v - lo) as usize + 1] += 1;
    }
    for i in 1..below.len() {
        below[i] += below[i - 1];
    }
    values
        .iter()
        .map(|&v| score_for(below[(v - lo) as usize], n))
        .collect()
}

#[inline]
fn score_for(strictly_worse: usize, n: usize) -> u8 {
    (1 + 5 * strictly_worse / n) as u8
}

/// Customers per segment, in [`RfmSegment::ALL`] order.
pub fn segment_counts(table: &RfmTable) -> Vec<(RfmSegment, usize)> {
    RfmSegment::ALL
        .iter()
        .map(|&s| (s, table.segment.iter().filter(|&&x| x == s).count()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quintiles_without_ties() {
        // Ten distinct values: two per quintile.
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(quintile_scores(&v), vec![1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
        let iv: Vec<i64> = (1..=10).rev().collect();
        assert_eq!(quintile_scores_i64(&iv), vec![5, 5, 4, 4, 3, 3, 2, 2, 1, 1]);
    }

    #[test]
    fn quintiles_with_ties_share_the_lowest_rank_score() {
        // n = 10; six 1s have L = 0 → 1; three 2s have L = 6 → 1 + ⌊30/10⌋ = 4; the 7 has
        // L = 9 → 1 + ⌊45/10⌋ = 5.
        let v = [1, 2, 1, 1, 7, 2, 1, 1, 2, 1];
        assert_eq!(quintile_scores_i64(&v), vec![1, 4, 1, 1, 5, 4, 1, 1, 4, 1]);
        let f: Vec<f64> = v.iter().map(|&x| x as f64).collect();
        assert_eq!(quintile_scores(&f), vec![1, 4, 1, 1, 5, 4, 1, 1, 4, 1]);
        assert_eq!(quintile_scores(&[3.0, 3.0, 3.0]), vec![1, 1, 1]);
        // Wide integer ranges take the sorting path and agree.
        let wide = [0, 1_000_000_000, 5, 5];
        assert_eq!(quintile_scores_i64(&wide), vec![1, 4, 2, 2]);
    }

    #[test]
    fn rfm_values_scores_and_segments_by_hand() {
        // Five customers, as of day 100.
        //   c10: days 90, 95 (20 + 30)      → R 5,  F 2, M 50
        //   c11: day 10 (500)               → R 90, F 1, M 500
        //   c12: days 50, 60, 70 (10 each)  → R 30, F 3, M 30
        //   c13: day 99 (5), day 120 ignored → R 1,  F 1, M 5
        //   c14: days 20, 80 (100, 100)     → R 20, F 2, M 200
        let customer = [10, 10, 11, 12, 12, 12, 13, 13, 14, 14];
        let date = [90, 95, 10, 50, 60, 70, 99, 120, 20, 80];
        let amount = [
            20.0, 30.0, 500.0, 10.0, 10.0, 10.0, 5.0, 1000.0, 100.0, 100.0,
        ];
        let t = rfm(&customer, &date, &amount, 100, RfmOptions::default()).expect("rfm");
        assert_eq!(t.customer, vec![10, 11, 12, 13, 14]);
        assert_eq!(t.recency_days, vec![5, 90, 30, 1, 20]);
        assert_eq!(t.frequency, vec![2, 1, 3, 1, 2]);
        assert_eq!(t.monetary, vec![50.0, 500.0, 30.0, 5.0, 200.0]);
        // R: worse = larger recency. L = 3, 0, 1, 4, 2 → 1 + ⌊5L/5⌋ = L + 1.
        assert_eq!(t.r, vec![4, 1, 2, 5, 3]);
        // F: values 2,1,3,1,2 → L = 2, 0, 4, 0, 2.
        assert_eq!(t.f, vec![3, 1, 5, 1, 3]);
        // M: 50, 500, 30, 5, 200 → L = 2, 4, 1, 0, 3.
        assert_eq!(t.m, vec![3, 5, 2, 1, 4]);
        use RfmSegment::*;
        assert_eq!(
            t.segment,
            vec![Champions, AtRisk, NeedAttention, NewCustomers, Champions]
        );
        let counts = segment_counts(&t);
        assert_eq!(counts[0], (Champions, 2));
    }

    #[test]
    fn segment_names() {
        assert_eq!(RfmSegment::Champions.name_zh(), "重要价值客户");
        assert_eq!(RfmSegment::Hibernating.name_en(), "Hibernating");
        let all: std::collections::HashSet<_> = RfmSegment::ALL.iter().map(|s| s.code()).collect();
        assert_eq!(all.len(), 8);
    }

    #[test]
    fn rfm_rejects_bad_input() {
        let o = RfmOptions::default();
        assert!(matches!(rfm(&[], &[], &[], 0, o), Err(MiningError::Empty)));
        assert!(rfm(&[1], &[0], &[-2.0], 1, o).is_err());
        assert!(rfm(&[1], &[0], &[f64::NAN], 1, o).is_err());
        assert!(rfm(&[1], &[5], &[2.0], 1, o).is_err());
        assert!(rfm(&[1, 2], &[5], &[2.0], 9, o).is_err());
        assert!(rfm(&[1], &[0], &[2.0], 1, RfmOptions { high_from: 0 }).is_err());
    }

    #[test]
    fn parallel_accumulation_matches_serial() {
        // Enough rows to take the two-thread path.
        let n = 4_100_000usize;
        let customer: Vec<u32> = (0..n).map(|i| ((i * 7919) % 1000) as u32).collect();
        let date: Vec<i32> = (0..n).map(|i| (i % 365) as i32).collect();
        let amount: Vec<f64> = (0..n).map(|i| (i % 13) as f64).collect();
        let t = rfm(&customer, &date, &amount, 400, RfmOptions::default()).expect("rfm");
        let space = IdSpace::new(&customer);
        let acc = accumulate(&space, &customer, &date, &amount, 400);
        assert_eq!(t.len(), 1000);
        for (i, &c) in t.customer.iter().enumerate() {
            assert_eq!(t.frequency[i], acc.count[c as usize]);
            assert_eq!(t.monetary[i], acc.total[c as usize]);
            assert_eq!(t.recency_days[i], 400 - acc.last[c as usize]);
        }
    }
}
