//! Churn-risk scoring: L2-penalised logistic regression on standardised features, fitted by
//! Newton's method (deterministic, no learning rate), with the usual checks — AUC, Brier
//! score, a calibration table — and per-customer reasons (the features that push the
//! customer's risk up the most).

use crate::error::{MiningError, Result, same_len};
use crate::optim::solve_spd;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogisticOptions {
    /// λ in −ℓ(β) + λ/2 ‖β‖² (the intercept is not penalised).
    pub l2: f64,
    pub max_iter: usize,
}

impl Default for LogisticOptions {
    fn default() -> Self {
        LogisticOptions {
            l2: 1.0,
            max_iter: 50,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogisticModel {
    pub mean: Vec<f64>,
    pub sd: Vec<f64>,
    pub intercept: f64,
    /// Coefficients on the standardised features (log-odds per population SD).
    pub coef: Vec<f64>,
    pub iterations: usize,
}

/// A feature's push on one customer's log-odds relative to an average customer:
/// coef_j · z_ij.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Reason {
    pub feature: usize,
    pub contribution: f64,
}

fn check_features(features: &[&[f64]]) -> Result<usize> {
    if features.is_empty() {
        return Err(MiningError::invalid("no feature columns"));
    }
    let n = features[0].len();
    same_len(
        "features",
        &features.iter().map(|f| f.len()).collect::<Vec<_>>(),
    )?;
    for (j, col) in features.iter().enumerate() {
        if let Some(i) = col.iter().position(|v| !v.is_finite()) {
            return Err(MiningError::invalid(format!(
                "feature {j}, row {i}: not a finite number"
            )));
        }
    }
    Ok(n)
}

#[inline]
fn sigmoid(t: f64) -> f64 {
    if t >= 0.0 {
        1.0 / (1.0 + (-t).exp())
    } else {
        let e = t.exp();
        e / (1.0 + e)
    }
}

/// Fits P(y = 1 | x) = σ(β₀ + Σ βⱼ zⱼ) with zⱼ the standardised features.
pub fn fit_logistic(
    features: &[&[f64]],
    y: &[bool],
    options: LogisticOptions,
) -> Result<LogisticModel> {
    let n = check_features(features)?;
    same_len("features, outcome", &[n, y.len()])?;
    if n == 0 {
        return Err(MiningError::Empty);
    }
    if options.l2.is_nan() || options.l2 < 0.0 {
        return Err(MiningError::invalid("l2 must be non-negative"));
    }
    let d = features.len();
    let (mean, sd): (Vec<f64>, Vec<f64>) = features
        .iter()
        .map(|c| {
            let m = c.iter().sum::<f64>() / n as f64;
            let v = c.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n as f64;
            (m, if v > 0.0 { v.sqrt() } else { 1.0 })
        })
        .unzip();
    // Design matrix with a leading 1, row-major.
    let p = d + 1;
    let mut x = vec![1.0; n * p];
    for (j, col) in features.iter().enumerate() {
        for (i, &v) in col.iter().enumerate() {
            x[i * p + j + 1] = (v - mean[j]) / sd[j];
        }
    }
    let objective = |beta: &[f64]| -> f64 {
        let mut nll = 0.0;
        for i in 0..n {
            let t: f64 = (0..p).map(|j| x[i * p + j] * beta[j]).sum();
            // −log σ(t) = log(1 + e^{−t}); −log(1 − σ(t)) = log(1 + e^{t}).
            let s = if y[i] { -t } else { t };
            nll += if s > 0.0 {
                s + (-s).exp().ln_1p()
            } else {
                s.exp().ln_1p()
            };
        }
        nll + 0.5 * options.l2 * beta[1..].iter().map(|b| b * b).sum::<f64>()
    };
    let mut beta = vec![0.0; p];
    let mut value = objective(&beta);
    let mut iterations = 0;
    for it in 0..options.max_iter {
        iterations = it + 1;
        let mut grad = vec![0.0; p];
        let mut hess = vec![0.0; p * p];
        for i in 0..n {
            let row = &x[i * p..(i + 1) * p];
            let t: f64 = row.iter().zip(&beta).map(|(a, b)| a * b).sum();
            let mu = sigmoid(t);
            let r = mu - if y[i] { 1.0 } else { 0.0 };
            let w = (mu * (1.0 - mu)).max(1e-12);
            for a in 0..p {
                grad[a] += row[a] * r;
                for b in 0..=a {
                    hess[a * p + b] += w * row[a] * row[b];
                }
            }
        }
        for a in 0..p {
            for b in 0..a {
                hess[b * p + a] = hess[a * p + b];
            }
            if a > 0 {
                grad[a] += options.l2 * beta[a];
                hess[a * p + a] += options.l2;
            }
        }
        let Some(step) = solve_spd(&hess, &grad) else {
            return Err(MiningError::NoConvergence {
                what: "logistic regression",
                detail: "singular Hessian (a feature is a copy of another, or no penalty on separable data)".into(),
            });
        };
        // Newton step, halved until the penalised likelihood improves.
        let mut t = 1.0;
        let mut improved = false;
        for _ in 0..40 {
            let cand: Vec<f64> = beta.iter().zip(&step).map(|(b, s)| b - t * s).collect();
            let v = objective(&cand);
            if v <= value {
                let change = value - v;
                beta = cand;
                value = v;
                improved = change > 1e-12 * (1.0 + value.abs());
                break;
            }
            t *= 0.5;
        }
        if !improved {
            break;
        }
    }
    Ok(LogisticModel {
        mean,
        sd,
        intercept: beta[0],
        coef: beta[1..].to_vec(),
        iterations,
    })
}

impl LogisticModel {
    fn z(&self, features: &[&[f64]], i: usize, j: usize) -> f64 {
        (features[j][i] - self.mean[j]) / self.sd[j]
    }

    /// Predicted probability per row.
    pub fn predict(&self, features: &[&[f64]]) -> Result<Vec<f64>> {
        let n = check_features(features)?;
        if features.len() != self.coef.len() {
            return Err(MiningError::invalid(
                "feature count differs from the model's",
            ));
        }
        Ok((0..n)
            .map(|i| {
                let t = self.intercept
                    + (0..self.coef.len())
                        .map(|j| self.coef[j] * self.z(features, i, j))
                        .sum::<f64>();
                sigmoid(t)
            })
            .collect())
    }

    /// The `top` features with the largest positive contributions coef_j · z_ij for row
    /// `i`, largest first. Callers word them (Chinese/English) from the feature index.
    pub fn top_reasons(&self, features: &[&[f64]], i: usize, top: usize) -> Vec<Reason> {
        let mut r: Vec<Reason> = (0..self.coef.len())
            .map(|j| Reason {
                feature: j,
                contribution: self.coef[j] * self.z(features, i, j),
            })
            .filter(|r| r.contribution > 0.0)
            .collect();
        r.sort_by(|a, b| {
            b.contribution
                .total_cmp(&a.contribution)
                .then(a.feature.cmp(&b.feature))
        });
        r.truncate(top);
        r
    }
}

/// Area under the ROC curve by the Mann-Whitney statistic with mid-ranks for ties
/// (a tied positive/negative pair counts one half).
pub fn auc(score: &[f64], y: &[bool]) -> Result<f64> {
    same_len("score, outcome", &[score.len(), y.len()])?;
    let n_pos = y.iter().filter(|&&v| v).count();
    let n_neg = y.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return Err(MiningError::invalid("AUC needs both outcomes present"));
    }
    let mut order: Vec<usize> = (0..score.len()).collect();
    order.sort_unstable_by(|&a, &b| score[a].total_cmp(&score[b]));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j < order.len() && score[order[j]] == score[order[i]] {
            j += 1;
        }
        let mid = (i + j + 1) as f64 / 2.0;
        rank_sum += mid * order[i..j].iter().filter(|&&k| y[k]).count() as f64;
        i = j;
    }
    let np = n_pos as f64;
    Ok((rank_sum - np * (np + 1.0) / 2.0) / (np * n_neg as f64))
}

/// Mean squared difference between predicted probability and outcome (Brier 1950).
pub fn brier_score(p: &[f64], y: &[bool]) -> Result<f64> {
    same_len("probability, outcome", &[p.len(), y.len()])?;
    if p.is_empty() {
        return Err(MiningError::Empty);
    }
    Ok(p.iter()
        .zip(y)
        .map(|(&q, &o)| (q - f64::from(u8::from(o))).powi(2))
        .sum::<f64>()
        / p.len() as f64)
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CalibrationBin {
    pub bin: usize,
    pub count: usize,
    pub min_predicted: f64,
    pub max_predicted: f64,
    pub mean_predicted: f64,
    pub observed_rate: f64,
}

/// Calibration table: rows sorted by predicted probability and cut into `bins` groups of
/// (nearly) equal count — deciles with `bins` = 10; bin k holds sorted rows
/// ⌊k·n/bins⌋..⌊(k+1)·n/bins⌋. Empty bins (n < bins) are left out.
pub fn calibration_table(p: &[f64], y: &[bool], bins: usize) -> Result<Vec<CalibrationBin>> {
    same_len("probability, outcome", &[p.len(), y.len()])?;
    if p.is_empty() {
        return Err(MiningError::Empty);
    }
    let bins = bins.max(1);
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_unstable_by(|&a, &b| p[a].total_cmp(&p[b]));
    let n = p.len();
    Ok((0..bins)
        .filter_map(|k| {
            let rows = &order[k * n / bins..(k + 1) * n / bins];
            if rows.is_empty() {
                return None;
            }
            let c = rows.len() as f64;
            Some(CalibrationBin {
                bin: k,
                count: rows.len(),
                min_predicted: p[rows[0]],
                max_predicted: p[rows[rows.len() - 1]],
                mean_predicted: rows.iter().map(|&i| p[i]).sum::<f64>() / c,
                observed_rate: rows.iter().filter(|&&i| y[i]).count() as f64 / c,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpenalised_fit_by_hand() {
        // x = −1: outcomes 0,0,0,1 (rate 1/4); x = +1: 0,1,1,1 (rate 3/4). The MLE puts
        // logit(1/4) = −ln 3 and logit(3/4) = ln 3 at the two points: intercept 0 and slope
        // ln 3 per unit of x; x has mean 0 and SD 1, so that is also the standardised slope.
        let x = [-1.0, -1.0, -1.0, -1.0, 1.0, 1.0, 1.0, 1.0];
        let y = [false, false, false, true, false, true, true, true];
        let m = fit_logistic(
            &[&x],
            &y,
            LogisticOptions {
                l2: 0.0,
                max_iter: 100,
            },
        )
        .expect("fit");
        assert!(m.intercept.abs() < 1e-9);
        assert!((m.coef[0] - 3f64.ln()).abs() < 1e-9);
        let p = m.predict(&[&[-1.0, 1.0]]).expect("predict");
        assert!((p[0] - 0.25).abs() < 1e-9 && (p[1] - 0.75).abs() < 1e-9);
    }

    #[test]
    fn penalised_fit_satisfies_the_score_equation() {
        // At the optimum Σ zᵢ(pᵢ − yᵢ) + λβ = 0 and Σ (pᵢ − yᵢ) = 0.
        let x1 = [0.5, 1.5, 2.0, 3.5, 4.0, 5.0, 6.5, 7.0];
        let x2 = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0];
        let y = [false, false, true, false, true, true, false, true];
        let lambda = 0.7;
        let m = fit_logistic(
            &[&x1, &x2],
            &y,
            LogisticOptions {
                l2: lambda,
                max_iter: 100,
            },
        )
        .expect("fit");
        let p = m.predict(&[&x1, &x2]).expect("predict");
        let r: Vec<f64> = p
            .iter()
            .zip(&y)
            .map(|(q, &o)| q - f64::from(u8::from(o)))
            .collect();
        assert!(r.iter().sum::<f64>().abs() < 1e-9);
        for (j, col) in [&x1[..], &x2[..]].iter().enumerate() {
            let g: f64 = (0..8)
                .map(|i| (col[i] - m.mean[j]) / m.sd[j] * r[i])
                .sum::<f64>()
                + lambda * m.coef[j];
            assert!(g.abs() < 1e-9, "feature {j}: {g}");
        }
    }

    #[test]
    fn reasons_are_positive_contributions_largest_first() {
        let m = LogisticModel {
            mean: vec![0.0, 0.0, 0.0],
            sd: vec![1.0, 1.0, 1.0],
            intercept: 0.0,
            coef: vec![1.0, -2.0, 0.5],
            iterations: 0,
        };
        // Row: z = (1, −1, 4) → contributions 1, 2, 2: features 1 and 2 tie, lower index first.
        let f: [&[f64]; 3] = [&[1.0], &[-1.0], &[4.0]];
        let r = m.top_reasons(&f, 0, 2);
        assert_eq!(r.iter().map(|r| r.feature).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(m.top_reasons(&[&[-1.0], &[1.0], &[-1.0]], 0, 3), vec![]);
    }

    #[test]
    fn auc_brier_calibration_by_hand() {
        // Positives 0.35, 0.8; negatives 0.1, 0.4: 3 of 4 pairs ordered → 0.75.
        let y = [false, false, true, true];
        assert!((auc(&[0.1, 0.4, 0.35, 0.8], &y).expect("auc") - 0.75).abs() < 1e-12);
        // All tied → 0.5.
        assert!((auc(&[0.3; 4], &y).expect("auc") - 0.5).abs() < 1e-12);
        assert!(auc(&[0.1], &[true]).is_err());
        assert!(
            (brier_score(&[0.25, 0.75], &[false, true]).expect("brier") - 0.0625).abs() < 1e-12
        );
        // Four rows, two bins: {0.1, 0.2} with outcomes 0, 1; {0.6, 0.9} with 1, 1.
        let c =
            calibration_table(&[0.9, 0.1, 0.6, 0.2], &[true, false, true, true], 2).expect("table");
        assert_eq!(c.len(), 2);
        assert!((c[0].mean_predicted - 0.15).abs() < 1e-12 && c[0].observed_rate == 0.5);
        assert!((c[1].mean_predicted - 0.75).abs() < 1e-12 && c[1].observed_rate == 1.0);
        assert_eq!((c[1].min_predicted, c[1].max_predicted), (0.6, 0.9));
        assert_eq!(
            calibration_table(&[0.5], &[true], 10).expect("table").len(),
            1
        );
    }
}
