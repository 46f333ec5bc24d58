//! Export: the current run or a pinned run as per-step CSV (SPEC §4 columns, rebuilt from the
//! history that is drawn), the sweep as CSV (the CLI's `output::write_summary_csv`), and the
//! window or one plot as PNG (an egui screenshot, cropped to the plot's rectangle). A path is
//! chosen in an rfd dialog on a helper thread (no desktop portal → a message, never a hang) or
//! typed into the export path field; files are written off the UI thread, answers come back
//! over a channel.

use super::labels::*;
use eframe::egui;
use super::App;
use crate::report::output::write_atomically;
use crossbeam_channel::{Receiver, Sender, unbounded};
use egui::{Color32, RichText};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;


/// A plot that can be saved as PNG.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PlotId {
    Loss,
    Lambda,
    Weights,
    PhasePlane,
    SweepFinalEtaLambda,
    SweepPeakLoss,
    SweepWeightNorm,
    SweepPhase,
}

impl PlotId {
    pub const ALL: [PlotId; 8] = [
        PlotId::Loss,
        PlotId::Lambda,
        PlotId::Weights,
        PlotId::PhasePlane,
        PlotId::SweepFinalEtaLambda,
        PlotId::SweepPeakLoss,
        PlotId::SweepWeightNorm,
        PlotId::SweepPhase,
    ];

    pub fn label(self) -> &'static str {
        match self {
            PlotId::Loss => "loss plot",
            PlotId::Lambda => "eigenvalue plot",
            PlotId::Weights => "weights plot",
            PlotId::PhasePlane => "u/v phase plane",
            PlotId::SweepFinalEtaLambda => "sweep: final η·λ",
            PlotId::SweepPeakLoss => "sweep: peak loss",
            PlotId::SweepWeightNorm => "sweep: weight norm",
            PlotId::SweepPhase => "sweep: phase strip",
        }
    }

    fn file_stem(self) -> &'static str {
        match self {
            PlotId::Loss => "loss",
            PlotId::Lambda => "lambda",
            PlotId::Weights => "weights",
            PlotId::PhasePlane => "phase_plane",
            PlotId::SweepFinalEtaLambda => "sweep_final_eta_lambda",
            PlotId::SweepPeakLoss => "sweep_peak_loss",
            PlotId::SweepWeightNorm => "sweep_weight_norm",
            PlotId::SweepPhase => "sweep_phase",
        }
    }
}

/// What to export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportTarget {
    RunCsv,
    /// The k-th pinned run.
    PinCsv(usize),
    SweepCsv,
    WindowPng,
    PlotPng(PlotId),
    /// The live view's four plots drawn by report::live_figure (slide resolution, titles, axes,
    /// legends): the same figure as `catapult-lab figure`.
    LiveFigurePng,
    /// The live view over the run as an animated GIF (report::animation, as `catapult-lab
    /// animate --slowmo`: 1280×720, slow motion around the loss peak).
    AnimationGif,
}

impl ExportTarget {
    pub fn label(self) -> String {
        match self {
            ExportTarget::RunCsv => "current run (CSV)".into(),
            ExportTarget::PinCsv(k) => format!("pinned run {} (CSV)", k + 1),
            ExportTarget::SweepCsv => "sweep results (CSV)".into(),
            ExportTarget::WindowPng => "whole window (PNG)".into(),
            ExportTarget::PlotPng(plot) => format!("{} (PNG, screen crop)", plot.label()),
            ExportTarget::LiveFigurePng => "live plots as a slide figure (PNG, 1920×1080)".into(),
            ExportTarget::AnimationGif => "the run as an animation (GIF, 1280×720, slow motion at the peak)".into(),
        }
    }

    fn is_png(self) -> bool {
        matches!(self, ExportTarget::WindowPng | ExportTarget::PlotPng(_) | ExportTarget::LiveFigurePng)
    }

    fn default_file_name(self) -> String {
        match self {
            ExportTarget::RunCsv => "run.csv".into(),
            ExportTarget::PinCsv(k) => format!("pinned_run_{}.csv", k + 1),
            ExportTarget::SweepCsv => "sweep.csv".into(),
            ExportTarget::WindowPng => "catapult-lab.png".into(),
            ExportTarget::PlotPng(plot) => format!("{}.png", plot.file_stem()),
            ExportTarget::LiveFigurePng => "live_figure.png".into(),
            ExportTarget::AnimationGif => "run.gif".into(),
        }
    }
}

/// What the dialog and writer threads report.
pub enum ExportReply {
    /// A dialog finished: the chosen path, or none (cancelled / no dialog available).
    Chosen(ExportTarget, Option<PathBuf>),
    /// A file was written (the message says where) or why not.
    Done(Result<String, String>),
}

/// Export state: the section's choices, the reply channel and the plots' last rectangles.
pub struct ExportState {
    tx: Sender<ExportReply>,
    rx: Receiver<ExportReply>,
    /// A dialog is open.
    pub busy: bool,
    pub target: ExportTarget,
    pub path_text: String,
    /// The last export's outcome.
    pub message: Option<Result<String, String>>,
    /// Where each plot was drawn last frame (points).
    pub plot_rects: HashMap<PlotId, egui::Rect>,
}

impl Default for ExportState {
    fn default() -> Self {
        let (tx, rx) = unbounded();
        ExportState {
            tx,
            rx,
            busy: false,
            target: ExportTarget::RunCsv,
            path_text: String::new(),
            message: None,
            plot_rects: HashMap::new(),
        }
    }
}

impl ExportState {
    /// Keeps the chosen target valid after pin `k` was removed.
    pub fn fix_after_unpin(&mut self, k: usize) {
        if let ExportTarget::PinCsv(j) = self.target {
            if j == k {
                self.target = ExportTarget::RunCsv;
            } else if j > k {
                self.target = ExportTarget::PinCsv(j - 1);
            }
        }
    }
}

/// Writes an RGBA screenshot (optionally cropped to `rect` in points) as PNG.
fn save_png(image: &egui::ColorImage, rect: Option<egui::Rect>, pixels_per_point: f32, path: &Path) -> Result<(), String> {
    let cropped;
    let image = match rect {
        Some(rect) => {
            let [w, h] = image.size;
            let x0 = ((rect.min.x * pixels_per_point).max(0.0) as usize).min(w);
            let y0 = ((rect.min.y * pixels_per_point).max(0.0) as usize).min(h);
            let x1 = ((rect.max.x * pixels_per_point).max(0.0).ceil() as usize).min(w);
            let y1 = ((rect.max.y * pixels_per_point).max(0.0).ceil() as usize).min(h);
            if x1 <= x0 || y1 <= y0 {
                return Err("the plot is not on screen".into());
            }
            cropped = image.region_by_pixels([x0, y0], [x1 - x0, y1 - y0]);
            &cropped
        }
        None => image,
    };
    let [w, h] = image.size;
    image::save_buffer_with_format(path, image.as_raw(), w as u32, h as u32, image::ExtendedColorType::Rgba8, image::ImageFormat::Png)
        .map_err(|e| format!("{}: cannot write PNG: {e}", path.display()))
}

fn write_bytes(path: &Path, bytes: std::io::Result<Vec<u8>>) -> Result<String, String> {
    let bytes = bytes.map_err(|e| format!("cannot format CSV: {e}"))?;
    let text = String::from_utf8(bytes).map_err(|e| format!("CSV is not UTF-8: {e}"))?;
    write_atomically(path, &text)?;
    Ok(format!("Wrote {}", path.display()))
}

impl App {
    /// What the headless live figure and the animation render: a copy of the history, the
    /// effective preset, whether theory gives η_max, and the peak step.
    fn figure_inputs(&self) -> (crate::report::series::History, crate::engine::config::Preset, bool, u64) {
        let has_eta_max = self.snapshot.as_ref().is_some_and(|s| s.eta_max_theory.is_some());
        let peak_step = self.snapshot.as_ref().map_or(0, |s| s.peak_step);
        (self.history.clone(), self.effective_preset(), has_eta_max, peak_step)
    }

    /// The last export's outcome (tests; the UI shows it under the export section).
    pub fn export_message(&self) -> Option<&Result<String, String>> {
        self.export.message.as_ref()
    }

    /// Where `plot` was drawn in the last frame that showed it (points).
    pub fn plot_rect(&self, plot: PlotId) -> Option<egui::Rect> {
        self.export.plot_rects.get(&plot).copied()
    }

    /// Opens a save dialog for `target` on a helper thread.
    pub(super) fn export_dialog(&mut self, target: ExportTarget) {
        if self.export.busy {
            return;
        }
        self.export.busy = true;
        let tx = self.export.tx.clone();
        let file_name = target.default_file_name();
        let (filter, extension) = if target.is_png() { ("PNG image", "png") } else if target == ExportTarget::AnimationGif { ("GIF animation", "gif") } else { ("CSV", "csv") };
        std::thread::spawn(move || {
            let picked = rfd::FileDialog::new()
                .set_title(format!("Export {}", target.label()))
                .add_filter(filter, &[extension])
                .set_file_name(file_name)
                .save_file();
            let _ = tx.send(ExportReply::Chosen(target, picked));
        });
    }

    /// Exports `target` to `path`: CSVs are copied and written on a helper thread, PNGs are
    /// taken from the next frame's screenshot.
    pub fn export_to_path(&mut self, ctx: &egui::Context, target: ExportTarget, path: PathBuf) {
        self.export.message = None;
        let tx = self.export.tx.clone();
        let repaint_ctx = ctx.clone();
        match target {
            ExportTarget::RunCsv | ExportTarget::PinCsv(_) => {
                let history = match target {
                    ExportTarget::PinCsv(k) => match self.pins.get(k) {
                        Some(pin) => pin.history.clone(),
                        None => {
                            self.export.message = Some(Err(format!("there is no pinned run {}", k + 1)));
                            return;
                        }
                    },
                    _ => self.history.clone(),
                };
                if history.is_empty() {
                    self.export.message = Some(Err("the run has no samples yet".into()));
                    return;
                }
                std::thread::spawn(move || {
                    let _ = tx.send(ExportReply::Done(write_bytes(&path, history.to_csv())));
                    repaint_ctx.request_repaint();
                });
            }
            ExportTarget::SweepCsv => {
                let rows = self.sweep_rows();
                if rows.is_empty() {
                    self.export.message = Some(Err("no sweep results yet: run a sweep first".into()));
                    return;
                }
                std::thread::spawn(move || {
                    let mut bytes = Vec::new();
                    let result = crate::report::output::write_summary_csv(&mut bytes, &rows).map(|()| bytes);
                    let _ = tx.send(ExportReply::Done(write_bytes(&path, result)));
                    repaint_ctx.request_repaint();
                });
            }
            ExportTarget::LiveFigurePng => {
                if self.history.is_empty() {
                    self.export.message = Some(Err("the run has no samples yet".into()));
                    return;
                }
                let (history, preset, has_eta_max, peak_step) = self.figure_inputs();
                std::thread::spawn(move || {
                    let result = crate::report::live_figure::render_history(&history, &preset, has_eta_max, peak_step, &path, (1920, 1080)).map(|_| format!("Wrote {}", path.display()));
                    let _ = tx.send(ExportReply::Done(result));
                    repaint_ctx.request_repaint();
                });
            }
            ExportTarget::AnimationGif => {
                if self.history.len() < 2 {
                    self.export.message = Some(Err("the run has no steps to animate yet".into()));
                    return;
                }
                let (history, preset, has_eta_max, peak_step) = self.figure_inputs();
                std::thread::spawn(move || {
                    let options = crate::report::animation::AnimationOptions { slowmo: true, ..Default::default() };
                    let result = std::fs::File::create(&path)
                        .map_err(|e| format!("{}: {e}", path.display()))
                        .and_then(|f| crate::report::animation::write_gif(&history, &preset, has_eta_max, peak_step, &options, std::io::BufWriter::new(f)))
                        .map(|plan| format!("Wrote {} ({} frames)", path.display(), plan.rows.len()));
                    let _ = tx.send(ExportReply::Done(result));
                    repaint_ctx.request_repaint();
                });
            }
            ExportTarget::WindowPng | ExportTarget::PlotPng(_) => {
                let rect = match target {
                    ExportTarget::PlotPng(plot) => match self.export.plot_rects.get(&plot) {
                        Some(rect) => Some(*rect),
                        None => {
                            self.export.message = Some(Err(format!("the {} is not on screen: switch to its view first", plot.label())));
                            return;
                        }
                    },
                    _ => None,
                };
                let pixels_per_point = ctx.pixels_per_point();
                ctx.request_screenshot(move |image: Arc<egui::ColorImage>| {
                    // Encoding takes a moment: not on the render thread.
                    std::thread::spawn(move || {
                        let result = save_png(&image, rect, pixels_per_point, &path).map(|()| format!("Wrote {}", path.display()));
                        let _ = tx.send(ExportReply::Done(result));
                        repaint_ctx.request_repaint();
                    });
                });
                ctx.request_repaint();
            }
        }
    }

    /// Handles dialog and writer replies (every frame; never blocks).
    pub(super) fn poll_exports(&mut self, ctx: &egui::Context) {
        let replies: Vec<ExportReply> = self.export.rx.try_iter().collect();
        for reply in replies {
            match reply {
                ExportReply::Chosen(target, Some(path)) => {
                    self.export.busy = false;
                    self.export.path_text = path.display().to_string();
                    self.export_to_path(ctx, target, path);
                }
                ExportReply::Chosen(_, None) => {
                    self.export.busy = false;
                    self.export.message = Some(Err(
                        "No file chosen (cancelled, or no file dialog is available on this desktop: type a path and press Write to path).".into(),
                    ));
                }
                ExportReply::Done(result) => self.export.message = Some(result),
            }
        }
    }

    /// The export section (collapsed by default): what, a path field and the two ways to write.
    pub(super) fn export_ui(&mut self, ui: &mut egui::Ui) {
        egui::CollapsingHeader::new(RichText::new(EXPORT_SECTION_LABEL).strong())
            .id_salt("export_section")
            .default_open(false)
            .show(ui, |ui| {
                let mut targets = vec![ExportTarget::RunCsv];
                targets.extend((0..self.pins.len()).map(ExportTarget::PinCsv));
                targets.push(ExportTarget::SweepCsv);
                targets.push(ExportTarget::LiveFigurePng);
                targets.push(ExportTarget::AnimationGif);
                targets.push(ExportTarget::WindowPng);
                targets.extend(PlotId::ALL.into_iter().map(ExportTarget::PlotPng));
                ui.horizontal(|ui| {
                    let label = ui.label(EXPORT_WHAT_LABEL);
                    egui::ComboBox::from_id_salt(EXPORT_WHAT_LABEL)
                        .selected_text(self.export.target.label())
                        .width(220.0)
                        .show_ui(ui, |ui| {
                            for target in targets {
                                ui.selectable_value(&mut self.export.target, target, target.label());
                            }
                        })
                        .response
                        .labelled_by(label.id)
                        .on_hover_text(
                            "Runs as CSV (one row per step, the columns of the CLI's `run --csv`), the sweep as CSV \
                             (one row per run, as `catapult-lab sweep` writes), or a PNG picture of the window or one plot.",
                        );
                });
                ui.horizontal(|ui| {
                    let label = ui.label(EXPORT_PATH_LABEL);
                    ui.add(egui::TextEdit::singleline(&mut self.export.path_text).hint_text("/path/to/file.csv").desired_width(200.0))
                        .labelled_by(label.id)
                        .on_hover_text("Type where to write the file, then press Write to path.");
                });
                ui.horizontal(|ui| {
                    let target = self.export.target;
                    if ui.button(EXPORT_WRITE_LABEL).on_hover_text("Write the chosen export to the typed path (overwrites).").clicked() {
                        let text = self.export.path_text.trim().to_string();
                        if text.is_empty() {
                            self.export.message = Some(Err("type a path first".into()));
                        } else {
                            self.export_to_path(ui.ctx(), target, PathBuf::from(text));
                        }
                    }
                    if ui
                        .add_enabled(!self.export.busy, egui::Button::new(EXPORT_DIALOG_LABEL))
                        .on_hover_text("Choose the file in a dialog.")
                        .clicked()
                    {
                        self.export_dialog(target);
                    }
                });
            });
        // Outside the section, so exports started from a menu or a pin report here too.
        match &self.export.message {
            Some(Ok(text)) => {
                ui.label(RichText::new(text).color(Color32::from_rgb(60, 150, 200)));
            }
            Some(Err(text)) => {
                ui.label(RichText::new(text).color(Color32::from_rgb(230, 70, 70)));
            }
            None => {}
        }
    }
}
