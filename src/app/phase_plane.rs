//! The u/v phase plane of Zhu et al. (SPEC §4): v = η·λ horizontally, u on a log axis
//! vertically, with the overlays v = 2, v = 4, the growth boundary u = v − 2, the feasible
//! parabola u = v²/4, the stable segment u = 0, 0 < v < 2 (drawn at the bottom of the log
//! axis), and the trajectory with its start marked and the current point highlighted. For
//! two-layer nets on data with γ_y > 0 a toggle switches to the (ρ, v̄) plane of Huang et al. 2025:
//! v̄ against ρ with the line ρ = √γ_y·v̄ that the trajectory approaches.

use super::labels::*;
use eframe::egui;
use crate::report::series::{History, has_values};
use crate::report::live_view::{self, PHASE_PLOT};
use super::plots::{LegendEntry, PlotInputs, PlotLayout, decade_spacer, legend_row, log10_clamped, pow10_label};
use egui::{Color32, Id, RichText};
use egui_plot::{AxisHints, HLine, Line, LineStyle, MarkerShape, Plot, PlotPoints, Points, VLine};

/// The widest v the plane shows: beyond it (divergent runs) points sit on the right edge, so
/// v = 2, v = 4 and the stable segment keep their room.
pub const V_VIEW_MAX: f64 = 8.0;


/// Which plane the phase-plane panel shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PhaseView {
    /// Zhu et al.'s (u, v) plane.
    #[default]
    UV,
    /// Huang et al. 2025's (ρ, v̄) plane.
    RhoVMean,
}

/// The phase-plane panel: the toggle (when the ρ/v̄ view applies), then the chosen plane.
pub fn phase_panel(ui: &mut egui::Ui, inputs: &PlotInputs, height: f32, view: &mut PhaseView, gamma_y: Option<f64>, uv_reason: Option<&str>) -> PlotLayout {
    let history = inputs.history;
    let reset = inputs.reset;
    let gamma_y = gamma_y.filter(|g| *g > 0.0 && g.is_finite());
    let rho_applies = gamma_y.is_some() && has_values(&history.rho) && has_values(&history.v_mean);
    if !rho_applies {
        return match uv_reason {
            Some(reason) => eta_lambda_plot(ui, inputs, height, reason),
            None => phase_plane(ui, inputs, height),
        };
    }
    let row_height = ui.spacing().interact_size.y + ui.spacing().item_spacing.y;
    ui.horizontal(|ui| {
        ui.label("view:");
        ui.selectable_value(view, PhaseView::UV, UV_TOGGLE_LABEL)
            .on_hover_text("Zhu et al.'s plane: v = η·λ across, u (error along the sharpest direction) up.");
        ui.selectable_value(view, PhaseView::RhoVMean, RHO_TOGGLE_LABEL)
            .on_hover_text("Huang et al. 2025's plane for two-layer linear nets: ρ (how far the first layer moved along X^T y) across, ⟨v⟩ (the mean second-layer weight) up.");
    });
    match view {
        PhaseView::UV => phase_plane(ui, inputs, height - row_height),
        PhaseView::RhoVMean => PlotLayout { plot: rho_plane(ui, history, reset, height - row_height, gamma_y.unwrap_or(0.0)), ..Default::default() },
    }
}

/// Where the u/v plane means nothing: η·λ̂ against the step with its stability line at 2, and
/// a one-line reason.
fn eta_lambda_plot(ui: &mut egui::Ui, inputs: &PlotInputs, height: f32, reason: &str) -> PlotLayout {
    let block_top = ui.cursor().top();
    ui.label(RichText::new(ETA_LAMBDA_TITLE).strong().size(ui.style().text_styles[&egui::TextStyle::Body].size * 1.1))
        .on_hover_text("The learning rate times the sharpness, per step. Gradient descent on a quadratic is stable while η·λ < 2.");
    ui.label(RichText::new(format!("No u/v plane here: {reason}.")).small().weak());
    let axis = inputs.axis;
    let points: Vec<[f64; 2]> = live_view::find(inputs.series, PHASE_PLOT, "eta_lambda").iter().map(|p| [axis.to_axis(p[0]), p[1]]).collect();
    let green = Color32::from_rgb(60, 170, 90);
    let text_color = ui.visuals().text_color();
    let legend = legend_row(ui, &[("η·λ (per step)".into(), text_color, false), ("η·λ = 2 (stability edge)".into(), green, true)]);
    let mut newest = None;
    let formatter = {
        let points = points.clone();
        let sink = inputs.hover;
        move |pos: &egui_plot::HoverPosition<'_>| {
            let x = match pos {
                egui_plot::HoverPosition::NearDataPoint { position, .. } | egui_plot::HoverPosition::Elsewhere { position } => position.x,
            };
            let readout = super::plots::snap(&points, "η·λ", x, axis, |y| y)?;
            let text = super::plots::hover_text(&readout);
            *sink.borrow_mut() = Some(readout);
            Some(text)
        }
    };
    let mut plot = Plot::new("plot_eta_lambda")
        .id(Id::unique("plot_eta_lambda"))
        .height(super::plots::rest_of(ui, block_top, height))
        .include_y(0.0)
        .include_y(2.5)
        .include_x(0.0)
        .y_axis_label("η·λ")
        .allow_scroll(false)
        .label_formatter(formatter);
    plot = match axis {
        crate::report::series::StepAxis::Linear => plot.custom_x_axes(vec![super::plots::x_axis("step")]).x_grid_spacer(super::plots::step_spacer),
        crate::report::series::StepAxis::Log => plot.custom_x_axes(vec![super::plots::x_axis("step (log scale)").formatter(|m, _| super::plots::log_step_label(m.value))]).x_grid_spacer(super::plots::log_step_spacer),
    };
    if inputs.reset {
        plot = plot.reset();
    }
    let rect = plot
        .show(ui, |plot_ui| {
            plot_ui.hline(HLine::new("η·λ = 2", 2.0).color(green).style(LineStyle::dashed_dense()).width(1.5));
            if let Some(p) = points.last().copied() {
                newest = Some(plot_ui.screen_from_plot(egui_plot::PlotPoint::new(p[0], p[1])));
            }
            plot_ui.line(Line::new("η·λ", PlotPoints::new(points)).color(text_color).width(2.0));
        })
        .response
        .rect;
    PlotLayout { plot: rect, legend, newest }
}

/// A tick label with three significant digits (the ρ and ⟨v⟩ scales depend on the data).
fn short_number(value: f64) -> String {
    if value == 0.0 {
        "0".to_string()
    } else if (1e-3..1e4).contains(&value.abs()) {
        format!("{}", (value * 1e6).round() / 1e6)
    } else {
        format!("{value:.2e}")
    }
}

/// v̄ against ρ, with the line ρ = √γ_y·v̄, the start and the current point.
fn rho_plane(ui: &mut egui::Ui, history: &History, reset: bool, height: f32, gamma_y: f64) -> egui::Rect {
    let sqrt_gamma = gamma_y.sqrt();
    let n = history.len();
    let stride = n.div_ceil(MAX_TRAJECTORY_POINTS).max(1);
    let mut trajectory: Vec<[f64; 2]> = (0..n)
        .step_by(stride)
        .filter_map(|i| Some([history.rho[i]?, history.v_mean[i]?]))
        .collect();
    if n > 0 && (n - 1) % stride != 0 && let (Some(rho), Some(v)) = (history.rho[n - 1], history.v_mean[n - 1]) {
        trajectory.push([rho, v]);
    }
    let start = trajectory.first().copied();
    let current = trajectory.last().copied();
    let ratio = current.filter(|p| p[1].abs() > 1e-300).map(|p| p[0] / p[1]);
    ui.label(RichText::new(RHO_PLANE_TITLE).strong().size(ui.style().text_styles[&egui::TextStyle::Body].size * 1.1)).on_hover_text(
        "A two-layer linear net f = ⟨v⟩-weighted sum of u_i·x. ρ = mean ⟨u_i − u_i(0), X^T y⟩ measures how far the first \
         layer has moved along the data's correlation with the labels, X^T y; ⟨v⟩ is the mean second-layer weight. From \
         a small initialization both start near 0. Stage one: the weights grow while the loss sits on a plateau. \
         Stage two: the loss drops and the ratio ρ/⟨v⟩ settles at √γ_y, γ_y = y^T X X^T y: the point runs along the dashed line.",
    );
    let ratio_text = match ratio {
        Some(r) => format!("ρ/⟨v⟩ now = {}   √γ_y = {}", super::fmt_num(r), super::fmt_num(sqrt_gamma)),
        None => format!("√γ_y = {}", super::fmt_num(sqrt_gamma)),
    };
    ui.label(RichText::new(ratio_text).small()).on_hover_text("The current ratio ρ/⟨v⟩ and the value √γ_y it tends to (γ_y from the engine).");
    let label_height = 2.0 * (ui.text_style_height(&egui::TextStyle::Body) + ui.spacing().item_spacing.y);
    let (v_lo, v_hi) = trajectory.iter().fold((0.0f64, 0.0f64), |(lo, hi), p| (lo.min(p[1]), hi.max(p[1])));
    let (rho_lo, rho_hi) = trajectory.iter().fold((0.0f64, 0.0f64), |(lo, hi), p| (lo.min(p[0]), hi.max(p[0])));
    // The line over the v̄ range shown, clipped to the ρ range (so a steep line does not flatten the view).
    let v_span = (v_hi - v_lo).max(1e-12);
    let line: Vec<[f64; 2]> = (0..=100)
        .map(|i| v_lo - 0.05 * v_span + 1.1 * v_span * i as f64 / 100.0)
        .map(|v| [sqrt_gamma * v, v])
        .filter(|p| p[0] >= rho_lo - 0.1 * (rho_hi - rho_lo).abs().max(1e-12) && p[0] <= rho_hi + 0.1 * (rho_hi - rho_lo).abs().max(1e-12))
        .collect();
    let text_color = ui.visuals().text_color();
    // The legend sits above the plane, never over the trajectory.
    let legend = legend_row(ui, &[
        (SQRT_GAMMA_LINE_LABEL.to_string(), Color32::from_rgb(235, 150, 30), true),
        ("trajectory".to_string(), text_color, false),
        ("◆ start".to_string(), Color32::from_rgb(80, 140, 230), false),
        ("● now".to_string(), Color32::from_rgb(230, 60, 160), false),
    ]);
    let mut plot = Plot::new("plot_rho_plane")
        .id(Id::unique("plot_rho_plane"))
        .height((height - label_height - legend.height()).max(100.0))
        .x_axis_label("ρ = mean ⟨u_i − u_i(0), X^T y⟩")
        .y_axis_label("⟨v⟩ (mean second-layer weight)")
        .include_x(0.0)
        .include_y(0.0)
        .x_axis_formatter(|mark, _| short_number(mark.value))
        // About six labelled marks (the default spacing is too dense for x labels to show).
        .x_grid_spacer(super::plots::step_spacer)
        .y_axis_formatter(|mark, _| short_number(mark.value))
        .allow_scroll(false)
        .label_formatter(|pos| {
            let (name, p) = match pos {
                egui_plot::HoverPosition::NearDataPoint { plot_name, position, .. } => (*plot_name, *position),
                egui_plot::HoverPosition::Elsewhere { position } => ("", *position),
            };
            Some(format!("{name}\nρ = {:.4e}\n⟨v⟩ = {:.4e}", p.x, p.y))
        });
    if reset {
        plot = plot.reset();
    }
    plot.show(ui, |plot_ui| {
        plot_ui.line(Line::new(SQRT_GAMMA_LINE_LABEL, PlotPoints::new(line)).color(Color32::from_rgb(235, 150, 30)).style(LineStyle::dashed_dense()).width(1.8));
        plot_ui.line(Line::new("trajectory", PlotPoints::new(trajectory)).color(text_color.gamma_multiply(0.8)).width(1.5));
        if let Some(p) = start {
            plot_ui.points(Points::new("start", vec![p]).shape(MarkerShape::Diamond).radius(6.0).color(Color32::from_rgb(80, 140, 230)));
        }
        if let Some(p) = current {
            plot_ui.points(Points::new("now", vec![p]).shape(MarkerShape::Circle).radius(7.0).color(Color32::from_rgb(230, 60, 160)));
        }
    })
    .response
    .rect
}

/// Trajectory points drawn at most (the history is strided beyond this).
const MAX_TRAJECTORY_POINTS: usize = 4000;
/// The lowest decade the log axis reaches down to.
const LOWEST_DECADE: f64 = -8.0;

/// The bottom of the log axis: one decade below the smallest u seen, never below 10^-9,
/// never above 10^-3. u = 0 (the stable segment) is drawn there.
fn axis_floor(u: &[f64]) -> f64 {
    let smallest = u.iter().copied().filter(|&x| x > 0.0).fold(f64::INFINITY, f64::min);
    let smallest_log = if smallest.is_finite() { smallest.log10() } else { -3.0 };
    (smallest_log.max(LOWEST_DECADE) - 1.0).min(-3.0).floor()
}

/// A pinned run's trajectory as (v, log10 u) points, strided to at most `MAX_TRAJECTORY_POINTS`.
fn trajectory_points(history: &History, floor: f64) -> Vec<[f64; 2]> {
    let n = history.len();
    let stride = n.div_ceil(MAX_TRAJECTORY_POINTS).max(1);
    let mut points: Vec<[f64; 2]> = (0..n).step_by(stride).map(|i| [history.v[i].min(V_VIEW_MAX), log10_clamped(history.u[i]).max(floor)]).collect();
    if n > 0 && (n - 1) % stride != 0 {
        points.push([history.v[n - 1].min(V_VIEW_MAX), log10_clamped(history.u[n - 1]).max(floor)]);
    }
    points
}

pub fn phase_plane(ui: &mut egui::Ui, inputs: &PlotInputs, height: f32) -> PlotLayout {
    let block_top = ui.cursor().top();
    let (history, pins, reset) = (inputs.history, inputs.pins, inputs.reset);
    ui.label(RichText::new(PHASE_PLANE_TITLE).strong().size(ui.style().text_styles[&egui::TextStyle::Body].size * 1.1))
        .on_hover_text(
            "Two numbers describe the whole run (exactly so for one example): v = η·λ, the learning rate \
             times the sharpness, and u, the size of the error along the sharpest direction. Below v = 2 \
             the error shrinks and the point drops to the bottom edge (u = 0, the stable segment). Between \
             v = 2 and 4, below the line u = v − 2, the error grows: the point climbs, is thrown left (λ \
             falls) and lands on the stable segment. That is the catapult. Beyond v = 4 it escapes.",
        );
    let floor = axis_floor(&history.u);
    // The plotted (v, u) samples (report::live_view), v clipped to the view, u on log10.
    let data = live_view::find(inputs.series, PHASE_PLOT, "uv");
    let v_reached = data.iter().map(|p| p[0]).fold(0.0f64, f64::max);
    let clipped = v_reached > V_VIEW_MAX;
    let trajectory: Vec<[f64; 2]> = data.iter().map(|p| [p[0].min(V_VIEW_MAX), log10_clamped(p[1]).max(floor)]).collect();
    let pinned: Vec<(String, Color32, Vec<[f64; 2]>)> = pins
        .iter()
        .filter(|pin| pin.visible)
        .map(|pin| (format!("pinned: {}", pin.label), pin.color, trajectory_points(&pin.history, floor)))
        .collect();
    let v_max = v_reached.clamp(4.5, V_VIEW_MAX) * 1.05;
    let start = trajectory.first().copied();
    let current = trajectory.last().copied();

    // u = v − 2 for v > 2, sampled densely near v = 2 where its log dives.
    let steps = 200;
    let top_log = (v_max - 2.0).log10();
    let growth: Vec<[f64; 2]> = (0..=steps)
        .map(|i| floor + (top_log - floor) * i as f64 / steps as f64)
        .map(|log_u| [2.0 + 10f64.powf(log_u), log_u])
        .collect();
    // u = v²/4 for v > 0.
    let parabola: Vec<[f64; 2]> = (0..=steps)
        .map(|i| floor / 2.0 + ((v_max / 2.0).log10() - floor / 2.0) * i as f64 / steps as f64)
        .map(|log_half_v| {
            let v = 2.0 * 10f64.powf(log_half_v);
            [v, log10_clamped(v * v / 4.0).max(floor)]
        })
        .collect();

    let text_color = ui.visuals().text_color();
    let legend_entries: Vec<LegendEntry> = [
        ("v = 2 (stability edge)", Color32::from_rgb(60, 170, 90), true),
        ("v = 4 (catapult edge)", Color32::from_rgb(220, 60, 60), true),
        ("u = v − 2 (u grows below it)", Color32::from_rgb(235, 150, 30), false),
        ("u = v²/4 (reachable limit)", Color32::from_rgb(150, 110, 200), true),
        ("u = 0, 0 < v < 2 (stable, bottom edge)", Color32::from_rgb(60, 170, 90), false),
        ("trajectory", text_color, false),
        ("◆ start", Color32::from_rgb(80, 140, 230), false),
        ("● now", Color32::from_rgb(230, 60, 160), false),
    ]
    .into_iter()
    .map(|(n, c, d)| (n.to_string(), c, d))
    .chain(pinned.iter().map(|(n, c, _)| (n.clone(), *c, false)))
    .collect();
    let legend = legend_row(ui, &legend_entries);
    if clipped {
        ui.label(RichText::new(format!("v axis clipped at {V_VIEW_MAX}: the run reached v = {} (points beyond sit on the right edge)", super::fmt_num(v_reached))).small().color(Color32::from_rgb(220, 60, 60)));
    }
    let height = super::plots::rest_of(ui, block_top, height);
    let y_axis = AxisHints::new_y().label("u (log scale)").formatter(|mark, _| pow10_label(mark.value));
    let mut plot = Plot::new("plot_phase_plane")
        .id(Id::unique("plot_phase_plane"))
        .height(height)
        .custom_y_axes(vec![y_axis])
        .y_grid_spacer(decade_spacer)
        .custom_x_axes(vec![super::plots::x_axis("v = η·λ")])
        .x_grid_spacer(super::plots::step_spacer)
        .include_x(0.0)
        .include_x(v_max)
        .include_y(floor)
        .include_y(top_log.max(1.0))
        .allow_scroll(false)
        .label_formatter(move |pos| {
            // Only a real sample or theory point is read out, never the cursor's position.
            let egui_plot::HoverPosition::NearDataPoint { plot_name, position: p, .. } = pos else { return None };
            let u = if p.y <= floor + 1e-9 { "0 (bottom edge)".to_string() } else { format!("{:.3e}", 10f64.powf(p.y)) };
            Some(format!("{plot_name}\nv = {:.3}\nu = {u}", p.x))
        });
    if reset {
        plot = plot.reset();
    }
    let mut newest = None;
    let response = plot.show(ui, |plot_ui| {
        plot_ui.vline(VLine::new("v = 2 (stability edge)", 2.0).color(Color32::from_rgb(60, 170, 90)).style(LineStyle::dashed_dense()).width(1.5));
        plot_ui.vline(VLine::new("v = 4 (catapult edge)", 4.0).color(Color32::from_rgb(220, 60, 60)).style(LineStyle::dashed_dense()).width(1.5));
        plot_ui.line(Line::new("u = v − 2 (u grows below it)", PlotPoints::new(growth)).color(Color32::from_rgb(235, 150, 30)).width(1.5));
        plot_ui.line(Line::new("u = v²/4 (reachable limit)", PlotPoints::new(parabola)).color(Color32::from_rgb(150, 110, 200)).style(LineStyle::dotted_dense()).width(1.5));
        plot_ui.line(Line::new("u = 0, 0 < v < 2 (stable)", PlotPoints::new(vec![[0.0, floor], [2.0, floor]])).color(Color32::from_rgb(60, 170, 90)).width(6.0));
        for (name, color, points) in pinned {
            plot_ui.line(Line::new(name, PlotPoints::new(points)).color(color).width(1.2));
        }
        plot_ui.line(Line::new("trajectory", PlotPoints::new(trajectory)).color(text_color.gamma_multiply(0.8)).width(1.5));
        if let Some(p) = start {
            plot_ui.points(Points::new("start", vec![p]).shape(MarkerShape::Diamond).radius(6.0).color(Color32::from_rgb(80, 140, 230)));
        }
        if let Some(p) = current {
            plot_ui.points(Points::new("now", vec![p]).shape(MarkerShape::Circle).radius(7.0).color(Color32::from_rgb(230, 60, 160)));
            newest = Some(plot_ui.screen_from_plot(egui_plot::PlotPoint::new(p[0], p[1])));
        }
    });
    PlotLayout { plot: response.response.rect, legend, newest }
}
