//! The SPEC §11 lines of the live plots: the Hessian sharpness λ_H on the kernel plot beside λ̂
//! (against the same 2/η line; its hover help says what the gap λ_H − λ̂ is), the top-s loss
//! split on the loss plot, and the s selector (1, 2, 5, 10) that restarts the run with
//! `measure.top_s = s`. The points come from `report::live_view`; nothing is computed here.

use super::labels::{HESSIAN_HELP, HESSIAN_LINE, LOSS_REST_SERIES, LOSS_TOP_SERIES, TOP_S_HELP, TOP_S_LABEL};
use super::plots::LegendEntry;
use crate::engine::config::TOP_S_CHOICES;
use crate::report::decimate::StepAxis;
use crate::report::live_view::{self, HESSIAN_SERIES, KERNEL_PLOT, LOSS_PLOT, LOSS_REST_S_SERIES, LOSS_TOP_S_SERIES, PlotSeries};
use eframe::egui;
use egui::Color32;
use egui_plot::{Line, LineStyle, PlotPoints, PlotUi};

pub const HESSIAN_COLOR: Color32 = Color32::from_rgb(230, 120, 20);
const TOP_COLOR: Color32 = Color32::from_rgb(220, 80, 80);
const REST_COLOR: Color32 = Color32::from_rgb(120, 190, 120);

fn mapped(series: &[PlotSeries], plot: &str, name: &str, axis: StepAxis, y_map: &dyn Fn(f64) -> f64) -> Vec<[f64; 2]> {
    live_view::find(series, plot, name).iter().map(|p| [axis.to_axis(p[0]), y_map(p[1])]).collect()
}

/// λ_H of one frame in plot coordinates (empty when not measured).
pub struct HessianLine(Vec<[f64; 2]>);

impl HessianLine {
    pub fn new(series: &[PlotSeries], axis: StepAxis, y_map: impl Fn(f64) -> f64) -> Self {
        HessianLine(mapped(series, KERNEL_PLOT, HESSIAN_SERIES, axis, &y_map))
    }

    pub fn legend(&self, legend: &mut Vec<LegendEntry>) {
        if !self.0.is_empty() {
            legend.push((HESSIAN_LINE.into(), HESSIAN_COLOR, false));
        }
    }

    /// The kernel plot's help text, with what λ_H is when it is drawn.
    pub fn help(&self, base: &str) -> String {
        if self.0.is_empty() { base.to_string() } else { format!("{base}\n\n{HESSIAN_HELP}") }
    }

    pub fn draw(self, plot_ui: &mut PlotUi) {
        if !self.0.is_empty() {
            plot_ui.line(Line::new(HESSIAN_LINE, PlotPoints::new(self.0)).color(HESSIAN_COLOR).width(1.6));
        }
    }
}

/// The top-s loss split of one frame in plot coordinates (SGD and teacher runs).
pub struct SplitLines {
    top: Vec<[f64; 2]>,
    rest: Vec<[f64; 2]>,
    top_name: String,
}

impl SplitLines {
    pub fn new(series: &[PlotSeries], axis: StepAxis, y_map: impl Fn(f64) -> f64, top_s: usize) -> Self {
        SplitLines { top: mapped(series, LOSS_PLOT, LOSS_TOP_S_SERIES, axis, &y_map), rest: mapped(series, LOSS_PLOT, LOSS_REST_S_SERIES, axis, &y_map), top_name: format!("{LOSS_TOP_SERIES} (s = {top_s})") }
    }

    pub fn is_shown(&self) -> bool {
        !self.top.is_empty()
    }

    pub fn legend(&self, legend: &mut Vec<LegendEntry>) {
        if self.is_shown() {
            legend.push((self.top_name.clone(), TOP_COLOR, false));
            legend.push((LOSS_REST_SERIES.into(), REST_COLOR, true));
        }
    }

    pub fn draw(self, plot_ui: &mut PlotUi) {
        if self.is_shown() {
            plot_ui.line(Line::new(self.top_name, PlotPoints::new(self.top)).color(TOP_COLOR).width(1.2));
            plot_ui.line(Line::new(LOSS_REST_SERIES, PlotPoints::new(self.rest)).color(REST_COLOR).width(1.2).style(LineStyle::dashed_dense()));
        }
    }
}

/// The s selector beside the loss plot's legend: the run's s, and the s chosen in this frame
/// (written to `choice`; the caller restarts the run with it).
pub fn top_s_selector(ui: &mut egui::Ui, current: usize, choice: &std::cell::Cell<Option<usize>>) {
    ui.horizontal(|ui| {
        ui.label(egui::RichText::new(TOP_S_LABEL).small()).on_hover_text(TOP_S_HELP);
        for s in TOP_S_CHOICES {
            if ui.selectable_label(s == current, egui::RichText::new(s.to_string()).small()).on_hover_text(TOP_S_HELP).clicked() && s != current {
                choice.set(Some(s));
            }
        }
    });
}
