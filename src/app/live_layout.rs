//! The live view's layout: the step axis in use, the series of the frame (report::live_view,
//! computed once and shared by the plots), and the placement of the loss, kernel, weights (and
//! SGD / AGOP) plots beside the phase panel, each block sharing the height left by the text
//! (a column scrolls when its plots' least heights do not fit).
//! The last frame's series, plot rectangles and hover readout are kept for the tests.

use super::*;

impl App {
    /// The step axis the plots use now: the user's choice, else log once the run is
    /// `LOG_AXIS_RATIO` times longer than its interesting start (twice the peak step, ≥ 40).
    pub fn step_axis(&self) -> history::StepAxis {
        self.step_axis_choice.unwrap_or_else(|| {
            let peak = self.snapshot.as_ref().map_or(0.0, |s| s.peak_step as f64);
            history::default_step_axis(self.step_count(), 2.0 * peak)
        })
    }

    /// The series the live plots drew in the last frame (data units; report::live_view).
    pub fn plotted_series(&self) -> &[crate::report::live_view::PlotSeries] {
        &self.plotted
    }

    /// Where each live plot, its legend and its newest point were drawn in the last frame.
    pub fn plot_layout(&self, id: PlotId) -> Option<plots::PlotLayout> {
        self.layouts.get(&id).copied()
    }

    /// The last hover readout of a plot (series, step, value), if the pointer was over one.
    pub fn hover_readout(&self) -> Option<plots::HoverReadout> {
        self.hover.borrow().clone()
    }

    /// The view options of the live series for a plot `columns` wide.
    pub fn view_options(&self, columns: usize) -> crate::report::live_view::ViewOptions {
        crate::report::live_view::ViewOptions {
            axis: self.step_axis(),
            columns,
            has_eta_max: self.snapshot.as_ref().is_some_and(|s| s.eta_max_theory.is_some()),
            uv_applies: crate::report::live_view::uv_not_applicable(&self.preset).is_none(),
        }
    }

    pub(super) fn plots_ui(&mut self, ui: &mut egui::Ui) {
        let axis = self.step_axis();
        let columns = (ui.available_width() * 0.56).max(100.0) as usize;
        let options = self.view_options(columns);
        // The timeline's chosen step: the plots draw the history up to it, on the whole run's axis.
        let whole_last = self.history.last_step().map(|s| axis.to_axis(s as f64));
        let cursor = self.replay_row().map(|r| axis.to_axis(self.history.step[r]));
        self.prepare_cut();
        let shown = self.timeline.cut().unwrap_or(&self.history);
        let range = plots::visible_range(ui.ctx(), plots::loss_plot_id(), shown, self.reset_plots, axis);
        let top_s_choice = std::cell::Cell::new(None);
        self.plotted = crate::report::live_view::live_series(shown, range.clone(), &options);
        let inputs = plots::PlotInputs {
            history: shown,
            snapshot: self.snapshot.as_ref(),
            reset: self.reset_plots,
            pins: &self.pins,
            series: &self.plotted,
            axis,
            range,
            columns,
            hover: &self.hover,
            cursor,
            x_until: cursor.and(whole_last),
            top_s: self.preset.measure.top_s,
            top_s_choice: &top_s_choice,
        };
        let uv_reason = crate::report::live_view::uv_not_applicable(&self.preset);
        let mut layouts = Vec::new();
        let available = ui.available_size();
        let spacing = ui.spacing().item_spacing;
        // Narrow windows split evenly so the phase plane keeps room for its axes.
        let left_width = (available.x * if available.x < 800.0 { 0.5 } else { 0.56 }).floor();
        let right_width = available.x - left_width - spacing.x;
        // SGD runs get a fourth plot (η against the batch critical rate); teacher data gets the
        // AGOP heatmaps and the alignment plot under a shorter phase plane.
        let sgd = history::has_values(&self.history.batch_crit_eta);
        let teacher = history::has_values(&self.history.agop_alignment) || self.snapshot.as_ref().is_some_and(|s| s.agop.is_some());
        let left_plots = if sgd { 4.0 } else { 3.0 };
        // Each block (title, legend row, plot with its axes) gets an equal share of the height.
        let plot_height = ((available.y - (left_plots - 1.0) * spacing.y) / left_plots).floor().max(120.0);
        let phase_height = available.y.max(160.0);
        let title_height = ui.text_style_height(&egui::TextStyle::Body) * 1.1 + spacing.y;
        // The ρ/⟨v⟩ plane is Huang et al. 2025's view of two-layer *linear* nets.
        let linear_net = self.preset.model.kind == crate::engine::config::ModelKind::TwoLayer && self.preset.model.a_neg == 1.0;
        let gamma_y = self.snapshot.as_ref().map(|s| s.gamma_y).filter(|_| linear_net);
        let agop = self.snapshot.as_ref().and_then(|s| s.agop.clone());
        let phase_view = &mut self.phase_view;
        ui.horizontal_top(|ui| {
            ui.allocate_ui_with_layout(egui::vec2(left_width, available.y), egui::Layout::top_down(egui::Align::LEFT), |ui| {
                ui.set_width(left_width);
                // A scroll area that only scrolls when the plots' least heights (under long
                // legends, Large text, a small window) add up to more than the window has.
                column_scroll("live plots", available.y).show(ui, |ui| {
                    ui.set_width(left_width);
                    // With four plots the loss (which carries the most series) gets more room, the weights less.
                    let (loss_height, weights_height) = if sgd { (plot_height * 1.2, plot_height * 0.8) } else { (plot_height, plot_height) };
                    layouts.push((PlotId::Loss, plots::loss_plot(ui, &inputs, loss_height)));
                    layouts.push((PlotId::Lambda, plots::lambda_plot(ui, &inputs, plot_height)));
                    layouts.push((PlotId::Weights, plots::weights_plot(ui, &inputs, weights_height)));
                    if sgd {
                        plots::sgd_rate_plot(ui, &inputs, plot_height);
                    }
                });
            });
            ui.allocate_ui_with_layout(egui::vec2(right_width, available.y), egui::Layout::top_down(egui::Align::LEFT), |ui| {
                ui.set_width(right_width);
                // Scrolls like the left column when the alignment plot's least height does not fit.
                column_scroll("live panels", available.y).show(ui, |ui| {
                    ui.set_width(right_width);
                    let column_top = ui.cursor().top();
                    if teacher {
                        let phase_height = (available.y * 0.36).max(120.0);
                        layouts.push((PlotId::PhasePlane, phase_plane::phase_panel(ui, &inputs, phase_height, phase_view, gamma_y, uv_reason)));
                        // The alignment plot keeps at least a quarter of the column, and room for
                        // its two-line title over a plot of the least height; the heatmaps give way.
                        let alignment_min = (available.y * 0.25).max(110.0).max(2.0 * title_height + plots::min_plot_height(ui) + spacing.y);
                        let heatmap_height = (available.y * 0.36).min(right_width * 0.5 + 3.0 * title_height).min(available.y - phase_height - alignment_min - 2.0 * spacing.y);
                        agop_view::agop_heatmaps(ui, agop.as_deref(), heatmap_height);
                        // What the window leaves below the heatmaps (the scroll area's own height is unbounded).
                        let alignment_height = (available.y - (ui.cursor().top() - column_top)).max(alignment_min);
                        plots::agop_alignment_plot(ui, &inputs, alignment_height);
                    } else {
                        layouts.push((PlotId::PhasePlane, phase_plane::phase_panel(ui, &inputs, phase_height, phase_view, gamma_y, uv_reason)));
                    }
                });
            });
        });
        self.reset_plots = false;
        // The loss plot's s selector: restart the run with measure.top_s = s (the split needs the
        // solver's top-s eigenvectors from the first step).
        if let Some(s) = top_s_choice.get() {
            self.draft.measure.top_s = s;
            self.apply_draft();
        }
        for (id, layout) in layouts {
            self.export.plot_rects.insert(id, layout.plot);
            self.layouts.insert(id, layout);
        }
    }
}

/// A plot column's vertical scroll area, `height` tall: it scrolls only when the column's plots
/// at their least heights (`plots::min_plot_height`) need more than that.
fn column_scroll(id: &str, height: f32) -> egui::ScrollArea {
    egui::ScrollArea::vertical().id_salt(id).max_height(height).auto_shrink([false, true])
}
