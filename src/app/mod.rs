//! The desktop app (eframe): `App` owns the runner handle, the columnar history and the
//! persisted UI preferences; each frame it drains the runner's events (never blocking), handles
//! the keyboard, lays out the menu, status strip, side panel and the four plots, and sends the
//! frame's commands at the end. Two views share the window: the live run (default) and the
//! sweep (F2 switches). UI only: every number shown comes from the runner or a sweep's summaries.

mod agop_view;
mod axes;
mod data_files;
mod data_view;
mod live_layout;
pub mod mlp_controls;
mod optimizer_controls;
mod optimizer_lines;
mod hessian_lines;
pub mod labels;
pub mod lessons_ui;
pub mod runner;
pub mod controls;
pub mod export;
pub mod phase_plane;
pub mod pins;
pub mod plots;
pub mod presets_ui;
pub mod saved_state;
pub mod schedule;
pub mod share_ui;
pub mod sweep_view;
pub mod timeline;
mod status;
use status::fmt_num;

use labels::*;
use export::PlotId;
use phase_plane::PhaseView;
use pins::Pin;

use eframe::egui;
use crate::engine::config::Preset;
use crate::app::runner::{Command, Event, RunSnapshot, RunStatus, RunnerHandle, Speed};
use crate::engine::sim::Regime;
use crate::report::series::{self as history, History};
use crate::engine::sim::Phase;
use egui::{Color32, Key, Modifiers, RichText};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// The default speed: slow enough to watch the first ~20 steps of a catapult.
pub const DEFAULT_STEPS_PER_SECOND: f64 = 20.0;
/// The window opens at this pace for its first `SLOW_START_STEPS` steps (the default catapult
/// then takes a few seconds instead of half a second), then goes on at the preferred speed.
pub const SLOW_START_STEPS_PER_SECOND: f64 = 5.0;
pub const SLOW_START_STEPS: u64 = 30;
/// The most work per step (estimated floating-point operations) a control may ask the live
/// run for: about a second per step on a laptop core. Larger runs belong on the command line.
pub const APP_WORK_LIMIT: f64 = 5e10;

/// Which view fills the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// One run, streaming (the default).
    Live,
    /// A grid of runs and its four panels.
    Sweep,
}

/// UI preferences kept between sessions (eframe storage). Presets are JSON files, not here.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Prefs {
    pub dark: bool,
    pub large_text: bool,
    pub last_preset: String,
    pub side_panel_width: f32,
    pub steps_per_second: f64,
    pub unlimited: bool,
    /// The side panel is collapsed (small windows, projectors): the plots take the whole width.
    pub controls_hidden: bool,
}

impl Default for Prefs {
    fn default() -> Self {
        Prefs {
            dark: true,
            large_text: false,
            last_preset: String::new(),
            side_panel_width: 360.0,
            steps_per_second: DEFAULT_STEPS_PER_SECOND,
            unlimited: false,
            controls_hidden: false,
        }
    }
}

/// The application.
pub struct App {
    prefs: Prefs,
    runner: RunnerHandle,
    history: History,
    snapshot: Option<RunSnapshot>,
    /// The preset of the run being shown.
    preset: Preset,
    /// The structural controls edit this copy; applying it restarts the run.
    draft: Preset,
    eta_scaled_ui: f64,
    eta_ui: f64,
    eta_editing: bool,
    eta_sent_at: Option<Instant>,
    /// Bumped on every new run: the η widgets get new ids, so an edit left in them is dropped.
    eta_widget_generation: u64,
    /// What happened to the last typed η (clamped, beyond the slider), shown beside the field.
    eta_note: Option<String>,
    steps_limit_ui: u64,
    /// Commands gathered during the frame, sent at its end.
    outbox: Vec<Command>,
    last_error: Option<String>,
    control_error: Option<String>,
    info: Option<String>,
    /// Time the UI thread spends building a frame (ms): a moving average and a slowly
    /// decaying maximum, shown when `show_frame_time` is on (View menu).
    frame_ms: f64,
    frame_ms_max: f64,
    show_frame_time: bool,
    files: presets_ui::FileDialogs,
    path_text: String,
    help_open: bool,
    /// The data view window (View → Data view, key D).
    data_view_open: bool,
    reset_plots: bool,
    /// Text sizes are scaled by this factor now (large text).
    text_scale: f32,
    samples_received: u64,
    view: View,
    pins: Vec<Pin>,
    export: export::ExportState,
    sweep: sweep_view::SweepState,
    share: share_ui::ShareState,
    timeline: timeline::Timeline,
    lesson: Option<lessons_ui::LessonRun>,
    presenter: bool,
    /// The phase-plane panel's view (u/v or ρ/v̄).
    phase_view: PhaseView,
    /// The slow start is on (the first run after launch, until `SLOW_START_STEPS` or a speed change).
    slow_start: bool,
    /// The step axis chosen in the View menu (None = automatic).
    step_axis_choice: Option<history::StepAxis>,
    /// The series the plots drew last frame, where they drew them, the last hover readout.
    plotted: Vec<crate::report::live_view::PlotSeries>,
    layouts: std::collections::HashMap<PlotId, plots::PlotLayout>,
    hover: std::cell::RefCell<Option<plots::HoverReadout>>,
    /// The saved state: its file, its note, the close-during-sweep dialog.
    saved: saved_state::Store,
    /// The side panel starts scrolled to its left edge (egui keeps scroll offsets across
    /// launches; an old horizontal offset would open the window with every label cut off).
    side_scroll_reset: bool,
}

impl App {
    /// An app on `preset`, running at once at the preferred speed. `repaint` is called by the
    /// runner thread whenever new samples are waiting (pass `ctx.request_repaint()`).
    pub fn new(preset: Preset, repaint: Box<dyn Fn() + Send>) -> App {
        App::with_prefs(preset, repaint, Prefs::default(), false)
    }

    /// Like `new`, but the run starts paused (tests step it deterministically).
    pub fn new_paused(preset: Preset, repaint: Box<dyn Fn() + Send>) -> App {
        App::with_prefs(preset, repaint, Prefs::default(), true)
    }

    fn with_prefs(preset: Preset, repaint: Box<dyn Fn() + Send>, prefs: Prefs, start_paused: bool) -> App {
        let speed = if prefs.unlimited { Speed::Unlimited } else { Speed::StepsPerSecond(prefs.steps_per_second) };
        let runner = RunnerHandle::spawn(preset.clone(), speed, start_paused, repaint);
        let sweep = sweep_view::SweepState::new(&preset);
        App {
            prefs,
            runner,
            history: History::default(),
            snapshot: None,
            draft: preset.clone(),
            steps_limit_ui: preset.train.steps as u64,
            preset,
            eta_scaled_ui: 0.0,
            eta_ui: 0.0,
            eta_editing: false,
            eta_sent_at: None,
            eta_widget_generation: 0,
            eta_note: None,
            outbox: Vec::new(),
            last_error: None,
            control_error: None,
            info: None,
            frame_ms: 0.0,
            frame_ms_max: 0.0,
            show_frame_time: false,
            files: presets_ui::FileDialogs::default(),
            path_text: String::new(),
            help_open: false,
            data_view_open: false,
            reset_plots: false,
            text_scale: 1.0,
            samples_received: 0,
            view: View::Live,
            pins: Vec::new(),
            export: export::ExportState::default(),
            sweep,
            share: share_ui::ShareState::default(),
            timeline: timeline::Timeline::new(),
            lesson: None,
            presenter: false,
            phase_view: PhaseView::default(),
            slow_start: false,
            step_axis_choice: None,
            plotted: Vec::new(),
            layouts: std::collections::HashMap::new(),
            hover: std::cell::RefCell::new(None),
            saved: saved_state::Store::default(),
            side_scroll_reset: true,
        }
    }

    /// The eframe entry: restores preferences from storage and wires the repaint callback.
    pub fn from_creation_context(cc: &eframe::CreationContext<'_>, preset: Preset) -> App {
        let prefs: Prefs = cc.storage.and_then(|s| eframe::get_value(s, eframe::APP_KEY)).unwrap_or_default();
        let ctx = cc.egui_ctx.clone();
        let mut app = App::with_prefs(preset, Box::new(move || ctx.request_repaint()), prefs, false);
        app.setup_context(&cc.egui_ctx);
        if !app.prefs.unlimited && app.prefs.steps_per_second > SLOW_START_STEPS_PER_SECOND {
            app.slow_start = true;
            app.runner.send(Command::SetSpeed(Speed::StepsPerSecond(SLOW_START_STEPS_PER_SECOND)));
        }
        app
    }

    /// Fonts, theme, text size and keyboard zoom.
    pub fn setup_context(&mut self, ctx: &egui::Context) {
        let mut fonts = egui::FontDefinitions::default();
        // Hack covers arrows and math symbols the proportional font lacks.
        if let Some(family) = fonts.families.get_mut(&egui::FontFamily::Proportional) {
            family.push("Hack".to_owned());
        }
        ctx.set_fonts(fonts);
        ctx.options_mut(|o| o.zoom_with_keyboard = true);
        self.apply_theme(ctx);
        self.apply_text_size(ctx);
    }

    fn apply_theme(&self, ctx: &egui::Context) {
        ctx.set_theme(if self.prefs.dark { egui::Theme::Dark } else { egui::Theme::Light });
    }

    fn apply_text_size(&mut self, ctx: &egui::Context) {
        let target = if self.prefs.large_text { 1.5 } else { 1.15 };
        let factor = target / self.text_scale;
        if (factor - 1.0).abs() > 1e-6 {
            ctx.all_styles_mut(|style| {
                for font in style.text_styles.values_mut() {
                    font.size *= factor;
                }
            });
        }
        self.text_scale = target;
    }

    // ---- Read accessors (tests, status) ----

    /// The step of the newest sample received.
    pub fn step_count(&self) -> u64 {
        self.history.last_step().unwrap_or(0)
    }

    /// η as the runner last reported it.
    pub fn eta(&self) -> Option<f64> {
        self.snapshot.as_ref().map(|s| s.eta)
    }

    /// η·λ̂0 as the runner last reported it.
    pub fn eta_scaled(&self) -> Option<f64> {
        self.snapshot.as_ref().map(|s| s.eta_scaled)
    }

    pub fn preset_name(&self) -> &str {
        &self.preset.name
    }

    pub fn preset(&self) -> &Preset {
        &self.preset
    }

    /// A one-line description of the running model.
    pub fn model_description(&self) -> String {
        self.preset.describe_model()
    }

    /// The last informational message (e.g. "No file chosen …").
    pub fn info(&self) -> Option<&str> {
        self.info.as_deref()
    }

    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    pub fn status(&self) -> Option<RunStatus> {
        self.snapshot.as_ref().map(|s| s.status)
    }

    pub fn snapshot(&self) -> Option<&RunSnapshot> {
        self.snapshot.as_ref()
    }

    pub fn history(&self) -> &History {
        &self.history
    }

    /// Samples received since the app started (all runs).
    pub fn samples_received(&self) -> u64 {
        self.samples_received
    }

    pub fn zoom_factor_hint(ctx: &egui::Context) -> f32 {
        ctx.zoom_factor()
    }

    /// Sends a command to the runner now (tests; the UI uses the same commands).
    pub fn command(&mut self, command: Command) {
        self.runner.send(command);
    }

    /// True while the window's slow start (5 steps/s for the first 30 steps) is on.
    pub fn slow_start(&self) -> bool {
        self.slow_start
    }

    pub fn prefs(&self) -> &Prefs {
        &self.prefs
    }

    pub fn view(&self) -> View {
        self.view
    }

    pub fn set_view(&mut self, view: View) {
        self.view = view;
    }

    /// Opens or closes the data view window (what the network is fitting).
    pub fn set_data_view_open(&mut self, open: bool) {
        self.data_view_open = open;
    }

    pub fn phase_view(&self) -> PhaseView {
        self.phase_view
    }

    // ---- Frame logic ----

    /// Drains the runner's events into the history (never blocks).
    fn drain_events(&mut self) {
        for event in self.runner.drain() {
            match event {
                Event::NewRun { preset, first, snapshot } => {
                    self.history.clear();
                    self.timeline.new_run();
                    self.history.push(&first, Regime::of(&first, snapshot.eta_max_theory.is_some()));
                    self.samples_received += 1;
                    self.steps_limit_ui = snapshot.steps_limit;
                    let same_run = self.snapshot.as_ref().is_some_and(|s| s.run_id == snapshot.run_id);
                    if !same_run {
                        // Another run: the η fields start over from what it really uses.
                        self.eta_sent_at = None;
                        self.eta_editing = false;
                        self.eta_note = None;
                        self.eta_widget_generation += 1;
                    }
                    self.preset = *preset;
                    self.draft = self.preset.clone();
                    self.snapshot = Some(snapshot);
                    self.reset_plots = true;
                }
                Event::Batch { samples, regimes, snapshot } => {
                    if self.snapshot.as_ref().is_some_and(|s| s.run_id != snapshot.run_id) {
                        continue;
                    }
                    for (sample, regime) in samples.iter().zip(regimes) {
                        self.history.push(sample, regime);
                    }
                    self.samples_received += samples.len() as u64;
                    self.steps_limit_ui = snapshot.steps_limit;
                    self.snapshot = Some(snapshot);
                }
                Event::Status(snapshot) => {
                    if self.snapshot.as_ref().is_none_or(|s| s.run_id == snapshot.run_id) {
                        self.steps_limit_ui = snapshot.steps_limit;
                        self.snapshot = Some(snapshot);
                    }
                }
                Event::Error(message) => self.last_error = Some(message),
            }
        }
    }

    /// Space play/pause, ← / → through the timeline (→ at the newest step steps the run), R reset,
    /// F1 help; not while typing in a field.
    fn handle_keys(&mut self, ctx: &egui::Context) {
        if ctx.egui_wants_keyboard_input() {
            return;
        }
        if ctx.input_mut(|i| i.consume_key(Modifiers::NONE, Key::Space)) {
            self.toggle_pause();
        }
        self.timeline_keys(ctx);
        if ctx.input_mut(|i| i.consume_key(Modifiers::NONE, Key::R)) {
            self.outbox.push(Command::Reset);
        }
        if ctx.input_mut(|i| i.consume_key(Modifiers::NONE, Key::F1)) {
            self.help_open = !self.help_open;
        }
        if ctx.input_mut(|i| i.consume_key(Modifiers::NONE, Key::D)) {
            self.data_view_open = !self.data_view_open;
        }
        if ctx.input_mut(|i| i.consume_key(Modifiers::NONE, Key::F2)) {
            self.view = if self.view == View::Live { View::Sweep } else { View::Live };
        }
    }

    /// Validates the draft preset and, if it passes, restarts the run from it.
    pub(super) fn apply_draft(&mut self) {
        if self.draft == self.preset {
            self.control_error = None;
            return;
        }
        let mut candidate = self.draft.clone();
        if !candidate.name.ends_with("(edited)") {
            candidate.name = format!("{} (edited)", candidate.name);
        }
        let work = crate::engine::config::estimated_work_per_step(&candidate);
        let in_force = format!("the run keeps width {}, seed {}", self.preset.model.width, self.preset.seed);
        if crate::engine::config::validate(&candidate, "controls").is_ok() && work > APP_WORK_LIMIT {
            self.control_error = Some(format!(
                "not applied: width {} with n = {}, d = {} needs about {:.0} GFLOP per step (the app's limit is {:.0}, so the window stays responsive); use `catapult-lab run` for runs this large; {in_force}",
                candidate.model.width,
                crate::engine::config::data_shape(&candidate.data).0,
                crate::engine::config::data_shape(&candidate.data).1,
                work / 1e9,
                APP_WORK_LIMIT / 1e9
            ));
            // The controls show the values in force, not the refused ones.
            self.draft = self.preset.clone();
            return;
        }
        match crate::engine::config::validate(&candidate, "controls") {
            Ok(()) => {
                self.control_error = None;
                self.last_error = None;
                // A schedule edit restarts from the preset's own rate; other edits keep the η on screen.
                if candidate.train.schedule != self.preset.train.schedule {
                    self.outbox.push(Command::SetPreset(Box::new(candidate)));
                } else {
                    self.outbox.push(Command::SetPresetKeepingEta(Box::new(candidate)));
                }
            }
            Err(e) => {
                self.control_error = Some(format!("not applied: `{}` {}; {in_force}", e.key, e.message));
                self.draft = self.preset.clone();
            }
        }
    }

    fn flush_outbox(&mut self) {
        for command in self.outbox.drain(..) {
            self.runner.send(command);
        }
    }

    // ---- Layout ----

    fn record_frame_time(&mut self, ms: f64) {
        self.frame_ms = if self.frame_ms == 0.0 { ms } else { 0.9 * self.frame_ms + 0.1 * ms };
        self.frame_ms_max = ms.max(0.995 * self.frame_ms_max);
    }

    /// The moving average of the time the UI thread spends building a frame, in ms.
    pub fn frame_ms(&self) -> f64 {
        self.frame_ms
    }

}

impl eframe::App for App {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.drain_events();
        self.restore_pending_lesson();
        if self.slow_start && self.step_count() >= SLOW_START_STEPS {
            self.slow_start = false;
            self.send_speed();
        }
        self.poll_file_dialogs();
        self.poll_sweep();
        self.poll_exports(ctx);
        self.handle_keys(ctx);
        self.handle_close_request(ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let frame_started = std::time::Instant::now();
        egui::Panel::top("menu_bar").show(ui, |ui| self.menu_bar_ui(ui));
        egui::Panel::top("status_strip").show(ui, |ui| {
            self.status_strip_ui(ui);
            self.error_bar_ui(ui);
            self.saved_state_note_ui(ui);
        });
        // The side panel never takes more than a third of the window (so a 1024-pixel window keeps
        // room for the plots) and never grows with its content (long numbers, large text): it
        // scrolls instead.
        let window_width = ui.ctx().content_rect().width();
        let max_side = (window_width * 0.34).clamp(240.0, 700.0);
        if self.lesson.is_some() && self.view == View::Live {
            egui::Panel::top("lesson").show(ui, |ui| self.lesson_ui(ui));
        }
        if !self.prefs.controls_hidden && !self.presenter {
            let side = egui::Panel::left("controls")
                .resizable(true)
                .default_size(self.prefs.side_panel_width.min(max_side))
                .size_range(240.0f32.min(max_side)..=max_side)
                .show(ui, |ui| {
                    let mut area = egui::ScrollArea::both().auto_shrink([false, false]);
                    if std::mem::take(&mut self.side_scroll_reset) {
                        area = area.horizontal_scroll_offset(0.0);
                    }
                    area.show(ui, |ui| match self.view {
                        View::Live => self.controls_ui(ui),
                        View::Sweep => {
                            self.sweep_controls_ui(ui);
                            ui.separator();
                            self.export_ui(ui);
                        }
                    });
                });
            self.prefs.side_panel_width = side.response.rect.width();
        }
        if self.view == View::Live {
            egui::Panel::bottom("timeline").show(ui, |ui| self.timeline_ui(ui));
        }
        egui::CentralPanel::default().show(ui, |ui| match self.view {
            View::Live => self.plots_ui(ui),
            View::Sweep => self.sweep_panels_ui(ui),
        });
        let ctx = ui.ctx().clone();
        self.help_ui(&ctx);
        self.share_ui(&ctx);
        self.lesson_callout(&ctx);
        self.handle_dropped_files(&ctx);
        self.data_view_ui(&ctx);
        self.close_dialog_ui(&ctx);
        self.flush_outbox();
        self.record_frame_time(frame_started.elapsed().as_secs_f64() * 1e3);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.prefs);
    }

    fn on_exit(&mut self) {
        self.save_on_exit();
    }
}

/// Opens the window on `preset` and runs until it is closed.
pub fn run_native(preset: Preset) -> Result<(), String> {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("catapult-lab: lazy, catapult and divergent gradient descent")
            .with_app_id("catapult-lab")
            .with_inner_size([1400.0, 900.0])
            .with_min_inner_size([900.0, 600.0]),
        ..Default::default()
    };
    eframe::run_native(
        "catapult-lab",
        options,
        Box::new(move |cc| {
            let mut app = App::from_creation_context(cc, preset);
            // The real window keeps its pins, sweep and lesson position between launches.
            if let Some(path) = saved_state::default_path() {
                app.use_saved_state(path);
            }
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| e.to_string())
}
