//! A small quasi-Newton minimiser (BFGS with Armijo backtracking, Nocedal & Wright 2006,
//! algorithm 6.1), a numerically differentiated Hessian and a dense matrix inverse — all the
//! maximum-likelihood fits in this crate need.

use crate::error::{MiningError, Result};

#[derive(Debug, Clone)]
pub struct Minimum {
    pub x: Vec<f64>,
    pub value: f64,
    pub iterations: usize,
    pub evaluations: usize,
    /// The final inverse-Hessian approximation (row-major), to warm-start another run.
    pub inverse_hessian: Vec<f64>,
}

/// Minimises `f`, which returns the value at `x` and writes the gradient into its third
/// argument. Stops when the largest gradient component is below `grad_tol` or the value
/// stops changing (relative change below 1e-15 for three iterations).
pub fn bfgs<F>(f: F, x0: &[f64], grad_tol: f64, max_iter: usize) -> Result<Minimum>
where
    F: FnMut(&[f64], &mut [f64]) -> f64,
{
    bfgs_from(f, x0, None, grad_tol, max_iter)
}

/// [`bfgs`] starting from a given inverse-Hessian approximation (e.g. the one a fit on a
/// subsample ended with), so that a run from a good start needs few iterations.
pub fn bfgs_from<F>(
    mut f: F,
    x0: &[f64],
    inverse_hessian: Option<&[f64]>,
    grad_tol: f64,
    max_iter: usize,
) -> Result<Minimum>
where
    F: FnMut(&[f64], &mut [f64]) -> f64,
{
    let n = x0.len();
    let mut x = x0.to_vec();
    let mut g = vec![0.0; n];
    let mut value = f(&x, &mut g);
    let mut evaluations = 1;
    if !value.is_finite() {
        return Err(MiningError::NoConvergence {
            what: "BFGS",
            detail: "objective is not finite at the start point".into(),
        });
    }
    // Inverse-Hessian approximation, row-major.
    let warm = inverse_hessian.is_some_and(|h| h.len() == n * n);
    let mut h = match inverse_hessian {
        Some(h) if warm => h.to_vec(),
        _ => identity(n),
    };
    let mut x_new = vec![0.0; n];
    let mut g_new = vec![0.0; n];
    let mut p = vec![0.0; n];
    let mut stalled = 0;
    for iteration in 0..max_iter {
        if max_abs(&g) < grad_tol {
            return Ok(Minimum {
                x,
                value,
                iterations: iteration,
                evaluations,
                inverse_hessian: h,
            });
        }
        mat_vec(&h, &g, &mut p);
        p.iter_mut().for_each(|v| *v = -*v);
        let mut slope = dot(&p, &g);
        if slope >= 0.0 {
            h = identity(n);
            p.iter_mut().zip(&g).for_each(|(pi, gi)| *pi = -gi);
            slope = dot(&p, &g);
        }
        // Keep a single step from moving any coordinate by more than 5 (e^5 on log scale).
        let longest = max_abs(&p);
        let mut step = if longest > 5.0 { 5.0 / longest } else { 1.0 };
        let mut accepted = false;
        for _ in 0..60 {
            x_new
                .iter_mut()
                .zip(&x)
                .zip(&p)
                .for_each(|((xn, xi), pi)| *xn = xi + step * pi);
            let v = f(&x_new, &mut g_new);
            evaluations += 1;
            if v.is_finite() && v <= value + 1e-4 * step * slope {
                let s: Vec<f64> = x_new.iter().zip(&x).map(|(a, b)| a - b).collect();
                let y: Vec<f64> = g_new.iter().zip(&g).map(|(a, b)| a - b).collect();
                let sy = dot(&s, &y);
                if sy > 1e-12 * dot(&s, &s).sqrt() * dot(&y, &y).sqrt() {
                    if iteration == 0 && !warm {
                        // Scale the initial matrix (N&W eq. 6.20) before the first update.
                        let scale = sy / dot(&y, &y);
                        h.iter_mut().for_each(|v| *v *= scale);
                    }
                    bfgs_update(&mut h, &s, &y, sy);
                }
                let change = (value - v).abs() / (1.0 + v.abs());
                stalled = if change < 1e-15 { stalled + 1 } else { 0 };
                x.copy_from_slice(&x_new);
                g.copy_from_slice(&g_new);
                value = v;
                accepted = true;
                break;
            }
            step *= 0.5;
        }
        if !accepted || stalled >= 3 {
            return Ok(Minimum {
                x,
                value,
                iterations: iteration + 1,
                evaluations,
                inverse_hessian: h,
            });
        }
    }
    Ok(Minimum {
        x,
        value,
        iterations: max_iter,
        evaluations,
        inverse_hessian: h,
    })
}

/// H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ with ρ = 1/(yᵀs).
fn bfgs_update(h: &mut [f64], s: &[f64], y: &[f64], sy: f64) {
    let n = s.len();
    let rho = 1.0 / sy;
    let mut hy = vec![0.0; n];
    mat_vec(h, y, &mut hy);
    let yhy = dot(y, &hy);
    for i in 0..n {
        for j in 0..n {
            h[i * n + j] += rho * ((1.0 + rho * yhy) * s[i] * s[j] - hy[i] * s[j] - s[i] * hy[j]);
        }
    }
}

/// Hessian of a function from its gradient by central differences, symmetrised.
/// Step for coordinate j: 1e-5 · max(|x_j|, 1e-3).
pub fn hessian_from_gradient<G>(mut grad: G, x: &[f64]) -> Vec<f64>
where
    G: FnMut(&[f64], &mut [f64]),
{
    let n = x.len();
    let mut hess = vec![0.0; n * n];
    let mut xp = x.to_vec();
    let mut gp = vec![0.0; n];
    let mut gm = vec![0.0; n];
    for j in 0..n {
        let h = 1e-5 * x[j].abs().max(1e-3);
        xp[j] = x[j] + h;
        grad(&xp, &mut gp);
        xp[j] = x[j] - h;
        grad(&xp, &mut gm);
        xp[j] = x[j];
        for i in 0..n {
            hess[i * n + j] = (gp[i] - gm[i]) / (2.0 * h);
        }
    }
    for i in 0..n {
        for j in 0..i {
            let m = 0.5 * (hess[i * n + j] + hess[j * n + i]);
            hess[i * n + j] = m;
            hess[j * n + i] = m;
        }
    }
    hess
}

/// Inverse of a square row-major matrix by Gauss-Jordan elimination with partial pivoting;
/// `None` when it is singular.
pub fn invert(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut m = a.to_vec();
    let mut inv = identity(n);
    for col in 0..n {
        let pivot =
            (col..n).max_by(|&i, &j| m[i * n + col].abs().total_cmp(&m[j * n + col].abs()))?;
        let scale = m.iter().map(|v| v.abs()).fold(0.0, f64::max).max(1e-300);
        if m[pivot * n + col].abs() <= 1e-14 * scale {
            return None;
        }
        if pivot != col {
            for k in 0..n {
                m.swap(pivot * n + k, col * n + k);
                inv.swap(pivot * n + k, col * n + k);
            }
        }
        let d = m[col * n + col];
        for k in 0..n {
            m[col * n + k] /= d;
            inv[col * n + k] /= d;
        }
        for row in 0..n {
            if row != col {
                let factor = m[row * n + col];
                if factor != 0.0 {
                    for k in 0..n {
                        m[row * n + k] -= factor * m[col * n + k];
                        inv[row * n + k] -= factor * inv[col * n + k];
                    }
                }
            }
        }
    }
    Some(inv)
}

/// Solves A x = b for a symmetric positive definite A (row-major) by Cholesky.
pub fn solve_spd(a: &[f64], b: &[f64]) -> Option<Vec<f64>> {
    let n = b.len();
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if s <= 0.0 {
                    return None;
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        let s: f64 = (0..i).map(|k| l[i * n + k] * y[k]).sum();
        y[i] = (b[i] - s) / l[i * n + i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| l[k * n + i] * x[k]).sum();
        x[i] = (y[i] - s) / l[i * n + i];
    }
    Some(x)
}

fn identity(n: usize) -> Vec<f64> {
    let mut m = vec![0.0; n * n];
    (0..n).for_each(|i| m[i * n + i] = 1.0);
    m
}

fn mat_vec(m: &[f64], v: &[f64], out: &mut [f64]) {
    let n = v.len();
    for (i, o) in out.iter_mut().enumerate() {
        *o = dot(&m[i * n..(i + 1) * n], v);
    }
}

pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimises_rosenbrock() {
        // Minimum at (1, 1) with value 0.
        let f = |x: &[f64], g: &mut [f64]| {
            let (a, b) = (x[0], x[1]);
            g[0] = -2.0 * (1.0 - a) - 400.0 * a * (b - a * a);
            g[1] = 200.0 * (b - a * a);
            (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2)
        };
        let m = bfgs(f, &[-1.2, 1.0], 1e-10, 500).expect("converges");
        assert!(
            (m.x[0] - 1.0).abs() < 1e-6 && (m.x[1] - 1.0).abs() < 1e-6,
            "{m:?}"
        );
    }

    #[test]
    fn hessian_of_quadratic() {
        // f = x² + 3xy + 5y² has Hessian [[2, 3], [3, 10]].
        let grad = |x: &[f64], g: &mut [f64]| {
            g[0] = 2.0 * x[0] + 3.0 * x[1];
            g[1] = 3.0 * x[0] + 10.0 * x[1];
        };
        let h = hessian_from_gradient(grad, &[0.7, -2.0]);
        for (got, want) in h.iter().zip([2.0, 3.0, 3.0, 10.0]) {
            assert!((got - want).abs() < 1e-8);
        }
    }

    #[test]
    fn inverse_and_cholesky() {
        // [[4, 7], [2, 6]]⁻¹ = [[0.6, −0.7], [−0.2, 0.4]].
        let inv = invert(&[4.0, 7.0, 2.0, 6.0], 2).expect("invertible");
        for (got, want) in inv.iter().zip([0.6, -0.7, -0.2, 0.4]) {
            assert!((got - want).abs() < 1e-12);
        }
        assert!(invert(&[1.0, 2.0, 2.0, 4.0], 2).is_none());
        // [[4, 2], [2, 3]] x = [2, 1] → x = [0.5, 0].
        let x = solve_spd(&[4.0, 2.0, 2.0, 3.0], &[2.0, 1.0]).expect("spd");
        assert!((x[0] - 0.5).abs() < 1e-12 && x[1].abs() < 1e-12);
        assert!(solve_spd(&[1.0, 2.0, 2.0, 1.0], &[1.0, 1.0]).is_none());
    }
}
