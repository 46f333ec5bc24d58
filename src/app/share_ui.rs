//! Share codes in the window: File → Open code… (a field to paste a `cl1-…` code into), Copy
//! share code (the effective preset, live η changes included, to the clipboard), and a code pasted
//! anywhere in the window (no text field focused) opens its run.

use super::App;
use crate::engine::config::share;
use eframe::egui::{self, RichText};

/// Labels tests look these widgets up by.
pub const OPEN_CODE_MENU: &str = "Open code…";
pub const COPY_CODE_MENU: &str = "Copy share code";
pub const OPEN_CODE_WINDOW: &str = "Open a share code";
pub const OPEN_CODE_BUTTON: &str = "Open this code";
pub const CODE_FIELD_LABEL: &str = "Paste a share code (cl1-…):";

#[derive(Default)]
pub struct ShareState {
    pub window_open: bool,
    pub text: String,
    pub error: Option<String>,
}

impl App {
    /// The share code of what the window shows (the effective preset, as Save as… writes it).
    pub fn share_code(&self) -> String {
        share::encode(&self.effective_preset())
    }

    /// Opens the run a share code holds; a damaged code leaves the current run and says so.
    pub fn open_code(&mut self, code: &str) -> bool {
        match share::decode(code, &[]) {
            Ok(preset) => {
                let info = format!("Opened a share code ({})", preset.name);
                self.start_preset(preset);
                self.info = Some(info);
                self.share.error = None;
                self.share.window_open = false;
                true
            }
            Err(e) => {
                let message = format!("{e} (the current run continues)");
                self.share.error = Some(message.clone());
                self.last_error = Some(message);
                false
            }
        }
    }

    /// The File menu's share entries.
    pub(super) fn share_menu_ui(&mut self, ui: &mut egui::Ui) {
        if ui.button(OPEN_CODE_MENU).on_hover_text("Paste a share code (cl1-…) someone sent you: it reopens exactly their run. You can also paste a code anywhere in the window.").clicked() {
            self.share.window_open = true;
            ui.close();
        }
        if ui.button(COPY_CODE_MENU).on_hover_text("Copy a short code of this run (the preset with your edits and live η changes) to the clipboard; `catapult-lab run --preset CODE` or Open code… reopens it.").clicked() {
            let code = self.share_code();
            ui.ctx().copy_text(code.clone());
            self.info = Some(format!("Copied a share code ({} characters) to the clipboard", code.len()));
            ui.close();
        }
    }

    /// The Open code… window, and a code pasted into the window outside any text field.
    pub(super) fn share_ui(&mut self, ctx: &egui::Context) {
        if !ctx.egui_wants_keyboard_input() {
            let pasted = ctx.input(|i| i.events.iter().find_map(|e| match e {
                egui::Event::Paste(text) if share::looks_like_code(text) => Some(text.clone()),
                _ => None,
            }));
            if let Some(code) = pasted {
                self.open_code(&code);
            }
        }
        if !self.share.window_open {
            return;
        }
        let mut open = true;
        let mut submit = false;
        egui::Window::new(OPEN_CODE_WINDOW).open(&mut open).collapsible(false).default_width(420.0).show(ctx, |ui| {
            let label = ui.label(CODE_FIELD_LABEL);
            ui.add(egui::TextEdit::multiline(&mut self.share.text).desired_rows(3).desired_width(400.0).hint_text("cl1-…")).labelled_by(label.id);
            if ui.button(OPEN_CODE_BUTTON).clicked() {
                submit = true;
            }
            if let Some(e) = &self.share.error {
                ui.label(RichText::new(e).color(egui::Color32::from_rgb(220, 80, 60)));
            }
        });
        if submit {
            let text = self.share.text.clone();
            self.open_code(&text);
        }
        if !open {
            self.share.window_open = false;
        }
    }
}
