//! The live view's four plots rendered headlessly to PNG (plotters, the crate's own font): loss
//! (log axis, with the top-s split for SGD and teacher runs), kernel λ̂ / λ̂₂ and the Hessian
//! sharpness λ_H with the per-step 2/η and 4/η lines and the regime shading,
//! weights, and the u/v phase plane (or η·λ̂ against the step where the plane means nothing),
//! with titles, axis and tick labels and legends beside the data. It draws exactly the series
//! of report::live_view (the window's points), so `figure --series` lists what is drawn. Used by
//! `catapult-lab figure` and the app's "Export plot PNG".

use super::decimate::{StepAxis, regime_runs};
use super::figure::{FONT, register_font};
use super::live_view::{self, KERNEL_PLOT, LOSS_PLOT, PHASE_PLOT, PlotSeries, WEIGHTS_PLOT};
use super::series::History;
use crate::engine::sim::Regime;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// What the figure needs besides the history and its series.
pub struct LiveFigure<'a> {
    pub history: &'a History,
    pub series: &'a [PlotSeries],
    pub axis: StepAxis,
    /// The initial loss (dashed line, bottom of the loss axis 12 decades below it).
    pub loss0: f64,
    pub title: String,
    /// Why the u/v plane does not apply (then η·λ̂ is drawn), or None.
    pub uv_reason: Option<&'a str>,
    /// The last step the step axes show (an animation frame keeps the whole run's axis), or
    /// None for the history's last step.
    pub x_until: Option<f64>,
    /// s of the top-s loss split (`measure.top_s`), named in its legend.
    pub top_s: usize,
}

const BLUE: RGBColor = RGBColor(50, 110, 210);
const GREEN: RGBColor = RGBColor(40, 150, 70);
const RED: RGBColor = RGBColor(210, 50, 50);
const ORANGE: RGBColor = RGBColor(225, 130, 20);
const PURPLE: RGBColor = RGBColor(130, 90, 190);
const TEAL: RGBColor = RGBColor(30, 140, 150);
const DARK: RGBColor = RGBColor(40, 40, 40);
const GREY: RGBColor = RGBColor(130, 130, 130);

fn regime_rgb(regime: Regime) -> RGBColor {
    match regime {
        Regime::Stable => RGBColor(60, 170, 90),
        Regime::Catapult => RGBColor(235, 150, 30),
        Regime::Divergent => RGBColor(220, 60, 60),
    }
}

/// Tick label of a log10 axis.
fn pow10(log_value: f64) -> String {
    let k = log_value.round();
    if (log_value - k).abs() < 1e-6 {
        match k as i64 {
            0 => "1".into(),
            1 => "10".into(),
            k => format!("1e{k}"),
        }
    } else {
        format!("{:.2e}", 10f64.powf(log_value))
    }
}

fn step_label(axis: StepAxis, x: f64) -> String {
    let step = axis.from_axis(x).round();
    if step.abs() >= 1e5 { format!("{step:.1e}") } else { format!("{step:.0}") }
}

fn number(y: f64) -> String {
    if y == 0.0 {
        "0".into()
    } else if (1e-3..1e5).contains(&y.abs()) {
        format!("{}", (y * 1e4).round() / 1e4)
    } else {
        format!("{y:.1e}")
    }
}

fn range_of(points: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = points.filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if !lo.is_finite() {
        (0.0, 1.0)
    } else if hi - lo < 1e-12 * hi.abs().max(1e-300) {
        (lo - 0.5 * lo.abs().max(1e-12), hi + 0.5 * hi.abs().max(1e-12))
    } else {
        (lo, hi)
    }
}

fn pad((lo, hi): (f64, f64)) -> (f64, f64) {
    let p = 0.05 * (hi - lo);
    (lo - p, hi + p)
}

/// A legend drawn as a row of entries above the chart (never over data).
fn legend(area: &Area, entries: &[(String, RGBColor, bool)], font_px: u32) -> Result<(), String> {
    let (width, _) = area.dim_in_pixel();
    let (mut x, mut y) = (70i32, 4i32);
    let font = (FONT, font_px).into_font();
    for (name, color, dashed) in entries {
        let text_width = (name.chars().count() as f64 * font_px as f64 * 0.5) as i32 + 40;
        if x + text_width > width as i32 && x > 70 {
            x = 70;
            y += font_px as i32 + 6;
        }
        let mid = y + font_px as i32 / 2;
        if *dashed {
            for k in 0..3 {
                area.draw(&PathElement::new([(x + 8 * k, mid), (x + 8 * k + 5, mid)], color.stroke_width(3))).map_err(|e| e.to_string())?;
            }
        } else {
            area.draw(&PathElement::new([(x, mid), (x + 22, mid)], color.stroke_width(3))).map_err(|e| e.to_string())?;
        }
        area.draw(&Text::new(name.clone(), (x + 28, y), font.clone().color(&DARK))).map_err(|e| e.to_string())?;
        x += text_width;
    }
    Ok(())
}

/// Sizes scaled from the 1920 × 1080 reference.
struct Sizes {
    title: u32,
    label: u32,
    tick: u32,
    legend: u32,
    legend_rows: u32,
}

/// One step-axis chart: `lines` (name, points in plot coordinates, colour, dashed), y range and
/// its label formatter, shading runs, a legend row above.
#[allow(clippy::too_many_arguments)]
fn step_chart(
    area: &Area,
    sizes: &Sizes,
    title: &str,
    y_desc: &str,
    axis: StepAxis,
    x_range: (f64, f64),
    y_range: (f64, f64),
    y_fmt: &dyn Fn(&f64) -> String,
    lines: &[(String, Vec<[f64; 2]>, RGBColor, bool)],
    shading: &[(f64, f64, Regime)],
    hlines: &[(f64, RGBColor)],
) -> Result<(), String> {
    let e = |e: DrawingAreaErrorKind<_>| e.to_string();
    let (top, body) = area.split_vertically((sizes.title + 8 + sizes.legend_rows * (sizes.legend + 6)) as i32);
    top.draw(&Text::new(title.to_string(), (70, 2), (FONT, sizes.title).into_font().color(&BLACK))).map_err(e)?;
    let legend_area = top.clone().shrink((0, sizes.title + 6), top.dim_in_pixel());
    let entries: Vec<(String, RGBColor, bool)> = lines.iter().filter(|l| !l.0.is_empty()).map(|l| (l.0.clone(), l.2, l.3)).collect();
    legend(&legend_area, &entries, sizes.legend)?;
    let mut chart = ChartBuilder::on(&body)
        .margin_left(sizes.label / 2 + 6)
        .margin_right(16)
        .margin_bottom(6)
        .x_label_area_size(sizes.label * 2 + 14)
        .y_label_area_size(sizes.tick * 5)
        .build_cartesian_2d(x_range.0..x_range.1, y_range.0..y_range.1)
        .map_err(e)?;
    let x_desc = if axis == StepAxis::Log { "step (log scale)" } else { "step" };
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_labels(8)
        .y_labels(7)
        .x_label_formatter(&|x| step_label(axis, *x))
        .y_label_formatter(y_fmt)
        .label_style((FONT, sizes.tick))
        .axis_desc_style((FONT, sizes.label))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(e)?;
    for &(from, to, regime) in shading {
        let (a, b) = (axis.to_axis((from - 0.5).max(0.0)), axis.to_axis(to + 0.5));
        chart.draw_series([Rectangle::new([(a, y_range.0), (b, y_range.1)], regime_rgb(regime).mix(0.16).filled())]).map_err(e)?;
    }
    for &(y, color) in hlines {
        let mut x = x_range.0;
        let dash = (x_range.1 - x_range.0) / 120.0;
        while x < x_range.1 {
            chart.draw_series(LineSeries::new([(x, y), ((x + dash * 0.6).min(x_range.1), y)], color.stroke_width(2))).map_err(e)?;
            x += dash;
        }
    }
    for (_, points, color, dashed) in lines {
        let clipped: Vec<(f64, f64)> = points.iter().map(|p| (p[0], p[1].clamp(y_range.0, y_range.1))).collect();
        if *dashed {
            chart.draw_series(DashedLineSeries::new(clipped, 10, 6, color.stroke_width(2))).map_err(e)?;
        } else {
            chart.draw_series(LineSeries::new(clipped, color.stroke_width(3))).map_err(e)?;
        }
    }
    Ok(())
}

fn to_plot(points: &[[f64; 2]], axis: StepAxis, y: impl Fn(f64) -> f64) -> Vec<[f64; 2]> {
    points.iter().map(|p| [axis.to_axis(p[0]), y(p[1])]).collect()
}

/// Renders the four live plots to `path` at `size` pixels.
pub fn render_live_png(figure: &LiveFigure, path: &Path, size: (u32, u32)) -> Result<(), String> {
    register_font();
    let root = BitMapBackend::new(path, size).into_drawing_area();
    draw_live(&root, figure, size)?;
    root.present().map_err(|e| format!("{}: {e}", path.display()))
}

/// Renders the four live plots into `buffer`, RGB bytes of `size` pixels (animation frames).
pub fn render_live_rgb(figure: &LiveFigure, buffer: &mut [u8], size: (u32, u32)) -> Result<(), String> {
    register_font();
    let root = BitMapBackend::with_buffer(buffer, size).into_drawing_area();
    draw_live(&root, figure, size)?;
    root.present().map_err(|e| e.to_string())
}

fn draw_live(root: &Area, figure: &LiveFigure, size: (u32, u32)) -> Result<(), String> {
    let scale = (size.0 as f64 / 1920.0).min(size.1 as f64 / 1080.0).max(0.4);
    let px = |v: f64| ((v * scale).round() as u32).max(8);
    let sizes = Sizes { title: px(26.0), label: px(18.0), tick: px(16.0), legend: px(16.0), legend_rows: 1 };
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let (header, body) = root.split_vertically(px(40.0) as i32);
    header
        .draw(&Text::new(figure.title.clone(), (size.0 as i32 / 2, px(8.0) as i32), (FONT, px(24.0)).into_font().color(&BLACK).pos(Pos::new(HPos::Center, VPos::Top))))
        .map_err(|e| e.to_string())?;
    let (left, right) = body.split_horizontally((size.0 as f64 * 0.56) as i32);
    let rows = left.split_evenly((3, 1));
    let axis = figure.axis;
    let last_step = figure.x_until.unwrap_or(figure.history.last_step().unwrap_or(0) as f64);
    let x_range = (axis.to_axis(0.0), axis.to_axis(last_step.max(40.0)) * 1.01);
    let series = figure.series;

    // Loss, log10, at most 12 decades below L0.
    let floor = if figure.loss0 > 0.0 { figure.loss0.log10() - 12.0 } else { -300.0 };
    let log = move |y: f64| y.max(1e-300).log10().max(floor);
    let loss = to_plot(live_view::find(series, LOSS_PLOT, "loss"), axis, log);
    let (lo, hi) = range_of(loss.iter().map(|p| p[1]).chain([log(figure.loss0)]));
    let y_range = ((lo - 0.3).floor(), (hi + 0.3).ceil());
    let mut loss_lines = vec![("loss".into(), loss, BLUE, false), ("initial loss L0".into(), Vec::new(), GREY, true)];
    // The top-s split (SGD and teacher runs), as the window draws it.
    for (name, series_name, color, dashed) in [(format!("loss in the top kernel directions (s = {})", figure.top_s), live_view::LOSS_TOP_S_SERIES, RGBColor(220, 80, 80), false), ("loss in all other directions".to_string(), live_view::LOSS_REST_S_SERIES, RGBColor(120, 190, 120), true)] {
        let points = live_view::find(series, LOSS_PLOT, series_name);
        if !points.is_empty() {
            loss_lines.push((name, to_plot(points, axis, log), color, dashed));
        }
    }
    step_chart(&rows[0], &sizes, "Loss (log scale)", "loss", axis, x_range, y_range, &|y| pow10(*y), &loss_lines, &[], &[(log(figure.loss0), GREY)])?;

    // Kernel: fitted to λ̂ (log when it spans decades), per-step 2/η and 4/η, shading.
    let (k_lo, k_hi, k_log) = live_view::kernel_axis(series);
    let ky = move |y: f64| if k_log { y.max(1e-300).log10() } else { y };
    let k_range = if k_log { pad((ky(k_lo), ky(k_hi))) } else { pad((k_lo, k_hi)) };
    let mut lines = vec![
        ("λ (top)".to_string(), to_plot(live_view::find(series, KERNEL_PLOT, "lambda_hat"), axis, ky), DARK, false),
        ("λ₂ (second)".to_string(), to_plot(live_view::find(series, KERNEL_PLOT, "lambda_hat_2"), axis, ky), PURPLE, false),
        ("2/η (stability edge, per step)".to_string(), to_plot(live_view::find(series, KERNEL_PLOT, "2/eta"), axis, ky), GREEN, true),
    ];
    let four = live_view::find(series, KERNEL_PLOT, "4/eta");
    if !four.is_empty() {
        lines.push(("4/η (catapult edge, per step)".to_string(), to_plot(four, axis, ky), RED, true));
    }
    // The optimizer's own edge and the preconditioned sharpness (optimizers other than gd).
    // The Hessian sharpness λ_H (SPEC §11), against the same 2/η line.
    for (name, series_name, color, dashed) in [("optimizer edge/η (per step)", live_view::OPTIMIZER_EDGE_SERIES, ORANGE, true), ("λ(P⁻¹H) (preconditioned)", live_view::PRECOND_SERIES, RGBColor(200, 60, 160), false), ("λ_H (loss Hessian, largest)", live_view::HESSIAN_SERIES, RGBColor(230, 120, 20), false)] {
        let points = live_view::find(series, KERNEL_PLOT, series_name);
        if !points.is_empty() {
            lines.push((name.to_string(), to_plot(points, axis, ky), color, dashed));
        }
    }
    let shading = regime_runs(&figure.history.step, &figure.history.regime, 0..figure.history.len());
    let k_fmt = move |y: &f64| if k_log { pow10(*y) } else { number(*y) };
    let k_title = if k_log { "Kernel eigenvalues λ and λ₂ (log axis; shading: green stable, orange catapult, red divergent)" } else { "Kernel eigenvalues λ and λ₂ (shading: green stable, orange catapult, red divergent)" };
    step_chart(&rows[1], &sizes, k_title, "eigenvalue", axis, x_range, k_range, &k_fmt, &lines, &shading, &[])?;

    // Weights: |w|² and |w − w0|² (the figure, like the window, squares the distance).
    let norm = to_plot(live_view::find(series, WEIGHTS_PLOT, "weight_norm_sq"), axis, |y| y);
    let dist = to_plot(live_view::find(series, WEIGHTS_PLOT, "dist_from_init"), axis, |y| y * y);
    let (w_lo, w_hi) = range_of(norm.iter().chain(&dist).map(|p| p[1]).chain([0.0]));
    step_chart(&rows[2], &sizes, "Weights: norm² and distance² from init", "size", axis, x_range, pad((w_lo, w_hi)), &|y| number(*y),
        &[("|w|² (weight norm²)".into(), norm, ORANGE, false), ("|w − w0|² (distance² from init)".into(), dist, TEAL, false)], &[], &[])?;

    match figure.uv_reason {
        Some(reason) => {
            let points = to_plot(live_view::find(series, PHASE_PLOT, "eta_lambda"), axis, |y| y);
            let (lo, hi) = range_of(points.iter().map(|p| p[1]).chain([0.0, 2.5]));
            let title = format!("η·λ against the step (no u/v plane: {reason})");
            step_chart(&right, &sizes, &title, "η·λ", axis, x_range, pad((lo, hi)), &|y| number(*y), &[("η·λ".into(), points, DARK, false), ("η·λ = 2".into(), Vec::new(), GREEN, true)], &[], &[(2.0, GREEN)])?;
        }
        None => phase_plane(&right, &sizes, live_view::find(series, PHASE_PLOT, "uv"))?,
    }
    Ok(())
}

/// The u/v plane: v across (clipped at 8, said so), log10 u up, with v = 2, v = 4, u = v − 2,
/// u = v²/4, the stable segment, the trajectory, its start and the newest point.
fn phase_plane(area: &Area, sizes: &Sizes, uv: &[[f64; 2]]) -> Result<(), String> {
    let e = |e: DrawingAreaErrorKind<_>| e.to_string();
    let v_view = 8.0;
    let smallest = uv.iter().map(|p| p[1]).filter(|u| *u > 0.0).fold(f64::INFINITY, f64::min);
    let floor = ((if smallest.is_finite() { smallest.log10() } else { -3.0 }).max(-8.0) - 1.0).min(-3.0).floor();
    let v_reached = uv.iter().map(|p| p[0]).fold(0.0f64, f64::max);
    let v_max = v_reached.clamp(4.5, v_view) * 1.05;
    let trajectory: Vec<(f64, f64)> = uv.iter().map(|p| (p[0].min(v_view), p[1].max(1e-300).log10().max(floor))).collect();
    let top = trajectory.iter().map(|p| p.1).fold((v_max - 2.0).log10().max(1.0), f64::max);
    let clipped = v_reached > v_view;
    let title = if clipped { format!("u/v phase plane (v clipped at {v_view}: the run reached v = {})", number(v_reached)) } else { "u/v phase plane".to_string() };
    let legend_rows = 3;
    let (head, body) = area.split_vertically((sizes.title + 8 + legend_rows * (sizes.legend + 6)) as i32);
    head.draw(&Text::new(title, (70, 2), (FONT, sizes.title).into_font().color(&BLACK))).map_err(e)?;
    let legend_area = head.clone().shrink((0, sizes.title + 6), head.dim_in_pixel());
    let entries = [
        ("v = 2 (stability edge)", GREEN, true),
        ("v = 4 (catapult edge)", RED, true),
        ("u = v − 2 (u grows below it)", ORANGE, false),
        ("u = v²/4 (reachable limit)", PURPLE, true),
        ("u = 0, 0 < v < 2 (stable)", GREEN, false),
        ("trajectory", DARK, false),
        ("start: blue diamond, now: pink dot", BLUE, false),
    ]
    .map(|(n, c, d)| (n.to_string(), c, d));
    legend(&legend_area, &entries, sizes.legend)?;
    let mut chart = ChartBuilder::on(&body)
        .margin_left(sizes.label / 2 + 6)
        .margin_right(16)
        .x_label_area_size(sizes.label * 2 + 14)
        .y_label_area_size(sizes.tick * 5)
        .build_cartesian_2d(0.0..v_max, floor..top + 0.3)
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc("v = η·λ")
        .y_desc("u (log scale)")
        .y_label_formatter(&|y| pow10(*y))
        .label_style((FONT, sizes.tick))
        .axis_desc_style((FONT, sizes.label))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(e)?;
    for (v, color) in [(2.0, GREEN), (4.0, RED)] {
        chart.draw_series(DashedLineSeries::new([(v, floor), (v, top + 0.3)], 10, 6, color.stroke_width(2))).map_err(e)?;
    }
    let n = 200;
    let growth: Vec<(f64, f64)> = (0..=n).map(|i| floor + ((v_max - 2.0).log10() - floor) * i as f64 / n as f64).map(|lu| (2.0 + 10f64.powf(lu), lu)).collect();
    chart.draw_series(LineSeries::new(growth, ORANGE.stroke_width(2))).map_err(e)?;
    let parabola: Vec<(f64, f64)> = (1..=n).map(|i| v_max * i as f64 / n as f64).map(|v| (v, (v * v / 4.0).log10().max(floor))).collect();
    chart.draw_series(DashedLineSeries::new(parabola, 4, 4, PURPLE.stroke_width(2))).map_err(e)?;
    chart.draw_series(LineSeries::new([(0.0, floor), (2.0, floor)], GREEN.stroke_width(8))).map_err(e)?;
    chart.draw_series(LineSeries::new(trajectory.clone(), DARK.stroke_width(2))).map_err(e)?;
    if let Some(&start) = trajectory.first() {
        chart.draw_series([EmptyElement::at(start) + Polygon::new(vec![(0, -8), (8, 0), (0, 8), (-8, 0)], BLUE.filled())]).map_err(e)?;
    }
    if let Some(&now) = trajectory.last() {
        chart.draw_series([Circle::new(now, 8, RGBColor(230, 60, 160).filled())]).map_err(e)?;
    }
    Ok(())
}

/// The series and the figure of a run's history as the window would draw them at its end
/// (step axis chosen as the window chooses it), rendered to `path`. Returns the drawn series.
pub fn render_history(history: &History, preset: &crate::engine::config::Preset, has_eta_max: bool, peak_step: u64, path: &Path, size: (u32, u32)) -> Result<Vec<PlotSeries>, String> {
    let last = history.last_step().unwrap_or(0);
    let axis = super::decimate::default_step_axis(last, 2.0 * peak_step as f64);
    let uv_reason = live_view::uv_not_applicable(preset);
    let options = live_view::ViewOptions { axis, columns: ((size.0 as f64) * 0.5).max(100.0) as usize, has_eta_max, uv_applies: uv_reason.is_none() };
    let series = live_view::live_series(history, 0..history.len(), &options);
    let loss0 = history.loss.first().copied().unwrap_or(1.0);
    let eta = history.eta.last().copied().unwrap_or(0.0);
    let title = format!("{}: {} — η·λ0 = {:.3} at the end, {} steps", preset.name, preset.describe_model(), eta * history.lambda_hat.first().copied().unwrap_or(0.0), last);
    let figure = LiveFigure { history, series: &series, axis, loss0, title, uv_reason, x_until: None, top_s: preset.measure.top_s };
    render_live_png(&figure, path, size)?;
    Ok(series)
}
