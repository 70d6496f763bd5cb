//! Customer lifetime value: the BG/NBD purchase model (Fader, Hardie & Lee, "'Counting your
//! customers' the easy way", Marketing Science 2005, "FHL" below) and the Gamma-Gamma spend
//! model (Fader & Hardie, "The Gamma-Gamma model of monetary value", 2013 note, "FH13"),
//! both fitted by maximum likelihood with our own BFGS (see [`crate::optim`]).
//!
//! Data conventions (the ones the published CDNow figures use): purchases on the same day
//! are one occasion with their amounts summed; `frequency` = occasions − 1 (repeat
//! purchases) in the calibration window; `recency` (t_x) = time from the first to the last
//! occasion and `age` (T) = time from the first occasion to the calibration end, both in
//! periods of exactly 1, 7 or 365.25/12 days; `monetary` = mean value of the repeat
//! occasions (the first purchase is left out, FH13 §2); customers whose first occasion is
//! after the calibration end are left out.

use crate::error::{MiningError, Result, same_len};
use crate::ids::{IdSpace, chunks, threads_for};
use crate::optim::{bfgs_from, hessian_from_gradient, invert};
use crate::special::{digamma, hyp2f1, ln_gamma};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    Day,
    Week,
    Month,
}

impl Period {
    /// Length in days; a month is a twelfth of the mean Gregorian-Julian year.
    pub fn days(self) -> f64 {
        match self {
            Period::Day => 1.0,
            Period::Week => 7.0,
            Period::Month => 365.25 / 12.0,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
        }
    }

    pub fn parse(text: &str) -> Option<Period> {
        match text.trim().to_ascii_lowercase().as_str() {
            "day" | "days" | "d" => Some(Period::Day),
            "week" | "weeks" | "w" => Some(Period::Week),
            "month" | "months" | "m" => Some(Period::Month),
            _ => None,
        }
    }
}

/// One row per customer with at least one occasion on or before the calibration end,
/// in increasing customer id order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClvSummary {
    pub customer: Vec<u32>,
    pub frequency: Vec<u32>,
    pub recency: Vec<f64>,
    pub age: Vec<f64>,
    pub monetary: Vec<f64>,
    /// t_x and T in whole days, kept for exact grouping of identical customers.
    pub recency_days: Vec<i32>,
    pub age_days: Vec<i32>,
}

impl ClvSummary {
    pub fn len(&self) -> usize {
        self.customer.len()
    }

    pub fn is_empty(&self) -> bool {
        self.customer.is_empty()
    }
}

/// Builds the per-customer summary from transaction columns (dates in days since
/// 1970-01-01). Amounts must be finite and non-negative.
pub fn summarize(
    customer: &[u32],
    date: &[i32],
    amount: &[f64],
    calibration_end: i32,
    period: Period,
) -> Result<ClvSummary> {
    same_len(
        "customer, date, amount",
        &[customer.len(), date.len(), amount.len()],
    )?;
    if customer.is_empty() {
        return Err(MiningError::Empty);
    }
    if let Some(row) = amount.iter().position(|a| !a.is_finite() || *a < 0.0) {
        return Err(MiningError::invalid(format!(
            "row {row}: amount must be a non-negative number, got {}",
            amount[row]
        )));
    }
    let space = IdSpace::new(customer);
    let n = space.len();
    // Counting sort of the calibration rows by customer.
    let mut offsets = vec![0usize; n + 1];
    for (&c, &d) in customer.iter().zip(date) {
        if d <= calibration_end {
            offsets[space.index(c) + 1] += 1;
        }
    }
    for i in 0..n {
        offsets[i + 1] += offsets[i];
    }
    let mut fill = offsets.clone();
    let mut rows = vec![(0i32, 0f64); offsets[n]];
    for ((&c, &d), &a) in customer.iter().zip(date).zip(amount) {
        if d <= calibration_end {
            let k = space.index(c);
            rows[fill[k]] = (d, a);
            fill[k] += 1;
        }
    }
    drop(fill);
    let period_days = period.days();
    let summarize_range = |range: std::ops::Range<usize>, rows: &mut [(i32, f64)], base: usize| {
        let mut out = ClvSummary::default();
        for k in range {
            let (lo, hi) = (offsets[k] - base, offsets[k + 1] - base);
            if lo == hi {
                continue;
            }
            let tx = &mut rows[lo..hi];
            tx.sort_unstable_by_key(|t| t.0);
            let first = tx[0].0;
            let mut occasions = 0u32;
            let mut last = first;
            let mut repeat_sum = 0.0;
            let mut i = 0;
            while i < tx.len() {
                let day = tx[i].0;
                let mut value = 0.0;
                while i < tx.len() && tx[i].0 == day {
                    value += tx[i].1;
                    i += 1;
                }
                if occasions > 0 {
                    repeat_sum += value;
                }
                occasions += 1;
                last = day;
            }
            let frequency = occasions - 1;
            out.customer.push(space.id(k));
            out.frequency.push(frequency);
            out.recency_days.push(last - first);
            out.age_days.push(calibration_end - first);
            out.recency.push(f64::from(last - first) / period_days);
            out.age
                .push(f64::from(calibration_end - first) / period_days);
            out.monetary.push(if frequency > 0 {
                repeat_sum / f64::from(frequency)
            } else {
                0.0
            });
        }
        out
    };
    let threads = threads_for(rows.len(), 200_000);
    let parts: Vec<ClvSummary> = if threads == 1 {
        vec![summarize_range(0..n, &mut rows, 0)]
    } else {
        // Split customers so each thread gets about half of the rows.
        let mid_row = rows.len() / 2;
        let mid = offsets.partition_point(|&o| o < mid_row).min(n);
        let (left, right) = rows.split_at_mut(offsets[mid]);
        let base = offsets[mid];
        std::thread::scope(|s| {
            let h = s.spawn(|| summarize_range(mid..n, right, base));
            let a = summarize_range(0..mid, left, 0);
            vec![a, h.join().unwrap_or_default()]
        })
    };
    let mut out = ClvSummary::default();
    for p in parts {
        out.customer.extend(p.customer);
        out.frequency.extend(p.frequency);
        out.recency.extend(p.recency);
        out.age.extend(p.age);
        out.monetary.extend(p.monetary);
        out.recency_days.extend(p.recency_days);
        out.age_days.extend(p.age_days);
    }
    if out.is_empty() {
        return Err(MiningError::invalid(
            "no customer has a purchase on or before the calibration end",
        ));
    }
    Ok(out)
}

/// BG/NBD parameters: transaction rate λ ~ Gamma(r, α), dropout probability p ~ Beta(a, b).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BgNbd {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

impl BgNbd {
    /// Log-likelihood of one customer (FHL eq. 6).
    pub fn log_likelihood(&self, x: u32, t_x: f64, t: f64) -> f64 {
        let BgNbd { r, alpha, a, b } = *self;
        let xf = f64::from(x);
        let a1 = ln_gamma(r + xf) - ln_gamma(r) + r * alpha.ln();
        let a2 = ln_gamma(a + b) + ln_gamma(b + xf) - ln_gamma(b) - ln_gamma(a + b + xf);
        let a3 = -(r + xf) * (alpha + t).ln();
        if x == 0 {
            return a1 + a2 + a3;
        }
        let a4 = a.ln() - (b + xf - 1.0).ln() - (r + xf) * (alpha + t_x).ln();
        a1 + a2 + log_sum_exp(a3, a4)
    }

    /// P(alive | x, t_x, T) (FHL eq. 13).
    pub fn p_alive(&self, x: u32, t_x: f64, t: f64) -> f64 {
        if x == 0 {
            return 1.0;
        }
        let xf = f64::from(x);
        let odds = self.a / (self.b + xf - 1.0)
            * ((self.alpha + t) / (self.alpha + t_x)).powf(self.r + xf);
        1.0 / (1.0 + odds)
    }

    /// E[Y(horizon) | x, t_x, T]: expected purchases in the next `horizon` periods
    /// (FHL eq. 10). Undefined (NaN) when a + b + x − 1 ≤ 0 or a = 1.
    pub fn expected_purchases(&self, horizon: f64, x: u32, t_x: f64, t: f64) -> f64 {
        if horizon <= 0.0 {
            return 0.0;
        }
        let BgNbd { r, alpha, a, b } = *self;
        let xf = f64::from(x);
        let c = a + b + xf - 1.0;
        let z = horizon / (alpha + t + horizon);
        let tail =
            ((alpha + t) / (alpha + t + horizon)).powf(r + xf) * hyp2f1(r + xf, b + xf, c, z);
        let numerator = c / (a - 1.0) * (1.0 - tail);
        let denominator = if x > 0 {
            1.0 + a / (b + xf - 1.0) * ((alpha + t) / (alpha + t_x)).powf(r + xf)
        } else {
            1.0
        };
        numerator / denominator
    }

    /// E[X(t)] for a randomly chosen new customer (FHL eq. 9).
    pub fn expected_purchases_new(&self, t: f64) -> f64 {
        let BgNbd { r, alpha, a, b } = *self;
        let z = t / (alpha + t);
        (a + b - 1.0) / (a - 1.0)
            * (1.0 - (alpha / (alpha + t)).powf(r) * hyp2f1(r, b, a + b - 1.0, z))
    }
}

/// Gamma-Gamma parameters: transaction values ~ Gamma(p, ν), ν ~ Gamma(q, γ) (here `v` = γ).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GammaGamma {
    pub p: f64,
    pub q: f64,
    pub v: f64,
}

impl GammaGamma {
    /// Log-likelihood of one customer's mean repeat value m_x over x > 0 transactions
    /// (FH13 eq. 3, the density of the mean).
    pub fn log_likelihood(&self, x: u32, m_x: f64) -> f64 {
        let GammaGamma { p, q, v } = *self;
        let xf = f64::from(x);
        ln_gamma(p * xf + q) - ln_gamma(p * xf) - ln_gamma(q)
            + q * v.ln()
            + (p * xf - 1.0) * m_x.ln()
            + p * xf * xf.ln()
            - (p * xf + q) * (xf * m_x + v).ln()
    }

    /// E[M | p, q, γ, m_x, x] = p(γ + x m_x)/(p x + q − 1) (FH13 eq. 5); for x = 0 this is
    /// the population mean pγ/(q − 1). Needs q > 1.
    pub fn expected_spend(&self, x: u32, m_x: f64) -> f64 {
        let xf = f64::from(x);
        let m = if x == 0 { 0.0 } else { m_x };
        self.p * (self.v + xf * m) / (self.p * xf + self.q - 1.0)
    }
}

/// A maximum-likelihood fit: estimates, standard errors from the inverse of the numerically
/// differentiated Hessian of the log-likelihood (NaN when it is singular), the maximised
/// log-likelihood and the number of customers used.
#[derive(Debug, Clone, Serialize)]
pub struct Fit<P> {
    pub params: P,
    pub std_errors: P,
    pub log_likelihood: f64,
    pub customers: usize,
    pub iterations: usize,
}

/// Customers with identical (x, t_x, T), counted once with a weight.
struct BgRows {
    /// Distinct frequencies and, per row, the index into them.
    xs: Vec<u32>,
    x_index: Vec<u32>,
    t_days: Vec<u32>,
    age_days: Vec<u32>,
    weight: Vec<f64>,
    max_day: usize,
}

fn compress_bg(s: &ClvSummary) -> Result<BgRows> {
    let mut keys: Vec<(u32, i32, i32)> = (0..s.len())
        .map(|i| (s.frequency[i], s.recency_days[i], s.age_days[i]))
        .collect();
    keys.sort_unstable();
    let mut rows = BgRows {
        xs: Vec::new(),
        x_index: Vec::new(),
        t_days: Vec::new(),
        age_days: Vec::new(),
        weight: Vec::new(),
        max_day: 0,
    };
    let mut i = 0;
    while i < keys.len() {
        let key = keys[i];
        let mut j = i;
        while j < keys.len() && keys[j] == key {
            j += 1;
        }
        let (x, t_x, age) = key;
        if t_x < 0 || age < t_x {
            return Err(MiningError::invalid("recency must lie between 0 and T"));
        }
        if rows.xs.last() != Some(&x) {
            rows.xs.push(x);
        }
        rows.x_index.push((rows.xs.len() - 1) as u32);
        rows.t_days.push(t_x as u32);
        rows.age_days.push(age as u32);
        rows.weight.push((j - i) as f64);
        rows.max_day = rows.max_day.max(age as usize);
        i = j;
    }
    Ok(rows)
}

/// Every k-th row, so that about `target` remain.
fn subsample_bg(rows: &BgRows, target: usize) -> BgRows {
    let step = rows.weight.len().div_ceil(target).max(1);
    let keep: Vec<usize> = (0..rows.weight.len()).step_by(step).collect();
    BgRows {
        xs: rows.xs.clone(),
        x_index: keep.iter().map(|&i| rows.x_index[i]).collect(),
        t_days: keep.iter().map(|&i| rows.t_days[i]).collect(),
        age_days: keep.iter().map(|&i| rows.age_days[i]).collect(),
        weight: keep.iter().map(|&i| rows.weight[i]).collect(),
        max_day: rows.max_day,
    }
}

/// Log-likelihood of the BG/NBD model summed over the rows, and its gradient with respect
/// to (r, α, a, b). Derivatives of FHL eq. 6 written with w₄ = the share of the
/// "dropped out after the last purchase" term in the per-customer likelihood.
fn bg_ll_grad(rows: &BgRows, period_days: f64, th: &[f64; 4], grad: &mut [f64; 4]) -> f64 {
    let [r, alpha, a, b] = *th;
    // ln(α + d/period) and 1/(α + d/period) for every whole day d that occurs.
    let (ln_tab, inv_tab): (Vec<f64>, Vec<f64>) = (0..=rows.max_day)
        .map(|d| {
            let v = alpha + d as f64 / period_days;
            (v.ln(), 1.0 / v)
        })
        .unzip();
    let per_x: Vec<[f64; 6]> = rows
        .xs
        .iter()
        .map(|&x| {
            let xf = f64::from(x);
            let c1 = ln_gamma(r + xf) - ln_gamma(r)
                + r * alpha.ln()
                + ln_gamma(a + b)
                + ln_gamma(b + xf)
                - ln_gamma(b)
                - ln_gamma(a + b + xf);
            let dr = digamma(r + xf) - digamma(r) + alpha.ln();
            let da = digamma(a + b) - digamma(a + b + xf);
            let db = digamma(a + b) + digamma(b + xf) - digamma(b) - digamma(a + b + xf);
            let c4 = if x > 0 {
                a.ln() - (b + xf - 1.0).ln()
            } else {
                0.0
            };
            let inv_bx = if x > 0 { 1.0 / (b + xf - 1.0) } else { 0.0 };
            [c1, dr, da, db, c4, inv_bx]
        })
        .collect();
    let range_sum = |range: std::ops::Range<usize>| {
        let mut ll = 0.0;
        let mut g = [0.0f64; 4];
        for i in range {
            let k = rows.x_index[i] as usize;
            let x = rows.xs[k];
            let [c1, dr, da, db, c4, inv_bx] = per_x[k];
            let w = rows.weight[i];
            let rx = r + f64::from(x);
            let (ta, tt) = (rows.age_days[i] as usize, rows.t_days[i] as usize);
            let l3 = -rx * ln_tab[ta];
            if x == 0 {
                ll += w * (c1 + l3);
                g[0] += w * (dr - ln_tab[ta]);
                g[1] += w * (r / alpha - rx * inv_tab[ta]);
                g[2] += w * da;
                g[3] += w * db;
            } else {
                let l4 = c4 - rx * ln_tab[tt];
                let d = l3 - l4;
                let e = (-d.abs()).exp();
                let lse = d.max(0.0) + l4 + e.ln_1p();
                // w₄ = e^{l4} / (e^{l3} + e^{l4}), computed without overflow.
                let w4 = if d > 0.0 {
                    e / (1.0 + e)
                } else {
                    1.0 / (1.0 + e)
                };
                let w3 = 1.0 - w4;
                ll += w * (c1 + lse);
                g[0] += w * (dr - w3 * ln_tab[ta] - w4 * ln_tab[tt]);
                g[1] += w * (r / alpha - rx * (w3 * inv_tab[ta] + w4 * inv_tab[tt]));
                g[2] += w * (da + w4 / a);
                g[3] += w * (db - w4 * inv_bx);
            }
        }
        (ll, g)
    };
    let n = rows.weight.len();
    let threads = threads_for(n, 100_000);
    let parts: Vec<(f64, [f64; 4])> = if threads == 1 {
        vec![range_sum(0..n)]
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = chunks(n, threads)
                .into_iter()
                .map(|c| s.spawn(|| range_sum(c)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or((f64::NAN, [f64::NAN; 4])))
                .collect()
        })
    };
    *grad = [0.0; 4];
    let mut ll = 0.0;
    for (l, g) in parts {
        ll += l;
        grad.iter_mut().zip(g).for_each(|(a, b)| *a += b);
    }
    ll
}

/// Fits BG/NBD by maximum likelihood on log-parameters, starting from r = α = a = b = 1.
pub fn fit_bgnbd(summary: &ClvSummary, period: Period) -> Result<Fit<BgNbd>> {
    if summary.is_empty() {
        return Err(MiningError::Empty);
    }
    let rows = compress_bg(summary)?;
    let pd = period.days();
    let fit = |rows: &BgRows, x0: &[f64], h0: Option<&[f64]>| {
        let total: f64 = rows.weight.iter().sum();
        let objective = |phi: &[f64], g: &mut [f64]| {
            let th = [phi[0].exp(), phi[1].exp(), phi[2].exp(), phi[3].exp()];
            let mut gt = [0.0; 4];
            let ll = bg_ll_grad(rows, pd, &th, &mut gt);
            for j in 0..4 {
                g[j] = -gt[j] * th[j] / total;
            }
            -ll / total
        };
        bfgs_from(objective, x0, h0, 1e-10, 500)
    };
    let start = [0.0, (mean(&summary.age) + 1.0).ln(), 0.0, 0.0];
    // On large inputs, a fit on every k-th distinct row (about 20,000) gives a start point
    // and curvature from which the full fit needs a few iterations instead of dozens.
    let min = if rows.weight.len() > 100_000 {
        let warm = fit(&subsample_bg(&rows, 20_000), &start, None)?;
        fit(&rows, &warm.x, Some(&warm.inverse_hessian))?
    } else {
        fit(&rows, &start, None)?
    };
    let th = [
        min.x[0].exp(),
        min.x[1].exp(),
        min.x[2].exp(),
        min.x[3].exp(),
    ];
    let mut g = [0.0; 4];
    let ll = bg_ll_grad(&rows, pd, &th, &mut g);
    let hess = hessian_from_gradient(
        |p, out| {
            let mut gt = [0.0; 4];
            bg_ll_grad(&rows, pd, &[p[0], p[1], p[2], p[3]], &mut gt);
            out.copy_from_slice(&gt);
        },
        &th,
    );
    let se = std_errors(&hess, 4);
    Ok(Fit {
        params: BgNbd {
            r: th[0],
            alpha: th[1],
            a: th[2],
            b: th[3],
        },
        std_errors: BgNbd {
            r: se[0],
            alpha: se[1],
            a: se[2],
            b: se[3],
        },
        log_likelihood: ll,
        customers: summary.len(),
        iterations: min.iterations,
    })
}

/// Standard errors: square roots of the diagonal of (−H)⁻¹ where H is the Hessian of the
/// log-likelihood.
fn std_errors(hess: &[f64], n: usize) -> Vec<f64> {
    let neg: Vec<f64> = hess.iter().map(|v| -v).collect();
    match invert(&neg, n) {
        Some(cov) => (0..n)
            .map(|i| {
                let v = cov[i * n + i];
                if v > 0.0 { v.sqrt() } else { f64::NAN }
            })
            .collect(),
        None => vec![f64::NAN; n],
    }
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// Repeat customers for Gamma-Gamma: x > 0 and a positive mean value.
struct GgRows {
    xs: Vec<u32>,
    x_index: Vec<u32>,
    m: Vec<f64>,
    ln_m: Vec<f64>,
}

fn gg_ll_grad(rows: &GgRows, th: &[f64; 3], grad: &mut [f64; 3]) -> f64 {
    let [p, q, v] = *th;
    let per_x: Vec<[f64; 5]> = rows
        .xs
        .iter()
        .map(|&x| {
            let xf = f64::from(x);
            let px = p * xf;
            let c = ln_gamma(px + q) - ln_gamma(px) - ln_gamma(q) + q * v.ln() + px * xf.ln();
            let dp = xf * (digamma(px + q) - digamma(px) + xf.ln());
            let dq = digamma(px + q) - digamma(q) + v.ln();
            [c, dp, dq, xf, px]
        })
        .collect();
    let range_sum = |range: std::ops::Range<usize>| {
        let mut ll = 0.0;
        let mut g = [0.0f64; 3];
        for i in range {
            let [c, dp, dq, xf, px] = per_x[rows.x_index[i] as usize];
            let s = xf * rows.m[i] + v;
            let ln_s = s.ln();
            ll += c + (px - 1.0) * rows.ln_m[i] - (px + q) * ln_s;
            g[0] += dp + xf * (rows.ln_m[i] - ln_s);
            g[1] += dq - ln_s;
            g[2] += q / v - (px + q) / s;
        }
        (ll, g)
    };
    let n = rows.m.len();
    let threads = threads_for(n, 100_000);
    let parts: Vec<(f64, [f64; 3])> = if threads == 1 {
        vec![range_sum(0..n)]
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = chunks(n, threads)
                .into_iter()
                .map(|c| s.spawn(|| range_sum(c)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or((f64::NAN, [f64::NAN; 3])))
                .collect()
        })
    };
    *grad = [0.0; 3];
    let mut ll = 0.0;
    for (l, g) in parts {
        ll += l;
        grad.iter_mut().zip(g).for_each(|(a, b)| *a += b);
    }
    ll
}

/// Fits Gamma-Gamma on the customers with frequency > 0 and a positive mean repeat value.
pub fn fit_gamma_gamma(summary: &ClvSummary) -> Result<Fit<GammaGamma>> {
    let mut pairs: Vec<(u32, f64)> = (0..summary.len())
        .filter(|&i| summary.frequency[i] > 0 && summary.monetary[i] > 0.0)
        .map(|i| (summary.frequency[i], summary.monetary[i]))
        .collect();
    if pairs.len() < 3 {
        return Err(MiningError::invalid(
            "Gamma-Gamma needs at least 3 customers with repeat purchases",
        ));
    }
    pairs.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut rows = GgRows {
        xs: Vec::new(),
        x_index: Vec::with_capacity(pairs.len()),
        m: Vec::with_capacity(pairs.len()),
        ln_m: Vec::with_capacity(pairs.len()),
    };
    for &(x, m) in &pairs {
        if rows.xs.last() != Some(&x) {
            rows.xs.push(x);
        }
        rows.x_index.push((rows.xs.len() - 1) as u32);
        rows.m.push(m);
        rows.ln_m.push(m.ln());
    }
    let fit = |rows: &GgRows, x0: &[f64], h0: Option<&[f64]>| {
        let total = rows.m.len() as f64;
        let objective = |phi: &[f64], g: &mut [f64]| {
            let th = [phi[0].exp(), phi[1].exp(), phi[2].exp()];
            let mut gt = [0.0; 3];
            let ll = gg_ll_grad(rows, &th, &mut gt);
            for j in 0..3 {
                g[j] = -gt[j] * th[j] / total;
            }
            -ll / total
        };
        bfgs_from(objective, x0, h0, 1e-10, 1000)
    };
    // Start near the method-of-moments scale: E[m] ≈ pγ/(q − 1).
    let mean_m = pairs.iter().map(|p| p.1).sum::<f64>() / pairs.len() as f64;
    let start = [0.0, 1.0f64.ln_1p() + 0.5, (mean_m * 2.0).ln()];
    // Warm start from a subsample on large inputs, as for BG/NBD.
    let min = if rows.m.len() > 100_000 {
        let step = rows.m.len().div_ceil(20_000);
        let sub = GgRows {
            xs: rows.xs.clone(),
            x_index: rows.x_index.iter().step_by(step).copied().collect(),
            m: rows.m.iter().step_by(step).copied().collect(),
            ln_m: rows.ln_m.iter().step_by(step).copied().collect(),
        };
        let warm = fit(&sub, &start, None)?;
        fit(&rows, &warm.x, Some(&warm.inverse_hessian))?
    } else {
        fit(&rows, &start, None)?
    };
    let th = [min.x[0].exp(), min.x[1].exp(), min.x[2].exp()];
    let mut g = [0.0; 3];
    let ll = gg_ll_grad(&rows, &th, &mut g);
    let hess = hessian_from_gradient(
        |p, out| {
            let mut gt = [0.0; 3];
            gg_ll_grad(&rows, &[p[0], p[1], p[2]], &mut gt);
            out.copy_from_slice(&gt);
        },
        &th,
    );
    let se = std_errors(&hess, 3);
    Ok(Fit {
        params: GammaGamma {
            p: th[0],
            q: th[1],
            v: th[2],
        },
        std_errors: GammaGamma {
            p: se[0],
            q: se[1],
            v: se[2],
        },
        log_likelihood: ll,
        customers: pairs.len(),
        iterations: min.iterations,
    })
}

/// Per-customer predictions, parallel to the summary's rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClvPrediction {
    pub p_alive: Vec<f64>,
    pub expected_purchases: Vec<f64>,
    pub expected_spend: Vec<f64>,
    pub clv: Vec<f64>,
}

/// P(alive), expected purchases over the next `horizon` periods, expected spend per
/// purchase, and CLV = Σ_{k=1..H} (E[Y(k)] − E[Y(k−1)]) · E[M] / (1 + d)^k with d the
/// discount rate per period; with d = 0 this is E[Y(H)] · E[M]. A fractional last period
/// is discounted like a whole one, at (1 + d)^⌈H⌉.
pub fn predict(
    summary: &ClvSummary,
    bg: &BgNbd,
    gg: &GammaGamma,
    horizon: f64,
    discount_rate: f64,
) -> Result<ClvPrediction> {
    if !(horizon >= 0.0 && horizon.is_finite()) {
        return Err(MiningError::invalid(
            "horizon must be a non-negative number",
        ));
    }
    if !(discount_rate > -1.0 && discount_rate.is_finite()) {
        return Err(MiningError::invalid(
            "discount rate must be greater than -1",
        ));
    }
    let one = |i: usize| {
        let (x, t_x, t) = (summary.frequency[i], summary.recency[i], summary.age[i]);
        let p_alive = bg.p_alive(x, t_x, t);
        let purchases = bg.expected_purchases(horizon, x, t_x, t);
        let spend = gg.expected_spend(x, summary.monetary[i]);
        let clv = if discount_rate == 0.0 {
            purchases * spend
        } else {
            let mut total = 0.0;
            let mut previous = 0.0;
            let mut k = 1.0;
            loop {
                let end = if k <= horizon { k } else { horizon };
                let cumulative = bg.expected_purchases(end, x, t_x, t);
                total += (cumulative - previous) / (1.0 + discount_rate).powf(end.ceil());
                previous = cumulative;
                if k >= horizon {
                    break;
                }
                k += 1.0;
            }
            total * spend
        };
        (p_alive, purchases, spend, clv)
    };
    let n = summary.len();
    let run = |range: std::ops::Range<usize>| {
        let mut out = ClvPrediction::default();
        for i in range {
            let (a, p, s, c) = one(i);
            out.p_alive.push(a);
            out.expected_purchases.push(p);
            out.expected_spend.push(s);
            out.clv.push(c);
        }
        out
    };
    let threads = threads_for(n, 20_000);
    let parts: Vec<ClvPrediction> = if threads == 1 {
        vec![run(0..n)]
    } else {
        std::thread::scope(|s| {
            let hs: Vec<_> = chunks(n, threads)
                .into_iter()
                .map(|c| s.spawn(|| run(c)))
                .collect();
            hs.into_iter()
                .map(|h| h.join().unwrap_or_default())
                .collect()
        })
    };
    let mut out = ClvPrediction::default();
    for p in parts {
        out.p_alive.extend(p.p_alive);
        out.expected_purchases.extend(p.expected_purchases);
        out.expected_spend.extend(p.expected_spend);
        out.clv.extend(p.clv);
    }
    if out.p_alive.len() != n {
        return Err(MiningError::invalid("prediction worker failed"));
    }
    Ok(out)
}

fn log_sum_exp(a: f64, b: f64) -> f64 {
    let m = a.max(b);
    m + ((a - m).exp() + (b - m).exp()).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * (1.0 + b.abs())
    }

    #[test]
    fn summary_merges_same_day_and_drops_late_customers() {
        // Customer 1: day 0 (10 + 5 = one occasion of 15), day 14 (20), day 21 (40), day 40
        // after the calibration end. Customer 2 starts after the end. Customer 3 buys once.
        let customer = [1, 1, 1, 1, 1, 2, 3];
        let date = [0, 0, 14, 21, 40, 35, 7];
        let amount = [10.0, 5.0, 20.0, 40.0, 99.0, 1.0, 8.0];
        let s = summarize(&customer, &date, &amount, 30, Period::Week).expect("summary");
        assert_eq!(s.customer, vec![1, 3]);
        assert_eq!(s.frequency, vec![2, 0]);
        assert!(close(s.recency[0], 3.0, 1e-15) && close(s.age[0], 30.0 / 7.0, 1e-15));
        // Monetary is the mean of the repeat occasions (20 and 40), not of all purchases.
        assert!(close(s.monetary[0], 30.0, 1e-15));
        assert_eq!(
            (s.recency[1], s.age[1], s.monetary[1]),
            (0.0, 23.0 / 7.0, 0.0)
        );
        let m = summarize(&[1], &[0], &[1.0], 365, Period::Month).expect("summary");
        assert!(close(m.age[0], 12.0 * 365.0 / 365.25, 1e-15));
    }

    #[test]
    fn summary_rejects_bad_input() {
        assert!(matches!(
            summarize(&[], &[], &[], 0, Period::Day),
            Err(MiningError::Empty)
        ));
        assert!(summarize(&[1], &[0], &[-1.0], 5, Period::Day).is_err());
        assert!(summarize(&[1, 2], &[0], &[1.0], 5, Period::Day).is_err());
        assert!(summarize(&[1], &[10], &[1.0], 5, Period::Day).is_err());
    }

    #[test]
    fn bgnbd_likelihood_and_p_alive_by_hand() {
        let unit = BgNbd {
            r: 1.0,
            alpha: 1.0,
            a: 1.0,
            b: 1.0,
        };
        // x = 0, T = 1: B(1,1)/B(1,1) · α^r/(α+T)^r = 1/2.
        assert!(close(unit.log_likelihood(0, 0.0, 1.0), 0.5f64.ln(), 1e-13));
        // x = 1, t_x = 1, T = 2: B(1,2)/B(1,1)·Γ(2)/3² + B(2,1)/B(1,1)·Γ(2)/2² = 1/18 + 1/8.
        assert!(close(
            unit.log_likelihood(1, 1.0, 2.0),
            (13.0f64 / 72.0).ln(),
            1e-13
        ));
        // P(alive) = 1/(1 + a/(b+x−1) · ((α+T)/(α+t_x))^{r+x}) = 1/(1 + 1 · (3/2)²).
        assert!(close(unit.p_alive(1, 1.0, 2.0), 1.0 / 3.25, 1e-14));
        assert_eq!(unit.p_alive(0, 0.0, 5.0), 1.0);
    }

    #[test]
    fn bgnbd_unconditional_expectation_by_hand() {
        // r = α = 1, a = 2, b = 1: λ ~ Exp(1), p has density 2p, E[X(t)|λ,p] = (1 − e^{−λpt})/p,
        // so E[X(1)] = 2∫₀¹ p/(1+p) dp = 2(1 − ln 2).
        let m = BgNbd {
            r: 1.0,
            alpha: 1.0,
            a: 2.0,
            b: 1.0,
        };
        let want = 2.0 * (1.0 - 2f64.ln());
        assert!(close(m.expected_purchases_new(1.0), want, 1e-12));
        // A customer seen at time 0 with T = 0 and no repeat is a new customer.
        assert!(close(m.expected_purchases(1.0, 0, 0.0, 0.0), want, 1e-12));
        assert_eq!(m.expected_purchases(0.0, 3, 1.0, 2.0), 0.0);
    }

    #[test]
    fn bgnbd_conditional_expectation_against_numerical_integration() {
        // E[Y(t)|x,t_x,T] = ∫∫ (1−p)^x λ^x e^{−λT} (1 − e^{−λpt})/p g(λ) f(p)
        //                  / ∫∫ [(1−p)^x λ^x e^{−λT} + p(1−p)^{x−1} λ^x e^{−λt_x}] g(λ) f(p),
        // the individual-level model integrated over the priors with a midpoint rule.
        let m = BgNbd {
            r: 2.0,
            alpha: 3.0,
            a: 2.5,
            b: 4.0,
        };
        let (x, t_x, big_t, t) = (2u32, 5.0, 8.0, 6.0);
        let xf = f64::from(x);
        let (nl, np, lmax) = (1500, 1500, 6.0);
        let ln_g0 = m.r * m.alpha.ln() - ln_gamma(m.r);
        let ln_f0 = -crate::special::ln_beta(m.a, m.b);
        let (mut num, mut den, mut alive) = (0.0, 0.0, 0.0);
        for i in 0..nl {
            let lam = (i as f64 + 0.5) * lmax / nl as f64;
            let g = (ln_g0 + (m.r - 1.0) * lam.ln() - m.alpha * lam).exp();
            for j in 0..np {
                let p = (j as f64 + 0.5) / np as f64;
                let f = (ln_f0 + (m.a - 1.0) * p.ln() + (m.b - 1.0) * (1.0 - p).ln()).exp();
                let still = (1.0 - p).powf(xf) * lam.powf(xf) * (-lam * big_t).exp();
                let gone = p * (1.0 - p).powf(xf - 1.0) * lam.powf(xf) * (-lam * t_x).exp();
                num += still * (1.0 - (-lam * p * t).exp()) / p * g * f;
                alive += still * g * f;
                den += (still + gone) * g * f;
            }
        }
        assert!(close(
            m.expected_purchases(t, x, t_x, big_t),
            num / den,
            2e-4
        ));
        assert!(close(m.p_alive(x, t_x, big_t), alive / den, 2e-4));
    }

    #[test]
    fn bgnbd_expectation_with_negative_hypergeometric_c() {
        // a + b < 1 makes c = a + b + x − 1 negative for x = 0; the closed form still holds.
        // Check against E[Y(t)|x=0,T] = ∫∫ e^{−λT}(1 − e^{−λpt})/p g f / ∫∫ e^{−λT} g f,
        // with a tanh-sinh rule in p (the Beta density is singular at both ends).
        let m = BgNbd {
            r: 2.0,
            alpha: 3.0,
            a: 0.5,
            b: 0.45,
        };
        let (big_t, t) = (5.0, 6.0);
        let ln_g0 = m.r * m.alpha.ln() - ln_gamma(m.r);
        let ln_f0 = -crate::special::ln_beta(m.a, m.b);
        let p_nodes: Vec<(f64, f64)> = (-400..=400)
            .map(|k| {
                let u = f64::from(k) * 0.01;
                let s = std::f64::consts::PI * u.sinh();
                let (p, q) = (1.0 / (1.0 + (-s).exp()), 1.0 / (1.0 + s.exp()));
                let weight = 0.01 * std::f64::consts::PI * u.cosh() * p * q;
                let density = (ln_f0 + (m.a - 1.0) * p.ln() + (m.b - 1.0) * q.ln()).exp();
                (p, weight * density)
            })
            .filter(|(p, w)| *p > 0.0 && w.is_finite())
            .collect();
        let (nl, lmax) = (3000, 8.0);
        let (mut num, mut den) = (0.0, 0.0);
        for i in 0..nl {
            let lam = (i as f64 + 0.5) * lmax / nl as f64;
            let g = (ln_g0 + (m.r - 1.0) * lam.ln() - m.alpha * lam).exp() * (-lam * big_t).exp();
            for &(p, w) in &p_nodes {
                num += g * w * (1.0 - (-lam * p * t).exp()) / p;
                den += g * w;
            }
        }
        let got = m.expected_purchases(t, 0, 0.0, big_t);
        assert!(got.is_finite());
        assert!(close(got, num / den, 1e-4), "{got} vs {}", num / den);
    }

    #[test]
    fn gamma_gamma_by_hand() {
        // p = q = γ = 1, x = 1, m = 1: Γ(2)/(Γ(1)Γ(1)) · 1 · 1 · 1/(1+1)² = 1/4.
        let unit = GammaGamma {
            p: 1.0,
            q: 1.0,
            v: 1.0,
        };
        assert!(close(unit.log_likelihood(1, 1.0), 0.25f64.ln(), 1e-13));
        // p(γ + x m)/(px + q − 1) = 2(4 + 10)/(4 + 3 − 1) = 28/6; x = 0 → pγ/(q−1) = 4.
        let g = GammaGamma {
            p: 2.0,
            q: 3.0,
            v: 4.0,
        };
        assert!(close(g.expected_spend(2, 5.0), 28.0 / 6.0, 1e-14));
        assert!(close(g.expected_spend(0, 0.0), 4.0, 1e-14));
    }

    #[test]
    fn gamma_gamma_density_against_numerical_integration() {
        // m_x | ν ~ Gamma(shape px, rate νx), ν ~ Gamma(shape q, rate γ): integrate over ν.
        let g = GammaGamma {
            p: 2.5,
            q: 3.0,
            v: 10.0,
        };
        let (x, m) = (3u32, 4.0f64);
        let xf = f64::from(x);
        let (px, steps, nu_max) = (g.p * xf, 200_000, 20.0);
        let mut sum = 0.0;
        for i in 0..steps {
            let nu = (i as f64 + 0.5) * nu_max / steps as f64;
            let ln_cond = px * (nu * xf).ln() + (px - 1.0) * m.ln() - nu * xf * m - ln_gamma(px);
            let ln_prior = g.q * g.v.ln() + (g.q - 1.0) * nu.ln() - g.v * nu - ln_gamma(g.q);
            sum += (ln_cond + ln_prior).exp() * nu_max / steps as f64;
        }
        assert!(close(g.log_likelihood(x, m), sum.ln(), 1e-6));
    }

    #[test]
    fn analytic_gradients_match_finite_differences() {
        let s = summarize(
            &[1, 1, 1, 2, 2, 3, 4, 4, 4, 4],
            &[0, 10, 30, 5, 50, 20, 1, 2, 3, 60],
            &[5.0, 7.0, 9.0, 3.0, 4.0, 1.0, 2.0, 8.0, 6.0, 12.0],
            70,
            Period::Week,
        )
        .expect("summary");
        let rows = compress_bg(&s).expect("rows");
        let th = [0.7, 3.0, 1.3, 2.2];
        let mut g = [0.0; 4];
        bg_ll_grad(&rows, 7.0, &th, &mut g);
        let direct = |th: &[f64; 4]| -> f64 {
            let m = BgNbd {
                r: th[0],
                alpha: th[1],
                a: th[2],
                b: th[3],
            };
            (0..s.len())
                .map(|i| m.log_likelihood(s.frequency[i], s.recency[i], s.age[i]))
                .sum()
        };
        let mut ignored = [0.0; 4];
        assert!(close(
            bg_ll_grad(&rows, 7.0, &th, &mut ignored),
            direct(&th),
            1e-12
        ));
        for j in 0..4 {
            let h = 1e-6;
            let (mut up, mut down) = (th, th);
            up[j] += h;
            down[j] -= h;
            let num = (direct(&up) - direct(&down)) / (2.0 * h);
            assert!(close(g[j], num, 1e-6), "parameter {j}: {} vs {num}", g[j]);
        }
        let gg_rows = GgRows {
            xs: vec![1, 3],
            x_index: vec![0, 0, 1],
            m: vec![2.0, 5.0, 3.5],
            ln_m: vec![2f64.ln(), 5f64.ln(), 3.5f64.ln()],
        };
        let th = [1.5, 2.5, 6.0];
        let mut g = [0.0; 3];
        gg_ll_grad(&gg_rows, &th, &mut g);
        let direct = |th: &[f64; 3]| -> f64 {
            let m = GammaGamma {
                p: th[0],
                q: th[1],
                v: th[2],
            };
            m.log_likelihood(1, 2.0) + m.log_likelihood(1, 5.0) + m.log_likelihood(3, 3.5)
        };
        for j in 0..3 {
            let h = 1e-6;
            let (mut up, mut down) = (th, th);
            up[j] += h;
            down[j] -= h;
            let num = (direct(&up) - direct(&down)) / (2.0 * h);
            assert!(close(g[j], num, 1e-6), "parameter {j}");
        }
    }

    #[test]
    fn discounted_clv_by_hand() {
        // The discount rule on a 2-period horizon:
        // CLV = E[M]·(E[Y(1)]/(1+d) + (E[Y(2)] − E[Y(1)])/(1+d)²).
        let bg = BgNbd {
            r: 1.0,
            alpha: 2.0,
            a: 2.0,
            b: 3.0,
        };
        let gg = GammaGamma {
            p: 2.0,
            q: 3.0,
            v: 4.0,
        };
        let s = summarize(&[7, 7], &[0, 14], &[10.0, 6.0], 28, Period::Week).expect("summary");
        let (x, t_x, t) = (1, 2.0, 4.0);
        let y1 = bg.expected_purchases(1.0, x, t_x, t);
        let y2 = bg.expected_purchases(2.0, x, t_x, t);
        let spend = gg.expected_spend(1, 6.0);
        let d = 0.1;
        let want = spend * (y1 / 1.1 + (y2 - y1) / 1.21);
        let got = predict(&s, &bg, &gg, 2.0, d).expect("predict");
        assert!(close(got.clv[0], want, 1e-13));
        let plain = predict(&s, &bg, &gg, 2.0, 0.0).expect("predict");
        assert!(close(plain.clv[0], y2 * spend, 1e-13));
        assert!(close(plain.expected_purchases[0], y2, 1e-15));
        assert!(predict(&s, &bg, &gg, -1.0, 0.0).is_err());
    }
}
