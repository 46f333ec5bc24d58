//! The three live step-axis plots (loss on a log axis; the kernel eigenvalues with the 2/η and
//! 4/η stability lines, shaded by regime; weight norm² and distance from init). They share the
//! step axis through one egui_plot link group and draw decimated history only.

use super::labels::*;
use eframe::egui;
use crate::report::series::{History, Metric, decimate, decimate_present, has_values, regime_runs};
use super::pins::Pin;
use crate::app::runner::RunSnapshot;
use crate::engine::sim::Regime;
use egui::{Color32, Id, RichText};
use egui_plot::{AxisHints, GridInput, GridMark, HLine, Legend, Line, LineStyle, Plot, PlotMemory, PlotPoints, Points, Span};

/// Everything the plots read.
pub struct PlotInputs<'a> {
    pub history: &'a History,
    pub snapshot: Option<&'a RunSnapshot>,
    /// Forget zoom/pan (a new run started).
    pub reset: bool,
    /// Pinned runs, overlaid when visible.
    pub pins: &'a [Pin],
}

/// The visible pins' curves of `metric` (decimated over the visible steps), with their colours
/// and labels.
fn pin_lines(ctx: &egui::Context, id: Id, inputs: &PlotInputs, buckets: usize, metric: Metric, transform: impl Fn(f64) -> f64 + Copy) -> Vec<(String, Color32, Vec<[f64; 2]>)> {
    inputs
        .pins
        .iter()
        .filter(|pin| pin.visible && !pin.history.is_empty())
        .map(|pin| {
            let range = visible_range(ctx, id, &pin.history, inputs.reset);
            let points = decimate(&pin.history.step, pin.history.column(metric), range, buckets, transform);
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

/// log10 of a positive value for a log axis; zero or negative values sit at 1e-300.
pub fn log10_clamped(value: f64) -> f64 {
    value.max(1e-300).log10()
}

/// Tick label for a log10 axis: 10^k at integers, the plain value elsewhere.
pub fn pow10_label(log_value: f64) -> String {
    let rounded = log_value.round();
    if (log_value - rounded).abs() < 1e-9 {
        let k = rounded as i64;
        match k {
            0 => "1".to_string(),
            1 => "10".to_string(),
            _ => format!("10^{k}"),
        }
    } else {
        format!("{:.2e}", 10f64.powf(log_value))
    }
}

/// Grid marks at whole decades (every k-th decade when the range is wide), or the default
/// 1-2-5 marks when less than two decades are shown.
pub fn decade_spacer(input: GridInput) -> Vec<GridMark> {
    let (lo, hi) = input.bounds;
    let span = hi - lo;
    if !(span.is_finite()) || span <= 0.0 {
        return Vec::new();
    }
    if span < 2.0 {
        return (egui_plot::log_grid_spacer(10))(input);
    }
    let every = [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0].into_iter().find(|e| span / e <= 8.0).unwrap_or(100.0);
    let mut marks = Vec::new();
    let mut k = (lo / every).floor() * every;
    while k <= hi {
        if k >= lo {
            marks.push(GridMark { value: k, step_size: every });
        }
        k += every;
    }
    marks
}

/// Step-axis grid: major marks at a 1-2-5 step giving about six labels, minor marks at a
/// fifth of it (the default base-10 spacer labels only 0 between 40 and 100 steps).
pub fn step_spacer(input: GridInput) -> Vec<GridMark> {
    let (lo, hi) = input.bounds;
    let span = hi - lo;
    if !span.is_finite() || span <= 0.0 {
        return Vec::new();
    }
    let raw = span / 6.0;
    let decade = 10f64.powf(raw.log10().floor());
    let major = [1.0, 2.0, 5.0, 10.0].into_iter().map(|f| f * decade).find(|s| *s >= raw).unwrap_or(10.0 * decade);
    let minor = major / 5.0;
    let mut marks = Vec::new();
    let mut i = (lo / minor).floor() as i64;
    loop {
        let value = i as f64 * minor;
        if value > hi {
            break;
        }
        if value >= lo {
            let is_major = (value / major - (value / major).round()).abs() < 1e-9;
            marks.push(GridMark { value, step_size: if is_major { major } else { minor } });
        }
        i += 1;
    }
    marks
}

/// Hover text for a point on a log axis.
fn log_hover(name: &str, x: f64, log_y: f64) -> String {
    format!("{name}\nstep {x:.0}\n{:.4e}", 10f64.powf(log_y))
}

fn title(ui: &mut egui::Ui, text: &str, help: &str) {
    ui.label(RichText::new(text).strong().size(ui.style().text_styles[&egui::TextStyle::Body].size * 1.1))
        .on_hover_text(help);
}

/// The visible step range of a plot (last frame's bounds when the user zoomed, else all).
fn visible_range(ctx: &egui::Context, id: Id, history: &History, reset: bool) -> std::ops::Range<usize> {
    if !reset
        && let Some(memory) = PlotMemory::load(ctx, id)
        && !memory.auto_bounds.x
    {
        let range = memory.bounds().range_x();
        return history.index_range(*range.start(), *range.end());
    }
    0..history.len()
}

fn base_plot(id: Id, height: f32, reset: bool) -> Plot<'static> {
    let mut plot = Plot::new(id)
        .id(id)
        .height(height)
        .link_axis(Id::unique(LINK_GROUP), [true, false])
        .link_cursor(Id::unique(LINK_GROUP), [true, false])
        .include_x(0.0)
        .include_x(MIN_VISIBLE_STEPS)
        .x_axis_label("step")
        .x_grid_spacer(step_spacer)
        .y_axis_min_width(64.0)
        .legend(
            Legend::default()
                .position(egui_plot::Corner::RightTop)
                .background_alpha(0.6)
                .follow_insertion_order(true)
                .text_style(egui::TextStyle::Small),
        )
        .allow_scroll(false);
    if reset {
        plot = plot.reset();
    }
    plot
}

/// Loss on a log10 axis.
pub fn loss_plot(ui: &mut egui::Ui, inputs: &PlotInputs, height: f32) -> egui::Rect {
    // Converged runs reach 1e-30 and below; show at most LOSS_DECADES below the initial loss.
    let floor = inputs.snapshot.map(|s| s.loss0).filter(|l| *l > 0.0).map_or(-300.0, |l0| l0.log10() - LOSS_DECADES);
    let to_axis = move |loss: f64| log10_clamped(loss).max(floor);
    title(
        ui,
        LOSS_TITLE,
        "The training loss at every step, on a log scale. Lazy: it falls steadily. Catapult: it first \
         shoots up (the residual flips sign each step), peaks, then collapses. Divergent: it only grows.",
    );
    let id = Id::unique("plot_loss");
    let history = inputs.history;
    let range = visible_range(ui.ctx(), id, history, inputs.reset);
    let buckets = ui.available_width().max(100.0) as usize;
    let points = decimate(&history.step, history.column(Metric::Loss), range.clone(), buckets, to_axis);
    let current = history.loss.last().map(|&l| [history.step[history.len() - 1], to_axis(l)]);
    let loss0 = inputs.snapshot.map(|s| s.loss0);
    let pinned = pin_lines(ui.ctx(), id, inputs, buckets, Metric::Loss, to_axis);
    // SGD and teacher runs: test loss, the loss split by kernel direction, and the steps where the loss rose.
    let sgd = has_values(&history.batch_crit_eta);
    let teacher = has_values(&history.test_loss);
    let test_loss = teacher.then(|| decimate_present(&history.step, &history.test_loss, range.clone(), buckets, to_axis));
    let split = (sgd || teacher) && has_values(&history.loss_top);
    let loss_top = split.then(|| decimate_present(&history.step, &history.loss_top, range.clone(), buckets, to_axis));
    let loss_rest = split.then(|| {
        let rest: Vec<Option<f64>> = range.clone().map(|i| history.loss_top[i].map(|top| history.loss[i] - top)).collect();
        let steps = &history.step[range.clone()];
        decimate_present(steps, &rest, 0..rest.len(), buckets, to_axis)
    });
    let rises = sgd.then(|| loss_rises(history, range.clone(), to_axis));
    let y_axis = AxisHints::new_y().label("loss").formatter(|mark, _| pow10_label(mark.value));
    base_plot(id, height, inputs.reset)
        .custom_y_axes(vec![y_axis])
        .y_grid_spacer(decade_spacer)
        .label_formatter(|pos| match pos {
            egui_plot::HoverPosition::NearDataPoint { plot_name, position, .. } if position.y <= floor + 1e-9 => {
                Some(format!("{plot_name}\nstep {:.0}\nbelow {:.1e} (bottom edge)", position.x, 10f64.powf(floor)))
            }
            egui_plot::HoverPosition::NearDataPoint { plot_name, position, .. } => Some(log_hover(plot_name, position.x, position.y)),
            egui_plot::HoverPosition::Elsewhere { position } => Some(log_hover("", position.x, position.y)),
        })
        .show(ui, |plot_ui| {
            if let Some(l0) = loss0 {
                plot_ui.hline(
                    HLine::new("initial loss L0", log10_clamped(l0))
                        .color(Color32::GRAY)
                        .style(LineStyle::dashed_loose()),
                );
            }
            for (name, color, points) in pinned {
                plot_ui.line(Line::new(name, PlotPoints::new(points)).color(color).width(1.5));
            }
            plot_ui.line(Line::new(if teacher { "training loss" } else { "loss" }, PlotPoints::new(points)).color(Color32::from_rgb(80, 140, 230)).width(2.0));
            if let Some(points) = test_loss {
                plot_ui.line(Line::new(TEST_LOSS_SERIES, PlotPoints::new(points)).color(Color32::from_rgb(235, 150, 30)).width(1.8));
            }
            if let Some(points) = loss_top {
                plot_ui.line(Line::new(LOSS_TOP_SERIES, PlotPoints::new(points)).color(Color32::from_rgb(220, 80, 80)).width(1.2));
            }
            if let Some(points) = loss_rest {
                plot_ui.line(Line::new(LOSS_REST_SERIES, PlotPoints::new(points)).color(Color32::from_rgb(120, 190, 120)).width(1.2).style(LineStyle::dashed_dense()));
            }
            if let Some((above, below)) = rises {
                plot_ui.points(Points::new(RISE_ABOVE_SERIES, above).radius(3.0).color(Color32::from_rgb(230, 50, 50)));
                plot_ui.points(Points::new(RISE_BELOW_SERIES, below).radius(3.0).filled(false).color(Color32::GRAY));
            }
            if let Some(p) = current {
                plot_ui.points(Points::new("", vec![p]).radius(4.0).color(Color32::from_rgb(80, 140, 230)));
            }
        })
        .response
        .rect
}

/// The steps (in `range`) where the training loss rose, split by whether η was above the
/// batch critical rate of the batch that made the step (the engine counts them the same way).
fn loss_rises(history: &History, range: std::ops::Range<usize>, to_axis: impl Fn(f64) -> f64) -> (Vec<[f64; 2]>, Vec<[f64; 2]>) {
    let (mut above, mut below) = (Vec::new(), Vec::new());
    for i in range.start.max(1)..range.end {
        let Some(critical) = history.batch_crit_eta[i] else { continue };
        if history.loss[i] > history.loss[i - 1] {
            let point = [history.step[i], to_axis(history.loss[i])];
            if history.eta[i] > critical { above.push(point) } else { below.push(point) }
        }
    }
    (above, below)
}

/// λ̂ and λ̂_2 with the 2/η and 4/η lines; the background is shaded by the regime of each step.
pub fn lambda_plot(ui: &mut egui::Ui, inputs: &PlotInputs, height: f32) -> egui::Rect {
    title(
        ui,
        LAMBDA_TITLE,
        "The top two eigenvalues of the (normalized) neural tangent kernel: how sharp the loss landscape is. \
         Gradient descent is stable while λ stays below the dashed line 2/η. In a catapult λ falls until it is \
         below 2/η again. Above 4/η (where theory gives it) the run diverges. The shading shows each step's \
         regime: green stable, orange catapult zone, red divergent zone.",
    );
    let id = Id::unique("plot_lambda");
    let history = inputs.history;
    let range = visible_range(ui.ctx(), id, history, inputs.reset);
    let buckets = ui.available_width().max(100.0) as usize;
    let lambda = decimate(&history.step, history.column(Metric::LambdaHat), range.clone(), buckets, |y| y);
    let lambda_2 = decimate(&history.step, history.column(Metric::LambdaHat2), range.clone(), buckets, |y| y);
    let lambda_ntk = has_values(&history.lambda_ntk).then(|| decimate_present(&history.step, &history.lambda_ntk, range.clone(), buckets, |y| y));
    let runs = regime_runs(&history.step, &history.regime, range);
    let eta = inputs.snapshot.map(|s| s.eta);
    let has_eta_max = inputs.snapshot.is_some_and(|s| s.eta_max_theory.is_some());
    let current = history.lambda_hat.last().map(|&l| [history.step[history.len() - 1], l]);
    let pinned = pin_lines(ui.ctx(), id, inputs, buckets, Metric::LambdaHat, |y| y);
    let stroke_color = ui.visuals().text_color();
    ui.horizontal(|ui| {
        ui.label(RichText::new("shading:").small());
        for regime in [Regime::Stable, Regime::Catapult, Regime::Divergent] {
            ui.label(RichText::new(format!("■ {}", regime.label())).small().color(regime_color(regime)));
        }
    });
    base_plot(id, height, inputs.reset)
        .include_y(0.0)
        .y_axis_label("eigenvalue")
        .show(ui, |plot_ui| {
            for (from, to, regime) in runs {
                let color = regime_color(regime).gamma_multiply(0.16);
                plot_ui.span(Span::new("", from - 0.5..=to + 0.5).fill(color).border_width(0.0));
            }
            if let Some(eta) = eta.filter(|e| *e > 0.0) {
                plot_ui.hline(HLine::new("2/η (stability edge)", 2.0 / eta).color(Color32::from_rgb(60, 170, 90)).style(LineStyle::dashed_dense()).width(1.5));
                if has_eta_max {
                    plot_ui.hline(HLine::new("4/η (catapult edge)", 4.0 / eta).color(Color32::from_rgb(220, 60, 60)).style(LineStyle::dashed_dense()).width(1.5));
                }
            }
            for (name, color, points) in pinned {
                plot_ui.line(Line::new(name, PlotPoints::new(points)).color(color).width(1.5));
            }
            let top_name = if lambda_ntk.is_some() { "λ (top; effective sharpness, with ℓ'')" } else { "λ (top)" };
            plot_ui.line(Line::new(top_name, PlotPoints::new(lambda)).color(stroke_color).width(2.0));
            plot_ui.line(Line::new("λ₂ (second)", PlotPoints::new(lambda_2)).color(Color32::from_rgb(150, 110, 200)).width(1.5));
            if let Some(points) = lambda_ntk {
                plot_ui.line(Line::new(LAMBDA_NTK_SERIES, PlotPoints::new(points)).color(Color32::from_rgb(40, 170, 200)).width(1.8));
            }
            if let Some(p) = current {
                plot_ui.points(Points::new("", vec![p]).radius(4.0).color(stroke_color));
            }
        })
        .response
        .rect
}

/// ‖w‖² and ‖w − w0‖.
pub fn weights_plot(ui: &mut egui::Ui, inputs: &PlotInputs, height: f32) -> egui::Rect {
    title(
        ui,
        WEIGHTS_TITLE,
        "How far training moves the weights. Lazy runs barely move (the kernel stays almost fixed). \
         A catapult throws the weights a long way (about √m) to a flatter region before training settles.",
    );
    let id = Id::unique("plot_weights");
    let history = inputs.history;
    let range = visible_range(ui.ctx(), id, history, inputs.reset);
    let buckets = ui.available_width().max(100.0) as usize;
    let norm = decimate(&history.step, history.column(Metric::WeightNormSq), range.clone(), buckets, |y| y);
    // Squared, so it shares the scale of |w|² (a catapult moves the weights by about √m).
    let dist = decimate(&history.step, history.column(Metric::DistFromInit), range, buckets, |y| y * y);
    let pinned = pin_lines(ui.ctx(), id, inputs, buckets, Metric::WeightNormSq, |y| y);
    base_plot(id, height, inputs.reset)
        .include_y(0.0)
        .y_axis_label("size")
        .show(ui, |plot_ui| {
            plot_ui.line(Line::new("|w|² (weight norm²)", PlotPoints::new(norm)).color(Color32::from_rgb(200, 120, 60)).width(2.0));
            plot_ui.line(Line::new("|w − w0|² (distance² from init)", PlotPoints::new(dist)).color(Color32::from_rgb(40, 160, 170)).width(2.0));
            for (name, color, points) in pinned {
                plot_ui.line(Line::new(format!("{name}: |w|²"), PlotPoints::new(points)).color(color).width(1.5));
            }
        })
        .response
        .rect
}

/// SGD: the learning rate η against the batch critical rate 2/λ̂(batch) of the batch behind each
/// step; steps with η above it are marked.
pub fn sgd_rate_plot(ui: &mut egui::Ui, inputs: &PlotInputs, height: f32) -> egui::Rect {
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
    let range = visible_range(ui.ctx(), id, history, inputs.reset);
    let buckets = ui.available_width().max(100.0) as usize;
    let critical = decimate_present(&history.step, &history.batch_crit_eta, range.clone(), buckets, |y| y);
    let eta = decimate(&history.step, &history.eta, range.clone(), buckets, |y| y);
    let above: Vec<[f64; 2]> = range
        .filter_map(|i| history.batch_crit_eta[i].filter(|c| history.eta[i] > *c).map(|c| [history.step[i], c]))
        .collect();
    base_plot(id, height, inputs.reset)
        .include_y(0.0)
        .y_axis_label("learning rate")
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
    title(
        ui,
        AGOP_ALIGNMENT_TITLE,
        "How much the network has learned the teacher's features: the cosine between the model's average \
         gradient outer product G = mean ∇_xf ∇_xf^T and the teacher's G*. 1 = the same directions. A kernel \
         (lazy) model barely moves it; catapults raise it, and smaller SGD batches (more catapults) raise it more.",
    );
    let id = Id::unique("plot_agop_alignment");
    let history = inputs.history;
    let range = visible_range(ui.ctx(), id, history, inputs.reset);
    let buckets = ui.available_width().max(100.0) as usize;
    let alignment = decimate_present(&history.step, &history.agop_alignment, range, buckets, |y| y);
    base_plot(id, height, inputs.reset)
        .include_y(0.0)
        .include_y(1.0)
        .y_axis_label("cos(G, G*)")
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
