//! Every label, title and series name the window shows that tests look widgets up by: one place,
//! so a test names what the user reads and a renamed label breaks one file.

pub const AGOP_HEATMAPS_TITLE: &str = "AGOP heatmaps: model G beside teacher G*";

pub const AGOP_MODEL_LABEL: &str = "G: the model's AGOP";

pub const AGOP_TARGET_LABEL: &str = "G*: the teacher's AGOP";

/// The kernel plot's line of the optimizer's own edge, edge/η per step (issue 18).
pub const OPTIMIZER_EDGE_LINE: &str = "optimizer edge/η (per step)";

/// The kernel plot's preconditioned sharpness λ_max(P⁻¹H) (adam, rmsprop, adagrad).
pub const PRECOND_SHARPNESS_LINE: &str = "λ(P⁻¹H) (preconditioned)";

/// The kernel plot's Hessian line (SPEC §11) and what its gap to λ̂ means.
pub const HESSIAN_LINE: &str = "λ_H (loss Hessian, largest)";
pub const HESSIAN_HELP: &str = "λ_H is the largest eigenvalue of the loss Hessian ∇²L (the algebraically largest: the Hessian can have \
    negative eigenvalues), by Lanczos on exact Hessian-vector products. For the squared loss ∇²L = 2s JᵀJ + Σ_i 2s r_i ∇²f_i: the \
    first term's top eigenvalue is λ̂, so the gap λ_H − λ̂ is the residual term Σ r_i ∇²f_i — zero for a linear (linearized) model, \
    largest during a loss spike when the residual r is large. Measured every measure.hessian_every steps (automatic: every step where \
    it is cheap, else every 10).";

/// The loss plot's s selector (`measure.top_s`).
pub const TOP_S_LABEL: &str = "split at s =";
pub const TOP_S_HELP: &str = "s of the loss split L≤s = s_L Σ_{j≤s} ⟨r, p̂_j⟩² over the top-s eigenvectors of the kernel, and L>s = L − L≤s \
    (thesis Claim 1: GD spikes live in L≤5, SGD spikes in L≤1). Choosing s restarts the run with measure.top_s = s (same seed).";

/// The side panel's optimizer and schedule-kind section (issue 18).
pub const OPTIMIZER_SECTION_LABEL: &str = "Optimizer and schedule kind (restarts the run)";

pub const OPTIMIZER_LABEL: &str = "optimizer";

pub const SCHEDULE_KIND_LABEL: &str = "schedule kind";

pub const PLAY_LABEL: &str = "Play";

pub const PAUSE_LABEL: &str = "Pause";

pub const STEP_LABEL: &str = "Step +1";

pub const RESET_LABEL: &str = "↺ Reset";

pub const RESTART_AT_ETA_LABEL: &str = "Restart at this η";

pub const ETA_SCALED_LABEL: &str = "η·λ₀";

pub const ETA_LABEL: &str = "η (raw)";

pub const WIDTH_LABEL: &str = "width m";

pub const SPEED_LABEL: &str = "steps/s";

pub const EXPORT_SECTION_LABEL: &str = "Export";

pub const EXPORT_PATH_LABEL: &str = "export path";

pub const EXPORT_WHAT_LABEL: &str = "what";

pub const EXPORT_WRITE_LABEL: &str = "Write to path";

pub const EXPORT_DIALOG_LABEL: &str = "Save as…";

/// The status-strip text of the SGD match rate starts with this.
pub const MATCH_RATE_LABEL: &str = "match rate";
/// The status strip's per-layer ReLU sparsity (`sparsity_l`).
pub const SPARSITY_LABEL: &str = "ReLUs off by layer";

pub const HELP_TITLE: &str = "Help: what you are looking at";

pub const LIVE_TAB_LABEL: &str = "Live run";

pub const SWEEP_TAB_LABEL: &str = "Sweep";

pub const PHASE_PLANE_TITLE: &str = "u/v phase plane";

pub const RHO_PLANE_TITLE: &str = "ρ/⟨v⟩ plane (Huang et al. 2025)";

pub const UV_TOGGLE_LABEL: &str = "u/v";

pub const RHO_TOGGLE_LABEL: &str = "ρ/⟨v⟩";

/// Legend name of the line the (ρ, v̄) trajectory approaches.
pub const SQRT_GAMMA_LINE_LABEL: &str = "ρ = √γ_y·⟨v⟩ (first layer aligned with X^T y)";

pub const PIN_LABEL: &str = "Pin run";

pub const UNPIN_ALL_LABEL: &str = "Unpin all";

pub const LOSS_TITLE: &str = "Loss (log scale)";

pub const LAMBDA_TITLE: &str = "Kernel eigenvalues λ and λ₂";

pub const WEIGHTS_TITLE: &str = "Weights: norm² and distance from init";

pub const SGD_TITLE: &str = "SGD: learning rate η against each batch's critical rate";

pub const AGOP_ALIGNMENT_TITLE: &str = "Feature learning: AGOP alignment cos(G, G*)";

/// Legend names of the SGD and teacher series (tests find them by label).
pub const BATCH_CRIT_SERIES: &str = "batch critical rate 2/λ(batch)";

pub const ETA_ABOVE_SERIES: &str = "η > 2/λ(batch) (step above the batch's edge)";

pub const TEST_LOSS_SERIES: &str = "test loss (held-out data)";

/// The top-s split's legend: this, then " (s = …)" (`measure.top_s`).
pub const LOSS_TOP_SERIES: &str = "loss in the top kernel directions";

pub const LOSS_REST_SERIES: &str = "loss in all other directions";

pub const RISE_ABOVE_SERIES: &str = "loss rose, η above the batch's edge";

pub const RISE_BELOW_SERIES: &str = "loss rose, η below the batch's edge";

pub const LAMBDA_NTK_SERIES: &str = "λ_ntk = λmax(s·K): the papers' NTK eigenvalue";

pub const LOAD_PATH_HINT: &str = "preset file path";

pub const LOAD_PATH_LABEL: &str = "file";

pub const LOAD_PATH_BUTTON: &str = "Load file";

pub const SCHEDULE_SECTION_LABEL: &str = "Learning-rate schedule (restarts the run)";

pub const SCHEDULE_ADD_LABEL: &str = "+ add change";

pub const SCHEDULE_APPLY_LABEL: &str = "Apply schedule";

pub const SWEEP_START_LABEL: &str = "Run sweep";

pub const SWEEP_CANCEL_LABEL: &str = "Cancel sweep";

pub const SWEEP_FINAL_TITLE: &str = "Final η·λ after training";

pub const SWEEP_PEAK_TITLE: &str = "Peak loss (log scale)";

pub const SWEEP_NORM_TITLE: &str = "Final weight norm² / initial";

pub const SWEEP_PHASE_TITLE: &str = "Phase over (η·λ₀, width)";

pub const SWEEP_WIDTHS_LABEL: &str = "widths";

pub const SWEEP_COUNT_LABEL: &str = "points";

pub const SWEEP_FROM_LABEL: &str = "from";

pub const SWEEP_TO_LABEL: &str = "to";

pub const SWEEP_SEEDS_LABEL: &str = "seeds per cell";

pub const SWEEP_STEPS_LABEL: &str = "steps per run";

/// Legend names of the Meltzer–Liu bounds in the sweep panels.
pub const ML_CATAPULT_LABEL: &str = "catapult guaranteed below (Meltzer–Liu)";

pub const ML_DIVERGENCE_LABEL: &str = "diverges above (Meltzer–Liu)";
/// The η·λ₀ slider's mark at the exact critical rate where a paper gives one (eta_crit_theory).
pub const ETA_CRIT_THEORY_MARK: &str = "η_crit (theory)";
/// The Meltzer–Liu line under the η slider when its catapult window is empty.
pub const ML_NO_GUARANTEE_RELU: &str = "Meltzer–Liu: no guarantee for ReLU";
pub const ML_NO_GUARANTEE: &str = "Meltzer–Liu: no catapult guarantee at this initialization (the window is empty)";

/// The phase strip's colour key entry for `phase`.
pub fn phase_key_label(phase: crate::engine::sim::Phase) -> String {
    format!("■ {}", phase.label())
}

/// The data view window's title and the heading of each of its four forms.
pub const DATA_VIEW_TITLE: &str = "Data view (D)";
pub const DATA_VIEW_LINE_LABEL: &str = "Training points and the model's output f(x)";
pub const DATA_VIEW_PLANE_LABEL: &str = "Training points over the model's output f(x₁, x₂)";
pub const DATA_VIEW_IMAGES_LABEL: &str = "Training images and the model's output";
pub const DATA_VIEW_OUTPUTS_LABEL: &str = "Outputs on the training set by label";

/// The folded section with the per-layer init scales and "train layer" checkboxes.
pub const LAYERS_SECTION_LABEL: &str = "Layers: init scale and training per layer";

/// The two-layer net's layer names (SPEC §10: 1 = u, 2 = v).
fn layer_name(layer: usize) -> &'static str {
    match layer {
        1 => "u",
        2 => "v",
        _ => "?",
    }
}

/// The per-layer init scale slider's label, e.g. "σ layer 1 (u)".
pub fn layer_scale_label(layer: usize) -> String {
    format!("σ layer {layer} ({})", layer_name(layer))
}

/// The per-layer "train layer" checkbox, e.g. "train layer 2 (v)".
pub fn layer_train_label(layer: usize) -> String {
    format!("train layer {layer} ({})", layer_name(layer))
}

/// The phase panel's title where the u/v plane does not apply.
pub const ETA_LAMBDA_TITLE: &str = "η·λ against the step (stable below 2)";

// The timeline under the live plots (app/timeline.rs).
pub const TIMELINE_LABEL: &str = "Timeline";
pub const TIMELINE_PLAY: &str = "▶ Play";
pub const TIMELINE_STOP: &str = "■ Stop";
pub const TIMELINE_LIVE: &str = "Newest step";
pub const TIMELINE_SPEED: &str = "speed";
pub const TIMELINE_SLOWMO: &str = "slow-mo";
pub const TIMELINE_CURSOR: &str = "replay cursor";
/// The start of the timeline's readout line (the values at the chosen step).
pub const TIMELINE_READOUT: &str = "at";
