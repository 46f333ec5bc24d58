//! Your own data in the window: File → Open data… (an rfd dialog on a helper thread) and files
//! dropped onto the window (a .csv becomes the current run's data, a .json is loaded as a
//! preset). A bad file shows its error naming file, line and column, and the run continues.

use super::App;
use super::presets_ui::FileReply;
use crate::engine::config::{self, DataKind};
use eframe::egui;
use std::path::Path;

impl App {
    /// File → Open data…: picks a CSV file on a helper thread (the UI never waits).
    pub(super) fn open_data_dialog(&mut self) {
        if self.files.busy {
            return;
        }
        self.files.busy = true;
        let tx = self.files.tx.clone();
        std::thread::spawn(move || {
            let picked = rfd::FileDialog::new().set_title("Open your data (CSV: a header row, numeric columns, the label last)").add_filter("data (CSV)", &["csv"]).pick_file();
            let _ = tx.send(FileReply::OpenedData(picked));
        });
    }

    /// Makes a CSV file the current run's data (the model, loss and training settings stay);
    /// a bad file leaves the current run untouched.
    pub fn load_data_path(&mut self, path: &Path) {
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let mut preset = self.preset().clone();
        preset.data = config::DataConfig { kind: DataKind::Csv, path: Some(absolute.display().to_string()), ..config::DataConfig::default() };
        preset.model.w0 = None;
        if preset.train.batch_size > 0 {
            preset.train.batch_size = preset.train.batch_size.min(config::data_shape(&preset.data).0);
        }
        match config::validate(&preset, "your data") {
            Ok(()) => {
                let (n, d) = config::data_shape(&preset.data);
                self.start_preset(preset);
                self.info = Some(format!("Data from {}: {n} examples, d = {d}", path.display()));
            }
            Err(e) => {
                self.info = None;
                self.last_error = Some(format!("{e} (the current run continues)"));
            }
        }
    }

    /// Files dropped onto the window: .csv as data, .json as a preset.
    pub(super) fn handle_dropped_files(&mut self, ctx: &egui::Context) {
        let dropped: Vec<std::path::PathBuf> = ctx.input(|i| i.raw.dropped_files.iter().map(|f| f.path().to_path_buf()).collect());
        for path in dropped {
            match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
                Some("csv") => self.load_data_path(&path),
                Some("json") => self.load_preset_path(&path),
                _ => self.last_error = Some(format!("{}: drop a preset (.json) or a data file (.csv)", path.display())),
            }
        }
    }
}
