//! The live step-axis plots (loss on a log axis; the kernel eigenvalues with the per-step 2/η
//! and 4/η lines, shaded by regime; weight norm² and distance from init; the SGD and AGOP
//! extras). They share the step axis (linear or log) through one egui_plot link group and draw
//! the series of report::live_view (the same points the headless figure draws). Legends sit in
//! a row above each plot, never over the data; hover snaps to the nearest plotted sample.

use super::labels::*;
pub use super::axes::{decade_spacer, log10_clamped, log_step_label, log_step_spacer, pow10_label, step_spacer};
use eframe::egui;
use crate::report::series::{History, Metric, StepAxis, buckets, decimate_buckets, decimate_present_on, has_values, regime_runs};
use crate::report::live_view::{self, KERNEL_PLOT, LOSS_PLOT, PlotSeries, WEIGHTS_PLOT};
use std::cell::RefCell;
use super::pins::Pin;
use crate::app::runner::RunSnapshot;
use crate::engine::sim::Regime;
use egui::{Color32, Id, RichText};
use egui_plot::{AxisHints, HLine, Line, LineStyle, Plot, PlotMemory, PlotPoints, Points, Span};

/// Everything the plots read.
pub struct PlotInputs<'a> {
    pub history: &'a History,
    pub snapshot: Option<&'a RunSnapshot>,
    /// Forget zoom/pan (a new run started).
    pub reset: bool,
    /// Pinned runs, overlaid when visible.
    pub pins: &'a [Pin],
    /// The frame's series (report::live_view), in data units.
    pub series: &'a [PlotSeries],
    pub axis: StepAxis,
    /// The visible rows of the history.
    pub range: std::ops::Range<usize>,
    /// Point groups per plot.
    pub columns: usize,
    /// Where the last hover readout is written (tests read it).
    pub hover: &'a RefCell<Option<HoverReadout>>,
    /// The timeline's chosen step on the step axis (replay cursor), when one before the newest is chosen.
    pub cursor: Option<f64>,
    /// The whole run's last step on the step axis, kept in view while the plots show a cut history.
    pub x_until: Option<f64>,
    /// s of the run's top-s loss split (`measure.top_s`), and where the loss plot's s selector
    /// writes a new choice (the caller restarts the run with it).
    pub top_s: usize,
    pub top_s_choice: &'a std::cell::Cell<Option<usize>>,
}

/// What the hover label showed: the series, the sample's step and its value (data units).
#[derive(Clone, Debug, PartialEq)]
pub struct HoverReadout {
    pub series: String,
    pub step: f64,
    pub value: f64,
}

/// Where a plot, its legend and its newest point were drawn (layout tests read these).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlotLayout {
    pub plot: egui::Rect,
    pub legend: egui::Rect,
    pub newest: Option<egui::Pos2>,
}

impl Default for PlotLayout {
    fn default() -> Self {
        PlotLayout { plot: egui::Rect::NOTHING, legend: egui::Rect::NOTHING, newest: None }
    }
}

/// A legend entry: name, colour, dashed.
pub type LegendEntry = (String, Color32, bool);

/// The legend as a wrapped row above the plot (small text, so Large text scales it).
pub fn legend_row(ui: &mut egui::Ui, entries: &[LegendEntry]) -> egui::Rect {
    ui.horizontal_wrapped(|ui| {
        ui.spacing_mut().item_spacing.x = 10.0;
        for (name, color, dashed) in entries {
            if name.is_empty() {
                continue;
            }
            let glyph = if name.starts_with(['■', '●', '○']) { "" } else if *dashed { "┅ " } else { "━ " };
            ui.label(RichText::new(format!("{glyph}{name}")).small().color(*color));
        }
    })
    .response
    .rect
}

/// The sample of `points` (plot coordinates) nearest to plot x `x`, as a readout in data units.
pub fn snap(points: &[[f64; 2]], series: &str, x: f64, axis: StepAxis, y_to_data: impl Fn(f64) -> f64) -> Option<HoverReadout> {
    let i = points.partition_point(|p| p[0] < x);
    let candidates = [i.checked_sub(1), (i < points.len()).then_some(i)];
    let nearest = candidates.into_iter().flatten().min_by(|&a, &b| (points[a][0] - x).abs().total_cmp(&(points[b][0] - x).abs()))?;
    let p = points[nearest];
    Some(HoverReadout { series: series.to_string(), step: axis.from_axis(p[0]).round(), value: y_to_data(p[1]) })
}

/// The hover text of a readout.
pub fn hover_text(readout: &HoverReadout) -> String {
    format!("{}\nstep {:.0}\n{}", readout.series, readout.step, super::fmt_num(readout.value))
}

/// The height left for a plot in a block of `height` that started at `block_top`.
pub fn rest_of(ui: &egui::Ui, block_top: f32, height: f32) -> f32 {
    (height - (ui.cursor().top() - block_top) - ui.spacing().item_spacing.y).max(min_plot_height(ui))
}

/// The least height a plot (with its axes) gets whatever its block's share: six lines of body
/// text, so a plot under a long legend stays readable with Large text (the live view's left
/// column scrolls when its plots need more than the window has).
pub fn min_plot_height(ui: &egui::Ui) -> f32 {
    (6.0 * ui.text_style_height(&egui::TextStyle::Body)).max(60.0)
}

/// Moves the points of `series` to plot coordinates (`axis` for x, `y_map` for y).
fn to_plot(points: &[[f64; 2]], axis: StepAxis, y_map: impl Fn(f64) -> f64) -> Vec<[f64; 2]> {
    points.iter().map(|p| [axis.to_axis(p[0]), y_map(p[1])]).collect()
}

/// The visible pins' curves of `metric` (decimated over the visible steps), with their colours
/// and labels.
fn pin_lines(ctx: &egui::Context, id: Id, inputs: &PlotInputs, buckets: usize, metric: Metric, transform: impl Fn(f64) -> f64 + Copy) -> Vec<(String, Color32, Vec<[f64; 2]>)> {
    inputs
        .pins
        .iter()
        .filter(|pin| pin.visible && !pin.history.is_empty())
        .map(|pin| {
            let range = visible_range(ctx, id, &pin.history, inputs.reset, inputs.axis);
            let rows = self::buckets(&pin.history.step, range, buckets, inputs.axis);
            let points = decimate_buckets(&pin.history.step, pin.history.column(metric), &rows, |x| inputs.axis.to_axis(x), transform);
            (format!("pinned: {}", pin.label), pin.color, points)
        })
        .collect()
}


const LINK_GROUP: &str = "catapult_step_axis";
/// Steps the x axis shows at least, so the first catapult fills the view.
const MIN_VISIBLE_STEPS: f64 = 40.0;
/// Decades below the initial loss the loss axis reaches; smaller losses sit on its bottom edge.
const LOSS_DECADES: f64 = 12.0;

pub fn regime_color(regime: Regime) -> Color32 {
    match regime {
        Regime::Stable => Color32::from_rgb(60, 170, 90),
        Regime::Catapult => Color32::from_rgb(235, 150, 30),
        Regime::Divergent => Color32::from_rgb(220, 60, 60),
    }
}

fn title(ui: &mut egui::Ui, text: &str, help: &str) {
    ui.label(RichText::new(text).strong().size(ui.style().text_styles[&egui::TextStyle::Body].size * 1.1))
        .on_hover_text(help);
}

/// The visible step range of a plot (last frame's bounds when the user zoomed, else all).
pub fn visible_range(ctx: &egui::Context, id: Id, history: &History, reset: bool, axis: StepAxis) -> std::ops::Range<usize> {
    if !reset
        && let Some(memory) = PlotMemory::load(ctx, id)
        && !memory.auto_bounds.x
    {
        let range = memory.bounds().range_x();
        return history.index_range(axis.from_axis(*range.start()), axis.from_axis(*range.end()));
    }
    0..history.len()
}

/// The id of the loss plot (its zoom decides the visible steps of all the linked plots).
pub fn loss_plot_id() -> Id {
    Id::unique("plot_loss")
}

fn base_plot<'a>(id: Id, height: f32, inputs: &PlotInputs) -> Plot<'a> {
    let (reset, axis) = (inputs.reset, inputs.axis);
    let mut plot = Plot::new(id)
        .id(id)
        .height(height)
        .link_axis(Id::unique(LINK_GROUP), [true, false])
        .link_cursor(Id::unique(LINK_GROUP), [true, false])
        .include_x(0.0)
        .y_axis_min_width(64.0)
        .allow_scroll(false);
    plot = match axis {
        StepAxis::Linear => plot.include_x(MIN_VISIBLE_STEPS).custom_x_axes(vec![x_axis("step")]).x_grid_spacer(step_spacer),
        StepAxis::Log => plot
            .include_x(StepAxis::Log.to_axis(MIN_VISIBLE_STEPS))
            .custom_x_axes(vec![x_axis("step (log scale)").formatter(|mark, _| log_step_label(mark.value))])
            .x_grid_spacer(log_step_spacer),
    };
    if let Some(x) = inputs.x_until {
        plot = plot.include_x(x);
    }
    if reset {
        plot = plot.reset();
    }
    plot
}

/// An x axis whose tick labels show down to ~30 points apart (egui_plot's default hides them
/// below 60, which leaves narrow plots without labels).
pub fn x_axis(label: &str) -> AxisHints<'static> {
    AxisHints::new_x().label(label.to_string()).label_spacing(30.0..=45.0)
}

/// A label formatter that snaps to the nearest sample of `points` (plot coordinates) and names
/// `series`; it records the readout in `sink`.
fn snapping_formatter<'a>(points: Vec<[f64; 2]>, series: &'a str, axis: StepAxis, y_to_data: impl Fn(f64) -> f64 + 'a, sink: &'a RefCell<Option<HoverReadout>>) -> impl Fn(&egui_plot::HoverPosition<'_>) -> Option<String> + 'a {
    move |pos| {
        let x = match pos {
            egui_plot::HoverPosition::NearDataPoint { position, .. } | egui_plot::HoverPosition::Elsewhere { position } => position.x,
        };
        let readout = snap(&points, series, x, axis, &y_to_data)?;
        let text = hover_text(&readout);
        *sink.borrow_mut() = Some(readout);
        Some(text)
    }
}

/// Loss on a log10 axis.
pub fn loss_plot(ui: &mut egui::Ui, inputs: &PlotInputs, height: f32) -> PlotLayout {
    // `height` is the whole block (title, legend, plot): the plot gets what the text leaves.
    let block_top = ui.cursor().top();
    // Converged runs reach 1e-30 and below; show at most LOSS_DECADES below the initial loss.
    let floor = inputs.snapshot.map(|s| s.loss0).filter(|l| *l > 0.0).map_or(-300.0, |l0| l0.log10() - LOSS_DECADES);
    let to_axis = move |loss: f64| log10_clamped(loss).max(floor);
    title(
        ui,
        LOSS_TITLE,
        "The training loss at every step, on a log scale. Lazy: it falls steadily. Catapult: it first \
         shoots up (the residual flips sign each step), peaks, then collapses. Divergent: it only grows.",
    );
    let id = loss_plot_id();
    let history = inputs.history;
    let axis = inputs.axis;
    let range = inputs.range.clone();
    let buckets = inputs.columns;
    let points = to_plot(live_view::find(inputs.series, LOSS_PLOT, "loss"), axis, to_axis);
    let current = history.loss.last().map(|&l| [axis.to_axis(history.step[history.len() - 1]), to_axis(l)]);
    let loss0 = inputs.snapshot.map(|s| s.loss0);
    let pinned = pin_lines(ui.ctx(), id, inputs, buckets, Metric::Loss, to_axis);
    // SGD and teacher runs: test loss, the loss split by kernel direction, and the steps where the loss rose.
    let sgd = has_values(&history.batch_crit_eta);
    let teacher = has_values(&history.test_loss);
    let test_loss = teacher.then(|| decimate_present_on(&history.step, &history.test_loss, range.clone(), buckets, axis, to_axis));
    let split = super::hessian_lines::SplitLines::new(inputs.series, axis, to_axis, inputs.top_s);
    let rises = sgd.then(|| loss_rises(history, range.clone(), axis, to_axis));
    let loss_name = if teacher { "training loss" } else { "loss" };
    let blue = Color32::from_rgb(80, 140, 230);
    let mut legend: Vec<LegendEntry> = vec![(loss_name.into(), blue, false), ("initial loss L0".into(), Color32::GRAY, true)];
    if test_loss.is_some() {
        legend.push((TEST_LOSS_SERIES.into(), Color32::from_rgb(235, 150, 30), false));
    }
    split.legend(&mut legend);
    if sgd {
        legend.push((format!("● {RISE_ABOVE_SERIES}"), Color32::from_rgb(230, 50, 50), false));
        legend.push((format!("○ {RISE_BELOW_SERIES}"), Color32::GRAY, false));
    }
    legend.extend(pinned.iter().map(|(name, color, _)| (name.clone(), *color, false)));
    let mut legend_rect = legend_row(ui, &legend);
    if split.is_shown() {
        legend_rect = legend_rect.union(ui.scope(|ui| super::hessian_lines::top_s_selector(ui, inputs.top_s, inputs.top_s_choice)).response.rect);
    }
    let y_axis = AxisHints::new_y().label("loss").formatter(|mark, _| pow10_label(mark.value));
    let floor_value = 10f64.powf(floor);
    let formatter = snapping_formatter(points.clone(), loss_name, axis, move |y| if y <= floor + 1e-9 { floor_value } else { 10f64.powf(y) }, inputs.hover);
    let mut newest = None;
    let rect = base_plot(id, rest_of(ui, block_top, height), inputs)
        .custom_y_axes(vec![y_axis])
        .y_grid_spacer(decade_spacer)
        .label_formatter(formatter)
        .show(ui, |plot_ui| {
            if let Some(l0) = loss0 {
                plot_ui.hline(HLine::new("initial loss L0", log10_clamped(l0)).color(Color32::GRAY).style(LineStyle::dashed_loose()));
            }
            for (name, color, points) in pinned {
                plot_ui.line(Line::new(name, PlotPoints::new(points)).color(color).width(1.5));
            }
            plot_ui.line(Line::new(loss_name, PlotPoints::new(points)).color(blue).width(2.0));
            if let Some(points) = test_loss {
                plot_ui.line(Line::new(TEST_LOSS_SERIES, PlotPoints::new(points)).color(Color32::from_rgb(235, 150, 30)).width(1.8));
            }
            split.draw(plot_ui);
            if let Some((above, below)) = rises {
                plot_ui.points(Points::new(RISE_ABOVE_SERIES, above).radius(3.0).color(Color32::from_rgb(230, 50, 50)));
                plot_ui.points(Points::new(RISE_BELOW_SERIES, below).radius(3.0).filled(false).color(Color32::GRAY));
            }
            super::timeline::cursor_line(plot_ui, inputs);
            if let Some(p) = current {
                plot_ui.points(Points::new("", vec![p]).radius(4.0).color(blue));
                newest = Some(plot_ui.screen_from_plot(egui_plot::PlotPoint::new(p[0], p[1])));
            }
        })
        .response
        .rect;
    PlotLayout { plot: rect, legend: legend_rect, newest }
}

/// The steps (in `range`) where the training loss rose, split by whether η was above the
/// batch critical rate of the batch that made the step (the engine counts them the same way).
fn loss_rises(history: &History, range: std::ops::Range<usize>, axis: StepAxis, to_axis: impl Fn(f64) -> f64) -> (Vec<[f64; 2]>, Vec<[f64; 2]>) {
    let (mut above, mut below) = (Vec::new(), Vec::new());
    for i in range.start.max(1)..range.end {
        let Some(critical) = history.batch_crit_eta[i] else { continue };
        if history.loss[i] > history.loss[i - 1] {
            let point = [axis.to_axis(history.step[i]), to_axis(history.loss[i])];
            if history.eta[i] > critical { above.push(point) } else { below.push(point) }
        }
    }
    (above, below)
}

/// λ̂ and λ̂_2 with the per-step 2/η and 4/η lines; the background is shaded by the regime of
/// each step. The axis fits the data (log10 when λ̂ spans decades), not the lines.
pub fn lambda_plot(ui: &mut egui::Ui, inputs: &PlotInputs, height: f32) -> PlotLayout {
    // `height` is the whole block (title, legend, plot): the plot gets what the text leaves.
    let block_top = ui.cursor().top();
    let hessian = super::hessian_lines::HessianLine::new(inputs.series, inputs.axis, {
        let (_, _, log) = live_view::kernel_axis(inputs.series);
        move |y: f64| if log { log10_clamped(y) } else { y }
    });
    title(
        ui,
        LAMBDA_TITLE,
        &hessian.help("The top two eigenvalues of the (normalized) neural tangent kernel: how sharp the loss landscape is. \
         Gradient descent is stable while λ stays below the dashed line 2/η (drawn with the η of each step, so \
         it moves when η changes). In a catapult λ falls until it is below 2/η again. Above 4/η (where theory \
         gives it) the run diverges. The shading shows each step's regime: green stable, orange catapult zone, \
         red divergent zone."),
    );
    let id = Id::unique("plot_lambda");
    let history = inputs.history;
    let axis = inputs.axis;
    let (y_lo, y_hi, log) = live_view::kernel_axis(inputs.series);
    let y_map = move |y: f64| if log { log10_clamped(y) } else { y };
    let series = |name: &str| to_plot(live_view::find(inputs.series, KERNEL_PLOT, name), axis, y_map);
    let lambda = series("lambda_hat");
    let lambda_2 = series("lambda_hat_2");
    let two_over_eta = series("2/eta");
    let four_over_eta = series("4/eta");
    let lambda_ntk = has_values(&history.lambda_ntk).then(|| decimate_present_on(&history.step, &history.lambda_ntk, inputs.range.clone(), inputs.columns, axis, y_map));
    let runs = regime_runs(&history.step, &history.regime, inputs.range.clone());
    let current = history.lambda_hat.last().map(|&l| [axis.to_axis(history.step[history.len() - 1]), y_map(l)]);
    let pinned = pin_lines(ui.ctx(), id, inputs, inputs.columns, Metric::LambdaHat, y_map);
    let stroke_color = ui.visuals().text_color();
    let green = Color32::from_rgb(60, 170, 90);
    let red = Color32::from_rgb(220, 60, 60);
    let top_name = if lambda_ntk.is_some() { "λ (top; effective sharpness, with ℓ'')" } else { "λ (top)" };
    let mut legend: Vec<LegendEntry> = vec![(top_name.into(), stroke_color, false), ("λ₂ (second)".into(), Color32::from_rgb(150, 110, 200), false), ("2/η (stability edge, per step)".into(), green, true)];
    if !four_over_eta.is_empty() {
        legend.push(("4/η (catapult edge, per step)".into(), red, true));
    }
    if lambda_ntk.is_some() {
        legend.push((LAMBDA_NTK_SERIES.into(), Color32::from_rgb(40, 170, 200), false));
    }
    let optimizer_lines = super::optimizer_lines::OptimizerLines::new(inputs.series, axis, y_map);
    optimizer_lines.legend(&mut legend);
    hessian.legend(&mut legend);
    legend.extend(pinned.iter().map(|(name, color, _)| (name.clone(), *color, false)));
    // The shading key shares the legend row (one row less on small windows).
    legend.extend([Regime::Stable, Regime::Catapult, Regime::Divergent].map(|r| (format!("■ {}", r.label().split(" (").next().unwrap_or("")), regime_color(r), false)));
    if log {
        legend.push(("(log axis: λ spans decades)".into(), stroke_color, false));
    }
    let legend_rect = legend_row(ui, &legend);
    let formatter = snapping_formatter(lambda.clone(), top_name, axis, move |y| if log { 10f64.powf(y) } else { y }, inputs.hover);
    let mut plot = base_plot(id, rest_of(ui, block_top, height), inputs).include_y(y_map(y_lo)).include_y(y_map(y_hi)).label_formatter(formatter);
    if log {
        plot = plot.custom_y_axes(vec![AxisHints::new_y().label("eigenvalue (log scale)").formatter(|mark, _| pow10_label(mark.value))]).y_grid_spacer(decade_spacer);
    } else {
        plot = plot.y_axis_label("eigenvalue");
    }
    let mut newest = None;
    let rect = plot
        .show(ui, |plot_ui| {
            for (from, to, regime) in runs {
                let color = regime_color(regime).gamma_multiply(0.16);
                plot_ui.span(Span::new("", axis.to_axis(from - 0.5).max(axis.to_axis(0.0) - 0.01)..=axis.to_axis(to + 0.5)).fill(color).border_width(0.0));
            }
            plot_ui.line(Line::new("2/η (stability edge)", PlotPoints::new(two_over_eta)).color(green).style(LineStyle::dashed_dense()).width(1.5));
            if !four_over_eta.is_empty() {
                plot_ui.line(Line::new("4/η (catapult edge)", PlotPoints::new(four_over_eta)).color(red).style(LineStyle::dashed_dense()).width(1.5));
            }
            optimizer_lines.draw(plot_ui);
            hessian.draw(plot_ui);
            for (name, color, points) in pinned {
                plot_ui.line(Line::new(name, PlotPoints::new(points)).color(color).width(1.5));
            }
            plot_ui.line(Line::new(top_name, PlotPoints::new(lambda)).color(stroke_color).width(2.0));
            plot_ui.line(Line::new("λ₂ (second)", PlotPoints::new(lambda_2)).color(Color32::from_rgb(150, 110, 200)).width(1.5));
            if let Some(points) = lambda_ntk {
                plot_ui.line(Line::new(LAMBDA_NTK_SERIES, PlotPoints::new(points)).color(Color32::from_rgb(40, 170, 200)).width(1.8));
            }
            super::timeline::cursor_line(plot_ui, inputs);
            if let Some(p) = current {
                plot_ui.points(Points::new("", vec![p]).radius(4.0).color(stroke_color));
                newest = Some(plot_ui.screen_from_plot(egui_plot::PlotPoint::new(p[0], p[1])));
            }
        })
        .response
        .rect;
    PlotLayout { plot: rect, legend: legend_rect, newest }
}

/// ‖w‖² and ‖w − w0‖².
pub fn weights_plot(ui: &mut egui::Ui, inputs: &PlotInputs, height: f32) -> PlotLayout {
    // `height` is the whole block (title, legend, plot): the plot gets what the text leaves.
    let block_top = ui.cursor().top();
    title(
        ui,
        WEIGHTS_TITLE,
        "How far training moves the weights. Lazy runs barely move (the kernel stays almost fixed). \
         A catapult throws the weights a long way (about √m) to a flatter region before training settles.",
    );
    let id = Id::unique("plot_weights");
    let axis = inputs.axis;
    let norm = to_plot(live_view::find(inputs.series, WEIGHTS_PLOT, "weight_norm_sq"), axis, |y| y);
    // Squared, so it shares the scale of |w|² (a catapult moves the weights by about √m).
    let dist = to_plot(live_view::find(inputs.series, WEIGHTS_PLOT, "dist_from_init"), axis, |y| y * y);
    let pinned = pin_lines(ui.ctx(), id, inputs, inputs.columns, Metric::WeightNormSq, |y| y);
    let orange = Color32::from_rgb(200, 120, 60);
    let teal = Color32::from_rgb(40, 160, 170);
    let mut legend: Vec<LegendEntry> = vec![("|w|² (weight norm²)".into(), orange, false), ("|w − w0|² (distance² from init)".into(), teal, false)];
    legend.extend(pinned.iter().map(|(name, color, _)| (format!("{name}: |w|²"), *color, false)));
    let legend_rect = legend_row(ui, &legend);
    let formatter = snapping_formatter(norm.clone(), "|w|²", axis, |y| y, inputs.hover);
    let mut newest = None;
    let rect = base_plot(id, rest_of(ui, block_top, height), inputs)
        .include_y(0.0)
        .y_axis_label("size")
        .label_formatter(formatter)
        .show(ui, |plot_ui| {
            super::timeline::cursor_line(plot_ui, inputs);
            if let Some(p) = norm.last().copied() {
                newest = Some(plot_ui.screen_from_plot(egui_plot::PlotPoint::new(p[0], p[1])));
            }
            plot_ui.line(Line::new("|w|² (weight norm²)", PlotPoints::new(norm)).color(orange).width(2.0));
            plot_ui.line(Line::new("|w − w0|² (distance² from init)", PlotPoints::new(dist)).color(teal).width(2.0));
            for (name, color, points) in pinned {
                plot_ui.line(Line::new(format!("{name}: |w|²"), PlotPoints::new(points)).color(color).width(1.5));
            }
        })
        .response
        .rect;
    PlotLayout { plot: rect, legend: legend_rect, newest }
}

/// SGD: the learning rate η against the batch critical rate 2/λ̂(batch) of the batch behind each
/// step; steps with η above it are marked.
pub fn sgd_rate_plot(ui: &mut egui::Ui, inputs: &PlotInputs, height: f32) -> egui::Rect {
    // `height` is the whole block (title, legend, plot): the plot gets what the text leaves.
    let block_top = ui.cursor().top();
    title(
        ui,
        SGD_TITLE,
        "Stochastic gradient descent takes each step on a small batch. That batch has its own sharpness \
         λ(batch) and so its own critical rate 2/λ(batch): a step with η above it is unstable for that batch \
         and can throw a small catapult. The grey line is each step's batch critical rate, the blue line η. Red \
         dots: steps where η was above it. Compare with the red dots on the loss plot (steps where the loss rose): \
         smaller batches are sharper, so η crosses their edge more often.",
    );
    let id = Id::unique("plot_sgd_rate");
    let history = inputs.history;
    let axis = inputs.axis;
    let range = inputs.range.clone();
    let critical = decimate_present_on(&history.step, &history.batch_crit_eta, range.clone(), inputs.columns, axis, |y| y);
    let rows = buckets(&history.step, range.clone(), inputs.columns, axis);
    let eta = decimate_buckets(&history.step, &history.eta, &rows, |x| axis.to_axis(x), |y| y);
    let above: Vec<[f64; 2]> = range
        .filter_map(|i| history.batch_crit_eta[i].filter(|c| history.eta[i] > *c).map(|c| [axis.to_axis(history.step[i]), c]))
        .collect();
    legend_row(ui, &[(BATCH_CRIT_SERIES.into(), Color32::GRAY, false), ("η (learning rate, per step)".into(), Color32::from_rgb(80, 140, 230), false), (format!("● {ETA_ABOVE_SERIES}"), Color32::from_rgb(230, 50, 50), false)]);
    let formatter = snapping_formatter(eta.clone(), "η", axis, |y| y, inputs.hover);
    base_plot(id, rest_of(ui, block_top, height), inputs)
        .include_y(0.0)
        .y_axis_label("learning rate")
        .label_formatter(formatter)
        .show(ui, |plot_ui| {
            plot_ui.line(Line::new(BATCH_CRIT_SERIES, PlotPoints::new(critical)).color(Color32::GRAY).width(1.2));
            plot_ui.line(Line::new("η (learning rate)", PlotPoints::new(eta)).color(Color32::from_rgb(80, 140, 230)).width(2.0));
            plot_ui.points(Points::new(ETA_ABOVE_SERIES, above).radius(2.5).color(Color32::from_rgb(230, 50, 50)));
        })
        .response
        .rect
}

/// Teacher data: the alignment cos(G, G*) of the model's AGOP with the teacher's, per step.
pub fn agop_alignment_plot(ui: &mut egui::Ui, inputs: &PlotInputs, height: f32) -> egui::Rect {
    // `height` is the whole block (title, legend, plot): the plot gets what the text leaves.
    let block_top = ui.cursor().top();
    title(
        ui,
        AGOP_ALIGNMENT_TITLE,
        "How much the network has learned the teacher's features: the cosine between the model's average \
         gradient outer product G = mean ∇_xf ∇_xf^T and the teacher's G*. 1 = the same directions. A kernel \
         (lazy) model barely moves it; catapults raise it, and smaller SGD batches (more catapults) raise it more.",
    );
    let id = Id::unique("plot_agop_alignment");
    let history = inputs.history;
    let alignment = decimate_present_on(&history.step, &history.agop_alignment, inputs.range.clone(), inputs.columns, inputs.axis, |y| y);
    let formatter = snapping_formatter(alignment.clone(), "cos(G, G*)", inputs.axis, |y| y, inputs.hover);
    base_plot(id, rest_of(ui, block_top, height), inputs)
        .include_y(0.0)
        .include_y(1.0)
        .y_axis_label("cos(G, G*)")
        .label_formatter(formatter)
        .show(ui, |plot_ui| {
            plot_ui.line(Line::new("AGOP alignment cos(G, G*)", PlotPoints::new(alignment)).color(Color32::from_rgb(200, 120, 220)).width(2.0));
        })
        .response
        .rect
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decade_labels() {
        assert_eq!(pow10_label(-3.0), "10^-3");
        assert_eq!(pow10_label(0.0), "1");
        assert_eq!(pow10_label(2.0), "10^2");
    }
}
