//! The chart component: bar, line, funnel, pie and heat map, rendered on the server as
//! SVG from numbers the services provide. No script, no chart library, no web font:
//! the text uses the page's font stack (CSS class `chart`), so Chinese labels render
//! with the system's CJK font, and the SVG scales to its container (viewBox).
//!
//! Every chart carries a `<title>` and a `<desc>` with its numbers, so screen readers and
//! tests can read it.

use std::fmt::Write;

/// Colours that stay apart for the common forms of colour blindness (Okabe–Ito).
const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
];

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Numbers as people read them: 1234 → "1,234", 0.5 → "0.5".
pub fn number(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    if (v - v.round()).abs() < 1e-9 {
        let n = v.round() as i64;
        let digits = n.unsigned_abs().to_string();
        let mut out = String::new();
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(ch);
        }
        if n < 0 { format!("-{out}") } else { out }
    } else {
        format!("{v:.1}")
    }
}

/// A "nice" upper bound for an axis: 1, 2 or 5 times a power of ten.
fn nice_max(max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(max.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if m * p >= max {
            return m * p;
        }
    }
    10.0 * p
}

fn open(out: &mut String, w: u32, h: u32, title: &str, desc: &str) {
    let _ = write!(
        out,
        r#"<svg class="chart" viewBox="0 0 {w} {h}" role="img" xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMidYMid meet"><title>{}</title><desc>{}</desc>"#,
        esc(title),
        esc(desc)
    );
}

fn describe(labels: &[String], values: &[f64]) -> String {
    labels
        .iter()
        .zip(values)
        .map(|(l, v)| format!("{l}: {}", number(*v)))
        .collect::<Vec<_>>()
        .join("; ")
}

fn empty(title: &str, no_data: &str) -> String {
    let mut o = String::new();
    open(&mut o, 600, 120, title, no_data);
    let _ = write!(
        o,
        r##"<text x="300" y="65" text-anchor="middle" class="muted" font-size="14">{}</text></svg>"##,
        esc(no_data)
    );
    o
}

/// Vertical bars, one per label, with the value above each bar.
pub fn bar(title: &str, labels: &[String], values: &[f64], no_data: &str) -> String {
    if values.is_empty() || values.iter().all(|v| *v == 0.0) {
        return empty(title, no_data);
    }
    let (w, h, left, bottom, top) = (600.0, 300.0, 48.0, 64.0, 16.0);
    let max = nice_max(values.iter().cloned().fold(0.0, f64::max));
    let plot_w = w - left - 8.0;
    let plot_h = h - bottom - top;
    let slot = plot_w / values.len() as f64;
    let mut o = String::new();
    open(&mut o, w as u32, h as u32, title, &describe(labels, values));
    axis(&mut o, left, top, plot_w, plot_h, max);
    for (i, (l, v)) in labels.iter().zip(values).enumerate() {
        let bh = (v / max * plot_h).max(0.0);
        let x = left + slot * i as f64 + slot * 0.15;
        let y = top + plot_h - bh;
        let _ = write!(
            o,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{bh:.1}" fill="{}"><title>{}: {}</title></rect>"#,
            slot * 0.7,
            PALETTE[0],
            esc(l),
            number(*v)
        );
        let cx = x + slot * 0.35;
        let _ = write!(
            o,
            r#"<text x="{cx:.1}" y="{:.1}" text-anchor="middle" font-size="11">{}</text>"#,
            y - 4.0,
            number(*v)
        );
        label_below(&mut o, cx, top + plot_h + 14.0, l, values.len());
    }
    o.push_str("</svg>");
    o
}

/// A line over labelled points (months, readings), with dots and values.
pub fn line(title: &str, labels: &[String], values: &[f64], no_data: &str) -> String {
    if values.is_empty() {
        return empty(title, no_data);
    }
    let (w, h, left, bottom, top) = (600.0, 260.0, 56.0, 56.0, 18.0);
    let max = nice_max(values.iter().cloned().fold(0.0, f64::max));
    let plot_w = w - left - 16.0;
    let plot_h = h - bottom - top;
    let step = if values.len() > 1 {
        plot_w / (values.len() - 1) as f64
    } else {
        0.0
    };
    let pt = |i: usize, v: f64| {
        let x = if values.len() > 1 {
            left + step * i as f64
        } else {
            left + plot_w / 2.0
        };
        (x, top + plot_h - v / max * plot_h)
    };
    let mut o = String::new();
    open(&mut o, w as u32, h as u32, title, &describe(labels, values));
    axis(&mut o, left, top, plot_w, plot_h, max);
    let path: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let (x, y) = pt(i, *v);
            format!("{x:.1},{y:.1}")
        })
        .collect();
    let _ = write!(
        o,
        r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="2.5"/>"#,
        path.join(" "),
        PALETTE[0]
    );
    let every = values.len().div_ceil(12).max(1);
    for (i, (l, v)) in labels.iter().zip(values).enumerate() {
        let (x, y) = pt(i, *v);
        let _ = write!(
            o,
            r#"<circle cx="{x:.1}" cy="{y:.1}" r="3.5" fill="{}"><title>{}: {}</title></circle>"#,
            PALETTE[0],
            esc(l),
            number(*v)
        );
        if i % every == 0 || i + 1 == values.len() {
            label_below(&mut o, x, top + plot_h + 14.0, l, values.len().min(12));
        }
    }
    o.push_str("</svg>");
    o
}

/// Stages narrowing downwards, each with its count and its share of the first stage.
pub fn funnel(title: &str, stages: &[(String, f64)], no_data: &str) -> String {
    let first = stages.first().map(|s| s.1).unwrap_or(0.0);
    if first <= 0.0 {
        return empty(title, no_data);
    }
    let (w, row) = (600.0, 52.0);
    let h = row * stages.len() as f64 + 8.0;
    let labels: Vec<String> = stages.iter().map(|s| s.0.clone()).collect();
    let values: Vec<f64> = stages.iter().map(|s| s.1).collect();
    let mut o = String::new();
    open(
        &mut o,
        w as u32,
        h as u32,
        title,
        &describe(&labels, &values),
    );
    let full = 360.0;
    let cx = 200.0;
    for (i, (l, v)) in stages.iter().enumerate() {
        let top_w = full * (v / first).clamp(0.02, 1.0);
        let next = stages.get(i + 1).map(|s| s.1).unwrap_or(*v * 0.85);
        let bottom_w = full * (next / first).clamp(0.02, 1.0).min(v / first);
        let y = 4.0 + row * i as f64;
        let _ = write!(
            o,
            r#"<polygon points="{:.1},{y:.1} {:.1},{y:.1} {:.1},{:.1} {:.1},{:.1}" fill="{}"><title>{}: {}</title></polygon>"#,
            cx - top_w / 2.0,
            cx + top_w / 2.0,
            cx + bottom_w / 2.0,
            y + row - 4.0,
            cx - bottom_w / 2.0,
            y + row - 4.0,
            PALETTE[i % PALETTE.len()],
            esc(l),
            number(*v)
        );
        let share = v / first * 100.0;
        let _ = write!(
            o,
            r#"<text x="{:.1}" y="{:.1}" font-size="14">{} <tspan font-weight="bold">{}</tspan> <tspan class="muted">({share:.0}%)</tspan></text>"#,
            cx + full / 2.0 + 14.0,
            y + row / 2.0 + 3.0,
            esc(l),
            number(*v)
        );
    }
    o.push_str("</svg>");
    o
}

/// Slices of a whole, with a legend giving each share.
pub fn pie(title: &str, slices: &[(String, f64)], no_data: &str) -> String {
    let total: f64 = slices.iter().map(|s| s.1.max(0.0)).sum();
    if total <= 0.0 {
        return empty(title, no_data);
    }
    let legend_rows = slices.len().min(12);
    let h = (24.0 * legend_rows as f64 + 16.0).max(240.0);
    let (cx, cy, r) = (120.0, h / 2.0, 100.0);
    let labels: Vec<String> = slices.iter().map(|s| s.0.clone()).collect();
    let values: Vec<f64> = slices.iter().map(|s| s.1).collect();
    let mut o = String::new();
    open(&mut o, 600, h as u32, title, &describe(&labels, &values));
    let mut angle = -std::f64::consts::FRAC_PI_2;
    for (i, (l, v)) in slices.iter().enumerate() {
        let frac = v.max(0.0) / total;
        let colour = PALETTE[i % PALETTE.len()];
        if frac >= 0.9999 {
            let _ = write!(
                o,
                r#"<circle cx="{cx}" cy="{cy}" r="{r}" fill="{colour}"/>"#
            );
        } else if frac > 0.0 {
            let end = angle + frac * std::f64::consts::TAU;
            let (x1, y1) = (cx + r * angle.cos(), cy + r * angle.sin());
            let (x2, y2) = (cx + r * end.cos(), cy + r * end.sin());
            let large = if frac > 0.5 { 1 } else { 0 };
            let _ = write!(
                o,
                r##"<path d="M{cx},{cy} L{x1:.2},{y1:.2} A{r},{r} 0 {large} 1 {x2:.2},{y2:.2} Z" fill="{colour}" stroke="#fff" stroke-width="1"><title>{}: {}</title></path>"##,
                esc(l),
                number(*v)
            );
            angle = end;
        }
        if i < legend_rows {
            let y = 16.0 + 24.0 * i as f64;
            let _ = write!(
                o,
                r#"<rect x="260" y="{:.1}" width="14" height="14" fill="{colour}"/><text x="282" y="{:.1}" font-size="14">{} {} ({:.1}%)</text>"#,
                y,
                y + 12.0,
                esc(l),
                number(*v),
                frac * 100.0
            );
        }
    }
    o.push_str("</svg>");
    o
}

/// A grid of cells shaded by value (rows × columns), e.g. showroom traffic by weekday
/// and hour.
pub fn heatmap(
    title: &str,
    rows: &[String],
    cols: &[String],
    values: &[Vec<f64>],
    no_data: &str,
) -> String {
    let max = values.iter().flatten().cloned().fold(0.0, f64::max);
    if max <= 0.0 || rows.is_empty() || cols.is_empty() {
        return empty(title, no_data);
    }
    let (left, top) = (64.0, 22.0);
    let cell_w = (600.0 - left - 8.0) / cols.len() as f64;
    let cell_h = 26.0;
    let h = top + cell_h * rows.len() as f64 + 6.0;
    let mut desc = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        let total: f64 = values.get(r).map(|v| v.iter().sum()).unwrap_or(0.0);
        desc.push(format!("{row}: {}", number(total)));
    }
    let mut o = String::new();
    open(&mut o, 600, h as u32, title, &desc.join("; "));
    let every = cols.len().div_ceil(12).max(1);
    for (c, col) in cols.iter().enumerate() {
        if c % every == 0 {
            let _ = write!(
                o,
                r#"<text x="{:.1}" y="14" text-anchor="middle" font-size="11" class="muted">{}</text>"#,
                left + cell_w * (c as f64 + 0.5),
                esc(col)
            );
        }
    }
    for (r, row) in rows.iter().enumerate() {
        let y = top + cell_h * r as f64;
        let _ = write!(
            o,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end" font-size="13">{}</text>"#,
            left - 6.0,
            y + cell_h / 2.0 + 4.0,
            esc(row)
        );
        for (c, col) in cols.iter().enumerate() {
            let v = values.get(r).and_then(|x| x.get(c)).cloned().unwrap_or(0.0);
            // Light to dark blue; empty cells stay pale grey so the grid stays visible.
            let fill = if v <= 0.0 {
                "#f1f3f5".to_string()
            } else {
                let t = (v / max).clamp(0.0, 1.0);
                let mix = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
                format!(
                    "#{:02x}{:02x}{:02x}",
                    mix(222.0, 8.0),
                    mix(235.0, 69.0),
                    mix(247.0, 148.0)
                )
            };
            let _ = write!(
                o,
                r##"<rect x="{:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{fill}" stroke="#fff"><title>{} {}: {}</title></rect>"##,
                left + cell_w * c as f64,
                cell_w,
                cell_h,
                esc(row),
                esc(col),
                number(v)
            );
        }
    }
    o.push_str("</svg>");
    o
}

/// One named series of (x, y) points for [`xy_lines`].
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// Options of [`xy_lines`].
#[derive(Default)]
pub struct XyOptions<'a> {
    /// Label of the x axis (unit).
    pub x_label: &'a str,
    /// Upper end of the y axis; the data's nice maximum when None.
    pub y_max: Option<f64>,
    /// Show y values as percentages (0.25 → 25%).
    pub percent: bool,
    /// Draw survival-style steps (the value holds until the next point).
    pub step: bool,
    /// A dashed reference line from (0, 0) to (x max, y max): equality on a Lorenz curve.
    pub diagonal: Option<&'a str>,
    /// A dashed vertical marker at x with a label (e.g. the churn critical point).
    pub marker: Option<(f64, String)>,
}

/// Several lines over a numeric x axis with a legend: survival curves by cohort, the
/// Lorenz curve, calibration. The `<desc>` lists each series' last point.
pub fn xy_lines(title: &str, series: &[Series], o: &XyOptions, no_data: &str) -> String {
    let series: Vec<&Series> = series.iter().filter(|s| !s.points.is_empty()).collect();
    if series.is_empty() {
        return empty(title, no_data);
    }
    let legend_rows = series.len().min(10);
    let (w, left, top) = (600.0, 52.0, 14.0);
    let plot_h = 200.0;
    let bottom = 40.0 + 18.0 * legend_rows.div_ceil(2) as f64;
    let h = top + plot_h + bottom;
    let plot_w = w - left - 16.0;
    let x_max = nice_max(
        series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .fold(0.0, f64::max),
    );
    let y_max = o.y_max.unwrap_or_else(|| {
        nice_max(
            series
                .iter()
                .flat_map(|s| s.points.iter().map(|p| p.1))
                .fold(0.0, f64::max),
        )
    });
    let fmt = |v: f64| {
        if o.percent {
            format!("{:.0}%", v * 100.0)
        } else {
            number(v)
        }
    };
    let desc = series
        .iter()
        .map(|s| {
            let (x, y) = s.points[s.points.len() - 1];
            format!("{}: {} → {}", s.name, number(x), fmt(y))
        })
        .collect::<Vec<_>>()
        .join("; ");
    let mut out = String::new();
    open(&mut out, w as u32, h as u32, title, &desc);
    let px = |x: f64| left + (x / x_max).clamp(0.0, 1.0) * plot_w;
    let py = |y: f64| top + plot_h - (y / y_max).clamp(0.0, 1.0) * plot_h;
    for i in 0..=4 {
        let v = y_max * i as f64 / 4.0;
        let y = py(v);
        let _ = write!(
            out,
            r##"<line x1="{left}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#dde1e6" stroke-width="1"/><text x="{:.1}" y="{:.1}" text-anchor="end" font-size="11" class="muted">{}</text>"##,
            left + plot_w,
            left - 6.0,
            y + 4.0,
            fmt(v)
        );
        let xv = x_max * i as f64 / 4.0;
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="11" class="muted">{}</text>"#,
            px(xv),
            top + plot_h + 14.0,
            number(xv)
        );
    }
    let _ = write!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="end" font-size="11" class="muted">{}</text>"#,
        left + plot_w,
        top + plot_h + 28.0,
        esc(o.x_label)
    );
    if let Some(label) = o.diagonal {
        let _ = write!(
            out,
            r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#888" stroke-dasharray="4 4"><title>{}</title></line>"##,
            px(0.0),
            py(0.0),
            px(x_max),
            py(y_max),
            esc(label)
        );
    }
    if let Some((x, label)) = &o.marker {
        let _ = write!(
            out,
            r##"<line x1="{x1:.1}" y1="{:.1}" x2="{x1:.1}" y2="{:.1}" stroke="#D55E00" stroke-width="2" stroke-dasharray="6 3"/><text x="{:.1}" y="{:.1}" font-size="12" fill="#D55E00">{}</text>"##,
            top,
            top + plot_h,
            px(*x) + 4.0,
            top + 12.0,
            esc(label),
            x1 = px(*x)
        );
    }
    for (k, s) in series.iter().enumerate() {
        let colour = PALETTE[k % PALETTE.len()];
        let mut pts = Vec::with_capacity(s.points.len() * 2);
        for (i, &(x, y)) in s.points.iter().enumerate() {
            if o.step && i > 0 {
                pts.push(format!("{:.1},{:.1}", px(x), py(s.points[i - 1].1)));
            }
            pts.push(format!("{:.1},{:.1}", px(x), py(y)));
        }
        let _ = write!(
            out,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2.2"><title>{}</title></polyline>"#,
            pts.join(" "),
            esc(&s.name)
        );
        if k < legend_rows {
            let lx = left + if k % 2 == 0 { 0.0 } else { plot_w / 2.0 };
            let ly = top + plot_h + 40.0 + 18.0 * (k / 2) as f64;
            let _ = write!(
                out,
                r#"<rect x="{lx:.1}" y="{:.1}" width="14" height="4" fill="{colour}"/><text x="{:.1}" y="{:.1}" font-size="12">{}</text>"#,
                ly - 5.0,
                lx + 20.0,
                ly,
                esc(&s.name)
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// The value pyramid: levels from the top (narrowest) down, each as wide as its share of
/// customers allows, labelled with its count and a note (its revenue share).
pub fn pyramid(title: &str, levels: &[(String, f64, String)], no_data: &str) -> String {
    let total: f64 = levels.iter().map(|l| l.1.max(0.0)).sum();
    if total <= 0.0 {
        return empty(title, no_data);
    }
    let (w, row) = (600.0, 46.0);
    let h = row * levels.len() as f64 + 8.0;
    let labels: Vec<String> = levels.iter().map(|l| l.0.clone()).collect();
    let values: Vec<f64> = levels.iter().map(|l| l.1).collect();
    let mut o = String::new();
    open(
        &mut o,
        w as u32,
        h as u32,
        title,
        &describe(&labels, &values),
    );
    let (cx, full) = (170.0, 320.0);
    let n = levels.len() as f64;
    for (i, (label, v, note)) in levels.iter().enumerate() {
        // The outline is a triangle; each level's band is shaded by its customer share.
        let top_w = full * i as f64 / n + 24.0;
        let bottom_w = full * (i + 1) as f64 / n + 24.0;
        let y = 4.0 + row * i as f64;
        let _ = write!(
            o,
            r##"<polygon points="{:.1},{y:.1} {:.1},{y:.1} {:.1},{:.1} {:.1},{:.1}" fill="{}" fill-opacity="{:.2}" stroke="#fff"><title>{}: {}</title></polygon>"##,
            cx - top_w / 2.0,
            cx + top_w / 2.0,
            cx + bottom_w / 2.0,
            y + row - 3.0,
            cx - bottom_w / 2.0,
            y + row - 3.0,
            PALETTE[i % PALETTE.len()],
            0.55 + 0.45 * (v / total),
            esc(label),
            number(*v)
        );
        let _ = write!(
            o,
            r#"<text x="{:.1}" y="{:.1}" font-size="14">{} <tspan font-weight="bold">{}</tspan> <tspan class="muted">({:.0}%) {}</tspan></text>"#,
            cx + full / 2.0 + 30.0,
            y + row / 2.0 + 3.0,
            esc(label),
            number(*v),
            v / total * 100.0,
            esc(note)
        );
    }
    o.push_str("</svg>");
    o
}

fn axis(o: &mut String, left: f64, top: f64, w: f64, h: f64, max: f64) {
    for i in 0..=4 {
        let v = max * i as f64 / 4.0;
        let y = top + h - h * i as f64 / 4.0;
        let _ = write!(
            o,
            r##"<line x1="{left}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#dde1e6" stroke-width="1"/><text x="{:.1}" y="{:.1}" text-anchor="end" font-size="11" class="muted">{}</text>"##,
            left + w,
            left - 6.0,
            y + 4.0,
            number(v)
        );
    }
}

/// A category label under the axis, turned when there are many so they do not overlap.
fn label_below(o: &mut String, x: f64, y: f64, label: &str, count: usize) {
    if count > 6 {
        let _ = write!(
            o,
            r#"<text x="{x:.1}" y="{y:.1}" text-anchor="end" font-size="11" transform="rotate(-35 {x:.1} {y:.1})">{}</text>"#,
            esc(label)
        );
    } else {
        let _ = write!(
            o,
            r#"<text x="{x:.1}" y="{y:.1}" text-anchor="middle" font-size="12">{}</text>"#,
            esc(label)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn numbers_and_axes() {
        assert_eq!(number(1234567.0), "1,234,567");
        assert_eq!(number(-1200.0), "-1,200");
        assert_eq!(number(0.25), "0.2");
        assert_eq!(nice_max(73.0), 100.0);
        assert_eq!(nice_max(130.0), 200.0);
        assert_eq!(nice_max(0.0), 1.0);
    }

    #[test]
    fn charts_escape_labels_and_describe_their_numbers() {
        let svg = bar(
            "客户",
            &s(&["基盘<客户>", "VIP"]),
            &[1200.0, 30.0],
            "无数据",
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("基盘&lt;客户&gt;: 1,200"));
        assert!(!svg.contains("<客户>"));
        let svg = pie(
            "来源",
            &[("展厅".into(), 3.0), ("来电".into(), 1.0)],
            "无数据",
        );
        assert!(svg.contains("展厅 3 (75.0%)"), "{svg}");
        let svg = funnel(
            "漏斗",
            &[("线索".into(), 100.0), ("成交".into(), 25.0)],
            "无数据",
        );
        assert!(svg.contains("(25%)"));
        let svg = heatmap(
            "到店",
            &s(&["周一"]),
            &s(&["9", "10"]),
            &[vec![0.0, 4.0]],
            "无数据",
        );
        assert!(svg.contains("周一 10: 4"));
        let svg = line("工单", &s(&["2026-01"]), &[5.0], "无数据");
        assert!(svg.contains("polyline"));
    }

    #[test]
    fn lines_and_pyramid_describe_their_numbers() {
        let svg = xy_lines(
            "留存",
            &[
                Series {
                    name: "2024".into(),
                    points: vec![(0.0, 1.0), (6.0, 0.4)],
                },
                Series {
                    name: "空".into(),
                    points: vec![],
                },
            ],
            &XyOptions {
                x_label: "月",
                y_max: Some(1.0),
                percent: true,
                step: true,
                diagonal: Some("平均线"),
                marker: Some((4.0, "临界点 4".into())),
            },
            "无数据",
        );
        assert!(svg.contains("2024: 6 → 40%"), "{svg}");
        assert!(svg.contains("临界点 4") && svg.contains("平均线"));
        assert!(!svg.contains("空"), "empty series are left out");
        let svg = pyramid(
            "价值金字塔",
            &[
                ("铂金".into(), 1.0, "40%".into()),
                ("青铜".into(), 3.0, "10%".into()),
            ],
            "无数据",
        );
        assert!(svg.contains("铂金: 1") && svg.contains("(75%)"), "{svg}");
        assert!(xy_lines("x", &[], &XyOptions::default(), "暂无数据").contains("暂无数据"));
        assert!(pyramid("x", &[], "暂无数据").contains("暂无数据"));
    }

    #[test]
    fn empty_data_says_so() {
        assert!(bar("x", &[], &[], "暂无数据").contains("暂无数据"));
        assert!(pie("x", &[("a".into(), 0.0)], "暂无数据").contains("暂无数据"));
        assert!(funnel("x", &[], "暂无数据").contains("暂无数据"));
        assert!(heatmap("x", &[], &[], &[], "暂无数据").contains("暂无数据"));
    }
}
