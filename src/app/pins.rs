//! Pinned runs for comparison: a copy of a run's history with its label, colour and
//! visibility, overlaid on all four live plots; the side panel's "Compare runs" section
//! (pin, show/hide, copy its share code, export, remove). Pins are kept between launches by
//! `saved_state.rs`. UI bookkeeping only.

use super::labels::*;
use eframe::egui;
use super::App;
use crate::report::series::History;
use crate::report::figure::SERIES_COLORS;
use egui::{Color32, RichText};

/// The label of a pin's "copy its share code" button.
pub const PIN_CODE_BUTTON: &str = "code";

/// How many runs can be pinned at once (one distinct colour each).
pub const MAX_PINS: usize = 8;

/// One pinned run.
#[derive(Clone)]
pub struct Pin {
    pub history: History,
    /// "η·λ₀ = 2.60 (η = 1.33), m = 1000" plus the preset name.
    pub label: String,
    pub color: Color32,
    pub visible: bool,
    /// The preset the run came from.
    pub preset_name: String,
    /// The share code of the run's effective preset when it was pinned (paste it to run it again).
    pub code: String,
}

/// The shared series colours in the order pins take them: the ones least like the live
/// curves (blue loss, orange |w|², purple λ₂) first.
const PIN_COLOR_ORDER: [usize; 8] = [6, 2, 5, 3, 4, 7, 1, 0];

/// The overlay colour of the k-th colour slot.
pub fn pin_color(slot: usize) -> Color32 {
    let (r, g, b) = SERIES_COLORS[PIN_COLOR_ORDER[slot % PIN_COLOR_ORDER.len()]];
    Color32::from_rgb(r, g, b)
}

impl App {
    /// Pins a copy of the current run's history (refused with a message when full or empty).
    pub fn pin_current_run(&mut self) {
        if self.history.is_empty() {
            self.info = Some("Nothing to pin yet.".into());
            return;
        }
        if self.pins.len() >= MAX_PINS {
            self.info = Some(format!("At most {MAX_PINS} pinned runs: remove one first."));
            return;
        }
        let used: Vec<Color32> = self.pins.iter().map(|p| p.color).collect();
        let color = (0..PIN_COLOR_ORDER.len()).map(pin_color).find(|c| !used.contains(c)).unwrap_or_else(|| pin_color(self.pins.len()));
        let (eta_scaled, eta) = self.snapshot.as_ref().map_or((f64::NAN, f64::NAN), |s| (s.eta_scaled, s.eta));
        let label = format!(
            "η·λ₀ = {eta_scaled:.2} (η = {}), m = {}, to step {}",
            super::fmt_num(eta),
            self.preset.model.width,
            self.history.last_step().unwrap_or(0)
        );
        let code = crate::engine::config::share::encode(&self.effective_preset());
        self.pins.push(Pin { history: self.history.clone(), label, color, visible: true, preset_name: self.preset.name.clone(), code });
    }

    pub fn pinned_count(&self) -> usize {
        self.pins.len()
    }

    pub fn pins(&self) -> &[Pin] {
        &self.pins
    }

    /// The side panel's "Compare runs" section.
    pub(super) fn pins_ui(&mut self, ui: &mut egui::Ui) {
        ui.add_space(6.0);
        ui.label(RichText::new("Compare runs").strong());
        ui.horizontal(|ui| {
            let can_pin = !self.history.is_empty() && self.pins.len() < MAX_PINS;
            if ui
                .add_enabled(can_pin, egui::Button::new(PIN_LABEL))
                .on_hover_text(format!(
                    "Keep a copy of this run's curves and overlay them on all four plots, to compare with the \
                     next runs (change η·λ₀ or the width, then Reset). Up to {MAX_PINS} runs."
                ))
                .on_disabled_hover_text(format!("Nothing to pin yet, or {MAX_PINS} runs are pinned already."))
                .clicked()
            {
                self.pin_current_run();
            }
            if !self.pins.is_empty() && ui.button(UNPIN_ALL_LABEL).on_hover_text("Remove every pinned run.").clicked() {
                self.pins.clear();
            }
        });
        if self.pins.is_empty() {
            ui.label(RichText::new("No pinned runs.").weak().small());
            return;
        }
        let mut remove = None;
        let mut export = None;
        for (k, pin) in self.pins.iter_mut().enumerate() {
            ui.horizontal(|ui| {
                ui.label(RichText::new("■").color(pin.color));
                ui.checkbox(&mut pin.visible, RichText::new(&pin.label).small())
                    .on_hover_text(format!("{}: show or hide this pinned run on the plots.", pin.preset_name));
                if ui.small_button(PIN_CODE_BUTTON).on_hover_text("Copy the share code of this run's preset (paste it into the window, or File → Open code…, to run it again).").clicked() {
                    ui.ctx().copy_text(pin.code.clone());
                }
                if ui.small_button("CSV…").on_hover_text("Save this pinned run's samples as CSV (SPEC §4 columns).").clicked() {
                    export = Some(k);
                }
                if ui.small_button("×").on_hover_text("Unpin: remove this run from the plots.").clicked() {
                    remove = Some(k);
                }
            });
        }
        if let Some(k) = export {
            self.export_dialog(super::export::ExportTarget::PinCsv(k));
        }
        if let Some(k) = remove {
            self.pins.remove(k);
            self.export.fix_after_unpin(k);
        }
    }
}
