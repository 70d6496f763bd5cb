//! Kaplan-Meier survival curves with the log(−log) Greenwood confidence interval, median
//! survival, the log-rank test between groups, and the churn critical point read off a
//! time-to-return curve.

use crate::error::{MiningError, Result, same_len};
use crate::optim::invert;
use crate::special::{Z_95, chi2_sf};
use serde::Serialize;

/// One group's curve: a row per distinct time at which something happened.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct KmCurve {
    pub group: u32,
    pub time: Vec<f64>,
    pub at_risk: Vec<u64>,
    pub events: Vec<u64>,
    pub censored: Vec<u64>,
    pub survival: Vec<f64>,
    pub ci_lower: Vec<f64>,
    pub ci_upper: Vec<f64>,
    /// Smallest time with S(t) ≤ 0.5; `None` when the curve never gets there.
    pub median: Option<f64>,
}

impl KmCurve {
    /// S(t): the step function, right-continuous, 1 before the first time.
    pub fn survival_at(&self, t: f64) -> f64 {
        let k = self.time.partition_point(|&x| x <= t);
        if k == 0 { 1.0 } else { self.survival[k - 1] }
    }
}

fn check(duration: &[f64], event: &[bool], group: Option<&[u32]>) -> Result<()> {
    let mut lens = vec![duration.len(), event.len()];
    if let Some(g) = group {
        lens.push(g.len());
    }
    same_len("duration, event, group", &lens)?;
    if duration.is_empty() {
        return Err(MiningError::Empty);
    }
    if let Some(i) = duration.iter().position(|d| !d.is_finite() || *d < 0.0) {
        return Err(MiningError::invalid(format!(
            "row {i}: duration must be a non-negative number, got {}",
            duration[i]
        )));
    }
    Ok(())
}

/// Row indices per group code, groups in increasing code order.
fn by_group(n: usize, group: Option<&[u32]>) -> Vec<(u32, Vec<usize>)> {
    match group {
        None => vec![(0, (0..n).collect())],
        Some(g) => {
            let mut map: std::collections::BTreeMap<u32, Vec<usize>> = Default::default();
            for (i, &k) in g.iter().enumerate() {
                map.entry(k).or_default().push(i);
            }
            map.into_iter().collect()
        }
    }
}

/// Kaplan-Meier estimate per group (one curve with group 0 when `group` is `None`).
///
/// S(t) = Π_{tᵢ ≤ t} (1 − dᵢ/nᵢ). The 95% interval is the log(−log) one (Kalbfleisch &
/// Prentice 2002, §1.4): with σ² = Σ dᵢ/(nᵢ(nᵢ − dᵢ)) (Greenwood) and
/// s = σ/|ln S|, the bounds are S^{exp(±1.96 s)}. Where S = 1 the interval is [1, 1], and
/// where S = 0 it is [0, 0].
pub fn kaplan_meier(
    duration: &[f64],
    event: &[bool],
    group: Option<&[u32]>,
) -> Result<Vec<KmCurve>> {
    check(duration, event, group)?;
    let mut curves = Vec::new();
    for (g, mut rows) in by_group(duration.len(), group) {
        rows.sort_unstable_by(|&a, &b| duration[a].total_cmp(&duration[b]));
        let mut curve = KmCurve {
            group: g,
            ..KmCurve::default()
        };
        let mut at_risk = rows.len() as u64;
        let mut s = 1.0;
        let mut greenwood = 0.0;
        let mut i = 0;
        while i < rows.len() {
            let t = duration[rows[i]];
            let (mut d, mut c) = (0u64, 0u64);
            while i < rows.len() && duration[rows[i]] == t {
                if event[rows[i]] {
                    d += 1
                } else {
                    c += 1
                }
                i += 1;
            }
            if d > 0 {
                s *= 1.0 - d as f64 / at_risk as f64;
                if d < at_risk {
                    greenwood += d as f64 / (at_risk as f64 * (at_risk - d) as f64);
                }
            }
            let (lo, hi) = if s <= 0.0 {
                (0.0, 0.0)
            } else if s >= 1.0 {
                (1.0, 1.0)
            } else {
                let spread = Z_95 * greenwood.sqrt() / s.ln().abs();
                (s.powf(spread.exp()), s.powf((-spread).exp()))
            };
            curve.time.push(t);
            curve.at_risk.push(at_risk);
            curve.events.push(d);
            curve.censored.push(c);
            curve.survival.push(s);
            curve.ci_lower.push(lo);
            curve.ci_upper.push(hi);
            if curve.median.is_none() && s <= 0.5 {
                curve.median = Some(t);
            }
            at_risk -= d + c;
        }
        curves.push(curve);
    }
    Ok(curves)
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogRank {
    pub groups: Vec<u32>,
    pub observed: Vec<f64>,
    pub expected: Vec<f64>,
    pub chi_square: f64,
    pub df: usize,
    pub p_value: f64,
}

/// The log-rank test of equal survival across groups (Mantel 1966): at each event time,
/// Eₖ += nₖ d/n and Vₖₗ += nₖ(δₖₗ n − nₗ) d (n − d)/(n² (n − 1)); the statistic
/// (O − E)ᵀ V⁻¹ (O − E) over all groups but the last is chi-square with k − 1 df.
pub fn log_rank(duration: &[f64], event: &[bool], group: &[u32]) -> Result<LogRank> {
    check(duration, event, Some(group))?;
    let groups: Vec<u32> = by_group(group.len(), Some(group))
        .into_iter()
        .map(|g| g.0)
        .collect();
    let k = groups.len();
    if k < 2 {
        return Err(MiningError::invalid(
            "the log-rank test needs at least two groups",
        ));
    }
    let slot = |g: u32| groups.binary_search(&g).unwrap_or(0);
    let mut rows: Vec<usize> = (0..duration.len()).collect();
    rows.sort_unstable_by(|&a, &b| duration[a].total_cmp(&duration[b]));
    let mut at_risk = vec![0f64; k];
    for &g in group {
        at_risk[slot(g)] += 1.0;
    }
    let mut observed = vec![0f64; k];
    let mut expected = vec![0f64; k];
    let mut var = vec![0f64; k * k];
    let mut d_g = vec![0f64; k];
    let mut left_g = vec![0f64; k];
    let mut i = 0;
    while i < rows.len() {
        let t = duration[rows[i]];
        d_g.iter_mut().for_each(|v| *v = 0.0);
        left_g.iter_mut().for_each(|v| *v = 0.0);
        while i < rows.len() && duration[rows[i]] == t {
            let s = slot(group[rows[i]]);
            if event[rows[i]] {
                d_g[s] += 1.0;
            }
            left_g[s] += 1.0;
            i += 1;
        }
        let n: f64 = at_risk.iter().sum();
        let d: f64 = d_g.iter().sum();
        if d > 0.0 {
            for a in 0..k {
                observed[a] += d_g[a];
                expected[a] += at_risk[a] * d / n;
                if n > 1.0 {
                    let f = d * (n - d) / (n * n * (n - 1.0));
                    for b in 0..k {
                        let delta = if a == b { n } else { 0.0 };
                        var[a * k + b] += at_risk[a] * (delta - at_risk[b]) * f;
                    }
                }
            }
        }
        at_risk.iter_mut().zip(&left_g).for_each(|(r, l)| *r -= l);
    }
    let m = k - 1;
    let z: Vec<f64> = (0..m).map(|a| observed[a] - expected[a]).collect();
    let sub: Vec<f64> = (0..m)
        .flat_map(|a| (0..m).map(move |b| (a, b)))
        .map(|(a, b)| var[a * k + b])
        .collect();
    let chi_square = match invert(&sub, m) {
        Some(inv) => (0..m)
            .map(|a| (0..m).map(|b| z[a] * inv[a * m + b] * z[b]).sum::<f64>())
            .sum::<f64>(),
        None => f64::NAN,
    };
    Ok(LogRank {
        groups,
        observed,
        expected,
        chi_square,
        df: m,
        p_value: if chi_square.is_nan() {
            f64::NAN
        } else {
            chi2_sf(chi_square, m as f64)
        },
    })
}

/// The churn critical point from a time-to-return curve (event = the customer came back,
/// duration = time since the previous visit): the first time m (0 or a curve time) at which
/// the chance that a customer who has not returned by m still returns — within `window`
/// more time units, or at all (up to the end of follow-up) when `window` is `None` —
/// falls below `threshold`:
/// P(return | none by m) = 1 − S(m + window)/S(m). `None` if it never does, or if S(m) = 0
/// first.
pub fn churn_critical_point(curve: &KmCurve, threshold: f64, window: Option<f64>) -> Option<f64> {
    let s_end = curve.survival.last().copied().unwrap_or(1.0);
    let candidates = std::iter::once(0.0).chain(curve.time.iter().copied());
    for m in candidates {
        let s_m = curve.survival_at(m);
        if s_m <= 0.0 {
            return None;
        }
        let s_later = match window {
            Some(w) => curve.survival_at(m + w),
            None => s_end,
        };
        if 1.0 - s_later / s_m < threshold {
            return Some(m);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn kaplan_meier_by_hand() {
        // t: 1 2 2 3 4 4 5, event: 1 1 0 1 1 1 0.
        let d = [4.0, 2.0, 1.0, 2.0, 3.0, 4.0, 5.0];
        let e = [true, true, true, false, true, true, false];
        let c = &kaplan_meier(&d, &e, None).expect("km")[0];
        assert_eq!(c.time, vec![1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(c.at_risk, vec![7, 6, 4, 3, 1]);
        assert_eq!(c.events, vec![1, 1, 1, 2, 0]);
        assert_eq!(c.censored, vec![0, 1, 0, 0, 1]);
        let want = [6.0 / 7.0, 5.0 / 7.0, 15.0 / 28.0, 5.0 / 28.0, 5.0 / 28.0];
        for (got, want) in c.survival.iter().zip(want) {
            assert!(close(*got, want));
        }
        // Greenwood sum at t = 2: 1/(7·6) + 1/(6·5) = 2/35.
        let s: f64 = 5.0 / 7.0;
        let spread = Z_95 * (2.0f64 / 35.0).sqrt() / s.ln().abs();
        assert!(close(c.ci_lower[1], s.powf(spread.exp())));
        assert!(close(c.ci_upper[1], s.powf((-spread).exp())));
        assert!(c.ci_lower[1] < s && s < c.ci_upper[1]);
        // S(3) = 0.536 > 0.5 ≥ S(4) = 0.179.
        assert_eq!(c.median, Some(4.0));
        assert_eq!(c.survival_at(0.5), 1.0);
        assert!(close(c.survival_at(3.5), 15.0 / 28.0));
    }

    #[test]
    fn kaplan_meier_groups_and_edges() {
        let d = [1.0, 2.0, 1.0, 3.0];
        let e = [true, true, false, false];
        let curves = kaplan_meier(&d, &e, Some(&[7, 7, 3, 3])).expect("km");
        assert_eq!(
            curves.iter().map(|c| c.group).collect::<Vec<_>>(),
            vec![3, 7]
        );
        // Group 3 has no event: S stays 1 with interval [1, 1] and no median.
        assert_eq!(curves[0].survival, vec![1.0, 1.0]);
        assert_eq!((curves[0].ci_lower[0], curves[0].ci_upper[0]), (1.0, 1.0));
        assert_eq!(curves[0].median, None);
        // Group 7 dies out: S = 1/2 then 0 with interval [0, 0].
        assert_eq!(curves[1].survival, vec![0.5, 0.0]);
        assert_eq!((curves[1].ci_lower[1], curves[1].ci_upper[1]), (0.0, 0.0));
        assert_eq!(curves[1].median, Some(1.0));
        assert!(kaplan_meier(&[], &[], None).is_err());
        assert!(kaplan_meier(&[-1.0], &[true], None).is_err());
        assert!(kaplan_meier(&[1.0], &[true, false], None).is_err());
    }

    #[test]
    fn log_rank_by_hand() {
        // A: events at 1 and 3; B: events at 2 and 4.
        // E_A = 2/4 + 1/3 + 1/2 + 0 = 4/3, O_A = 2, V = 1/4 + 2/9 + 1/4 = 13/18,
        // χ² = (2/3)²/(13/18) = 8/13.
        let lr = log_rank(&[1.0, 3.0, 2.0, 4.0], &[true; 4], &[0, 0, 1, 1]).expect("test");
        assert_eq!(lr.df, 1);
        assert!(close(lr.observed[0], 2.0) && close(lr.expected[0], 4.0 / 3.0));
        assert!(close(lr.chi_square, 8.0 / 13.0));
        assert!(close(lr.p_value, chi2_sf(8.0 / 13.0, 1.0)));
        assert!(log_rank(&[1.0], &[true], &[0]).is_err());
    }

    #[test]
    fn log_rank_three_groups_is_invariant_to_the_dropped_group() {
        let d = [1.0, 4.0, 6.0, 2.0, 3.0, 8.0, 5.0, 7.0, 9.0, 2.5];
        let e = [true, true, false, true, true, true, true, false, true, true];
        let a = log_rank(&d, &e, &[0, 0, 0, 1, 1, 1, 2, 2, 2, 2]).expect("a");
        let b = log_rank(&d, &e, &[2, 2, 2, 1, 1, 1, 0, 0, 0, 0]).expect("b");
        assert_eq!(a.df, 2);
        assert!((a.chi_square - b.chi_square).abs() < 1e-10);
        // Observed and expected totals agree (Σ O = Σ E = number of events).
        let (o, x): (f64, f64) = (a.observed.iter().sum(), a.expected.iter().sum());
        assert!(close(o, 8.0) && close(x, 8.0));
    }

    #[test]
    fn churn_critical_point_by_hand() {
        let curve = KmCurve {
            time: vec![1.0, 2.0, 3.0, 6.0],
            survival: vec![0.5, 0.3, 0.25, 0.2],
            ..KmCurve::default()
        };
        // Ever-return chance after m: 1 − 0.2/S(m) = 0.8, 0.6, 0.333, 0.2, 0 at m = 0,1,2,3,6.
        assert_eq!(churn_critical_point(&curve, 0.25, None), Some(3.0));
        assert_eq!(churn_critical_point(&curve, 0.9, None), Some(0.0));
        assert_eq!(churn_critical_point(&curve, 0.0, None), None);
        // Within one more unit: 1 − S(m+1)/S(m) = 0.5, 0.4, 0.167 at m = 0, 1, 2.
        assert_eq!(churn_critical_point(&curve, 0.3, Some(1.0)), Some(2.0));
    }
}
