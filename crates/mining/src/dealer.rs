//! Small dealer-specific analyses from the training material (seed 004): the loyalty
//! matrix and campaign response by months since the last visit.

use crate::error::{MiningError, Result, same_len};
use serde::Serialize;

/// Product satisfaction × service satisfaction (seed 004, 客户忠诚度矩阵).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Loyalty {
    /// Satisfied with product and service — 忠诚型客户.
    Loyal,
    /// Product yes, service no: easy prey for competitors — 易遭竞争对手抢夺的客户.
    Vulnerable,
    /// Service yes, product no: still hopeful about us — 对公司仍抱有期望的客户.
    Hopeful,
    /// Neither — 破坏型客户.
    Destructive,
}

impl Loyalty {
    pub const ALL: [Loyalty; 4] = [
        Loyalty::Loyal,
        Loyalty::Vulnerable,
        Loyalty::Hopeful,
        Loyalty::Destructive,
    ];

    /// Satisfied means a score of at least `threshold` (e.g. 4 on a 1–5 scale).
    pub fn classify(product: f64, service: f64, threshold: f64) -> Loyalty {
        match (product >= threshold, service >= threshold) {
            (true, true) => Loyalty::Loyal,
            (true, false) => Loyalty::Vulnerable,
            (false, true) => Loyalty::Hopeful,
            (false, false) => Loyalty::Destructive,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Loyalty::Loyal => "loyal",
            Loyalty::Vulnerable => "vulnerable",
            Loyalty::Hopeful => "hopeful",
            Loyalty::Destructive => "destructive",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Loyalty::Loyal => "忠诚型客户",
            Loyalty::Vulnerable => "易遭竞争对手抢夺的客户",
            Loyalty::Hopeful => "对公司仍抱有期望的客户",
            Loyalty::Destructive => "破坏型客户",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            Loyalty::Loyal => "Loyal",
            Loyalty::Vulnerable => "Vulnerable to competitors",
            Loyalty::Hopeful => "Still hopeful about us",
            Loyalty::Destructive => "Destructive",
        }
    }
}

/// Class per customer and the count per class in [`Loyalty::ALL`] order.
pub fn loyalty_matrix(
    product: &[f64],
    service: &[f64],
    threshold: f64,
) -> Result<(Vec<Loyalty>, [usize; 4])> {
    same_len("product, service", &[product.len(), service.len()])?;
    if product.is_empty() {
        return Err(MiningError::Empty);
    }
    if let Some(i) = product.iter().chain(service).position(|v| !v.is_finite()) {
        return Err(MiningError::invalid(format!("score {i} is not a number")));
    }
    let classes: Vec<Loyalty> = product
        .iter()
        .zip(service)
        .map(|(&p, &s)| Loyalty::classify(p, s, threshold))
        .collect();
    let mut counts = [0usize; 4];
    for c in &classes {
        counts[Loyalty::ALL.iter().position(|x| x == c).unwrap_or(0)] += 1;
    }
    Ok((classes, counts))
}

/// Whole months from one day to a later one, a month being 365.25/12 days (0 if `to`
/// is not after `from`).
pub fn months_between(from_day: i32, to_day: i32) -> u32 {
    if to_day <= from_day {
        return 0;
    }
    (f64::from(to_day - from_day) / (365.25 / 12.0)).floor() as u32
}

/// What became of one campaign touch on day `touch_day`, given the customer's visit days
/// in increasing order: the whole months since the last visit strictly before the touch
/// day (None when the customer had never visited), and whether a visit followed within
/// `window_days` — on the touch day itself or up to `touch_day + window_days`.
pub fn touch_outcome(touch_day: i32, visit_days: &[i32], window_days: i32) -> (Option<u32>, bool) {
    let before = visit_days.partition_point(|&d| d < touch_day);
    let months = before
        .checked_sub(1)
        .map(|i| months_between(visit_days[i], touch_day));
    let responded = visit_days
        .get(before)
        .is_some_and(|&d| d <= touch_day + window_days);
    (months, responded)
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ResponseRow {
    /// Months since the last visit; the last row pools everything ≥ its value.
    pub months: u32,
    pub contacted: u64,
    pub responded: u64,
    pub rate: f64,
}

/// Campaign response rate by months since the last visit (seed 004: 3.48%, 1.25%, 1.08%,
/// 0.63%, 0.27% for 1–5 months). Rows for every month from the smallest seen to
/// `max_months`; months above `max_months` are pooled into its row.
pub fn response_by_recency(
    months_since_last_visit: &[u32],
    responded: &[bool],
    max_months: u32,
) -> Result<Vec<ResponseRow>> {
    same_len(
        "months, responded",
        &[months_since_last_visit.len(), responded.len()],
    )?;
    if responded.is_empty() {
        return Err(MiningError::Empty);
    }
    let lo = months_since_last_visit
        .iter()
        .copied()
        .min()
        .unwrap_or(0)
        .min(max_months);
    let mut rows: Vec<ResponseRow> = (lo..=max_months)
        .map(|m| ResponseRow {
            months: m,
            contacted: 0,
            responded: 0,
            rate: 0.0,
        })
        .collect();
    for (&m, &r) in months_since_last_visit.iter().zip(responded) {
        let row = &mut rows[(m.min(max_months) - lo) as usize];
        row.contacted += 1;
        row.responded += u64::from(r);
    }
    for row in &mut rows {
        row.rate = if row.contacted > 0 {
            row.responded as f64 / row.contacted as f64
        } else {
            0.0
        };
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touch_outcomes_by_hand() {
        // Visits on days 100 and 200; a month is 30.4375 days.
        let v = [100, 200];
        // Touch on day 170: last visit day 100, 70 days = 2.3 months → 2; the visit on day
        // 200 is 30 days later, inside a 30-day window.
        assert_eq!(touch_outcome(170, &v, 30), (Some(2), true));
        // Same touch, 29-day window: day 200 is one day too late.
        assert_eq!(touch_outcome(170, &v, 29), (Some(2), false));
        // A visit on the touch day answers it; the months count from the visit before.
        assert_eq!(touch_outcome(200, &v, 30), (Some(3), true));
        // Before any visit: no months, and the first visit (day 100) is 50 days later.
        assert_eq!(touch_outcome(50, &v, 30), (None, false));
        assert_eq!(touch_outcome(80, &v, 30), (None, true));
        assert_eq!(touch_outcome(500, &[], 30), (None, false));
    }

    #[test]
    fn loyalty_quadrants() {
        let (classes, counts) =
            loyalty_matrix(&[5.0, 5.0, 2.0, 1.0, 4.0], &[4.0, 3.0, 5.0, 1.0, 4.0], 4.0)
                .expect("matrix");
        use Loyalty::*;
        assert_eq!(
            classes,
            vec![Loyal, Vulnerable, Hopeful, Destructive, Loyal]
        );
        assert_eq!(counts, [2, 1, 1, 1]);
        assert_eq!(Loyal.name_zh(), "忠诚型客户");
        assert!(loyalty_matrix(&[], &[], 4.0).is_err());
        assert!(loyalty_matrix(&[1.0], &[f64::NAN], 4.0).is_err());
    }

    #[test]
    fn months_and_response_by_hand() {
        // 30 days is under one month (30.4375 days); 31 days is one.
        assert_eq!(months_between(0, 30), 0);
        assert_eq!(months_between(0, 31), 1);
        assert_eq!(months_between(0, 365), 11);
        assert_eq!(months_between(10, 5), 0);
        let months = [1, 1, 1, 1, 2, 2, 3, 7, 9];
        let resp = [true, false, false, true, false, true, false, true, false];
        let rows = response_by_recency(&months, &resp, 4).expect("rows");
        assert_eq!(
            rows.iter().map(|r| r.months).collect::<Vec<_>>(),
            vec![1, 2, 3, 4]
        );
        assert_eq!(
            (rows[0].contacted, rows[0].responded, rows[0].rate),
            (4, 2, 0.5)
        );
        assert_eq!((rows[1].contacted, rows[1].responded), (2, 1));
        assert_eq!((rows[2].contacted, rows[2].rate), (1, 0.0));
        // 7 and 9 pooled into the "4 or more" row: one response of two.
        assert_eq!((rows[3].contacted, rows[3].responded), (2, 1));
    }
}
