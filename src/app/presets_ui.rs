//! Presets in the app: the menu of shipped presets (with their notes), Open… and Save as…
//! through rfd file dialogs on a helper thread (answers come back over a channel, so the UI
//! never waits on a dialog), loading a file by path, and saving via a temp file + rename.

use super::labels::*;
use eframe::egui;
use super::App;
use crate::engine::config::{self, Preset};
use crate::engine::library;
use crate::report::output::write_atomically;
use crate::app::runner::Command;
use crossbeam_channel::{Receiver, Sender, unbounded};
use egui::{Color32, RichText};
use std::path::{Path, PathBuf};


/// What a dialog thread reports.
pub enum FileReply {
    /// Open… finished: the chosen file, or none (cancelled, or no dialog available).
    Opened(Option<PathBuf>),
    /// Open data… finished: the chosen CSV file, or none.
    OpenedData(Option<PathBuf>),
    /// Save as… finished: where it was written, or why not; `None` = no file chosen.
    Saved(Option<Result<PathBuf, String>>),
}

/// The channel the dialog threads answer on.
pub struct FileDialogs {
    pub(super) tx: Sender<FileReply>,
    rx: Receiver<FileReply>,
    /// A dialog is open (at most one at a time).
    pub busy: bool,
}

impl Default for FileDialogs {
    fn default() -> Self {
        let (tx, rx) = unbounded();
        FileDialogs { tx, rx, busy: false }
    }
}


/// The Presets menu's submenus, by source, with what each holds.
pub const PRESET_GROUPS: &[(&str, &str)] = &[
    ("Basics", "The two-layer linear net on one example: lazy, catapult and divergent runs."),
    ("Zhu et al.", "Zhu et al., quadratic models and catapults: one example (NQM, network, linearized), multi-example bands, the general quadratic model."),
    ("Zhu thesis: SGD", "Zhu's thesis ch. 4: catapults in SGD on a rank-2 teacher (batch sizes 5/10/50/full) and repeated catapults from a schedule."),
    ("Meltzer–Liu", "Meltzer & Liu: the pure quadratic model and homogeneous/ReLU nets on one example, with the catapult/divergence bounds."),
    ("Huang et al. 2022", "Huang et al. 2022: catapults with exponential and logistic loss (Examples 1–4, degenerate data)."),
    ("Huang et al. 2025", "Huang et al. 2025: the two-stage plateau-then-drop of a small-init two-layer linear net, ρ/⟨v⟩ → √γ_y."),
    ("Real images", "MNIST, Fashion-MNIST and the 8×8 digits: Meltzer–Liu Figs 3 and 12, the thesis's SGD on images, generalization past the critical rate (Zhu et al. Fig 4)."),
    ("Layered nets", "Deep ReLU nets (model.kind mlp): Meltzer–Liu's 3-layer net, the ReLU catapult window past η·λ̂0 = 4, the thesis's Fig 4.3 split L≤5/L>5 and Fig 4.9b batch sizes, network vs NQM vs linearized."),
    ("Optimizers & schedules", "Heavy ball below and above its edge 2(1+β), a cyclic-rate catapult, the auto-catapult, and the thesis's Fig 4.11-style optimizer comparison against AGOP alignment."),
];

/// The Presets submenu a shipped preset belongs to (by its name), None for unknown names.
pub fn preset_group(name: &str) -> Option<&'static str> {
    let group = if ["lazy-uv", "catapult-uv", "divergent-uv"].contains(&name) {
        "Basics"
    } else if name.starts_with("deep-") {
        "Layered nets"
    } else if name.starts_with("images-") {
        "Real images"
    } else if name.starts_with("zhu-sgd-") || name == "zhu-multiple-catapults" {
        "Zhu thesis: SGD"
    } else if name.starts_with("zhu-") {
        "Zhu et al."
    } else if name.starts_with("meltzer-") {
        "Meltzer–Liu"
    } else if name.starts_with("huang2025-") {
        "Huang et al. 2025"
    } else if name.starts_with("huang-") {
        "Huang et al. 2022"
    } else if name.starts_with("momentum-") || name.starts_with("optimizers-") || ["cyclic-catapult", "auto-catapult"].contains(&name) {
        "Optimizers & schedules"
    } else {
        return None;
    };
    Some(group)
}

impl App {
    /// The top menu bar: Presets, File, View, Help.
    pub(super) fn menu_bar_ui(&mut self, ui: &mut egui::Ui) {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("Presets", |ui| {
                ui.label(RichText::new("Shipped presets by source (hover for what to look for)").weak());
                for (group, about) in PRESET_GROUPS {
                    let current_group = preset_group(&self.preset.name) == Some(*group);
                    let title = if current_group { format!("● {group}") } else { group.to_string() };
                    ui.menu_button(title, |ui| {
                        for (name, _) in library::SHIPPED.iter().filter(|(n, _)| preset_group(n) == Some(*group)) {
                            let notes = library::shipped(name, &[]).and_then(|r| r.ok()).map(|p| p.notes).unwrap_or_default();
                            let current = self.preset.name == *name;
                            if ui.selectable_label(current, *name).on_hover_text(&notes).clicked() {
                                self.load_shipped(name);
                                ui.close();
                            }
                        }
                    })
                    .response
                    .on_hover_text(*about);
                }
                if !self.prefs.last_preset.is_empty() && self.prefs.last_preset != self.preset.name {
                    ui.separator();
                    ui.label(RichText::new(format!("Last session: {}", self.prefs.last_preset)).weak());
                }
            });
            ui.menu_button("File", |ui| {
                if ui.button("Open preset…").on_hover_text("Load a preset JSON file (the current run stays if it is invalid).").clicked() {
                    self.open_dialog();
                    ui.close();
                }
                if ui.button("Open data…").on_hover_text("Train on your own CSV file (a header row, numeric columns, the label last); the model and training settings stay. You can also drop a .csv or .json file onto the window.").clicked() {
                    self.open_data_dialog();
                    ui.close();
                }
                if ui.button("Save preset as…").on_hover_text("Save what the window shows as a JSON file: the preset with your edits, and live η changes as schedule entries at the steps they happened (opening it reproduces this run exactly).").clicked() {
                    self.save_dialog();
                    ui.close();
                }
                self.share_menu_ui(ui);
                self.saved_state_menu_ui(ui);
                ui.separator();
                for (text, target, tip) in [
                    ("Export run as CSV…", super::export::ExportTarget::RunCsv, "Every step of the current run, SPEC §4 columns."),
                    ("Export sweep as CSV…", super::export::ExportTarget::SweepCsv, "One row per sweep run, as `catapult-lab sweep` writes."),
                    ("Export plot PNG (slide figure)…", super::export::ExportTarget::LiveFigurePng, "The four live plots at 1920×1080 with titles, axes, tick labels, legends and theory lines (the same figure as `catapult-lab figure`)."),
                    ("Export animation GIF…", super::export::ExportTarget::AnimationGif, "The live view over the current run as an animated GIF (1280×720; replay timing with slow motion on the 30 steps around the loss peak), as `catapult-lab animate --slowmo` makes it."),
                    ("Save window as PNG…", super::export::ExportTarget::WindowPng, "A picture of the whole window (a screenshot)."),
                ] {
                    if ui.add_enabled(!self.export.busy, egui::Button::new(text)).on_hover_text(tip).clicked() {
                        self.export_dialog(target);
                        ui.close();
                    }
                }
            });
            self.lessons_menu_ui(ui);
            ui.menu_button("View", |ui| {
                if ui.checkbox(&mut self.prefs.dark, "Dark theme").on_hover_text("Switch between dark and light colours.").changed() {
                    self.apply_theme(ui.ctx());
                }
                if ui.checkbox(&mut self.prefs.large_text, "Large text").on_hover_text("Bigger text for a projector.").changed() {
                    self.apply_text_size(ui.ctx());
                }
                ui.checkbox(&mut self.data_view_open, super::labels::DATA_VIEW_TITLE)
                    .on_hover_text("What the network is fitting: the data with the model's output (a line for d = 1, a heat map for d = 2, images with predictions, or a histogram). Key D.");
                ui.label("Step axis");
                for (choice, text, tip) in [
                    (None, "automatic", "Linear, and log once the run is 100× longer than its interesting start (twice the peak step, at least 40 steps)."),
                    (Some(crate::report::series::StepAxis::Linear), "linear", "Steps on a linear axis."),
                    (Some(crate::report::series::StepAxis::Log), "log", "Steps on a log axis (step 0, 1, 10, 100, …): early catapults and a long tail both stay visible."),
                ] {
                    if ui.radio(self.step_axis_choice == choice, text).on_hover_text(tip).clicked() {
                        self.step_axis_choice = choice;
                        self.reset_plots = true;
                    }
                }
                ui.separator();
                ui.checkbox(&mut self.show_frame_time, "Frame time (debug)")
                    .on_hover_text("Show how long the UI thread takes per frame, and how many samples the history holds.");
                ui.separator();
                egui::gui_zoom::zoom_menu_buttons(ui);
            });
            ui.separator();
            if ui.selectable_label(self.view == super::View::Live, super::LIVE_TAB_LABEL).on_hover_text("The live run: one run streaming step by step (F2 switches).").clicked() {
                self.view = super::View::Live;
            }
            if ui
                .selectable_label(self.view == super::View::Sweep, super::SWEEP_TAB_LABEL)
                .on_hover_text("Run a grid of learning rates × widths and see the phases at a glance (F2 switches).")
                .clicked()
            {
                self.view = super::View::Sweep;
            }
            ui.separator();
            let (text, tip) = if self.prefs.controls_hidden { ("▶ Controls", "Show the side panel of controls.") } else { ("◀ Controls", "Hide the side panel: the plots take the whole window (small screens, projectors).") };
            if ui.button(text).on_hover_text(tip).clicked() {
                self.prefs.controls_hidden = !self.prefs.controls_hidden;
            }
            ui.separator();
            if ui.button("Help (F1)").on_hover_text("What the three phases and each plot mean.").clicked() {
                self.help_open = !self.help_open;
            }
            ui.separator();
            let theme_label = if self.prefs.dark { "Light theme" } else { "Dark theme" };
            if ui.button(theme_label).on_hover_text("Switch between dark and light colours.").clicked() {
                self.prefs.dark = !self.prefs.dark;
                self.apply_theme(ui.ctx());
            }
            if ui.selectable_label(self.prefs.large_text, "Large text").on_hover_text("Bigger text for a projector (Ctrl +/− zooms everything).").clicked() {
                self.prefs.large_text = !self.prefs.large_text;
                self.apply_text_size(ui.ctx());
            }
        });
    }

    /// The side panel's preset section: current preset and notes, load by path, open/save.
    pub(super) fn preset_file_ui(&mut self, ui: &mut egui::Ui) {
        ui.add_space(6.0);
        ui.label(RichText::new(format!("Preset: {}", self.preset.name)).strong());
        if !self.preset.notes.is_empty() {
            ui.label(RichText::new(&self.preset.notes).small());
        }
        ui.horizontal(|ui| {
            if ui.add_enabled(!self.files.busy, egui::Button::new("Open…")).on_hover_text("Load a preset JSON file.").clicked() {
                self.open_dialog();
            }
            if ui.add_enabled(!self.files.busy, egui::Button::new("Save as…")).on_hover_text("Save what the window shows as JSON: live η changes become schedule entries at the steps they happened, so opening the file reproduces this run exactly.").clicked() {
                self.save_dialog();
            }
        });
        ui.horizontal(|ui| {
            let label = ui.label(LOAD_PATH_LABEL);
            let response = ui
                .add(egui::TextEdit::singleline(&mut self.path_text).hint_text(LOAD_PATH_HINT).desired_width(190.0))
                .labelled_by(label.id)
                .on_hover_text("Type the path of a preset JSON file and press Enter or Load file.");
            let enter = response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if ui.button(LOAD_PATH_BUTTON).on_hover_text("Load the preset file at this path.").clicked() || enter {
                let path = PathBuf::from(self.path_text.trim());
                self.load_preset_path(&path);
            }
        });
        if let Some(info) = &self.info {
            ui.label(RichText::new(info).color(Color32::from_rgb(60, 150, 200)));
        }
    }

    /// Loads a shipped preset by name, as the Presets menu does.
    pub fn load_shipped(&mut self, name: &str) {
        match library::shipped(name, &[]) {
            Some(Ok(preset)) => self.start_preset(preset),
            Some(Err(e)) => self.last_error = Some(e.to_string()),
            None => self.last_error = Some(format!("no shipped preset named {name}")),
        }
    }

    /// Loads a preset file; a bad file leaves the current run untouched.
    pub fn load_preset_path(&mut self, path: &Path) {
        match config::load_preset_file(path, &[]) {
            Ok(preset) => {
                let info = format!("Loaded {} ({})", path.display(), preset.name);
                self.start_preset(preset);
                self.info = Some(info);
            }
            Err(e) => {
                self.info = None;
                self.last_error = Some(format!("{e} (the current run continues)"));
            }
        }
    }

    pub(super) fn start_preset(&mut self, preset: Preset) {
        self.last_error = None;
        self.control_error = None;
        // Messages about the previous preset (e.g. "Loaded …" of another file) no longer apply.
        if !self.info.as_deref().is_some_and(|i| i.starts_with("Loaded ") && i.ends_with(&format!("({})", preset.name))) {
            self.info = None;
        }
        self.prefs.last_preset = preset.name.clone();
        self.outbox.push(Command::SetPreset(Box::new(preset)));
    }

    fn open_dialog(&mut self) {
        if self.files.busy {
            return;
        }
        self.files.busy = true;
        let tx = self.files.tx.clone();
        std::thread::spawn(move || {
            let picked = rfd::FileDialog::new().set_title("Open a catapult-lab preset").add_filter("preset (JSON)", &["json"]).pick_file();
            let _ = tx.send(FileReply::Opened(picked));
        });
    }

    /// The run's effective configuration as the runner owns it (the preset as loaded plus the
    /// live η changes as base rate or `schedule` entries): what Save as… writes.
    pub fn effective_preset(&self) -> Preset {
        self.snapshot.as_ref().map_or_else(|| self.preset.clone(), |s| (*s.effective).clone())
    }

    /// Writes the effective preset to `path` (Save as… without the dialog); the answer arrives
    /// like a dialog's (info "Saved …" or an error).
    pub fn save_preset_to(&mut self, path: &Path) {
        let json = config::preset_to_json(&self.effective_preset());
        let result = write_atomically(path, &format!("{json}\n")).map(|()| path.to_path_buf());
        self.deliver_file_reply(FileReply::Saved(Some(result)));
    }

    fn save_dialog(&mut self) {
        if self.files.busy {
            return;
        }
        self.files.busy = true;
        let tx = self.files.tx.clone();
        let effective = self.effective_preset();
        let json = config::preset_to_json(&effective);
        let file_name = format!("{}.json", if effective.name.is_empty() { "preset" } else { &effective.name });
        std::thread::spawn(move || {
            let picked = rfd::FileDialog::new()
                .set_title("Save the preset as")
                .add_filter("preset (JSON)", &["json"])
                .set_file_name(file_name)
                .save_file();
            let result = picked.map(|path| write_atomically(&path, &format!("{json}\n")).map(|()| path));
            let _ = tx.send(FileReply::Saved(result));
        });
    }

    /// Hands a dialog's answer to the app as a dialog thread would (tests use this to check
    /// that a cancelled or failed dialog changes nothing, without depending on a desktop portal).
    pub fn deliver_file_reply(&mut self, reply: FileReply) {
        self.files.busy = true;
        let _ = self.files.tx.send(reply);
    }

    /// Handles finished dialogs (called every frame; never blocks).
    pub(super) fn poll_file_dialogs(&mut self) {
        let replies: Vec<FileReply> = self.files.rx.try_iter().collect();
        for reply in replies {
            self.files.busy = false;
            match reply {
                FileReply::Opened(Some(path)) => {
                    self.path_text = path.display().to_string();
                    self.load_preset_path(&path);
                }
                FileReply::OpenedData(Some(path)) => self.load_data_path(&path),
                FileReply::Opened(None) | FileReply::OpenedData(None) | FileReply::Saved(None) => {
                    self.info = Some("No file chosen (cancelled, or no file dialog is available on this desktop: type a path and press Load file).".into());
                }
                FileReply::Saved(Some(Ok(path))) => self.info = Some(format!("Saved {}", path.display())),
                FileReply::Saved(Some(Err(e))) => self.last_error = Some(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_preset_has_a_menu_group() {
        for (name, _) in library::SHIPPED {
            let group = preset_group(name).unwrap_or_else(|| panic!("{name} has no Presets submenu"));
            assert!(PRESET_GROUPS.iter().any(|(g, _)| *g == group));
        }
        assert_eq!(preset_group("zhu-multi-example"), Some("Zhu et al."));
        assert_eq!(preset_group("huang2025-two-stage"), Some("Huang et al. 2025"));
        assert_eq!(preset_group("deep-thesis-fig43"), Some("Layered nets"));
    }
}
