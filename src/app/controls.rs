//! The side panel's controls: run controls (play/pause, step, reset, speed, steps limit), the
//! live learning rate (η·λ₀ slider with marks at 2 and 4, raw η), and the structural controls
//! that edit a draft preset, validate it (config::validate) and restart the run from it.
//! Every control carries a tooltip saying what it is and what it does to the dynamics.

use super::labels::*;
use eframe::egui;
use super::App;
use crate::engine::config::{Approx, DataKind, LossKind, ModelKind, Reduction, XSpec, YSpec};
use crate::app::runner::{Command, RunStatus, Speed};
use egui::{Color32, ComboBox, DragValue, RichText, Slider};


/// The η·λ₀ slider's range (typed values may go beyond it, up to `ETA_SCALED_TYPED_MAX`).
const ETA_SCALED_MAX: f64 = 6.0;
/// The largest η·λ₀ a typed value applies (config::validate's limit for train.eta_scaled).
const ETA_SCALED_TYPED_MAX: f64 = 1e6;

fn section(ui: &mut egui::Ui, text: &str) {
    ui.add_space(6.0);
    ui.label(RichText::new(text).strong());
}

impl App {
    /// The whole side panel body.
    pub(super) fn controls_ui(&mut self, ui: &mut egui::Ui) {
        // A fixed width: sizing from the panel's width would let the panel grow itself.
        ui.spacing_mut().slider_width = 200.0 * self.text_scale / 1.15;
        self.run_controls_ui(ui);
        ui.separator();
        self.eta_controls_ui(ui);
        ui.separator();
        self.structure_controls_ui(ui);
        ui.separator();
        self.schedule_ui(ui);
        ui.separator();
        self.preset_file_ui(ui);
        ui.separator();
        self.pins_ui(ui);
        self.export_ui(ui);
        self.optimizer_ui(ui);
    }

    fn run_controls_ui(&mut self, ui: &mut egui::Ui) {
        section(ui, "Run");
        let status = self.snapshot.as_ref().map(|s| s.status);
        ui.horizontal(|ui| {
            let running = status == Some(RunStatus::Running);
            let (label, tip) = if running {
                (PAUSE_LABEL, "Stop stepping; the state is kept (key: Space).")
            } else {
                (PLAY_LABEL, "Keep stepping at the chosen speed (key: Space).")
            };
            if ui.button(label).on_hover_text(tip).clicked() {
                self.toggle_pause();
            }
            if ui.button(STEP_LABEL).on_hover_text("Pause and make exactly one gradient-descent step (key: Right arrow).").clicked() {
                self.outbox.push(Command::Step(1));
            }
            let loaded_rate = self.snapshot.as_ref().map_or(String::new(), |s| match (s.loaded.train.eta, s.loaded.train.eta_scaled) {
                (Some(eta), _) => format!("η = {}", super::fmt_num(eta)),
                (None, Some(x)) => format!("η·λ₀ = {}", super::fmt_num(x)),
                (None, None) => "η·λ₀ = 1.5".to_string(),
            });
            if ui
                .button(RESET_LABEL)
                .on_hover_text(format!("Start the preset again as it was loaded: same seed, the preset's own learning rate ({loaded_rate}), your live η changes dropped (key: R). To keep the η on screen, use {RESTART_AT_ETA_LABEL}."))
                .clicked()
            {
                self.outbox.push(Command::Reset);
            }
            if ui
                .button(RESTART_AT_ETA_LABEL)
                .on_hover_text("Start again from step 0 (same seed) at the learning rate in force now; the preset's schedule entries after this step are kept.")
                .clicked()
            {
                self.outbox.push(Command::RestartAtCurrentEta);
            }
        });
        ui.horizontal(|ui| {
            let mut speed = self.prefs.steps_per_second;
            let response = ui
                .add_enabled(!self.prefs.unlimited, Slider::new(&mut speed, 1.0..=2000.0).logarithmic(true).integer().text(SPEED_LABEL))
                .on_hover_text("How many gradient-descent steps per second to show. The catapult happens in the first ~20 steps: keep this low to watch it.");
            if response.changed() {
                self.prefs.steps_per_second = speed;
                self.send_speed();
            }
        });
        ui.horizontal(|ui| {
            if ui
                .checkbox(&mut self.prefs.unlimited, "unlimited speed")
                .on_hover_text("Step as fast as the machine allows (useful for long runs).")
                .changed()
            {
                self.send_speed();
            }
            let mut limit = self.steps_limit_ui;
            let label = ui.label("steps limit");
            let response = ui
                .add(DragValue::new(&mut limit).range(1..=100_000_000u64).speed(10.0))
                .labelled_by(label.id)
                .on_hover_text("How many steps the run makes in all. Raising it lets a finished run continue.");
            if response.changed() {
                self.steps_limit_ui = limit;
                self.outbox.push(Command::SetStepsLimit(limit));
            }
        });
    }

    fn eta_controls_ui(&mut self, ui: &mut egui::Ui) {
        section(ui, "Learning rate (live)");
        // Until the runner reports, there is no η to show or change.
        let known = self.snapshot.is_some();
        let recently_sent = self.eta_sent_at.is_some_and(|t| t.elapsed().as_secs_f64() < 0.5);
        if let Some(s) = &self.snapshot
            && !self.eta_editing
            && !recently_sent
        {
            // The exact value in force where the unit is η·λ₀ (no round trip through η).
            self.eta_scaled_ui = if s.eta_setting.1 { s.eta_setting.0 } else { s.eta_scaled };
            self.eta_ui = s.eta;
        }
        let run_id = self.snapshot.as_ref().map_or(0, |s| s.run_id);
        // A new run gets new widgets: an edit typed on the previous run never commits to this one.
        ui.push_id(("eta_fields", self.eta_widget_generation), |ui| self.eta_fields_ui(ui, known, run_id));
    }

    fn eta_fields_ui(&mut self, ui: &mut egui::Ui, known: bool, run_id: u64) {
        let slider_left = ui.cursor().left();
        let mut scaled = self.eta_scaled_ui;
        let response = ui
            .add(Slider::new(&mut scaled, 0.0..=ETA_SCALED_MAX).clamping(egui::SliderClamping::Never).text(ETA_SCALED_LABEL).fixed_decimals(2))
            .on_hover_text(
                "The learning rate in units of 1/λ₀ (λ₀ = sharpness at initialization). Below 2: lazy, the loss falls \
                 smoothly. 2 to 4: catapult, the loss spikes and the kernel flattens. Above 4 (two-layer linear nets, \
                 quadratic models): divergence. Applies from the next step: raise it after a catapult to trigger a second one.",
            );
        self.eta_editing = response.dragged() || response.has_focus();
        if response.changed() && known {
            let clamped = scaled.clamp(1e-6, ETA_SCALED_TYPED_MAX);
            self.eta_note = if clamped != scaled {
                Some(format!("{} is out of range (η·λ₀ must be > 0 and at most {}): clamped to {}", super::fmt_num(scaled), ETA_SCALED_TYPED_MAX, super::fmt_num(clamped)))
            } else if clamped > ETA_SCALED_MAX {
                Some(format!("η·λ₀ = {} is beyond the slider's range (0–{ETA_SCALED_MAX}); it applies as typed", super::fmt_num(clamped)))
            } else {
                None
            };
            self.eta_scaled_ui = clamped;
            self.eta_sent_at = Some(std::time::Instant::now());
            self.outbox.push(Command::ForRun(run_id, Box::new(Command::SetEtaScaled(clamped))));
        }
        self.eta_marks_ui(ui, slider_left);
        ui.horizontal(|ui| {
            let label = ui.label(ETA_LABEL);
            let mut eta = self.eta_ui;
            let response = ui
                .add(DragValue::new(&mut eta).range(0.0..=1e9).speed(self.eta_ui.abs().max(1e-6) * 0.005).max_decimals(6))
                .labelled_by(label.id)
                .on_hover_text("The learning rate η itself. η·λ₀ above is the same number in units of 1/λ₀. Applies from the next step.");
            self.eta_editing |= response.dragged() || response.has_focus();
            if response.changed() && known {
                if eta > 0.0 {
                    self.eta_ui = eta;
                    self.eta_sent_at = Some(std::time::Instant::now());
                    self.eta_note = (eta >= 1e9).then(|| "η is at most 1e9: clamped to 1e9".to_string());
                    self.outbox.push(Command::ForRun(run_id, Box::new(Command::SetEta(eta))));
                } else {
                    self.eta_note = Some("η must be greater than 0: not applied".to_string());
                }
            }
        });
        if let Some(note) = &self.eta_note {
            ui.label(RichText::new(note).small().color(Color32::from_rgb(235, 150, 30)));
        }
    }

    /// Tick marks under the η·λ₀ slider at 2 (lazy edge) and 4 (catapult edge), and, where the
    /// engine gives them, a second row with the Meltzer–Liu bounds.
    fn eta_marks_ui(&self, ui: &mut egui::Ui, slider_left: f32) {
        self.eta_edge_marks_ui(ui, slider_left);
        if let Some(s) = self.snapshot.as_ref().filter(|s| s.eta_crit_theory.is_some() && s.lambda0 > 0.0) {
            self.eta_crit_theory_mark_ui(ui, slider_left, s.eta_crit_theory.unwrap_or_default() * s.lambda0);
        }
        if let Some((catapult, divergence)) = self.snapshot.as_ref().and_then(|s| s.meltzer_liu) {
            self.meltzer_liu_marks_ui(ui, slider_left, catapult, divergence);
        } else if self.snapshot.as_ref().is_some_and(|s| s.meltzer_liu_applies) {
            // The setting applies but the catapult window 2 < η·λ₀ < bound is empty.
            let text = if self.preset().model.a_neg == 0.0 { ML_NO_GUARANTEE_RELU } else { ML_NO_GUARANTEE };
            ui.label(RichText::new(text).small()).on_hover_text("Meltzer & Liu guarantee a catapult for 2 < η·λ₀ < 2(1 + a_neg²) at large width; for ReLU (a_neg = 0) that window is empty.");
        }
    }

    /// The Meltzer–Liu row: ▲ at the catapult-guaranteed bound and at the divergence bound
    /// (arrows at the edge when a bound lies beyond the slider), and a line saying what they are.
    fn meltzer_liu_marks_ui(&self, ui: &mut egui::Ui, slider_left: f32, catapult: f64, divergence: Option<f64>) {
        let width = ui.spacing().slider_width;
        let handle_radius = ui.spacing().interact_size.y / 2.5;
        // The catapult label sits left of its ▲ (right of it where the left edge would clip it),
        // the divergence label right of its ▲ (left of it beyond the slider), both kept inside
        // the row; where the two would overlap, the divergence label takes a second line.
        // Marks scale with the text size (Large text).
        let scale = self.text_scale / 1.15;
        let font = egui::FontId::proportional(11.0 * scale);
        let x_of = |v: f64| slider_left + handle_radius + (width - 2.0 * handle_radius) * (v.clamp(0.0, ETA_SCALED_MAX) / ETA_SCALED_MAX) as f32;
        let (row_left, row_right) = (ui.cursor().left(), ui.cursor().left() + width);
        let mut marks = vec![(catapult, "catapult below", Color32::from_rgb(235, 150, 30), true)];
        if let Some(d) = divergence {
            marks.push((d, "diverges above", Color32::from_rgb(200, 60, 150), false));
        }
        let placed: Vec<_> = marks
            .into_iter()
            .map(|(value, text, color, left_side)| {
                let (x, beyond) = (x_of(value), value > ETA_SCALED_MAX);
                let text = if beyond { format!("{text} {value:.2}") } else { text.to_string() };
                let galley = ui.painter().layout_no_wrap(text, font.clone(), color);
                let w = galley.size().x;
                let left = if beyond {
                    x - 10.0 - w
                } else if left_side {
                    if x - 8.0 - w < row_left { x + 8.0 } else { x - 8.0 - w }
                } else {
                    x + 8.0
                };
                (x, beyond, color, left.min(row_right - w).max(row_left), galley)
            })
            .collect();
        let overlap = placed.len() == 2 && {
            let (a, b) = (&placed[0], &placed[1]);
            a.3 < b.3 + b.4.size().x && b.3 < a.3 + a.4.size().x
        };
        let (rect, response) = ui.allocate_exact_size(egui::vec2(width, if overlap { 28.0 } else { 16.0 } * scale), egui::Sense::hover());
        let painter = ui.painter();
        for (k, (x, beyond, color, left, galley)) in placed.into_iter().enumerate() {
            painter.text(egui::pos2(x, rect.top()), egui::Align2::CENTER_TOP, if beyond { "▶" } else { "▲" }, font.clone(), color);
            let line = if overlap && k == 1 { 13.0 } else { 0.0 };
            painter.galley(egui::pos2(left, rect.top() + 1.0 + line), galley, color);
        }
        let divergence_text = divergence.map_or("no divergence bound (ReLU)".to_string(), |d| format!("diverges above {d:.2}"));
        let tip = "Meltzer & Liu's bounds for a two-layer homogeneous net on one example with y = 0, computed by the \
                   engine for this initialization: for η·λ₀ between 2 and the first bound a catapult is guaranteed; \
                   above the second the run must diverge. In between, theory does not decide.";
        response.on_hover_text(tip);
        ui.label(RichText::new(format!("Meltzer–Liu: catapult guaranteed for 2 < η·λ₀ < {catapult:.2}; {divergence_text}")).small())
            .on_hover_text(tip);
    }

    /// A row under the edge marks with the exact critical rate where a paper gives one
    /// (`eta_crit_theory`, engine), in η·λ₀ units, beside the lazy edge 2 = η_crit·λ₀.
    fn eta_crit_theory_mark_ui(&self, ui: &mut egui::Ui, slider_left: f32, scaled: f64) {
        let width = ui.spacing().slider_width;
        let handle_radius = ui.spacing().interact_size.y / 2.5;
        let (rect, response) = ui.allocate_exact_size(egui::vec2(width, 16.0), egui::Sense::hover());
        let painter = ui.painter();
        let x = slider_left + handle_radius + (width - 2.0 * handle_radius) * (scaled.clamp(0.0, ETA_SCALED_MAX) / ETA_SCALED_MAX) as f32;
        let color = Color32::from_rgb(40, 150, 200);
        let font = egui::FontId::proportional(11.0);
        painter.line_segment([egui::pos2(x, rect.top()), egui::pos2(x, rect.top() + 5.0)], egui::Stroke::new(2.0, color));
        let galley = painter.layout_no_wrap(format!("{ETA_CRIT_THEORY_MARK} {scaled:.2}"), font, color);
        let left = if x + 4.0 + galley.size().x > rect.right() { x - 4.0 - galley.size().x } else { x + 4.0 };
        painter.galley(egui::pos2(left.max(rect.left()), rect.top() + 2.0), galley, color);
        response.on_hover_text("The exact critical rate of Huang et al. (linear predictor, degenerate data; SPEC §6), in units of 1/λ₀: 2w0/sinh(w0) for exponential, 4w0/tanh(w0/2) for logistic loss. The lazy edge mark 2 is η_crit = 2/λ₀.");
    }

    fn eta_edge_marks_ui(&self, ui: &mut egui::Ui, slider_left: f32) {
        let width = ui.spacing().slider_width;
        let handle_radius = ui.spacing().interact_size.y / 2.5;
        let scale = self.text_scale / 1.15;
        let (rect, _) = ui.allocate_exact_size(egui::vec2(width, 18.0 * scale), egui::Sense::hover());
        let painter = ui.painter();
        let x_of = |v: f64| slider_left + handle_radius + (width - 2.0 * handle_radius) * (v / ETA_SCALED_MAX) as f32;
        let font = egui::FontId::proportional(12.0 * scale);
        for (value, text, color) in [
            (2.0, "2 lazy edge", Color32::from_rgb(60, 170, 90)),
            (4.0, "4", Color32::from_rgb(220, 60, 60)),
        ] {
            let x = x_of(value);
            painter.line_segment([egui::pos2(x, rect.top()), egui::pos2(x, rect.top() + 5.0 * scale)], egui::Stroke::new(2.0, color));
            painter.text(egui::pos2(x, rect.top() + 5.0 * scale), egui::Align2::CENTER_TOP, text, font.clone(), color);
        }
    }

    fn structure_controls_ui(&mut self, ui: &mut egui::Ui) {
        section(ui, "Model, data, loss (restarts the run)");
        ui.label(
            RichText::new("Changing these builds a new run from a fresh initialization (same seed).")
                .small()
                .weak(),
        );
        let mut commit = false;
        let before = self.draft.clone();
        let draft = &mut self.draft;

        egui::Grid::new("structure_grid").num_columns(2).spacing([8.0, 4.0]).show(ui, |ui| {
            // Model.
            choice_row(
                ui,
                "model",
                &mut draft.model.kind,
                &[(ModelKind::TwoLayer, "two-layer net"), (ModelKind::Mlp, super::mlp_controls::MLP_KIND_LABEL), (ModelKind::Quadratic, "quadratic model"), (ModelKind::LinearPredictor, "linear predictor")],
                "What is trained: a two-layer network f = Σ v σ(u·x)/√m, a layered network with L hidden layers (mlp, SPEC §10), a general quadratic model, or a linear predictor (the convex baseline).",
            );
            if draft.model.kind != before.model.kind {
                let chosen = draft.model.kind;
                if chosen == ModelKind::Mlp {
                    super::mlp_controls::switch_to_mlp(draft);
                } else if before.model.kind == ModelKind::Mlp {
                    super::mlp_controls::switch_from_mlp(draft);
                }
            }
            if draft.model.kind == ModelKind::Mlp {
                commit |= super::mlp_controls::mlp_rows(ui, draft);
            }

            if draft.model.kind == ModelKind::TwoLayer {
                choice_row(
                    ui,
                    "trained as",
                    &mut draft.model.approx,
                    &[(Approx::Network, "network"), (Approx::Quadratic, "quadratic (NQM)"), (Approx::Linearized, "linearized")],
                    "Train the network itself, its second-order Taylor model (NQM: shows the catapult), or its first-order (linearized) model, which has no catapult: it simply diverges above η·λ₀ = 2.",
                );

                commit |= commits(&labelled_row(ui, WIDTH_LABEL, Slider::new(&mut draft.model.width, 10..=100_000).logarithmic(true).clamping(egui::SliderClamping::Never), "Number of hidden units m. Wider nets are more 'lazy': the kernel moves less, and the catapult's loss peak grows in proportion to m."));

                commit |= commits(&labelled_row(ui, "a_neg", Slider::new(&mut draft.model.a_neg, 0.0..=1.0).fixed_decimals(2), "Slope of the activation for negative inputs: 0 = ReLU, 1 = linear (no activation), in between = leaky. With ReLU the catapult range extends beyond η·λ₀ = 4."));
            }
            if draft.model.kind == ModelKind::Quadratic {
                commit |= commits(&labelled_row(ui, "γ", Slider::new(&mut draft.model.gamma, 1e-5..=1.0).logarithmic(true), "Strength of the quadratic term; plays the role of 1/√m (smaller = wider = lazier)."));
            }
            if draft.model.kind != ModelKind::LinearPredictor {
                let response = labelled_row(ui, "init scale σ", Slider::new(&mut draft.model.init_scale, 0.001..=4.0).logarithmic(true), "Standard deviation of the random initial weights. Larger init = sharper start (bigger λ₀), smaller = the slow 'rich' regime.");
                if response.changed() && matches!(draft.model.kind, ModelKind::TwoLayer | ModelKind::Mlp) {
                    // The common scale sets every layer again.
                    draft.model.init_scales = None;
                }
                commit |= commits(&response);
            }


            // Loss.
            choice_row(
                ui,
                "loss",
                &mut draft.loss.kind,
                &[LossKind::Mse, LossKind::Logistic, LossKind::Exponential].map(|kind| (kind, loss_label(kind))),
                "Per-example loss: squared error (catapults on any data), logistic or exponential (catapults only on degenerate or non-separable data).",
            );
            choice_row(
                ui,
                "reduction",
                &mut draft.loss.reduction,
                &[Reduction::SumHalf, Reduction::Mean, Reduction::HalfMean].map(|r| (r, reduction_label(r))),
                "How per-example losses are combined: ½·sum, mean (PyTorch default) or ½·mean. Changes the scale of λ and η, not the phases in η·λ₀ units.",
            );

            // Data.
            ui.label("data");
            let mut kind = draft.data.kind;
            ComboBox::from_id_salt("data_kind")
                .selected_text(data_label(kind))
                .show_ui(ui, |ui| {
                    for k in [DataKind::Single, DataKind::Points, DataKind::Clusters, DataKind::Mnist, DataKind::FashionMnist] {
                        ui.selectable_value(&mut kind, k, data_label(k));
                    }
                    if matches!(draft.data.kind, DataKind::Teacher | DataKind::Digits | DataKind::Csv | DataKind::Sphere) {
                        ui.selectable_value(&mut kind, draft.data.kind, data_label(draft.data.kind));
                    }
                })
                .response
                .on_hover_text("Training data: one example (the exactly solvable u/v case), a few fixed points, or two Gaussian clusters with labels ±1.");
            if kind != draft.data.kind {
                switch_data_kind(draft, kind);
            }
            ui.end_row();

            let has_n = matches!(draft.data.kind, DataKind::Clusters | DataKind::Teacher | DataKind::Digits | DataKind::Mnist | DataKind::FashionMnist | DataKind::Sphere);
            let has_d = matches!(draft.data.kind, DataKind::Single | DataKind::Clusters | DataKind::Teacher | DataKind::Sphere);
            if has_n {
                commit |= commits(&labelled_row(ui, "n points", DragValue::new(&mut draft.data.n).range(2..=100_000).speed(1.0), "Number of training examples. More examples: more kernel eigenvalues; the catapult acts on the top one."));
            }
            if has_d {
                let label = ui.label("d dims");
                let mut d = draft.data.d.max(single_dim(draft));
                let response = ui
                    .add(DragValue::new(&mut d).range(1..=1000).speed(0.2))
                    .labelled_by(label.id)
                    .on_hover_text("Input dimension. With d = 1 and clusters the kernel has two big eigenvalues, one per side.");
                if response.changed() {
                    draft.data.d = d;
                    if draft.data.kind == DataKind::Single {
                        draft.data.x = Some(XSpec::One(vec![1.0; d]));
                    }
                }
                commit |= commits(&response);
                ui.end_row();
            }
            if draft.data.kind == DataKind::Clusters {
                commit |= commits(&labelled_row(ui, "separation μ", Slider::new(&mut draft.data.separation, 0.0..=6.0).fixed_decimals(2), "Distance of the two cluster centres from the origin (x = y·μ·e1 + noise). Large μ: linearly separable; 0: the classes overlap."));
                commit |= commits(&labelled_row(ui, "label flip", Slider::new(&mut draft.data.flip, 0.0..=0.5).fixed_decimals(2), "Fraction of labels flipped at random: makes the data non-separable, where logistic/exponential losses can catapult too."));
            }
            commit |= commits(&labelled_row(ui, "seed", DragValue::new(&mut draft.seed).range(0..=u64::MAX / 2).speed(0.2), "Random seed for the data and the initial weights: the same seed gives the same run, bit for bit."));
        });
        if draft.model.kind == ModelKind::TwoLayer {
            // Per-layer controls, folded away unless the preset uses them.
            let in_use = draft.model.init_scales.is_some() || !draft.train.frozen_layers.is_empty();
            egui::CollapsingHeader::new(LAYERS_SECTION_LABEL).default_open(in_use).show(ui, |ui| {
                egui::Grid::new("layers_grid").num_columns(2).spacing([8.0, 4.0]).show(ui, |ui| commit |= layer_rows(ui, draft));
            });
        }

        if draft.model.kind == ModelKind::Mlp {
            let in_use = draft.model.init_scales.is_some() || draft.model.widths.is_some() || !draft.train.frozen_layers.is_empty();
            egui::CollapsingHeader::new(super::mlp_controls::MLP_LAYERS_SECTION_LABEL).default_open(in_use).show(ui, |ui| {
                egui::Grid::new("mlp_layers_grid").num_columns(2).spacing([8.0, 4.0]).show(ui, |ui| commit |= super::mlp_controls::mlp_layer_rows(ui, draft));
            });
        }

        // Combo boxes and kind switches change the draft without a drag: apply them at once.
        let discrete_change = self.draft.model.kind != before.model.kind
            || self.draft.model.approx != before.model.approx
            || self.draft.loss != before.loss
            || self.draft.data.kind != before.data.kind
            || self.draft.train.frozen_layers != before.train.frozen_layers
            || self.draft.model.activation != before.model.activation
            || self.draft.model.bias != before.model.bias
            || self.draft.model.parameterization != before.model.parameterization;
        if commit || discrete_change {
            self.apply_draft();
        }
        if let Some(message) = &self.control_error {
            ui.label(RichText::new(format!("Error: {message}")).color(Color32::from_rgb(220, 60, 60)));
        }
    }

    pub(super) fn send_speed(&mut self) {
        self.slow_start = false;
        let speed = if self.prefs.unlimited { Speed::Unlimited } else { Speed::StepsPerSecond(self.prefs.steps_per_second) };
        self.outbox.push(Command::SetSpeed(speed));
    }

    pub(super) fn toggle_pause(&mut self) {
        match self.snapshot.as_ref().map(|s| s.status) {
            Some(RunStatus::Running) => self.outbox.push(Command::Pause),
            _ => self.outbox.push(Command::Resume),
        }
    }
}

/// The two-layer net's per-layer rows (SPEC §10; 1 = u, 2 = v): each layer's init scale
/// (`model.init_scales`) and whether it is trained (`train.frozen_layers`); both restart the run.
/// Returns true when a slider change is complete (checkbox changes are applied by the caller).
fn layer_rows(ui: &mut egui::Ui, draft: &mut crate::engine::config::Preset) -> bool {
    let mut commit = false;
    for layer in 1..=draft.model.layer_count() {
        let mut scale = draft.model.layer_init_scale(layer);
        let response = labelled_row(ui, &layer_scale_label(layer), Slider::new(&mut scale, 1e-4..=4.0).logarithmic(true), "This layer's own init scale (model.init_scales), overriding the common σ: Huang et al. 2025 use σ_u = 0.01, σ_v = 0.001.");
        if response.changed() {
            let mut scales = draft.model.init_scales.clone().unwrap_or_else(|| vec![draft.model.init_scale; draft.model.layer_count()]);
            scales[layer - 1] = scale;
            draft.model.init_scales = Some(scales);
        }
        commit |= commits(&response);
        ui.label("");
        let mut trained = draft.train.trains_layer(layer);
        let check = ui.checkbox(&mut trained, layer_train_label(layer)).on_hover_text("Unchecked: the layer stays at its init (train.frozen_layers) and is left out of the update, the kernel, λ̂, the batch critical rate and the weight norm.");
        ui.end_row();
        if check.changed() {
            draft.train.frozen_layers.retain(|&l| l != layer);
            if !trained {
                draft.train.frozen_layers.push(layer);
                draft.train.frozen_layers.sort_unstable();
            }
        }
    }
    commit
}

/// One grid row: `name`, then `widget` labelled by it, with a tooltip.
pub(super) fn labelled_row(ui: &mut egui::Ui, name: &str, widget: impl egui::Widget, tooltip: &str) -> egui::Response {
    let label = ui.label(name);
    let response = ui.add(widget).labelled_by(label.id).on_hover_text(tooltip);
    ui.end_row();
    response
}

/// One grid row: `name`, then a combo box choosing `value` among `options` (value, text).
pub(super) fn choice_row<T: PartialEq + Copy>(ui: &mut egui::Ui, name: &str, value: &mut T, options: &[(T, &str)], tooltip: &str) {
    let label = ui.label(name);
    let selected = options.iter().find(|(option, _)| option == value).map_or("", |(_, text)| *text);
    ComboBox::from_id_salt(name)
        .selected_text(selected)
        .show_ui(ui, |ui| {
            for (option, text) in options {
                ui.selectable_value(value, *option, *text);
            }
        })
        .response
        .labelled_by(label.id)
        .on_hover_text(tooltip);
    ui.end_row();
}

/// A structural edit is applied when a click or typed value changed it, or a drag ended.
pub(super) fn commits(response: &egui::Response) -> bool {
    (response.changed() && !response.dragged()) || response.drag_stopped()
}

fn single_dim(draft: &crate::engine::config::Preset) -> usize {
    match (&draft.data.kind, &draft.data.x) {
        (DataKind::Single, Some(XSpec::One(x))) => x.len(),
        _ => 1,
    }
}

fn loss_label(kind: LossKind) -> &'static str {
    match kind {
        LossKind::Mse => "squared error (mse)",
        LossKind::Logistic => "logistic",
        LossKind::Exponential => "exponential",
    }
}

fn reduction_label(r: Reduction) -> &'static str {
    match r {
        Reduction::SumHalf => "½·sum",
        Reduction::Mean => "mean",
        Reduction::HalfMean => "½·mean",
    }
}

fn data_label(kind: DataKind) -> &'static str {
    match kind {
        DataKind::Single => "one example",
        DataKind::Points => "fixed points",
        DataKind::Clusters => "two clusters",
        DataKind::Teacher => "teacher (regression)",
        DataKind::Digits => "digits",
        DataKind::Mnist => "MNIST (two classes)",
        DataKind::FashionMnist => "Fashion-MNIST (two classes)",
        DataKind::Csv => "your CSV file",
        DataKind::Sphere => "unit sphere",
    }
}

/// Switches the data kind, filling in what the new kind needs.
fn switch_data_kind(draft: &mut crate::engine::config::Preset, kind: DataKind) {
    let data = &mut draft.data;
    data.kind = kind;
    match kind {
        DataKind::Single => {
            data.x = Some(XSpec::One(vec![1.0; data.d.max(1)]));
            data.y = Some(YSpec::One(0.0));
        }
        DataKind::Points => {
            data.x = Some(XSpec::Many(vec![vec![1.0], vec![2.0], vec![-1.0], vec![-1.5]]));
            data.y = Some(YSpec::Many(vec![1.0, 1.0, -1.0, -1.0]));
            data.d = 1;
        }
        DataKind::Clusters | DataKind::Teacher | DataKind::Digits | DataKind::Mnist | DataKind::FashionMnist | DataKind::Csv => {
            data.x = None;
            data.y = None;
        }
        DataKind::Sphere => {
            data.x = None;
            data.y = Some(YSpec::One(1.0));
        }
    }
    // A linear predictor's w0 must match the new dimension; let the default take over.
    draft.model.w0 = None;
    if draft.train.batch_size > crate::engine::config::data_shape(&draft.data).0 {
        draft.train.batch_size = 0;
    }
}
