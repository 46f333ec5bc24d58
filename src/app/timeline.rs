//! The timeline under the live plots: a scrubber over the current run's history, the values at
//! the chosen step, ← / → (one step) and Shift+← / → (ten) while paused, and Play, which replays
//! from the chosen step with the replay clock of report::replay (the animation export's timing)
//! at a chosen speed, optionally in slow motion around the loss peak. While a step t before the
//! newest is chosen, the plots draw the history up to t (on the whole run's step axis): their
//! newest points, the u/v "now" point and the replay cursor line all sit at t. Replay only reads
//! the history, never re-simulates; in a thinned stretch a row is a bucket of steps and the
//! readout says so.

use super::*;
use crate::report::replay::{interesting_until, replay_times, row_at, slowmo_window};

/// The replay speeds offered (× the replay clock).
pub const SPEEDS: [f64; 5] = [0.25, 0.5, 1.0, 2.0, 4.0];

#[derive(Default)]
pub struct Timeline {
    /// The chosen row, or None: the newest (live).
    cursor: Option<usize>,
    /// Replaying: when Play was pressed and the replay-clock time it started from.
    playing: Option<(Instant, f64)>,
    pub speed_index: usize,
    pub slowmo: bool,
    /// The history cut at the cursor: (history generation, row, prefix).
    cut: Option<(u64, usize, History)>,
    /// Replay times of the history rows: (history generation, slow motion, times).
    times: Option<(u64, bool, Vec<f64>)>,
}

/// What the readout shows at the chosen step (tests compare it with the history).
#[derive(Clone, Debug, PartialEq)]
pub struct ReplayValues {
    pub row: usize,
    pub step: u64,
    /// The first step this row stands for (below `step` in a thinned stretch).
    pub bucket_start: u64,
    pub loss: f64,
    pub lambda_hat: f64,
    pub eta_lambda: f64,
    pub weight_norm_sq: f64,
    pub u: f64,
    pub v: f64,
}

impl Timeline {
    pub fn new() -> Timeline {
        Timeline { speed_index: 2, ..Default::default() }
    }

    /// A new run: live again, replay stopped.
    pub fn new_run(&mut self) {
        self.cursor = None;
        self.playing = None;
        self.cut = None;
    }

    /// The history cut at the chosen row (after `App::prepare_cut`), or None when live.
    pub fn cut(&self) -> Option<&History> {
        self.cut.as_ref().map(|(_, _, h)| h)
    }
}

impl App {
    /// The row the view shows (None: the newest, live).
    pub fn replay_row(&self) -> Option<usize> {
        self.timeline.cursor.filter(|&r| r + 1 < self.history.len())
    }

    /// Whether Play is replaying.
    pub fn replaying(&self) -> bool {
        self.timeline.playing.is_some()
    }

    /// Chooses the row the view shows (the scrubber, the keys and lessons use this); the newest
    /// row or beyond means live.
    pub fn set_replay_row(&mut self, row: Option<usize>) {
        self.timeline.cursor = row.filter(|&r| r + 1 < self.history.len());
    }

    /// Shows `row` from now on, even while it is the newest: rows that arrive after it (a run
    /// asked to pause delivers the few samples it computed before the request) do not move the
    /// view past it. A lesson stopping a running run uses this.
    pub fn hold_row(&mut self, row: usize) {
        self.timeline.cursor = Some(row);
    }

    /// The row at `step` (the last row at or before it).
    pub fn row_of_step(&self, step: f64) -> usize {
        self.history.step.partition_point(|&s| s <= step).saturating_sub(1)
    }

    /// The values at the chosen row (the newest when live).
    pub fn replay_values(&self) -> Option<ReplayValues> {
        let row = self.replay_row().or_else(|| self.history.len().checked_sub(1))?;
        let h = &self.history;
        let step = h.step[row] as u64;
        let bucket_start = if row > 0 { (h.step[row - 1] as u64 + 1).min(step) } else { step };
        Some(ReplayValues { row, step, bucket_start, loss: h.loss[row], lambda_hat: h.lambda_hat[row], eta_lambda: h.eta_lambda[row], weight_norm_sq: h.weight_norm_sq[row], u: h.u[row], v: h.v[row] })
    }

    /// Cuts the history at the chosen row for the plots (kept while the row and history stay).
    pub(super) fn prepare_cut(&mut self) {
        let Some(row) = self.replay_row() else {
            self.timeline.cut = None;
            return;
        };
        let generation = self.history.generation;
        if !self.timeline.cut.as_ref().is_some_and(|(g, r, _)| *g == generation && *r == row) {
            self.timeline.cut = Some((generation, row, self.history.prefix(row + 1)));
        }
    }

    fn paused_or_done(&self) -> bool {
        self.snapshot.as_ref().is_some_and(|s| s.status != RunStatus::Running)
    }

    /// ← / → one step, Shift+← / → ten; → at the newest step makes a new step (as before).
    pub(super) fn timeline_keys(&mut self, ctx: &egui::Context) {
        // Shift first: a plain-key check would also take Shift+arrow (egui ignores Shift there).
        for (modifiers, k) in [(Modifiers::SHIFT, 10i64), (Modifiers::NONE, 1)] {
            if ctx.input_mut(|i| i.consume_key(modifiers, Key::ArrowLeft)) {
                if !self.paused_or_done() {
                    self.outbox.push(Command::Pause);
                }
                self.timeline.playing = None;
                let last = self.history.len().saturating_sub(1);
                let row = self.replay_row().unwrap_or(last);
                self.set_replay_row(Some(row.saturating_sub(k as usize)));
            }
            if ctx.input_mut(|i| i.consume_key(modifiers, Key::ArrowRight)) {
                self.timeline.playing = None;
                match self.replay_row() {
                    Some(row) => self.set_replay_row(Some(row + k as usize)),
                    None => self.outbox.push(Command::Step(k as u64)),
                }
            }
        }
    }

    fn replay_clock(&mut self) -> &[f64] {
        let generation = self.history.generation;
        let slowmo = self.timeline.slowmo;
        if !self.timeline.times.as_ref().is_some_and(|(g, s, _)| *g == generation && *s == slowmo) {
            let peak = self.snapshot.as_ref().map_or(0, |s| s.peak_step);
            let last = self.history.last_step().unwrap_or(0);
            let window = slowmo.then(|| slowmo_window(peak, last));
            let unstable: Vec<bool> = self.history.regime.iter().map(|r| *r != Regime::Stable).collect();
            let times = replay_times(&self.history.step, self.step_axis(), interesting_until(peak), window, &unstable);
            self.timeline.times = Some((generation, slowmo, times));
        }
        self.timeline.times.as_ref().map_or(&[], |(_, _, t)| t)
    }

    /// Starts replaying from the chosen row (from the start when live), pausing a running run.
    pub fn play_replay(&mut self) {
        if self.history.len() < 2 {
            return;
        }
        if !self.paused_or_done() {
            self.outbox.push(Command::Pause);
        }
        let row = self.replay_row().unwrap_or(0);
        self.set_replay_row(Some(row));
        let start = self.replay_clock().get(row).copied().unwrap_or(0.0);
        self.timeline.playing = Some((Instant::now(), start));
    }

    /// Advances Play: the row whose replay time has come (live again at the end).
    fn advance_replay(&mut self, ctx: &egui::Context) {
        let Some((since, from)) = self.timeline.playing else { return };
        let speed = SPEEDS[self.timeline.speed_index.min(SPEEDS.len() - 1)];
        let now = from + since.elapsed().as_secs_f64() * speed;
        let times = self.replay_clock();
        let row = row_at(times, now);
        let done = times.last().is_none_or(|&t| now >= t);
        if done {
            self.timeline.playing = None;
            self.set_replay_row(None);
        } else {
            self.set_replay_row(Some(row));
            ctx.request_repaint();
        }
    }

    /// The timeline bar: Play/Stop, speed, slow motion, the scrubber and the values at its step.
    pub(super) fn timeline_ui(&mut self, ui: &mut egui::Ui) {
        self.advance_replay(ui.ctx());
        let Some(values) = self.replay_values() else {
            ui.label("timeline: starting…");
            return;
        };
        let last_step = self.history.last_step().unwrap_or(0);
        // One row that never wraps (it scrolls sideways in narrow windows), so the plots keep their height.
        egui::ScrollArea::horizontal().id_salt("timeline_row").show(ui, |ui| ui.horizontal(|ui| {
            let playing = self.timeline.playing.is_some();
            if ui.button(if playing { TIMELINE_STOP } else { TIMELINE_PLAY }).on_hover_text("Replay the run from the chosen step (the history, not a new simulation); the run pauses. ← / → step one back/forward while paused, Shift+← / → ten.").clicked() {
                if playing {
                    self.timeline.playing = None;
                } else {
                    self.play_replay();
                }
            }
            egui::ComboBox::from_label(TIMELINE_SPEED).width(64.0).selected_text(format!("{}×", SPEEDS[self.timeline.speed_index])).show_ui(ui, |ui| {
                for (k, speed) in SPEEDS.iter().enumerate() {
                    ui.selectable_value(&mut self.timeline.speed_index, k, format!("{speed}×"));
                }
            });
            ui.checkbox(&mut self.timeline.slowmo, TIMELINE_SLOWMO).on_hover_text("Spend about 5 s on the 30 steps around the loss peak (at 1×).");
            let label = ui.label(TIMELINE_LABEL);
            let mut step = values.step as f64;
            let width = (ui.available_width() - 560.0).max(120.0);
            ui.spacing_mut().slider_width = width;
            let response = ui.add(egui::Slider::new(&mut step, 0.0..=(last_step.max(1) as f64)).step_by(1.0).show_value(false)).labelled_by(label.id);
            if response.changed() {
                self.timeline.playing = None;
                if !self.paused_or_done() {
                    self.outbox.push(Command::Pause);
                }
                let row = self.row_of_step(step);
                self.set_replay_row(Some(row));
            }
            if self.replay_row().is_some() && ui.button(TIMELINE_LIVE).on_hover_text("Back to the newest step.").clicked() {
                self.timeline.playing = None;
                self.set_replay_row(None);
            }
            let values = self.replay_values().unwrap_or(values);
            let steps = if values.bucket_start < values.step { format!("steps {}–{} (one bucket)", values.bucket_start, values.step) } else { format!("step {}", values.step) };
            let live = if self.replay_row().is_none() { " (newest)" } else { "" };
            ui.label(format!(
                "{TIMELINE_READOUT} {steps}: loss {}  λ {}  η·λ {}  |w|² {}  u {}  v {}{live}",
                fmt_num(values.loss),
                fmt_num(values.lambda_hat),
                fmt_num(values.eta_lambda),
                fmt_num(values.weight_norm_sq),
                fmt_num(values.u),
                fmt_num(values.v)
            ));
        }));
    }
}

/// The replay cursor: a vertical line at the chosen step on a step plot (when one is chosen).
pub fn cursor_line(plot_ui: &mut egui_plot::PlotUi, inputs: &plots::PlotInputs) {
    if let Some(x) = inputs.cursor {
        plot_ui.vline(egui_plot::VLine::new(TIMELINE_CURSOR, x).color(Color32::from_rgb(230, 60, 160)).width(1.5));
    }
}
