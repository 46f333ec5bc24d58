//! The Sweep view: a grid over η (η·λ₀ units or raw) × widths × seeds built on the current
//! preset, run by `sweep::run_sweep` on a background thread (rayon, all cores) with a progress
//! bar and Cancel; rows stream in over a channel and fill four panels (final η·λ, peak loss,
//! weight norm growth against η·λ₀ per width, and a phase strip over (η·λ₀, width)). Clicking a
//! point or a cell opens that exact run in the live view. UI only: every number is a Summary.

use eframe::egui;
use super::App;
use super::export::PlotId;
use super::plots::{decade_spacer, pow10_label};
use crate::config::Preset;
use crate::plot::{SERIES_COLORS, phase_color};
use crate::sim::{Phase, Summary};
use crate::sweep::{self, Cell, CellResult, EtaAxis, SweepSpec};
use crossbeam_channel::{Receiver, unbounded};
use egui::{Color32, DragValue, Id, RichText};
use egui_plot::{AxisHints, GridInput, GridMark, HLine, Legend, Line, LineStyle, MarkerShape, Plot, PlotPoint, PlotPoints, PlotResponse, Points, Polygon, VLine};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

pub const SWEEP_START_LABEL: &str = "Run sweep";
pub const SWEEP_CANCEL_LABEL: &str = "Cancel sweep";
pub const SWEEP_FINAL_TITLE: &str = "Final η·λ after training";
pub const SWEEP_PEAK_TITLE: &str = "Peak loss (log scale)";
pub const SWEEP_NORM_TITLE: &str = "Final weight norm² / initial";
pub const SWEEP_PHASE_TITLE: &str = "Phase over (η·λ₀, width)";
pub const SWEEP_WIDTHS_LABEL: &str = "widths";
pub const SWEEP_COUNT_LABEL: &str = "points";
pub const SWEEP_FROM_LABEL: &str = "from";
pub const SWEEP_TO_LABEL: &str = "to";
pub const SWEEP_SEEDS_LABEL: &str = "seeds per cell";
pub const SWEEP_STEPS_LABEL: &str = "steps per run";

/// The grid being edited.
#[derive(Clone, Debug)]
pub struct SweepForm {
    /// η in η·λ₀ units (true) or raw η.
    pub scaled: bool,
    pub from: f64,
    pub to: f64,
    pub count: usize,
    pub widths_text: String,
    pub seeds: usize,
    pub steps: usize,
}

impl SweepForm {
    /// A grid around `preset`: η·λ₀ from 0.5 to 5 and widths a tenth, one and ten times its own.
    pub fn for_preset(preset: &Preset) -> SweepForm {
        let m = preset.model.width.max(1);
        let mut widths = vec![(m / 10).max(1), m, m * 10];
        widths.dedup();
        SweepForm {
            scaled: true,
            from: 0.5,
            to: 5.0,
            count: 19,
            widths_text: widths.iter().map(|w| w.to_string()).collect::<Vec<_>>().join(", "),
            seeds: 1,
            steps: preset.train.steps.min(1000),
        }
    }

    /// The widths typed, or why they cannot be read.
    pub fn widths(&self) -> Result<Vec<usize>, String> {
        let mut widths = Vec::new();
        for part in self.widths_text.split([',', ' ', ';']).filter(|p| !p.trim().is_empty()) {
            match part.trim().parse::<usize>() {
                Ok(w) if w > 0 => widths.push(w),
                _ => return Err(format!("widths: `{}` is not a positive whole number", part.trim())),
            }
        }
        if widths.is_empty() {
            return Err("widths: type at least one width, e.g. 100, 1000".into());
        }
        Ok(widths)
    }
}

enum SweepMessage {
    Row(usize, CellResult),
    Finished,
}

/// A sweep running on its thread. Dropping it cancels and joins.
struct SweepJob {
    cancel: Arc<AtomicBool>,
    rx: Receiver<SweepMessage>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for SweepJob {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The sweep view's state.
pub struct SweepState {
    pub form: SweepForm,
    job: Option<SweepJob>,
    /// The cells of the last sweep started (their presets open runs).
    cells: Vec<Cell>,
    /// Finished rows as (cell index, summary), in arrival order.
    rows: Vec<(usize, Summary)>,
    failures: Vec<(usize, String)>,
    pub error: Option<String>,
    cancelled: bool,
    /// The base preset's name of the last sweep.
    base_name: String,
}

impl SweepState {
    pub fn new(preset: &Preset) -> SweepState {
        SweepState {
            form: SweepForm::for_preset(preset),
            job: None,
            cells: Vec::new(),
            rows: Vec::new(),
            failures: Vec::new(),
            error: None,
            cancelled: false,
            base_name: String::new(),
        }
    }
}

/// Rows grouped by width (ascending), each group sorted by η·λ₀: (width, [(cell index, summary)]).
fn by_width(rows: &[(usize, Summary)]) -> Vec<(usize, Vec<(usize, &Summary)>)> {
    let mut widths: Vec<usize> = rows.iter().map(|(_, r)| r.width).collect();
    widths.sort_unstable();
    widths.dedup();
    widths
        .into_iter()
        .map(|w| {
            let mut group: Vec<(usize, &Summary)> = rows.iter().filter(|(_, r)| r.width == w).map(|(i, r)| (*i, r)).collect();
            group.sort_by(|a, b| a.1.eta_scaled.total_cmp(&b.1.eta_scaled).then(a.1.seed.cmp(&b.1.seed)));
            (w, group)
        })
        .collect()
}

fn rgb((r, g, b): (u8, u8, u8)) -> Color32 {
    Color32::from_rgb(r, g, b)
}

fn series_color(k: usize) -> Color32 {
    rgb(SERIES_COLORS[k % SERIES_COLORS.len()])
}

fn panel_title(ui: &mut egui::Ui, text: &str, help: &str) {
    ui.label(RichText::new(text).strong().size(ui.style().text_styles[&egui::TextStyle::Body].size * 1.1)).on_hover_text(help);
}

/// The cell index of the plotted point nearest the click (within 12 pixels).
fn clicked_point<R>(response: &PlotResponse<R>, points: &[(usize, [f64; 2])]) -> Option<usize> {
    if !response.response.clicked() {
        return None;
    }
    let pointer = response.response.interact_pointer_pos()?;
    points
        .iter()
        .map(|(index, [x, y])| (*index, response.transform.position_from_point(&PlotPoint::new(*x, *y)).distance(pointer)))
        .filter(|(_, d)| *d < 12.0)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(index, _)| index)
}

/// Hover text: the series name and the point.
/// The hover text of a sweep panel near a point: the series, its η·λ₀, `describe(y)`.
fn point_hover(describe: impl Fn(f64) -> String) -> impl Fn(&egui_plot::HoverPosition<'_>) -> Option<String> {
    move |pos| match pos {
        egui_plot::HoverPosition::NearDataPoint { plot_name, position, .. } => {
            Some(format!("{plot_name}\nη·λ₀ = {:.3}\n{}\n(click a point to open that run)", position.x, describe(position.y)))
        }
        egui_plot::HoverPosition::Elsewhere { .. } => None,
    }
}

impl App {
    pub fn sweep_running(&self) -> bool {
        self.sweep.job.is_some()
    }

    /// The cells of the last sweep started.
    pub fn sweep_total(&self) -> usize {
        self.sweep.cells.len()
    }

    /// The finished rows shown, in grid order (what the sweep CSV export writes).
    pub fn sweep_rows(&self) -> Vec<Summary> {
        let mut rows = self.sweep.rows.clone();
        rows.sort_by_key(|(index, _)| *index);
        rows.into_iter().map(|(_, summary)| summary).collect()
    }

    /// The grid form (tests set a small grid; the UI edits the same fields).
    pub fn sweep_form_mut(&mut self) -> &mut SweepForm {
        &mut self.sweep.form
    }

    pub fn sweep_error(&self) -> Option<&str> {
        self.sweep.error.as_deref()
    }

    /// Validates the form, builds the cells and starts the sweep thread.
    pub fn start_sweep(&mut self, ctx: &egui::Context) {
        if self.sweep.job.is_some() {
            return;
        }
        let form = self.sweep.form.clone();
        let widths = match form.widths() {
            Ok(w) => w,
            Err(e) => {
                self.sweep.error = Some(e);
                return;
            }
        };
        if !(form.from.is_finite() && form.to.is_finite() && form.from > 0.0 && form.to > 0.0) {
            self.sweep.error = Some("the learning rates must be greater than 0".into());
            return;
        }
        let eta = if form.scaled {
            EtaAxis::Scaled { from: form.from, to: form.to, count: form.count.max(1) }
        } else {
            EtaAxis::Raw { from: form.from, to: form.to, count: form.count.max(1) }
        };
        let mut base = self.preset.clone();
        base.train.steps = form.steps.max(1);
        let spec = SweepSpec { base, eta, widths, seeds: form.seeds.max(1) };
        let cells = match spec.cells() {
            Ok(cells) => cells,
            Err(e) => {
                self.sweep.error = Some(format!("cannot run this grid: `{}` {}", e.key, e.message));
                return;
            }
        };
        self.sweep.error = None;
        self.sweep.cancelled = false;
        self.sweep.rows.clear();
        self.sweep.failures.clear();
        self.sweep.base_name = self.preset.name.clone();
        self.sweep.cells = cells.clone();
        let cancel = Arc::new(AtomicBool::new(false));
        let (tx, rx) = unbounded();
        let thread_cancel = cancel.clone();
        let ctx = ctx.clone();
        let thread = std::thread::Builder::new()
            .name("sweep".into())
            .spawn(move || {
                sweep::run_sweep(&cells, &thread_cancel, |index, result| {
                    let _ = tx.send(SweepMessage::Row(index, result.clone()));
                    ctx.request_repaint();
                });
                let _ = tx.send(SweepMessage::Finished);
                ctx.request_repaint();
            })
            .expect("spawn the sweep thread");
        self.sweep.job = Some(SweepJob { cancel, rx, thread: Some(thread) });
    }

    /// Asks the running sweep to stop (cells in progress stop at their next step).
    pub fn cancel_sweep(&mut self) {
        if let Some(job) = &self.sweep.job {
            job.cancel.store(true, Ordering::Relaxed);
            self.sweep.cancelled = true;
        }
    }

    /// Drains finished rows (every frame; never blocks).
    pub(super) fn poll_sweep(&mut self) {
        let Some(job) = &self.sweep.job else { return };
        let messages: Vec<SweepMessage> = job.rx.try_iter().collect();
        for message in messages {
            match message {
                SweepMessage::Row(index, Ok(summary)) => self.sweep.rows.push((index, summary)),
                SweepMessage::Row(index, Err(e)) => self.sweep.failures.push((index, e)),
                SweepMessage::Finished => self.sweep.job = None,
            }
        }
    }

    /// Opens the run of sweep cell `index` (its exact preset) in the live view.
    fn open_sweep_cell(&mut self, index: usize) {
        if let Some(cell) = self.sweep.cells.get(index) {
            let preset = cell.preset.clone();
            let eta = match (preset.train.eta_scaled, preset.train.eta) {
                (Some(scaled), _) => format!("η·λ₀ = {scaled:.3}"),
                (None, Some(eta)) => format!("η = {eta}"),
                (None, None) => String::new(),
            };
            let info = format!("Opened the sweep run {eta}, m = {}, seed {} ({} steps).", preset.model.width, preset.seed, preset.train.steps);
            self.start_preset(preset);
            self.info = Some(info);
            self.view = super::View::Live;
        }
    }

    /// The side panel of the sweep view: the grid, run/cancel, progress.
    pub(super) fn sweep_controls_ui(&mut self, ui: &mut egui::Ui) {
        ui.add_space(6.0);
        ui.label(RichText::new("Sweep grid").strong());
        ui.label(RichText::new(format!("Based on the current preset: {}", self.preset.name)).small())
            .on_hover_text("Every run of the grid is this preset with η, width and seed changed.");
        let running = self.sweep.job.is_some();
        let lambda0 = self.snapshot.as_ref().map(|s| s.lambda0).filter(|l| *l > 0.0);
        ui.add_enabled_ui(!running, |ui| {
            let form = &mut self.sweep.form;
            ui.horizontal(|ui| {
                let was_scaled = form.scaled;
                ui.radio_value(&mut form.scaled, true, "η·λ₀ units")
                    .on_hover_text("Learning rates in units of 1/λ₀ (each run uses its own λ₀): 2 is the lazy edge, 4 the catapult edge.");
                ui.radio_value(&mut form.scaled, false, "raw η").on_hover_text("Learning rates as plain numbers η.");
                // Convert the range with the current run's λ₀ so it stays the same grid.
                if form.scaled != was_scaled
                    && let Some(l0) = lambda0
                {
                    let factor = if form.scaled { l0 } else { 1.0 / l0 };
                    form.from *= factor;
                    form.to *= factor;
                }
            });
            let speed = (form.to.abs().max(form.from.abs()) * 0.01).max(1e-6);
            ui.horizontal(|ui| {
                let label = ui.label(SWEEP_FROM_LABEL);
                ui.add(DragValue::new(&mut form.from).range(1e-9..=1e9).speed(speed).max_decimals(6))
                    .labelled_by(label.id)
                    .on_hover_text("The smallest learning rate of the grid.");
                let label = ui.label(SWEEP_TO_LABEL);
                ui.add(DragValue::new(&mut form.to).range(1e-9..=1e9).speed(speed).max_decimals(6))
                    .labelled_by(label.id)
                    .on_hover_text("The largest learning rate of the grid.");
                let label = ui.label(SWEEP_COUNT_LABEL);
                ui.add(DragValue::new(&mut form.count).range(1..=400).speed(0.2))
                    .labelled_by(label.id)
                    .on_hover_text("How many evenly spaced learning rates, both ends included.");
            });
            ui.horizontal(|ui| {
                let label = ui.label(SWEEP_WIDTHS_LABEL);
                ui.add(egui::TextEdit::singleline(&mut form.widths_text).hint_text("100, 1000, 10000").desired_width(180.0))
                    .labelled_by(label.id)
                    .on_hover_text("Network widths m, separated by commas. The catapult's loss peak grows in proportion to m.");
            });
            ui.horizontal(|ui| {
                let label = ui.label(SWEEP_SEEDS_LABEL);
                ui.add(DragValue::new(&mut form.seeds).range(1..=50).speed(0.1))
                    .labelled_by(label.id)
                    .on_hover_text("Independent initializations per (η, width): seeds base, base + 1, …");
                let label = ui.label(SWEEP_STEPS_LABEL);
                ui.add(DragValue::new(&mut form.steps).range(1..=1_000_000).speed(5.0))
                    .labelled_by(label.id)
                    .on_hover_text("Gradient-descent steps per run (the phase is judged at the end).");
            });
            if ui.button("Reset grid to this preset").on_hover_text("Forget the edits: a grid around the current preset.").clicked() {
                self.sweep.form = SweepForm::for_preset(&self.preset);
            }
        });
        let runs = self.sweep.form.count.max(1) * self.sweep.form.widths().map_or(0, |w| w.len()) * self.sweep.form.seeds.max(1);
        ui.label(RichText::new(format!("{runs} runs of {} steps", self.sweep.form.steps)).small());
        ui.horizontal(|ui| {
            if running {
                if ui.button(SWEEP_CANCEL_LABEL).on_hover_text("Stop the sweep; finished runs stay.").clicked() {
                    self.cancel_sweep();
                }
            } else if ui.button(SWEEP_START_LABEL).on_hover_text("Run every grid point in parallel on all cores; rows appear as they finish.").clicked() {
                let ctx = ui.ctx().clone();
                self.start_sweep(&ctx);
            }
        });
        let total = self.sweep.cells.len();
        if total > 0 {
            let done = self.sweep.rows.len() + self.sweep.failures.len();
            let text = if running && self.sweep.cancelled {
                format!("cancelling… {done} / {total} runs")
            } else if running {
                format!("{done} / {total} runs")
            } else if self.sweep.cancelled {
                format!("cancelled: {done} of {total} runs finished")
            } else {
                format!("done: {done} runs")
            };
            ui.add(egui::ProgressBar::new(done as f32 / total as f32).text(text).animate(running))
                .on_hover_text("Runs finished out of the grid.");
        }
        if let Some(error) = &self.sweep.error {
            ui.label(RichText::new(error).color(Color32::from_rgb(230, 70, 70)).strong());
        }
        if !self.sweep.failures.is_empty() {
            ui.label(RichText::new(format!("{} runs failed; first: {}", self.sweep.failures.len(), self.sweep.failures[0].1)).color(Color32::from_rgb(230, 70, 70)));
        }
        ui.add_space(4.0);
        ui.label(
            RichText::new("Click a point or a phase cell to open that run in the live view (F2 switches views).")
                .small()
                .weak(),
        );
    }

    /// The four sweep panels in a 2 × 2 grid.
    pub(super) fn sweep_panels_ui(&mut self, ui: &mut egui::Ui) {
        if self.sweep.rows.is_empty() {
            ui.vertical_centered(|ui| {
                ui.add_space(40.0);
                ui.heading("Sweep: many runs at once");
                ui.label(
                    "Choose a grid on the left (learning rates × widths × seeds) and press Run sweep. Every grid point \
                     is a full run of the current preset. The panels show where the lazy, catapult and divergent phases \
                     lie, and how the catapult's loss peak grows with the width.",
                );
            });
            if self.sweep.job.is_none() {
                return;
            }
        }
        let available = ui.available_size();
        let spacing = ui.spacing().item_spacing;
        let title_height = ui.text_style_height(&egui::TextStyle::Body) * 1.1 + spacing.y;
        let half_width = ((available.x - spacing.x) / 2.0).floor();
        let plot_height = ((available.y - 2.0 * title_height - 3.0 * spacing.y) / 2.0 - 4.0).max(120.0);
        let groups_owned = self.sweep.rows.clone();
        let groups = by_width(&groups_owned);
        let x_lo = groups_owned.iter().map(|(_, r)| r.eta_scaled).fold(f64::INFINITY, f64::min);
        let x_hi = groups_owned.iter().map(|(_, r)| r.eta_scaled).fold(f64::NEG_INFINITY, f64::max);
        let pad = if x_lo.is_finite() { ((x_hi - x_lo) * 0.03).max(0.05) } else { 0.0 };
        let x_range = if x_lo.is_finite() { (x_lo - pad, x_hi + pad) } else { (0.0, 5.0) };
        let ml = self.snapshot.as_ref().and_then(|s| s.meltzer_liu);
        let mut clicked = None;
        let mut rects = Vec::new();
        ui.horizontal_top(|ui| {
            ui.allocate_ui_with_layout(egui::vec2(half_width, available.y), egui::Layout::top_down(egui::Align::LEFT), |ui| {
                ui.set_width(half_width);
                let (rect, hit) = final_eta_lambda_panel(ui, &groups, x_range, plot_height, ml);
                rects.push((PlotId::SweepFinalEtaLambda, rect));
                clicked = clicked.or(hit);
                let (rect, hit) = weight_norm_panel(ui, &groups, x_range, plot_height, ml);
                rects.push((PlotId::SweepWeightNorm, rect));
                clicked = clicked.or(hit);
            });
            ui.allocate_ui_with_layout(egui::vec2(half_width, available.y), egui::Layout::top_down(egui::Align::LEFT), |ui| {
                ui.set_width(half_width);
                let (rect, hit) = peak_loss_panel(ui, &groups, x_range, plot_height, ml);
                rects.push((PlotId::SweepPeakLoss, rect));
                clicked = clicked.or(hit);
                let (rect, hit) = phase_strip_panel(ui, &groups, x_range, plot_height, ml);
                rects.push((PlotId::SweepPhase, rect));
                clicked = clicked.or(hit);
            });
        });
        for (id, rect) in rects {
            self.export.plot_rects.insert(id, rect);
        }
        if let Some(index) = clicked {
            self.open_sweep_cell(index);
        }
    }
}

fn sweep_plot(id: &str, height: f32, x_range: (f64, f64), with_legend: bool) -> Plot<'static> {
    let plot = Plot::new(id)
        .id(Id::unique(id))
        .height(height)
        .include_x(x_range.0)
        .include_x(x_range.1)
        .x_axis_label("η·λ₀ (learning rate × initial sharpness)")
        .y_axis_min_width(56.0)
        .allow_scroll(false)
        .allow_double_click_reset(true);
    if with_legend {
        plot.legend(Legend::default().position(egui_plot::Corner::LeftTop).background_alpha(0.7).follow_insertion_order(true).text_style(egui::TextStyle::Small))
    } else {
        plot
    }
}

/// The phase-boundary lines every η·λ₀ panel carries: 2 (lazy edge), 4 (catapult edge), and the
/// theory's η_max·λ₀ where it differs from 4.
/// Only the first panel names them in its legend (the others would repeat it).
fn phase_edges(plot_ui: &mut egui_plot::PlotUi, groups: &[(usize, Vec<(usize, &Summary)>)], named: bool, ml: Option<(f64, Option<f64>)>) {
    let name = |text: &str| if named { text.to_string() } else { String::new() };
    plot_ui.vline(VLine::new(name("η·λ₀ = 2 (lazy edge)"), 2.0).color(Color32::from_rgb(60, 170, 90)).style(LineStyle::dashed_dense()).width(1.2));
    plot_ui.vline(VLine::new(name("η·λ₀ = 4 (catapult edge, linear nets)"), 4.0).color(Color32::from_rgb(220, 60, 60)).style(LineStyle::dashed_dense()).width(1.2));
    let mut bounds: Vec<f64> = groups
        .iter()
        .flat_map(|(_, g)| g.iter().filter_map(|(_, r)| r.eta_max_theory.map(|e| e * r.lambda0)))
        .filter(|b| b.is_finite() && (b - 4.0).abs() > 1e-3)
        .collect();
    bounds.sort_by(f64::total_cmp);
    bounds.dedup_by(|a, b| (*a - *b).abs() < 1e-3);
    for b in bounds {
        plot_ui.vline(VLine::new(name("η_max·λ₀ (theory)"), b).color(Color32::from_rgb(220, 60, 60)).style(LineStyle::dotted_dense()).width(1.2));
    }
    // Meltzer–Liu (SPEC §6), as the engine gives them for the live run's initialization.
    if let Some((catapult, divergence)) = ml {
        plot_ui.vline(VLine::new(name(ML_CATAPULT_LABEL), catapult).color(Color32::from_rgb(235, 150, 30)).style(LineStyle::dashed_loose()).width(1.6));
        if let Some(divergence) = divergence {
            plot_ui.vline(VLine::new(name(ML_DIVERGENCE_LABEL), divergence).color(Color32::from_rgb(170, 40, 120)).style(LineStyle::dashed_loose()).width(1.6));
        }
    }
}

/// Legend names of the Meltzer–Liu bounds in the sweep panels.
pub const ML_CATAPULT_LABEL: &str = "catapult guaranteed below (Meltzer–Liu)";
pub const ML_DIVERGENCE_LABEL: &str = "diverges above (Meltzer–Liu)";

/// Lines and points per width of `value` (None = not drawn); returns the drawn points for clicks.
fn series(
    plot_ui: &mut egui_plot::PlotUi,
    groups: &[(usize, Vec<(usize, &Summary)>)],
    value: impl Fn(&Summary) -> Option<f64>,
    clip: Option<f64>,
) -> Vec<(usize, [f64; 2])> {
    let mut hits = Vec::new();
    for (k, (width, group)) in groups.iter().enumerate() {
        let color = series_color(k);
        let name = format!("m = {width}");
        let points: Vec<(usize, [f64; 2], bool)> = group
            .iter()
            .filter_map(|(index, r)| {
                let v = value(r)?;
                let clipped = clip.is_some_and(|top| v > top);
                Some((*index, [r.eta_scaled, clip.map_or(v, |top| v.min(top))], clipped))
            })
            .collect();
        plot_ui.line(Line::new(name.clone(), PlotPoints::new(points.iter().map(|p| p.1).collect())).color(color).width(1.8));
        let (over, inside): (Vec<&(usize, [f64; 2], bool)>, Vec<&(usize, [f64; 2], bool)>) = points.iter().partition(|p| p.2);
        plot_ui.points(Points::new(name.clone(), inside.iter().map(|p| p.1).collect::<Vec<_>>()).radius(3.5).color(color));
        if !over.is_empty() {
            plot_ui.points(
                Points::new(name.clone(), over.iter().map(|p| p.1).collect::<Vec<_>>()).radius(5.0).shape(MarkerShape::Up).color(color),
            );
        }
        hits.extend(points.iter().map(|p| (p.0, p.1)));
    }
    hits
}

fn final_eta_lambda_panel(ui: &mut egui::Ui, groups: &[(usize, Vec<(usize, &Summary)>)], x_range: (f64, f64), height: f32, ml: Option<(f64, Option<f64>)>) -> (egui::Rect, Option<usize>) {
    panel_title(
        ui,
        SWEEP_FINAL_TITLE,
        "η times the sharpness λ at the end of each run. Lazy runs keep their sharpness (on the diagonal). \
         Catapult runs (2 < η·λ₀ < 4) end below 2: training moved to a flatter place. Divergent runs are \
         clipped at the top (triangles).",
    );
    let top = x_range.1.max(4.5).min(8.0);
    let response = sweep_plot("sweep_final_eta_lambda", height, x_range, true)
        .include_y(0.0)
        .include_y(top)
        .y_axis_label("final η·λ")
        .label_formatter(point_hover(|y| format!("final η·λ = {y:.3}")))
        .show(ui, |plot_ui| {
            phase_edges(plot_ui, groups, true, ml);
            plot_ui.hline(HLine::new("η·λ = 2 (stable after training)", 2.0).color(Color32::GRAY).style(LineStyle::dashed_loose()));
            let (lo, hi) = (x_range.0.max(0.0), x_range.1.min(top));
            plot_ui.line(Line::new("η·λ = η·λ₀ (lazy: unchanged)", PlotPoints::new(vec![[lo, lo], [hi, hi]])).color(Color32::GRAY).style(LineStyle::dotted_dense()).width(1.2));
            series(plot_ui, groups, |r| Some(r.final_eta_lambda), Some(top))
        });
    let hit = clicked_point(&response, &response.inner);
    (response.response.rect, hit)
}

fn peak_loss_panel(ui: &mut egui::Ui, groups: &[(usize, Vec<(usize, &Summary)>)], x_range: (f64, f64), height: f32, ml: Option<(f64, Option<f64>)>) -> (egui::Rect, Option<usize>) {
    panel_title(
        ui,
        SWEEP_PEAK_TITLE,
        "The largest loss of each run, on a log scale (each grid line is ×10). Lazy runs peak at their start. \
         In the catapult the loss spikes, and the spike grows in proportion to the width m: the curves of wider \
         networks sit higher by the ratio of the widths.",
    );
    let y_axis = AxisHints::new_y().label("peak loss").formatter(|mark, _| pow10_label(mark.value));
    let response = sweep_plot("sweep_peak_loss", height, x_range, true)
        .custom_y_axes(vec![y_axis])
        .y_grid_spacer(decade_spacer)
        .label_formatter(point_hover(|y| format!("peak loss = {:.3e}", 10f64.powf(y))))
        .show(ui, |plot_ui| {
            phase_edges(plot_ui, groups, false, ml);
            series(plot_ui, groups, |r| (r.peak_loss > 0.0 && r.peak_loss.is_finite()).then(|| r.peak_loss.log10()), None)
        });
    let hit = clicked_point(&response, &response.inner);
    (response.response.rect, hit)
}

fn weight_norm_panel(ui: &mut egui::Ui, groups: &[(usize, Vec<(usize, &Summary)>)], x_range: (f64, f64), height: f32, ml: Option<(f64, Option<f64>)>) -> (egui::Rect, Option<usize>) {
    panel_title(
        ui,
        SWEEP_NORM_TITLE,
        "How much the squared weight norm changed over the run (1 = unchanged). Lazy runs stay near 1; a \
         catapult throws the weights far from where they started. Divergent runs are clipped (triangles).",
    );
    let ratio = |r: &Summary| (r.weight_norm_sq0 > 0.0).then(|| r.final_weight_norm_sq / r.weight_norm_sq0);
    let top = groups
        .iter()
        .flat_map(|(_, g)| g.iter().filter(|(_, r)| r.phase != Phase::Divergent).filter_map(|(_, r)| ratio(r)))
        .fold(1.5f64, f64::max)
        .min(1e3)
        * 1.05;
    let response = sweep_plot("sweep_weight_norm", height, x_range, true)
        .include_y(0.0)
        .include_y(top)
        .y_axis_label("|w|² final / initial")
        .label_formatter(point_hover(|y| format!("|w|² ratio = {y:.4}")))
        .show(ui, |plot_ui| {
            phase_edges(plot_ui, groups, false, ml);
            plot_ui.hline(HLine::new("1 (unchanged)", 1.0).color(Color32::GRAY).style(LineStyle::dashed_loose()));
            series(plot_ui, groups, ratio, Some(top))
        });
    let hit = clicked_point(&response, &response.inner);
    (response.response.rect, hit)
}

/// The phase strip's colour key entry for `phase`.
pub fn phase_key_label(phase: Phase) -> String {
    format!("■ {}", phase.label())
}

/// Integer row marks for the phase strip's width axis.
fn row_spacer(input: GridInput) -> Vec<GridMark> {
    let (lo, hi) = input.bounds;
    ((lo.ceil() as i64)..=(hi.floor() as i64)).map(|k| GridMark { value: k as f64, step_size: 1.0 }).collect()
}

fn phase_strip_panel(ui: &mut egui::Ui, groups: &[(usize, Vec<(usize, &Summary)>)], x_range: (f64, f64), height: f32, ml: Option<(f64, Option<f64>)>) -> (egui::Rect, Option<usize>) {
    panel_title(
        ui,
        SWEEP_PHASE_TITLE,
        "One row per width, one cell per learning rate (stacked thin stripes when there are several seeds), \
         coloured by the phase each run ended in. The lazy/catapult edge sits at η·λ₀ = 2 for every width.",
    );
    // The colour key above the strip (a legend inside would cover cells).
    ui.horizontal(|ui| {
        ui.label(RichText::new("colour:").small());
        for phase in [Phase::Lazy, Phase::Catapult, Phase::Divergent, Phase::Oscillating, Phase::Dead, Phase::Unconverged] {
            if groups.iter().any(|(_, g)| g.iter().any(|(_, r)| r.phase == phase)) {
                ui.label(RichText::new(phase_key_label(phase)).small().strong().color(rgb(phase_color(phase))));
            }
        }
    });
    let height = height - ui.text_style_height(&egui::TextStyle::Small) - ui.spacing().item_spacing.y;
    let labels: Vec<String> = groups.iter().map(|(w, _)| format!("m = {w}")).collect();
    let rows = groups.len().max(1) as f64;
    let y_axis = AxisHints::new_y().label("width").formatter(move |mark, _| {
        let k = mark.value.round();
        if (mark.value - k).abs() < 1e-6 && k >= 0.0 { labels.get(k as usize).cloned().unwrap_or_default() } else { String::new() }
    });
    // Cells: (cell index, phase, x from, x to, y from, y to).
    let mut cells: Vec<(usize, Phase, f64, f64, f64, f64)> = Vec::new();
    for (row, (_, group)) in groups.iter().enumerate() {
        let mut etas: Vec<f64> = group.iter().map(|(_, r)| r.eta_scaled).collect();
        etas.dedup_by(|a, b| (*a - *b).abs() < 1e-12);
        let mut seeds: Vec<u64> = group.iter().map(|(_, r)| r.seed).collect();
        seeds.sort_unstable();
        seeds.dedup();
        let stripe = 0.9 / seeds.len().max(1) as f64;
        for (index, r) in group {
            let i = etas.iter().position(|e| (e - r.eta_scaled).abs() < 1e-12).unwrap_or(0);
            let left = if i == 0 { x_range.0 } else { 0.5 * (etas[i - 1] + etas[i]) };
            let right = if i + 1 == etas.len() { x_range.1 } else { 0.5 * (etas[i] + etas[i + 1]) };
            let s = seeds.iter().position(|s| *s == r.seed).unwrap_or(0) as f64;
            let bottom = row as f64 - 0.45 + s * stripe;
            cells.push((*index, r.phase, left, right, bottom, bottom + stripe));
        }
    }
    let response = sweep_plot("sweep_phase_strip", height, x_range, false)
        .custom_y_axes(vec![y_axis])
        .y_grid_spacer(row_spacer)
        .include_y(-0.6)
        .include_y(rows - 0.4)
        .show_grid([true, false])
        .label_formatter(|pos| match pos {
            egui_plot::HoverPosition::NearDataPoint { plot_name, position, .. } => Some(format!("{plot_name}\nη·λ₀ ≈ {:.3}\n(click to open this run)", position.x)),
            egui_plot::HoverPosition::Elsewhere { position } => Some(format!("η·λ₀ = {:.3}", position.x)),
        })
        .show(ui, |plot_ui| {
            for &(_, phase, l, r, b, t) in &cells {
                let color = rgb(phase_color(phase));
                plot_ui.polygon(Polygon::new(phase.label(), PlotPoints::new(vec![[l, b], [r, b], [r, t], [l, t]])).fill_color(color).stroke((0.5, color)));
            }
            phase_edges(plot_ui, groups, false, ml);
        });
    let mut hit = None;
    if response.response.clicked()
        && let Some(pointer) = response.response.interact_pointer_pos()
    {
        let p = response.transform.value_from_position(pointer);
        hit = cells.iter().find(|c| c.2 <= p.x && p.x < c.3 && c.4 <= p.y && p.y < c.5).map(|c| c.0);
    }
    (response.response.rect, hit)
}
