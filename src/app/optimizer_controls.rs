//! The side panel's optimizer and schedule-kind section (SPEC §12): the update rule and its
//! parameters (β and Nesterov for momentum; β1, β2, ε for the adaptive rules) and the schedule
//! kind (piecewise list, triangular cycle, auto-catapult) with its parameters. Edits change the
//! draft preset; a choice applies at once, a drag when it ends, and the run restarts from the
//! draft (validated) like the other structural controls.

use super::controls::{commits, labelled_row};
use super::labels::{OPTIMIZER_LABEL, OPTIMIZER_SECTION_LABEL, SCHEDULE_KIND_LABEL};
use super::App;
use crate::engine::config::{OptimizerKind, ScheduleKind, TrainConfig};
use eframe::egui;
use egui::{DragValue, RichText, Slider};

/// Drops the keys that do not belong to the chosen optimizer and schedule kind (a key on the
/// wrong one is a validation error).
fn drop_foreign_keys(t: &mut TrainConfig) {
    if t.optimizer != OptimizerKind::Momentum {
        (t.beta, t.nesterov) = (None, None);
    }
    if t.optimizer != OptimizerKind::Adam {
        t.beta1 = None;
    }
    if !matches!(t.optimizer, OptimizerKind::Adam | OptimizerKind::Rmsprop) {
        t.beta2 = None;
    }
    if !t.optimizer.adaptive() {
        t.eps = None;
    }
    if t.schedule_kind != ScheduleKind::Cyclic {
        (t.cycle_steps, t.cycle_low, t.cycle_high) = (None, None, None);
    }
    if t.schedule_kind != ScheduleKind::AutoCatapult {
        (t.auto_factor, t.auto_max) = (None, None);
    }
}

/// One grid row: `name`, then a combo box (named `name` for accessibility) choosing `value`.
fn labelled_choice<T: PartialEq + Copy>(ui: &mut egui::Ui, name: &str, value: &mut T, options: &[(T, &str)], tooltip: &str) {
    let label = ui.label(name);
    let selected = options.iter().find(|(option, _)| option == value).map_or("", |(_, text)| *text);
    egui::ComboBox::from_id_salt(name)
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

/// A slider row over an optional key shown at its default; moving it sets the key.
fn optional_slider(ui: &mut egui::Ui, name: &str, key: &mut Option<f64>, default: f64, range: std::ops::RangeInclusive<f64>, tooltip: &str) -> bool {
    let mut value = key.unwrap_or(default);
    let response = labelled_row(ui, name, Slider::new(&mut value, range).max_decimals(4), tooltip);
    if response.changed() {
        *key = Some(value);
    }
    commits(&response)
}

impl App {
    pub(super) fn optimizer_ui(&mut self, ui: &mut egui::Ui) {
        let in_use = self.preset.train.optimizer != OptimizerKind::Gd || self.preset.train.schedule_kind != ScheduleKind::Piecewise;
        egui::CollapsingHeader::new(RichText::new(OPTIMIZER_SECTION_LABEL).strong())
            .id_salt(("optimizer_section", self.preset.name.clone()))
            .default_open(in_use)
            .show(ui, |ui| self.optimizer_rows_ui(ui));
    }

    fn optimizer_rows_ui(&mut self, ui: &mut egui::Ui) {
        let before = self.draft.train.clone();
        let unit = if self.draft.train.eta.is_none() { "η·λ₀" } else { "η" };
        let t = &mut self.draft.train;
        let mut commit = false;
        egui::Grid::new("optimizer_grid").num_columns(2).spacing([8.0, 4.0]).show(ui, |ui| {
            let options: Vec<(OptimizerKind, &str)> = OptimizerKind::ALL.iter().map(|o| (*o, o.key())).collect();
            labelled_choice(ui, OPTIMIZER_LABEL, &mut t.optimizer, &options, "The update rule: gd (SGD with a batch size), heavy-ball momentum, Adam, RMSprop or Adagrad. Each has its own stability edge, drawn on the kernel plot: 2(1+β)/η for heavy ball, 38/η for Adam against the preconditioned sharpness λ(P⁻¹H).");
            match t.optimizer {
                OptimizerKind::Gd => {}
                OptimizerKind::Momentum => {
                    commit |= optional_slider(ui, "β momentum", &mut t.beta, 0.9, 0.0..=0.999, "Heavy-ball momentum: b ← βb + g, w ← w − ηb. Stable on a quadratic while η·λ < 2(1+β).");
                    let mut nesterov = t.nesterov.unwrap_or(false);
                    ui.label("Nesterov");
                    if ui.checkbox(&mut nesterov, "").on_hover_text("Nesterov's form w ← w − η(g + βb): its edge is η·λ < 2(1+β)/(1+2β).").changed() {
                        t.nesterov = Some(nesterov);
                    }
                    ui.end_row();
                }
                kind => {
                    if kind == OptimizerKind::Adam {
                        commit |= optional_slider(ui, "β1", &mut t.beta1, 0.9, 0.0..=0.999, "Adam's first-moment decay. Its edge: η·λ(P⁻¹H) < (2 + 2β1)/(1 − β1), 38 at β1 = 0.9.");
                    }
                    if kind != OptimizerKind::Adagrad {
                        let default = t.beta2_or_default();
                        commit |= optional_slider(ui, "β2", &mut t.beta2, default, 0.0..=0.9999, "The second-moment decay: the preconditioner P = √v̂ + ε follows the squared gradient over about 1/(1 − β2) steps.");
                    }
                    let mut eps = t.eps_or_default();
                    let response = labelled_row(ui, "ε", DragValue::new(&mut eps).range(0.0..=1.0).speed(1e-9).max_decimals(12), "Added to √v̂ in the preconditioner P = √v̂ + ε.");
                    if response.changed() {
                        t.eps = Some(eps);
                    }
                    commit |= commits(&response);
                }
            }
            let kinds: Vec<(ScheduleKind, &str)> = ScheduleKind::ALL.iter().map(|k| (*k, k.key())).collect();
            labelled_choice(ui, SCHEDULE_KIND_LABEL, &mut t.schedule_kind, &kinds, "How η moves: piecewise (the schedule list below), cyclic (a triangle between low and high; its rising phase can start a catapult), auto_catapult (after each catapult, η is set so that η·λ = factor again).");
            match t.schedule_kind {
                ScheduleKind::Piecewise => {}
                ScheduleKind::Cyclic => {
                    let mut steps = t.cycle_steps.unwrap_or(200);
                    let response = labelled_row(ui, "cycle steps", DragValue::new(&mut steps).range(2..=1_000_000).speed(1.0), "The period of the triangle, in steps.");
                    t.cycle_steps = Some(steps);
                    commit |= commits(&response);
                    for (name, key, default) in [("cycle low", &mut t.cycle_low, 1.5), ("cycle high", &mut t.cycle_high, 3.0)] {
                        let mut value = key.unwrap_or(default);
                        let response = labelled_row(ui, &format!("{name} ({unit})"), DragValue::new(&mut value).range(1e-9..=1e9).speed(0.01).max_decimals(6), "The triangle's bottom and top, in the unit of the learning rate.");
                        *key = Some(value);
                        commit |= commits(&response);
                    }
                }
                ScheduleKind::AutoCatapult => {
                    let mut factor = t.auto_factor_or_default();
                    let response = labelled_row(ui, "auto factor (η·λ)", Slider::new(&mut factor, 2.01..=4.0).max_decimals(3), "Each change sets η so that η·λ (the current λ) equals this: above the lazy edge 2, so that another catapult starts.");
                    t.auto_factor = Some(factor);
                    commit |= commits(&response);
                    let mut max = t.auto_max_or_default();
                    let response = labelled_row(ui, "auto max changes", DragValue::new(&mut max).range(1..=1000).speed(0.2), "At most this many changes of η.");
                    t.auto_max = Some(max);
                    commit |= commits(&response);
                }
            }
        });
        let t = &mut self.draft.train;
        if t.schedule_kind == ScheduleKind::Cyclic {
            // The cycle sets η at every step: a list of changes does not combine with it.
            t.schedule.clear();
        }
        drop_foreign_keys(t);
        let discrete = t.optimizer != before.optimizer || t.schedule_kind != before.schedule_kind || t.nesterov != before.nesterov;
        if commit || discrete {
            self.apply_draft();
        }
        ui.label(RichText::new("The kernel plot draws the optimizer's own edge per step; adaptive optimizers also draw λ(P⁻¹H).").small().weak());
    }
}
