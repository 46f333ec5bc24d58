//! The kernel plot's optimizer lines (SPEC §12): the optimizer's own stability edge edge/η per
//! step (heavy ball 2(1+β)/η, Nesterov 2(1+β)/((1+2β)η), Adam (2+2β1)/((1−β1)η), RMSprop and
//! Adagrad 2/η), and for the adaptive optimizers the preconditioned sharpness λ_max(P⁻¹∇²L) that
//! their edge is measured against. Both come from `report::live_view`; nothing is computed here.

use super::labels::{OPTIMIZER_EDGE_LINE, PRECOND_SHARPNESS_LINE};
use super::plots::LegendEntry;
use crate::report::decimate::StepAxis;
use crate::report::live_view::{self, KERNEL_PLOT, OPTIMIZER_EDGE_SERIES, PRECOND_SERIES, PlotSeries};
use egui::Color32;
use egui_plot::{Line, LineStyle, PlotPoints, PlotUi};
use eframe::egui;

const EDGE_COLOR: Color32 = Color32::from_rgb(230, 150, 30);
const PRECOND_COLOR: Color32 = Color32::from_rgb(200, 60, 160);

/// The optimizer's lines of one frame, in plot coordinates.
pub struct OptimizerLines {
    edge: Vec<[f64; 2]>,
    precond: Vec<[f64; 2]>,
}

impl OptimizerLines {
    pub fn new(series: &[PlotSeries], axis: StepAxis, y_map: impl Fn(f64) -> f64) -> Self {
        let map = |name: &str| live_view::find(series, KERNEL_PLOT, name).iter().map(|p| [axis.to_axis(p[0]), y_map(p[1])]).collect();
        OptimizerLines { edge: map(OPTIMIZER_EDGE_SERIES), precond: map(PRECOND_SERIES) }
    }

    /// Legend entries of the lines there are.
    pub fn legend(&self, legend: &mut Vec<LegendEntry>) {
        if !self.edge.is_empty() {
            legend.push((OPTIMIZER_EDGE_LINE.into(), EDGE_COLOR, true));
        }
        if !self.precond.is_empty() {
            legend.push((PRECOND_SHARPNESS_LINE.into(), PRECOND_COLOR, false));
        }
    }

    pub fn draw(self, plot_ui: &mut PlotUi) {
        if !self.edge.is_empty() {
            plot_ui.line(Line::new(OPTIMIZER_EDGE_LINE, PlotPoints::new(self.edge)).color(EDGE_COLOR).style(LineStyle::dashed_dense()).width(1.5));
        }
        if !self.precond.is_empty() {
            plot_ui.line(Line::new(PRECOND_SHARPNESS_LINE, PlotPoints::new(self.precond)).color(PRECOND_COLOR).width(1.8));
        }
    }
}
