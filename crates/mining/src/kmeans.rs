//! Customer segmentation by k-means (Lloyd 1982) on standardised features, seeded with
//! k-means++ (Arthur & Vassilvitskii 2007), best of several restarts, with k chosen by the
//! silhouette (Rousseeuw 1987) when asked to, and a readable profile per segment.
//!
//! Deterministic: restart r uses the seed derived from (seed, r); the best restart is the
//! one with the lowest inertia, ties to the lowest r, whatever the thread split; segments
//! are numbered by decreasing size.

use crate::error::{MiningError, Result};
use crate::ids::threads_for;
use crate::rng::SplitMix64;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum KChoice {
    Fixed(usize),
    /// Try every k in min..=max and keep the one with the highest silhouette.
    Auto {
        min: usize,
        max: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KMeansOptions {
    pub k: KChoice,
    pub restarts: usize,
    pub max_iter: usize,
    /// Stop when the summed squared centre shift is below tol (data are standardised, so
    /// this is relative to unit variance per feature, as scikit-learn's `tol`).
    pub tol: f64,
    pub seed: u64,
    /// Rows sampled for the silhouette (all rows when fewer).
    pub silhouette_sample: usize,
}

impl Default for KMeansOptions {
    fn default() -> Self {
        KMeansOptions {
            k: KChoice::Fixed(5),
            restarts: 10,
            max_iter: 300,
            tol: 1e-4,
            seed: 42,
            silhouette_sample: 2000,
        }
    }
}

/// How a segment's mean compares with the whole population, in standard deviations:
/// high ≥ +0.5, low ≤ −0.5, average otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Low,
    Average,
    High,
}

impl Level {
    pub fn of(z: f64) -> Level {
        if z >= 0.5 {
            Level::High
        } else if z <= -0.5 {
            Level::Low
        } else {
            Level::Average
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Level::Low => "低",
            Level::Average => "中",
            Level::High => "高",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            Level::Low => "low",
            Level::Average => "average",
            Level::High => "high",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentProfile {
    pub segment: u32,
    pub size: usize,
    pub share: f64,
    /// Mean of each feature in its original unit.
    pub mean: Vec<f64>,
    /// Mean of each standardised feature (how many population SDs from the overall mean).
    pub z_mean: Vec<f64>,
    pub level: Vec<Level>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Segmentation {
    pub k: usize,
    pub labels: Vec<u32>,
    /// Centres in original units, one row per segment.
    pub centers: Vec<Vec<f64>>,
    /// Within-segment sum of squares in standardised units.
    pub inertia: f64,
    /// Mean silhouette of the chosen k (on the sample); `None` for k = 1.
    pub silhouette: Option<f64>,
    /// (k, silhouette) for every k tried by `Auto`.
    pub silhouette_by_k: Vec<(usize, f64)>,
    pub profiles: Vec<SegmentProfile>,
}

/// Segments rows described by feature columns (all of equal length, finite values).
pub fn segment(features: &[&[f64]], options: &KMeansOptions) -> Result<Segmentation> {
    let d = features.len();
    if d == 0 {
        return Err(MiningError::invalid("no feature columns"));
    }
    let n = features[0].len();
    crate::error::same_len(
        "features",
        &features.iter().map(|f| f.len()).collect::<Vec<_>>(),
    )?;
    if n == 0 {
        return Err(MiningError::Empty);
    }
    for (j, col) in features.iter().enumerate() {
        if let Some(i) = col.iter().position(|v| !v.is_finite()) {
            return Err(MiningError::invalid(format!(
                "feature {j}, row {i}: not a finite number"
            )));
        }
    }
    if options.restarts == 0 {
        return Err(MiningError::invalid("restarts must be at least 1"));
    }
    let (mean, sd) = column_moments(features);
    let mut data = vec![0.0; n * d];
    for (j, col) in features.iter().enumerate() {
        for (i, &v) in col.iter().enumerate() {
            data[i * d + j] = (v - mean[j]) / sd[j];
        }
    }
    let sample = sample_rows(n, options.silhouette_sample, options.seed);
    let (ks, auto) = match options.k {
        KChoice::Fixed(k) => (k..=k, false),
        KChoice::Auto { min, max } => (min.max(2)..=max, true),
    };
    if ks.is_empty() || *ks.start() == 0 {
        return Err(MiningError::invalid(
            "k must be at least 1 (auto: min ≤ max)",
        ));
    }
    if *ks.start() > n {
        return Err(MiningError::invalid(format!(
            "k = {} exceeds the {n} rows",
            ks.start()
        )));
    }
    let mut best: Option<(Fit, Option<f64>)> = None;
    let mut silhouette_by_k = Vec::new();
    for k in ks {
        if k > n {
            break;
        }
        let fit = kmeans(&data, d, k, options)?;
        let sil = (k > 1).then(|| silhouette(&data, d, &fit.labels, k, &sample));
        if auto {
            silhouette_by_k.push((k, sil.unwrap_or(0.0)));
        }
        let better = match &best {
            None => true,
            Some((_, s)) => sil.unwrap_or(f64::NEG_INFINITY) > s.unwrap_or(f64::NEG_INFINITY),
        };
        if better {
            best = Some((fit, sil));
        }
    }
    let (fit, sil) = best.ok_or_else(|| MiningError::invalid("no k could be fitted"))?;
    let k = fit.centers.len() / d;
    let mut profiles = Vec::with_capacity(k);
    let mut sizes = vec![0usize; k];
    fit.labels.iter().for_each(|&l| sizes[l as usize] += 1);
    let mut sums = vec![0.0; k * d];
    for (i, &l) in fit.labels.iter().enumerate() {
        for (j, col) in features.iter().enumerate() {
            sums[l as usize * d + j] += col[i];
        }
    }
    for c in 0..k {
        let size = sizes[c];
        let m: Vec<f64> = (0..d)
            .map(|j| sums[c * d + j] / size.max(1) as f64)
            .collect();
        let z: Vec<f64> = (0..d).map(|j| (m[j] - mean[j]) / sd[j]).collect();
        profiles.push(SegmentProfile {
            segment: c as u32,
            size,
            share: size as f64 / n as f64,
            level: z.iter().map(|&v| Level::of(v)).collect(),
            mean: m,
            z_mean: z,
        });
    }
    let centers = (0..k)
        .map(|c| {
            (0..d)
                .map(|j| fit.centers[c * d + j] * sd[j] + mean[j])
                .collect()
        })
        .collect();
    Ok(Segmentation {
        k,
        labels: fit.labels,
        centers,
        inertia: fit.inertia,
        silhouette: sil,
        silhouette_by_k,
        profiles,
    })
}

/// Mean and population SD per column; a constant column gets SD 1 so it standardises to 0.
fn column_moments(features: &[&[f64]]) -> (Vec<f64>, Vec<f64>) {
    features
        .iter()
        .map(|col| {
            let n = col.len() as f64;
            let m = col.iter().sum::<f64>() / n;
            let var = col.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / n;
            (m, if var > 0.0 { var.sqrt() } else { 1.0 })
        })
        .unzip()
}

fn sample_rows(n: usize, size: usize, seed: u64) -> Vec<usize> {
    if n <= size {
        return (0..n).collect();
    }
    // Partial Fisher-Yates over indices.
    let mut rng = SplitMix64::new(seed ^ 0x005E_ED51_1400);
    let mut idx: Vec<usize> = (0..n).collect();
    for i in 0..size {
        let j = i + rng.below(n - i);
        idx.swap(i, j);
    }
    idx.truncate(size);
    idx.sort_unstable();
    idx
}

/// One k-means solution on row-major standardised data.
#[derive(Debug, Clone)]
pub struct Fit {
    pub centers: Vec<f64>,
    pub labels: Vec<u32>,
    pub inertia: f64,
    pub iterations: usize,
}

/// Best of `options.restarts` k-means++ + Lloyd runs on row-major data with `d` columns,
/// restarts shared between two threads. Segments are renumbered by decreasing size.
pub fn kmeans(data: &[f64], d: usize, k: usize, options: &KMeansOptions) -> Result<Fit> {
    let n = data.len() / d;
    if k == 0 || k > n {
        return Err(MiningError::invalid(format!("k = {k} with {n} rows")));
    }
    let restarts = options.restarts.max(1);
    let threads = threads_for(n * restarts, 50_000).min(restarts);
    let run = |part: usize| -> Option<(usize, Fit)> {
        (0..restarts)
            .filter(|r| r % threads == part)
            .map(|r| {
                let mut rng =
                    SplitMix64::new(options.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ r as u64);
                (
                    r,
                    lloyd_dispatch(data, d, k, &mut rng, options.max_iter, options.tol),
                )
            })
            .min_by(|a, b| a.1.inertia.total_cmp(&b.1.inertia).then(a.0.cmp(&b.0)))
    };
    let results: Vec<(usize, Fit)> = if threads == 1 {
        run(0).into_iter().collect()
    } else {
        std::thread::scope(|s| {
            let hs: Vec<_> = (1..threads).map(|p| s.spawn(move || run(p))).collect();
            let mut v: Vec<_> = run(0).into_iter().collect();
            v.extend(hs.into_iter().filter_map(|h| h.join().ok().flatten()));
            v
        })
    };
    let (_, mut fit) = results
        .into_iter()
        .min_by(|a, b| a.1.inertia.total_cmp(&b.1.inertia).then(a.0.cmp(&b.0)))
        .ok_or_else(|| MiningError::invalid("k-means worker failed"))?;
    // Renumber by decreasing size, ties by centre coordinates.
    let mut sizes = vec![0usize; k];
    fit.labels.iter().for_each(|&l| sizes[l as usize] += 1);
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| {
        sizes[b].cmp(&sizes[a]).then_with(|| {
            fit.centers[a * d..(a + 1) * d]
                .iter()
                .zip(&fit.centers[b * d..(b + 1) * d])
                .map(|(x, y)| x.total_cmp(y))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        })
    });
    let mut new_label = vec![0u32; k];
    for (new, &old) in order.iter().enumerate() {
        new_label[old] = new as u32;
    }
    fit.labels
        .iter_mut()
        .for_each(|l| *l = new_label[*l as usize]);
    fit.centers = order
        .iter()
        .flat_map(|&c| fit.centers[c * d..(c + 1) * d].to_vec())
        .collect();
    Ok(fit)
}

#[inline]
fn dist2(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

#[inline(always)]
fn dist2_fixed<const D: usize>(a: &[f64], b: &[f64]) -> f64 {
    let (a, b) = (&a[..D], &b[..D]);
    let mut s = 0.0;
    for j in 0..D {
        let t = a[j] - b[j];
        s += t * t;
    }
    s
}

/// Lloyd with the whole loop (distances, accumulation, update) specialised for the common
/// small feature counts: rows become `[f64; D]`, so distances unroll and the sums need no
/// bounds checks. Same arithmetic in the same order as the general version, so the same
/// answer to the bit.
fn lloyd_dispatch(
    data: &[f64],
    d: usize,
    k: usize,
    rng: &mut SplitMix64,
    max_iter: usize,
    tol: f64,
) -> Fit {
    match d {
        1 => lloyd_fixed::<1>(data, k, rng, max_iter, tol),
        2 => lloyd_fixed::<2>(data, k, rng, max_iter, tol),
        3 => lloyd_fixed::<3>(data, k, rng, max_iter, tol),
        4 => lloyd_fixed::<4>(data, k, rng, max_iter, tol),
        5 => lloyd_fixed::<5>(data, k, rng, max_iter, tol),
        6 => lloyd_fixed::<6>(data, k, rng, max_iter, tol),
        7 => lloyd_fixed::<7>(data, k, rng, max_iter, tol),
        8 => lloyd_fixed::<8>(data, k, rng, max_iter, tol),
        _ => lloyd(data, d, k, rng, max_iter, tol, dist2),
    }
}

#[inline(always)]
fn dist2_row<const D: usize>(a: &[f64; D], b: &[f64; D]) -> f64 {
    let mut s = 0.0;
    for j in 0..D {
        let t = a[j] - b[j];
        s += t * t;
    }
    s
}

/// The nearest centre (the first of equals) and the squared distance to it.
#[inline(always)]
fn nearest<const D: usize>(x: &[f64; D], centers: &[[f64; D]]) -> (usize, f64) {
    let mut best = 0usize;
    let mut best_dist = f64::INFINITY;
    for (c, center) in centers.iter().enumerate() {
        let v = dist2_row(x, center);
        if v < best_dist {
            best_dist = v;
            best = c;
        }
    }
    (best, best_dist)
}

fn lloyd_fixed<const D: usize>(
    data: &[f64],
    k: usize,
    rng: &mut SplitMix64,
    max_iter: usize,
    tol: f64,
) -> Fit {
    let (rows, _) = data.as_chunks::<D>();
    let n = rows.len();
    let seeds = plus_plus(data, D, k, rng, dist2_fixed::<D>);
    let (seeded, _) = seeds.as_chunks::<D>();
    let mut centers: Vec<[f64; D]> = seeded.to_vec();
    let mut labels = vec![0u32; n];
    let mut sums = vec![[0.0f64; D]; k];
    let mut counts = vec![0usize; k];
    let mut iterations = 0;
    loop {
        iterations += 1;
        sums.iter_mut().for_each(|v| *v = [0.0; D]);
        counts.iter_mut().for_each(|v| *v = 0);
        for (x, label) in rows.iter().zip(labels.iter_mut()) {
            let (best, _) = nearest(x, &centers);
            *label = best as u32;
            counts[best] += 1;
            let s = &mut sums[best];
            for j in 0..D {
                s[j] += x[j];
            }
        }
        let mut best_d: Vec<f64> = if counts.contains(&0) {
            rows.iter()
                .zip(&labels)
                .map(|(x, &l)| dist2_row(x, &centers[l as usize]))
                .collect()
        } else {
            Vec::new()
        };
        let mut shift = 0.0;
        for c in 0..k {
            if counts[c] == 0 {
                // Re-seed an empty segment with the row farthest from its centre.
                let far = best_d
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .map_or(0, |(i, _)| i);
                best_d[far] = 0.0;
                shift += dist2_row(&rows[far], &centers[c]);
                centers[c] = rows[far];
                shift = shift.max(tol * 2.0);
                continue;
            }
            let inv = 1.0 / counts[c] as f64;
            for j in 0..D {
                let new = sums[c][j] * inv;
                let old = centers[c][j];
                shift += (new - old) * (new - old);
                centers[c][j] = new;
            }
        }
        if shift <= tol || iterations >= max_iter {
            break;
        }
    }
    // Final assignment to the final centres, and the inertia.
    let mut inertia = 0.0;
    for (x, label) in rows.iter().zip(labels.iter_mut()) {
        let (best, v) = nearest(x, &centers);
        *label = best as u32;
        inertia += v;
    }
    Fit {
        centers: centers.into_iter().flatten().collect(),
        labels,
        inertia,
        iterations,
    }
}

/// k-means++ seeding: the first centre uniformly, each next one with probability
/// proportional to the squared distance to the nearest centre chosen so far.
fn plus_plus<F: Fn(&[f64], &[f64]) -> f64>(
    data: &[f64],
    d: usize,
    k: usize,
    rng: &mut SplitMix64,
    dist2: F,
) -> Vec<f64> {
    let n = data.len() / d;
    let mut centers = Vec::with_capacity(k * d);
    let first = rng.below(n);
    centers.extend_from_slice(&data[first * d..(first + 1) * d]);
    let mut nearest: Vec<f64> = data
        .chunks_exact(d)
        .map(|x| dist2(x, &centers[0..d]))
        .collect();
    // The running total is summed in the same pass that updates the distances.
    let mut total: f64 = nearest.iter().sum();
    for c in 1..k {
        let pick = if total > 0.0 {
            let target = rng.next_f64() * total;
            let mut acc = 0.0;
            let mut chosen = n - 1;
            for (i, &w) in nearest.iter().enumerate() {
                acc += w;
                if acc > target {
                    chosen = i;
                    break;
                }
            }
            chosen
        } else {
            rng.below(n)
        };
        centers.extend_from_slice(&data[pick * d..(pick + 1) * d]);
        let new = &centers[c * d..(c + 1) * d];
        total = 0.0;
        for (x, best) in data.chunks_exact(d).zip(nearest.iter_mut()) {
            let v = dist2(x, new);
            if v < *best {
                *best = v;
            }
            total += *best;
        }
    }
    centers
}

fn lloyd<F: Fn(&[f64], &[f64]) -> f64 + Copy>(
    data: &[f64],
    d: usize,
    k: usize,
    rng: &mut SplitMix64,
    max_iter: usize,
    tol: f64,
    dist2: F,
) -> Fit {
    let n = data.len() / d;
    let mut centers = plus_plus(data, d, k, rng, dist2);
    let mut labels = vec![0u32; n];
    let mut sums = vec![0.0; k * d];
    let mut counts = vec![0usize; k];
    let mut iterations = 0;
    loop {
        iterations += 1;
        sums.iter_mut().for_each(|v| *v = 0.0);
        counts.iter_mut().for_each(|v| *v = 0);
        for (x, label) in data.chunks_exact(d).zip(labels.iter_mut()) {
            let mut best = 0usize;
            let mut best_dist = f64::INFINITY;
            for (c, center) in centers.chunks_exact(d).enumerate() {
                let v = dist2(x, center);
                if v < best_dist {
                    best_dist = v;
                    best = c;
                }
            }
            *label = best as u32;
            counts[best] += 1;
            sums[best * d..(best + 1) * d]
                .iter_mut()
                .zip(x)
                .for_each(|(s, v)| *s += v);
        }
        // Distances to the assigned centres, only needed (and computed) when a segment
        // came out empty.
        let mut best_d: Vec<f64> = if counts.contains(&0) {
            data.chunks_exact(d)
                .zip(&labels)
                .map(|(x, &l)| dist2(x, &centers[l as usize * d..(l as usize + 1) * d]))
                .collect()
        } else {
            Vec::new()
        };
        let mut shift = 0.0;
        for c in 0..k {
            if counts[c] == 0 {
                // Re-seed an empty segment with the row farthest from its centre.
                let far = best_d
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .map_or(0, |(i, _)| i);
                best_d[far] = 0.0;
                let row = &data[far * d..(far + 1) * d];
                shift += dist2(row, &centers[c * d..(c + 1) * d]);
                centers[c * d..(c + 1) * d].copy_from_slice(row);
                shift = shift.max(tol * 2.0);
                continue;
            }
            let inv = 1.0 / counts[c] as f64;
            for j in 0..d {
                let new = sums[c * d + j] * inv;
                let old = centers[c * d + j];
                shift += (new - old) * (new - old);
                centers[c * d + j] = new;
            }
        }
        if shift <= tol || iterations >= max_iter {
            break;
        }
    }
    // Final assignment to the final centres, and the inertia.
    let mut inertia = 0.0;
    for (x, label) in data.chunks_exact(d).zip(labels.iter_mut()) {
        let (best, v) = centers
            .chunks_exact(d)
            .map(|c| dist2(x, c))
            .enumerate()
            .fold(
                (0, f64::INFINITY),
                |acc, (c, v)| if v < acc.1 { (c, v) } else { acc },
            );
        *label = best as u32;
        inertia += v;
    }
    Fit {
        centers,
        labels,
        inertia,
        iterations,
    }
}

/// Mean silhouette over the rows in `sample`, distances measured among the sample only:
/// s = (b − a)/max(a, b) with a the mean distance to the other members of the row's
/// segment and b the smallest mean distance to another segment; 0 for a row alone in its
/// segment (Rousseeuw 1987).
pub fn silhouette(data: &[f64], d: usize, labels: &[u32], k: usize, sample: &[usize]) -> f64 {
    let m = sample.len();
    if m < 2 || k < 2 {
        return 0.0;
    }
    let mut per_cluster = vec![0usize; k];
    sample
        .iter()
        .for_each(|&i| per_cluster[labels[i] as usize] += 1);
    let score = |a_idx: usize| -> f64 {
        let i = sample[a_idx];
        let own = labels[i] as usize;
        if per_cluster[own] < 2 {
            return 0.0;
        }
        let mut sums = vec![0.0; k];
        let x = &data[i * d..(i + 1) * d];
        for &j in sample {
            if j != i {
                sums[labels[j] as usize] += dist2(x, &data[j * d..(j + 1) * d]).sqrt();
            }
        }
        let a = sums[own] / (per_cluster[own] - 1) as f64;
        let b = (0..k)
            .filter(|&c| c != own && per_cluster[c] > 0)
            .map(|c| sums[c] / per_cluster[c] as f64)
            .fold(f64::INFINITY, f64::min);
        if !b.is_finite() {
            return 0.0;
        }
        let denom = a.max(b);
        if denom > 0.0 { (b - a) / denom } else { 0.0 }
    };
    let threads = threads_for(m * m, 1_000_000);
    let total: f64 = if threads == 1 {
        (0..m).map(score).sum()
    } else {
        std::thread::scope(|s| {
            let h = s.spawn(|| (0..m).filter(|i| i % 2 == 1).map(score).sum::<f64>());
            (0..m).filter(|i| i % 2 == 0).map(score).sum::<f64>() + h.join().unwrap_or(f64::NAN)
        })
    };
    total / m as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_dimension_by_hand() {
        let x = [1.0, 2.0, 3.0, 10.0, 11.0, 12.0];
        let opts = KMeansOptions {
            k: KChoice::Fixed(2),
            ..KMeansOptions::default()
        };
        let s = segment(&[&x], &opts).expect("segments");
        // Equal sizes: segments ordered by centre, so {1,2,3} is segment 0.
        assert_eq!(s.labels, vec![0, 0, 0, 1, 1, 1]);
        assert!((s.centers[0][0] - 2.0).abs() < 1e-12 && (s.centers[1][0] - 11.0).abs() < 1e-12);
        // Within SS = 2 + 2 = 4 raw; population variance = 125.5/6, so standardised 4/(125.5/6).
        assert!((s.inertia - 4.0 / (125.5 / 6.0)).abs() < 1e-12);
        // Silhouettes 0.85, 8/9, 0.8125 on each side (scale-free in one dimension).
        let want = (0.85 + 8.0 / 9.0 + 0.8125) / 3.0;
        assert!((s.silhouette.unwrap_or_default() - want).abs() < 1e-12);
        let p = &s.profiles[1];
        assert_eq!((p.size, p.share), (3, 0.5));
        assert!((p.mean[0] - 11.0).abs() < 1e-12);
        assert_eq!(p.level, vec![Level::High]);
        assert_eq!(s.profiles[0].level, vec![Level::Low]);
    }

    fn blobs(
        centers: &[(f64, f64)],
        per: usize,
        spread: f64,
        seed: u64,
    ) -> (Vec<f64>, Vec<f64>, Vec<usize>) {
        let mut rng = SplitMix64::new(seed);
        let (mut xs, mut ys, mut truth) = (Vec::new(), Vec::new(), Vec::new());
        for (c, &(cx, cy)) in centers.iter().enumerate() {
            for _ in 0..per {
                xs.push(cx + spread * (rng.next_f64() - 0.5));
                ys.push(cy + spread * (rng.next_f64() - 0.5));
                truth.push(c);
            }
        }
        (xs, ys, truth)
    }

    #[test]
    fn recovers_hand_made_clusters_and_picks_k_by_silhouette() {
        // Three square blobs of side 2 around (0,0), (20,0) and (0,20), sizes 50 each.
        let (xs, ys, truth) = blobs(&[(0.0, 0.0), (20.0, 0.0), (0.0, 20.0)], 50, 2.0, 3);
        let opts = KMeansOptions {
            k: KChoice::Auto { min: 2, max: 6 },
            ..KMeansOptions::default()
        };
        let s = segment(&[&xs, &ys], &opts).expect("segments");
        assert_eq!(s.k, 3);
        assert_eq!(s.silhouette_by_k.len(), 5);
        // Same partition as the truth (labels may be permuted).
        for i in 0..truth.len() {
            for j in 0..truth.len() {
                assert_eq!(truth[i] == truth[j], s.labels[i] == s.labels[j]);
            }
        }
        for p in &s.profiles {
            assert_eq!(p.size, 50);
        }
        // Determinism: same seed, same answer.
        let again = segment(&[&xs, &ys], &opts).expect("segments");
        assert_eq!(again.labels, s.labels);
    }

    #[test]
    fn restarts_keep_the_lowest_inertia() {
        let (xs, ys, _) = blobs(
            &[(0.0, 0.0), (5.0, 0.0), (0.0, 5.0), (5.0, 5.0)],
            30,
            3.0,
            9,
        );
        let one = KMeansOptions {
            k: KChoice::Fixed(4),
            restarts: 1,
            ..KMeansOptions::default()
        };
        let many = KMeansOptions {
            restarts: 12,
            ..one
        };
        let a = segment(&[&xs, &ys], &one).expect("one");
        let b = segment(&[&xs, &ys], &many).expect("many");
        assert!(b.inertia <= a.inertia + 1e-12);
    }

    #[test]
    fn more_segments_than_distinct_rows_does_not_fail() {
        // Two distinct points, k = 3: one segment must come out empty and be re-seeded.
        let x = [0.0, 0.0, 0.0, 5.0, 5.0, 5.0];
        let s = segment(
            &[&x],
            &KMeansOptions {
                k: KChoice::Fixed(3),
                restarts: 2,
                max_iter: 20,
                ..KMeansOptions::default()
            },
        )
        .expect("segments");
        assert_eq!(s.profiles.iter().map(|p| p.size).sum::<usize>(), 6);
        assert!(s.inertia.abs() < 1e-12);
        assert_ne!(s.labels[0], s.labels[3]);
    }

    #[test]
    fn constant_feature_and_bad_input() {
        let x = [1.0, 1.0, 5.0, 5.0];
        let c = [7.0; 4];
        let s = segment(
            &[&x, &c],
            &KMeansOptions {
                k: KChoice::Fixed(2),
                ..KMeansOptions::default()
            },
        )
        .expect("segments");
        assert_eq!(s.profiles[0].mean[1], 7.0);
        assert_eq!(s.profiles[0].z_mean[1], 0.0);
        let o = KMeansOptions::default();
        assert!(segment(&[], &o).is_err());
        assert!(segment(&[&[]], &o).is_err());
        assert!(segment(&[&[1.0, f64::NAN]], &o).is_err());
        assert!(segment(&[&[1.0, 2.0]], &o).is_err()); // k = 5 > 2 rows
        assert!(segment(&[&[1.0, 2.0], &[1.0]], &o).is_err());
    }
}
