//! The status strip (phase badge, λ̂0, critical rates, peak loss, speed), the error bar and the
//! help window: text about the run, every number taken from the runner's snapshot.

use super::*;

impl App {
    pub(super) fn status_strip_ui(&mut self, ui: &mut egui::Ui) {
        if self.show_frame_time {
            ui.horizontal(|ui| {
                ui.label(format!("frame {:.2} ms (recent max {:.1} ms), {} samples in history", self.frame_ms, self.frame_ms_max, self.history.len()))
                    .on_hover_text("Time the UI thread spends building each frame, plots included (GPU drawing excluded). The plots decimate to one min/max pair per pixel column, so this stays flat as the history grows.");
            });
        }
        // One line that never wraps (it scrolls sideways on narrow windows).
        egui::ScrollArea::horizontal().id_salt("status_line").show(ui, |ui| ui.horizontal(|ui| {
            let Some(s) = self.snapshot.clone() else {
                ui.label("starting…");
                return;
            };
            let (phase_color, phase_tip) = phase_style(s.phase.phase);
            let badge = RichText::new(format!(" {} ", s.phase.text().to_uppercase()))
                .strong()
                .color(Color32::WHITE)
                .background_color(phase_color);
            if s.phase.predicted {
                ui.label(badge).on_hover_text(format!("Predicted by theory from η·λ₀ = {:.3}; the run has not shown its phase yet. {phase_tip}", s.eta_scaled));
            } else {
                ui.label(badge).on_hover_text(phase_tip);
            }
            match s.status {
                RunStatus::DivergedAt(step) => {
                    ui.label(RichText::new(format!("DIVERGED at step {step}")).strong().color(Color32::from_rgb(230, 60, 60)))
                        .on_hover_text("The loss or the kernel blew up; the run stopped there. Lower η·λ₀ and press Reset.");
                }
                RunStatus::Failed => {
                    ui.label(RichText::new("RUN FAILED").strong().color(Color32::from_rgb(230, 60, 60)));
                }
                RunStatus::Finished => {
                    ui.label(RichText::new("finished").strong());
                }
                RunStatus::Paused => {
                    ui.label(RichText::new("paused").strong());
                }
                RunStatus::Running => {
                    ui.label(RichText::new("running").strong());
                }
            }
            ui.separator();
            ui.label(format!("step {} / {}", s.step, s.steps_limit)).on_hover_text("Gradient-descent steps made / steps limit.");
            ui.separator();
            ui.label(format!("λ₀ = {}", fmt_num(s.lambda0))).on_hover_text("Sharpness at initialization: top eigenvalue of the normalized tangent kernel.");
            ui.label(format!("η = {}  (η·λ₀ = {:.3})", fmt_num(s.eta), s.eta_scaled)).on_hover_text("The learning rate now, and in units of 1/λ₀.");
            ui.label(format!("η_crit = 2/λ₀ = {}", fmt_num(s.eta_crit))).on_hover_text("Above this learning rate the start is unstable: lazy training is impossible.");
            if let Some(critical) = s.eta_crit_theory {
                ui.label(format!("η_crit (theory) = {}", fmt_num(critical)))
                    .on_hover_text("The exact critical rate of Huang et al. for this loss on degenerate data (SPEC §6): below it the loss falls, above it it does not.");
            }
            match s.eta_max_theory {
                Some(eta_max) => {
                    ui.label(format!("η_max = {}", fmt_num(eta_max)))
                        .on_hover_text("Theory's largest learning rate that still converges (4/λ₀ for quadratic models and two-layer linear nets).");
                }
                None => {
                    ui.label("η_max: no theory").on_hover_text("No closed-form η_max for this model (e.g. ReLU nets catapult beyond 4/λ₀).");
                }
            }
            ui.separator();
            ui.label(format!("peak loss {} (step {})", fmt_num(s.peak_loss), s.peak_step)).on_hover_text("Largest loss so far, and when.");
            if let Some(sgd) = s.sgd {
                ui.separator();
                ui.label(format!("SGD: η > 2/λ(batch) on {:.0}% of steps", 100.0 * sgd.share_above())).on_hover_text(format!(
                    "Each SGD step uses one batch, whose own sharpness λ(batch) sets its critical rate 2/λ(batch). \
                     {} of {} steps so far had η above it (unstable for that batch: a small catapult).",
                    sgd.steps_above, sgd.steps
                ));
                let (text, color) = match sgd.match_rate() {
                    Some(rate) => (format!("{MATCH_RATE_LABEL} {:.0}% ({} of {} loss rises)", 100.0 * rate, sgd.rises_above, sgd.loss_rises), Color32::from_rgb(235, 150, 30)),
                    None => (format!("{MATCH_RATE_LABEL}: no loss rise yet"), ui.visuals().text_color()),
                };
                ui.label(RichText::new(text).color(color)).on_hover_text(
                    "Zhu's test of the SGD catapult picture: of the steps where the training loss rose, the share that \
                     had η above the batch critical rate. Near 100%: the loss spikes are catapults of the batch kernel.",
                );
            }
            if let Some(alignment) = self.history.agop_alignment.last().copied().flatten() {
                ui.label(format!("AGOP alignment cos(G, G*) = {alignment:.3}")).on_hover_text(
                    "How well the model's average gradient outer product G matches the teacher's G* (1 = the same \
                     feature directions). Feature learning raises it; smaller batches raise it more.",
                );
            }
            if let Some(test_loss) = self.history.test_loss.last().copied().flatten() {
                ui.label(format!("test loss {}", fmt_num(test_loss))).on_hover_text("Loss on 1000 held-out teacher examples (generalization).");
            }
            let sparsity: Vec<f64> = self.history.layer_sparsity.iter().filter_map(|column| column.last().copied().flatten()).collect();
            if !sparsity.is_empty() {
                let values: Vec<String> = sparsity.iter().map(|f| format!("{f:.2}")).collect();
                ui.label(format!("{SPARSITY_LABEL} {}", values.join(" · "))).on_hover_text(
                    "Per hidden layer (1, 2, …), the fraction of ReLU units that are off (σ'(z) = a_neg) over the training data \
                     (CSV columns sparsity_1, …). A catapult switches units off (Meltzer & Liu): it rises above its start, ~0.5.",
                );
            }
            let above_edge = self.history.lambda_hat.last().is_some_and(|l| s.eta * l > 2.0);
            if above_edge && self.history.loss.last() == Some(&0.0) {
                ui.separator();
                ui.label(RichText::new("η·λ > 2 but the loss is exactly 0: nothing can grow, no catapult will come").color(Color32::from_rgb(235, 150, 30)))
                    .on_hover_text("The residual is exactly zero in floating point, so (η·λ − 1)² times it stays zero. Reset, or raise η before the run has converged this far.");
            }
            if let Some(steps) = self.next_catapult_in(&s) {
                ui.separator();
                ui.label(RichText::new(format!("next catapult expected in ~{steps} steps")).color(Color32::from_rgb(235, 150, 30))).on_hover_text(
                    "η·λ is above 2, so the error along the sharpest direction grows by (η·λ − 1)² per step; from the \
                     loss now, it takes about this many steps to climb back to the initial loss, where the spike shows.",
                );
            }
            ui.separator();
            ui.label(format!("data: {}", s.separability.label()))
                .on_hover_text("Decided exactly (a linear program): separable through the origin, degenerate (same x, opposite labels), or non-separable.");
            let speed = match s.status {
                RunStatus::Running => format!("{:.0} steps/s", s.steps_per_second),
                _ => "0 steps/s".to_string(),
            };
            ui.label(speed).on_hover_text("Steps computed per second right now.");
            if self.slow_start {
                ui.label(RichText::new(format!("slow start: {SLOW_START_STEPS_PER_SECOND:.0} steps/s for the first {SLOW_START_STEPS} steps, then {:.0}", self.prefs.steps_per_second)).weak())
                    .on_hover_text("The window opens slowly so the first catapult (steps ~5–20) takes a few seconds; move the speed slider to change it now.");
            }
        }));
    }

    /// Steps until the loss, growing by (η·λ̂ − 1)² per step, is back at L0 (when η·λ̂ > 2 and
    /// the loss is below L0; None when not measurable or under 5 steps).
    pub fn next_catapult_in(&self, s: &RunSnapshot) -> Option<u64> {
        let eta_lambda = s.eta * self.history.lambda_hat.last().copied()?;
        let loss = self.history.loss.last().copied()?;
        let growth = (eta_lambda - 1.0).powi(2);
        if !(eta_lambda > 2.0 && growth > 1.0 && loss > 0.0 && loss < s.loss0) || s.status != RunStatus::Running && s.status != RunStatus::Paused {
            return None;
        }
        let steps = ((s.loss0 / loss).ln() / growth.ln()).ceil();
        (steps.is_finite() && steps >= 5.0).then_some(steps as u64)
    }

    pub(super) fn error_bar_ui(&mut self, ui: &mut egui::Ui) {
        if let Some(error) = self.last_error.clone() {
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new(format!("Error: {error}")).color(Color32::from_rgb(230, 70, 70)).strong());
                if ui.small_button("dismiss").on_hover_text("Hide this message.").clicked() {
                    self.last_error = None;
                }
            });
        }
    }

    pub(super) fn help_ui(&mut self, ctx: &egui::Context) {
        let mut open = self.help_open;
        egui::Window::new(HELP_TITLE).open(&mut open).default_width(560.0).vscroll(true).show(ctx, |ui| {
            ui.heading("Three phases of gradient descent");
            ui.label(
                "A wide network is trained with plain gradient descent. What happens depends on the learning \
                 rate η compared with the sharpness λ₀ of the loss at the start (the top eigenvalue of the \
                 network's tangent kernel). The slider η·λ₀ is exactly that ratio.",
            );
            ui.label(RichText::new("Lazy (η·λ₀ < 2)").strong().color(phase_style(Phase::Lazy).0));
            ui.label("Small steps. The loss falls smoothly, the sharpness hardly changes, the weights barely move.");
            ui.label(RichText::new("Catapult (2 < η·λ₀ < 4)").strong().color(phase_style(Phase::Catapult).0));
            ui.label(
                "Steps are too big for the starting sharpness. The loss first explodes (the error flips sign \
                 every step and grows), then the network is thrown to a flatter place: the sharpness λ drops \
                 below 2/η and the loss comes down and converges. The bigger the network, the higher the spike.",
            );
            ui.label(RichText::new("Divergent (η·λ₀ > 4 for linear nets)").strong().color(phase_style(Phase::Divergent).0));
            ui.label("Steps are so big that the sharpness grows instead of falling: the loss blows up and the run stops.");
            ui.separator();
            ui.heading("The plots");
            ui.label(RichText::new(LOSS_TITLE).strong());
            ui.label("Training loss per step, on a log scale (each grid line is ×10). The dashed line is the starting loss.");
            ui.label(RichText::new(LAMBDA_TITLE).strong());
            ui.label(
                "The sharpness λ (and the second eigenvalue λ₂). The green dashed line is 2/η: below it a step is \
                 stable. The red dashed line is 4/η. Both are drawn with the η of each step, so they jump when a \
                 schedule or the slider changes η. The background colour shows each step's regime. When λ spans \
                 decades the axis turns logarithmic.",
            );
            ui.label(RichText::new(WEIGHTS_TITLE).strong());
            ui.label("How big the weights are, and how far they moved from where they started.");
            ui.label(RichText::new(PHASE_PLANE_TITLE).strong());
            ui.label(
                "v = η·λ across, u (the error along the sharpest direction) up, on a log scale. The run starts at \
                 the diamond. Under the orange line u = v − 2 the error grows; the catapult swings the point up \
                 and to the left until it lands on the green bar (stable, u = 0 at the bottom edge). Where the plane \
                 does not apply (SGD, a linear predictor, logistic loss) the panel shows η·λ against the step, \
                 stable below 2.",
            );
            ui.separator();
            ui.heading("Keys");
            ui.label("Space: play/pause.  Right arrow: one step.  R: reset (the preset as loaded; the Restart at this η button keeps the η on screen).  F1: this help.  F2: live run / sweep.  Ctrl + / Ctrl −: zoom.  View → Step axis: linear or log.");
            ui.separator();
            ui.heading("Sweep and comparison");
            ui.label(
                "The Sweep view (F2) runs a whole grid of learning rates and widths and shows where each phase lies. \
                 Click a point to open that run here. Pin run keeps a copy of the current curves on the plots, to \
                 compare with the next run. Export writes runs and sweeps as CSV, the live plots as a slide figure \
                 and the window or a plot as PNG.",
            );
        });
        self.help_open = open;
    }
}

pub(super) fn fmt_num(x: f64) -> String {
    if x == 0.0 {
        "0".to_string()
    } else if (1e-3..1e4).contains(&x.abs()) {
        format!("{x:.4}")
    } else {
        format!("{x:.3e}")
    }
}

/// The badge colour (the one table, `report::figure::phase_color`) and tooltip of a phase.
pub(super) fn phase_style(phase: Phase) -> (Color32, &'static str) {
    let (r, g, b) = crate::report::figure::phase_color(phase);
    (Color32::from_rgb(r, g, b), phase.description())
}
