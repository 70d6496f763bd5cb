//! The customer value pyramid (Zeithaml, Rust & Lemon, "The customer pyramid", California
//! Management Review 2001) by cumulative revenue share, the Pareto table, the Lorenz curve
//! and the Gini coefficient of revenue.

use crate::error::{MiningError, Result};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Platinum,
    Gold,
    Silver,
    Bronze,
}

impl Tier {
    pub const ALL: [Tier; 4] = [Tier::Platinum, Tier::Gold, Tier::Silver, Tier::Bronze];

    pub fn code(self) -> &'static str {
        match self {
            Tier::Platinum => "platinum",
            Tier::Gold => "gold",
            Tier::Silver => "silver",
            Tier::Bronze => "bronze",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Tier::Platinum => "铂金客户",
            Tier::Gold => "黄金客户",
            Tier::Silver => "白银客户",
            Tier::Bronze => "青铜客户",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            Tier::Platinum => "Platinum",
            Tier::Gold => "Gold",
            Tier::Silver => "Silver",
            Tier::Bronze => "Bronze",
        }
    }
}

/// Cumulative revenue shares that close the platinum, gold and silver tiers.
/// Default 40% / 70% / 90%: DOMAIN.md §3 reports that the top 10% of dealer customers
/// bring over 40% of revenue and 40% of customers bring 80%, so the platinum tier is
/// roughly the top decile and platinum + gold + silver the top half.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TierCutoffs {
    pub platinum: f64,
    pub gold: f64,
    pub silver: f64,
}

impl Default for TierCutoffs {
    fn default() -> Self {
        TierCutoffs {
            platinum: 0.40,
            gold: 0.70,
            silver: 0.90,
        }
    }
}

fn check_revenue(revenue: &[f64]) -> Result<f64> {
    if revenue.is_empty() {
        return Err(MiningError::Empty);
    }
    if let Some(i) = revenue.iter().position(|v| !v.is_finite() || *v < 0.0) {
        return Err(MiningError::invalid(format!(
            "row {i}: revenue must be non-negative"
        )));
    }
    Ok(revenue.iter().sum())
}

/// Tier per customer. Customers are ranked by revenue, highest first; a customer's tier is
/// decided by the share of total revenue brought by the customers ranked strictly above
/// their revenue value (so equal revenues share a tier): below `platinum` → platinum,
/// below `gold` → gold, below `silver` → silver, else bronze. Customers with zero revenue
/// are bronze.
pub fn value_tiers(revenue: &[f64], cutoffs: TierCutoffs) -> Result<Vec<Tier>> {
    let total = check_revenue(revenue)?;
    if !(0.0 < cutoffs.platinum
        && cutoffs.platinum <= cutoffs.gold
        && cutoffs.gold <= cutoffs.silver
        && cutoffs.silver <= 1.0)
    {
        return Err(MiningError::invalid(
            "tier cut-offs must satisfy 0 < platinum ≤ gold ≤ silver ≤ 1",
        ));
    }
    let mut order: Vec<usize> = (0..revenue.len()).collect();
    order.sort_unstable_by(|&a, &b| revenue[b].total_cmp(&revenue[a]));
    let mut tiers = vec![Tier::Bronze; revenue.len()];
    let mut above = 0.0;
    let mut i = 0;
    while i < order.len() {
        let v = revenue[order[i]];
        let share = if total > 0.0 { above / total } else { 1.0 };
        let tier = if v <= 0.0 {
            Tier::Bronze
        } else if share < cutoffs.platinum {
            Tier::Platinum
        } else if share < cutoffs.gold {
            Tier::Gold
        } else if share < cutoffs.silver {
            Tier::Silver
        } else {
            Tier::Bronze
        };
        while i < order.len() && revenue[order[i]] == v {
            tiers[order[i]] = tier;
            above += v;
            i += 1;
        }
    }
    Ok(tiers)
}

/// One row of the Pareto table: the top `customer_share` of customers (by revenue) and the
/// share of revenue they bring.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ParetoRow {
    pub customer_share: f64,
    pub customers: usize,
    pub revenue_share: f64,
}

/// Revenue share of the top 10%, 20%, …, 100% of customers (the top ⌈n·p⌉ customers).
pub fn pareto_table(revenue: &[f64]) -> Result<Vec<ParetoRow>> {
    let total = check_revenue(revenue)?;
    let mut sorted = revenue.to_vec();
    sorted.sort_unstable_by(|a, b| b.total_cmp(a));
    let n = sorted.len();
    let mut prefix = Vec::with_capacity(n + 1);
    prefix.push(0.0);
    for v in &sorted {
        prefix.push(prefix.last().copied().unwrap_or(0.0) + v);
    }
    Ok((1..=10)
        .map(|decile| {
            let customers = (n * decile).div_ceil(10);
            ParetoRow {
                customer_share: decile as f64 / 10.0,
                customers,
                revenue_share: if total > 0.0 {
                    prefix[customers] / total
                } else {
                    0.0
                },
            }
        })
        .collect())
}

/// Lorenz curve points (cumulative customer share, cumulative revenue share) with customers
/// in increasing revenue order, starting at (0, 0) and ending at (1, 1), thinned to at most
/// `max_points` + 1 points (evenly spaced in customer share).
pub fn lorenz_curve(revenue: &[f64], max_points: usize) -> Result<Vec<(f64, f64)>> {
    let total = check_revenue(revenue)?;
    let mut sorted = revenue.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    let n = sorted.len();
    let steps = max_points.clamp(1, n);
    let mut out = Vec::with_capacity(steps + 1);
    out.push((0.0, 0.0));
    let mut acc = 0.0;
    let mut next = 1;
    for (i, v) in sorted.iter().enumerate() {
        acc += v;
        let k = i + 1;
        // Emit when k reaches the next of `steps` evenly spaced customer counts.
        if k * steps >= next * n {
            out.push((
                k as f64 / n as f64,
                if total > 0.0 {
                    acc / total
                } else {
                    k as f64 / n as f64
                },
            ));
            next += 1;
        }
    }
    Ok(out)
}

/// Gini coefficient of revenue: G = 2 Σᵢ i·yᵢ / (n Σ y) − (n + 1)/n with y ascending and
/// i = 1..n (0 for perfect equality, (n − 1)/n when one customer has everything).
pub fn gini(revenue: &[f64]) -> Result<f64> {
    let total = check_revenue(revenue)?;
    if total == 0.0 {
        return Ok(0.0);
    }
    let mut sorted = revenue.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    let n = sorted.len() as f64;
    let weighted: f64 = sorted
        .iter()
        .enumerate()
        .map(|(i, y)| (i as f64 + 1.0) * y)
        .sum();
    Ok(2.0 * weighted / (n * total) - (n + 1.0) / n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_by_hand() {
        // Total 100. Ranked: 40 (above 0%) platinum, 30 (40%) gold, 15 (70%) silver,
        // 10 (85%) silver, 5 (95%) bronze, 0 bronze.
        let rev = [10.0, 40.0, 0.0, 15.0, 30.0, 5.0];
        let t = value_tiers(&rev, TierCutoffs::default()).expect("tiers");
        use Tier::*;
        assert_eq!(t, vec![Silver, Platinum, Bronze, Silver, Gold, Bronze]);
        // Ties share a tier: four customers of 25 each, all have 0% strictly above → platinum.
        assert_eq!(
            value_tiers(&[25.0; 4], TierCutoffs::default()).expect("tiers"),
            vec![Platinum; 4]
        );
        assert!(
            value_tiers(
                &[1.0],
                TierCutoffs {
                    platinum: 0.8,
                    gold: 0.5,
                    silver: 0.9
                }
            )
            .is_err()
        );
        assert!(value_tiers(&[-1.0], TierCutoffs::default()).is_err());
        assert!(value_tiers(&[], TierCutoffs::default()).is_err());
    }

    #[test]
    fn pareto_by_hand() {
        // Ten customers 1..10, total 55: the top 10% (one customer) brings 10/55,
        // the top 20% 19/55, all 55/55.
        let rev: Vec<f64> = (1..=10).map(f64::from).collect();
        let p = pareto_table(&rev).expect("pareto");
        assert_eq!(p.len(), 10);
        assert!((p[0].revenue_share - 10.0 / 55.0).abs() < 1e-12);
        assert!((p[1].revenue_share - 19.0 / 55.0).abs() < 1e-12);
        assert_eq!(p[9].customers, 10);
        assert!((p[9].revenue_share - 1.0).abs() < 1e-12);
        // Three customers: top 10% rounds up to one customer.
        assert_eq!(
            pareto_table(&[1.0, 2.0, 3.0]).expect("pareto")[0].customers,
            1
        );
    }

    #[test]
    fn lorenz_and_gini_by_hand() {
        // Revenues 0, 0, 0, 4: Lorenz (0,0) (.25,0) (.5,0) (.75,0) (1,1);
        // Gini = 2·(4·4)/(4·4) − 5/4 = 0.75 = (n − 1)/n.
        let rev = [0.0, 4.0, 0.0, 0.0];
        let l = lorenz_curve(&rev, 100).expect("lorenz");
        assert_eq!(
            l,
            vec![(0.0, 0.0), (0.25, 0.0), (0.5, 0.0), (0.75, 0.0), (1.0, 1.0)]
        );
        assert!((gini(&rev).expect("gini") - 0.75).abs() < 1e-12);
        assert!(gini(&[3.0; 5]).expect("gini").abs() < 1e-12);
        // 1, 2, 3: G = 2(1 + 4 + 9)/(3·6) − 4/3 = 28/18 − 24/18 = 2/9.
        assert!((gini(&[3.0, 1.0, 2.0]).expect("gini") - 2.0 / 9.0).abs() < 1e-12);
        let thin = lorenz_curve(&(0..1000).map(f64::from).collect::<Vec<_>>(), 10).expect("lorenz");
        assert_eq!(thin.len(), 11);
        assert_eq!(thin[10], (1.0, 1.0));
        assert!((thin[5].0 - 0.5).abs() < 1e-12);
    }
}
