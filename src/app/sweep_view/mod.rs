//! The Sweep view: a grid over η (η·λ₀ units or raw) × widths × seeds built on the current
//! preset, run by `sweep::run_sweep` on a background thread (rayon, all cores) with a progress
//! bar and Cancel; rows stream in over a channel and fill four panels (final η·λ, peak loss,
//! weight norm growth against η·λ₀ per width, and a phase strip over (η·λ₀, width)). Clicking a
//! point or a cell opens that exact run in the live view. UI only: every number is a Summary.

use super::labels::*;
use eframe::egui;
use super::App;
use super::export::PlotId;
use super::plots::{decade_spacer, pow10_label};
use crate::engine::config::Preset;
use crate::report::figure::{SERIES_COLORS, phase_color};
use crate::engine::sim::{Phase, Summary};
use crate::engine::sweep::{self, Cell, CellResult, EtaAxis, SweepSpec};
use crossbeam_channel::{Receiver, unbounded};
use egui::{Color32, DragValue, Id, RichText};
use egui_plot::{AxisHints, GridInput, GridMark, HLine, Legend, Line, LineStyle, MarkerShape, Plot, PlotPoint, PlotPoints, PlotResponse, Points, Polygon, VLine};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;


/// The grid being edited.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
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

impl SweepState {
    /// The last sweep's grid and results for the saved state (None: no sweep was run).
    pub(super) fn to_saved(&self) -> Option<super::saved_state::SavedSweep> {
        (!self.cells.is_empty()).then(|| super::saved_state::SavedSweep {
            form: self.form.clone(),
            base_name: self.base_name.clone(),
            cancelled: self.cancelled,
            cells: self.cells.iter().map(|c| c.preset.clone()).collect(),
            rows: self.rows.clone(),
            failures: self.failures.clone(),
        })
    }

    /// Shows a saved sweep's results (checked by the caller: every row's cell is in the grid).
    pub(super) fn restore(&mut self, saved: super::saved_state::SavedSweep) {
        self.form = saved.form;
        self.base_name = saved.base_name;
        self.cancelled = saved.cancelled;
        self.cells = saved.cells.into_iter().enumerate().map(|(index, preset)| Cell { index, preset }).collect();
        self.rows = saved.rows;
        self.failures = saved.failures;
        self.error = None;
    }

    /// Forgets the last sweep's grid and results (the form stays).
    pub(super) fn clear_results(&mut self) {
        self.cells.clear();
        self.rows.clear();
        self.failures.clear();
        self.cancelled = false;
        self.base_name.clear();
    }

    /// Stops a running sweep and waits for its thread; the rows finished before it stopped are
    /// kept (a cell in flight stops at its next step and gives no row).
    pub(super) fn stop_keeping_finished(&mut self) {
        let Some(mut job) = self.job.take() else { return };
        job.cancel.store(true, Ordering::Relaxed);
        if let Some(thread) = job.thread.take() {
            let _ = thread.join();
        }
        for message in job.rx.try_iter() {
            match message {
                SweepMessage::Row(index, Ok(summary)) => self.rows.push((index, summary)),
                SweepMessage::Row(index, Err(e)) => self.failures.push((index, e)),
                SweepMessage::Finished => {}
            }
        }
        // Every cell without a row was stopped (a sweep that had just finished was not).
        self.cancelled = self.rows.len() + self.failures.len() < self.cells.len();
    }
}

mod panels;
use panels::*;

impl App {
    pub fn sweep_running(&self) -> bool {
        self.sweep.job.is_some()
    }

    /// The cells of the last sweep started.
    pub fn sweep_total(&self) -> usize {
        self.sweep.cells.len()
    }

    /// Runs of the last sweep finished so far (failed ones included).
    pub fn sweep_done(&self) -> usize {
        self.sweep.rows.len() + self.sweep.failures.len()
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
        let spec = SweepSpec { base, eta, widths, seeds: form.seeds.max(1), approxes: Vec::new() };
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
        ui.label(RichText::new(format!("The next sweep is based on the current preset: {}", self.preset.name)).small())
            .on_hover_text("Every run of the grid is this preset with η, width and seed changed.");
        // The results shown are of the sweep that made them, which may be of another preset.
        if !self.sweep.rows.is_empty() || self.sweep.job.is_some() {
            let text = if self.sweep.base_name == self.preset.name {
                format!("Results shown: sweep of {}", self.sweep.base_name)
            } else {
                format!("Results shown: the last sweep, of {} (not of the current preset)", self.sweep.base_name)
            };
            ui.label(RichText::new(text).small().color(Color32::from_rgb(235, 150, 30)));
        }
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
