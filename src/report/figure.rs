//! The sweep's main figure rendered headlessly to PNG (plotters, no window): final η·λ̂,
//! peak loss and final weight norm against η·λ̂0 per width, with the theory lines, and a phase
//! strip over (η·λ̂0, width), and for data with a test split the best test loss and accuracy
//! per model approximation. Used by `catapult-lab sweep --plot FILE.png`.

use crate::engine::sim::{Phase, Summary};
use plotters::prelude::*;
use plotters::style::FontStyle;
use std::path::Path;
use std::sync::Once;

pub(crate) const FONT: &str = "sans-serif";
/// Distinct colors for up to eight widths (repeated beyond).
pub const SERIES_COLORS: [(u8, u8, u8); 8] =
    [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75), (227, 119, 194), (127, 127, 127)];

/// The color of a phase in every view (the app's badge and sweep strip, the PNG figures): the
/// one table of phase colours.
pub fn phase_color(phase: Phase) -> (u8, u8, u8) {
    match phase {
        Phase::Lazy => (70, 130, 220),
        Phase::Rich => (40, 150, 110),
        Phase::Catapult => (240, 150, 30),
        Phase::Divergent => (210, 40, 40),
        Phase::Oscillating => (150, 80, 200),
        Phase::Dead => (90, 90, 90),
        Phase::Unconverged => (170, 170, 170),
    }
}

pub(crate) fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Ubuntu Light ships with egui (and has Greek), so the PNG needs no system fonts.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, epaint_default_fonts::UBUNTU_LIGHT);
    });
}

fn rgb((r, g, b): (u8, u8, u8)) -> RGBColor {
    RGBColor(r, g, b)
}

/// Rows grouped by width (and by model approximation when the sweep has several), each
/// group labelled and sorted by η·λ̂0.
fn by_width(rows: &[Summary]) -> Vec<(String, Vec<&Summary>)> {
    let mut keys: Vec<(usize, &'static str)> = rows.iter().map(|r| (r.width, super::output::approx_label(r.approx))).collect();
    keys.sort_unstable();
    keys.dedup();
    let several = keys.iter().any(|k| k.1 != keys[0].1);
    keys.into_iter()
        .map(|(w, a)| {
            let mut group: Vec<&Summary> = rows.iter().filter(|r| r.width == w && super::output::approx_label(r.approx) == a).collect();
            group.sort_by(|x, y| x.eta_scaled.total_cmp(&y.eta_scaled));
            (if several { format!("m = {w}, {a}") } else { format!("m = {w}") }, group)
        })
        .collect()
}

type Panel<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

/// One scatter-with-lines panel: `value` per row (None = not drawn), theory lines at `hlines`.
fn panel(
    area: &Panel,
    title: &str,
    y_desc: &str,
    rows: &[Summary],
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
    value: impl Fn(&Summary) -> Option<f64>,
    hlines: &[f64],
    diagonal: bool,
) -> Result<(), String> {
    let e = |e: DrawingAreaErrorKind<_>| e.to_string();
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, 26))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(e)?;
    chart.configure_mesh().x_desc("η·λ0 (learning rate × initial top kernel eigenvalue)").y_desc(y_desc)
        .label_style((FONT, 16)).axis_desc_style((FONT, 18)).draw().map_err(e)?;
    let grey = RGBColor(120, 120, 120);
    for &x in &[2.0, 4.0] {
        chart.draw_series(LineSeries::new([(x, y0), (x, y1)], grey.stroke_width(1))).map_err(e)?;
    }
    for &y in hlines {
        chart.draw_series(LineSeries::new([(x0, y), (x1, y)], grey.stroke_width(1))).map_err(e)?;
    }
    if diagonal {
        let top = x1.min(y1);
        chart
            .draw_series(LineSeries::new([(x0.max(y0), x0.max(y0)), (top, top)], RGBColor(60, 60, 60).stroke_width(1)))
            .map_err(e)?
            .label("diagonal (lazy: unchanged)")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RGBColor(60, 60, 60)));
    }
    for (k, (label, group)) in by_width(rows).into_iter().enumerate() {
        let color = rgb(SERIES_COLORS[k % SERIES_COLORS.len()]);
        let points: Vec<(f64, f64)> =
            group.iter().filter_map(|r| value(r).map(|v| (r.eta_scaled, v.clamp(y0, y1)))).collect();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
            .map_err(e)?
            .label(label)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(3)));
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled()))).map_err(e)?;
    }
    chart
        .configure_series_labels()
        .label_font((FONT, 16))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(e)?;
    Ok(())
}

fn labels_are_long(groups: &[(String, Vec<&Summary>)]) -> bool {
    groups.iter().any(|(label, _)| label.len() > 10)
}

/// The phase strip: one row per width, one cell per η·λ̂0 value, colored by phase.
fn phase_strip(area: &Panel, rows: &[Summary], (x0, x1): (f64, f64)) -> Result<(), String> {
    let e = |e: DrawingAreaErrorKind<_>| e.to_string();
    let groups = by_width(rows);
    let n_rows = groups.len().max(1);
    let mut chart = ChartBuilder::on(area)
        .caption("Phase over (η·λ0, width)", (FONT, 26))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(if labels_are_long(&groups) { 190 } else { 70 })
        .build_cartesian_2d(x0..x1, -0.5..n_rows as f64 - 0.5)
        .map_err(e)?;
    let labels: Vec<String> = groups.iter().map(|(label, _)| label.clone()).collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n_rows)
        .y_label_formatter(&|y| if (y - y.round()).abs() < 1e-6 && *y >= 0.0 { labels.get(y.round() as usize).cloned().unwrap_or_default() } else { String::new() })
        .x_desc("η·λ0")
        .label_style((FONT, 16))
        .axis_desc_style((FONT, 18))
        .draw()
        .map_err(e)?;
    for (row, (_, group)) in groups.iter().enumerate() {
        for (i, r) in group.iter().enumerate() {
            let left = if i == 0 { x0 } else { 0.5 * (group[i - 1].eta_scaled + r.eta_scaled) };
            let right = if i + 1 == group.len() { x1 } else { 0.5 * (r.eta_scaled + group[i + 1].eta_scaled) };
            let color = rgb(phase_color(r.phase));
            chart
                .draw_series([Rectangle::new([(left, row as f64 - 0.45), (right, row as f64 + 0.45)], color.filled())])
                .map_err(e)?;
        }
    }
    for phase in Phase::ALL {
        if rows.iter().any(|r| r.phase == phase) {
            let color = rgb(phase_color(phase));
            chart
                .draw_series(std::iter::empty::<Rectangle<(f64, f64)>>())
                .map_err(e)?
                .label(phase.label())
                .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 16, y + 6)], color.filled()));
        }
    }
    chart.configure_series_labels().label_font((FONT, 16)).background_style(WHITE.mix(0.85)).border_style(BLACK).draw().map_err(e)?;
    Ok(())
}

/// Renders the sweep figure (2 × 2 panels, 1600 × 1200 pixels) to a PNG file.
pub fn render_sweep_png(rows: &[Summary], path: &Path) -> Result<(), String> {
    register_font();
    if rows.is_empty() {
        return Err("the sweep produced no rows to plot".into());
    }
    let x_lo = rows.iter().map(|r| r.eta_scaled).fold(f64::INFINITY, f64::min);
    let x_hi = rows.iter().map(|r| r.eta_scaled).fold(f64::NEG_INFINITY, f64::max);
    let pad = ((x_hi - x_lo) * 0.03).max(0.05);
    let xr = (x_lo - pad, x_hi + pad);
    // Sweeps with a test split get a third row: best test loss and accuracy (Zhu et al. Fig 4).
    let general = rows.iter().any(|r| r.best_test_loss.is_some());
    let root = BitMapBackend::new(path, (1600, if general { 1800 } else { 1200 })).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let areas = root.split_evenly((if general { 3 } else { 2 }, 2));
    let y_top = rows.iter().map(|r| r.eta_scaled).fold(4.5, f64::max).min(8.0);
    panel(&areas[0], "Final η·λ (divergent runs clipped)", "final η·λ", rows, xr, (0.0, y_top), |r| Some(r.final_eta_lambda), &[2.0], true)?;
    let peaks: Vec<f64> = rows.iter().filter(|r| r.peak_loss > 0.0).map(|r| r.peak_loss.log10()).collect();
    let (p_lo, p_hi) = peaks.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    let (p_lo, p_hi) = if p_lo.is_finite() { (p_lo.floor(), p_hi.ceil().max(p_lo.floor() + 1.0)) } else { (-1.0, 1.0) };
    panel(&areas[1], "Peak loss (grows with width in the catapult)", "log10 peak loss", rows, xr, (p_lo, p_hi),
        |r| (r.peak_loss > 0.0).then(|| r.peak_loss.log10()), &[], false)?;
    let ratio = |r: &Summary| (r.weight_norm_sq0 > 0.0).then(|| r.final_weight_norm_sq / r.weight_norm_sq0);
    let r_hi = rows.iter().filter(|r| r.phase != Phase::Divergent).filter_map(ratio).fold(1.5, f64::max).min(1e3);
    panel(&areas[2], "Final weight norm² / initial", "|w|² final / initial", rows, xr, (0.0, r_hi * 1.05), ratio, &[1.0], false)?;
    phase_strip(&areas[3], rows, xr)?;
    if general {
        let tests: Vec<f64> = rows.iter().filter_map(|r| r.best_test_loss).filter(|l| *l > 0.0).map(f64::log10).collect();
        let (t_lo, t_hi) = tests.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
        let (t_lo, t_hi) = if t_lo.is_finite() { (t_lo.floor(), t_hi.ceil().max(t_lo.floor() + 1.0)) } else { (-1.0, 1.0) };
        panel(&areas[4], "Best test loss over the run", "log10 best test loss", rows, xr, (t_lo, t_hi),
            |r| r.best_test_loss.filter(|l| *l > 0.0).map(f64::log10), &[], false)?;
        let a_lo = rows.iter().filter_map(|r| r.best_test_acc).fold(1.0, f64::min);
        panel(&areas[5], "Best test accuracy over the run", "best test accuracy", rows, xr, ((a_lo - 0.02).max(0.0), 1.005), |r| r.best_test_acc, &[], false)?;
    }
    root.present().map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(())
}
