//! The learning-rate schedule table in the side panel: rows of (step → η·λ₀ or η, in the
//! preset's unit) edited in the draft preset, with add/remove, and Apply, which validates the draft
//! (config::validate) and restarts the run like the other structural controls.

use super::labels::*;
use eframe::egui;
use super::App;
use egui::{Color32, DragValue, RichText};


/// The accessibility name of a row's step field (row counted from 1).
pub fn schedule_step_label(row: usize) -> String {
    format!("schedule row {row} step")
}

/// The accessibility name of a row's learning-rate field (row counted from 1).
pub fn schedule_value_label(row: usize) -> String {
    format!("schedule row {row} value")
}

/// Gives a widget an accessibility name without drawing a label.
fn name_widget(ui: &egui::Ui, response: &egui::Response, name: String) {
    ui.ctx().accesskit_node_builder(response.id, |node| node.set_label(name));
}

impl App {
    pub(super) fn schedule_ui(&mut self, ui: &mut egui::Ui) {
        ui.add_space(6.0);
        let scaled = self.draft.train.eta.is_none();
        let unit = if scaled { "η·λ₀" } else { "η" };
        // Open by default when the preset has a schedule (one open/closed state per preset).
        let has_schedule = !self.preset.train.schedule.is_empty();
        let header = egui::CollapsingHeader::new(RichText::new(SCHEDULE_SECTION_LABEL).strong())
            .id_salt(("schedule_section", self.preset.name.clone()))
            .default_open(has_schedule)
            .show(ui, |ui| self.schedule_table_ui(ui, scaled, unit));
        header.header_response.on_hover_text(
            "Changes of the learning rate at given steps, in the preset's unit (η·λ₀ or η). From that step on the \
             run uses the new value: raising η·λ₀ above 2 after a catapult starts another one (Zhu's repeated \
             catapults); lowering it after a catapult is a decay schedule. Edit the rows, then press Apply schedule.",
        );
    }

    fn schedule_table_ui(&mut self, ui: &mut egui::Ui, scaled: bool, unit: &str) {
        let schedule = &mut self.draft.train.schedule;
        let mut remove = None;
        if schedule.is_empty() {
            ui.label(RichText::new("No changes: the learning rate stays as set above.").small().weak());
        } else {
            egui::Grid::new("schedule_grid").num_columns(3).spacing([8.0, 3.0]).show(ui, |ui| {
                ui.label(RichText::new("from step").small());
                ui.label(RichText::new(unit).small());
                ui.label("");
                ui.end_row();
                for (i, (step, value)) in schedule.iter_mut().enumerate() {
                    let response = ui.add(DragValue::new(step).range(0..=100_000_000usize).speed(1.0)).on_hover_text("The step at which this learning rate takes effect.");
                    name_widget(ui, &response, schedule_step_label(i + 1));
                    let response = ui
                        .add(DragValue::new(value).range(1e-9..=1e9).speed(0.01).max_decimals(6))
                        .on_hover_text(format!("The learning rate from that step on, as {unit}."));
                    name_widget(ui, &response, schedule_value_label(i + 1));
                    if ui.small_button("×").on_hover_text("Remove this change (press Apply schedule to use the result).").clicked() {
                        remove = Some(i);
                    }
                    ui.end_row();
                }
            });
        }
        if let Some(i) = remove {
            schedule.remove(i);
        }
        let edited = self.draft.train.schedule != self.preset.train.schedule;
        ui.horizontal(|ui| {
            if ui.button(SCHEDULE_ADD_LABEL).on_hover_text("Add a change 100 steps after the last one.").clicked() {
                let schedule = &mut self.draft.train.schedule;
                let (last_step, last_value) = schedule.last().copied().unwrap_or((0, if scaled { self.preset.train.eta_scaled.unwrap_or(1.5) } else { self.preset.train.eta.unwrap_or(0.1) }));
                schedule.push((last_step + 100, last_value));
            }
            if ui
                .add_enabled(edited, egui::Button::new(SCHEDULE_APPLY_LABEL))
                .on_hover_text("Check the schedule (steps in order, rates > 0) and restart the run with it (same seed).")
                .clicked()
            {
                self.draft.train.schedule.sort_by_key(|(step, _)| *step);
                self.apply_draft();
            }
        });
        if edited {
            ui.label(RichText::new("edited: press Apply schedule to restart the run with it").small().color(Color32::from_rgb(235, 150, 30)));
        }
    }
}
