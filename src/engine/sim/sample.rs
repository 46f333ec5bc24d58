//! What a run reports: the per-step `Sample` (SPEC §4, the CSV columns), the run `Status` and
//! the `Summary` (SPEC §5).

use super::{MAX_SPARSITY_LAYERS, MeasureSummary, Phase};
use serde::{Deserialize, Serialize};

/// How many optional columns a sample has (`Sample::extras`): 11, then `hessian_top`,
/// `loss_top_s`, `loss_rest_s`, `kernel_change` and `sparsity_1` … `sparsity_8`.
pub const EXTRA_COUNT: usize = 15 + MAX_SPARSITY_LAYERS;
/// The position of `batch_crit_eta` among the optional columns.
pub(super) const BATCH_CRIT_EXTRA: usize = 7;
/// The positions of `precond_sharpness` and `edge_sharpness`.
pub(super) const PRECOND_EXTRA: usize = 9;
pub(super) const EDGE_EXTRA: usize = 10;

/// Everything measured at one step (SPEC §4). Optional fields apply to some runs only.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Sample {
    pub step: u64,
    pub eta: f64,
    pub loss: f64,
    pub lambda_hat: f64,
    pub lambda_hat_2: f64,
    pub lambda_raw: f64,
    pub eta_lambda: f64,
    pub weight_norm_sq: f64,
    pub dist_from_init: f64,
    pub u: f64,
    pub v: f64,
    pub train_acc: Option<f64>,
    pub sparsity: Option<f64>,
    pub rho: Option<f64>,
    pub v_mean: Option<f64>,
    /// λ_max(s·K), the papers' NTK eigenvalue (logistic and exponential loss only).
    pub lambda_ntk: Option<f64>,
    /// The part of the loss along the top-2 kernel eigenvectors, s Σ_{j≤2} ⟨r, p̂_j⟩² (MSE).
    pub loss_top: Option<f64>,
    /// Loss on the held-out test set (data kinds with a test split).
    pub test_loss: Option<f64>,
    /// Share of the test set classified right by sign (±1 labels with a test split).
    pub test_acc: Option<f64>,
    /// cos(G, G*) between the model's and the teacher's AGOP (teacher data).
    pub agop_alignment: Option<f64>,
    /// 2/λ̂(batch) of the batch that produced this step (SGD only).
    pub batch_crit_eta: Option<f64>,
    /// λ_max(P⁻¹∇²L), the preconditioned sharpness (adam, rmsprop, adagrad; from step 1).
    pub precond_sharpness: Option<f64>,
    /// The optimizer's edge in sharpness units at this step's η, edge/η (every optimizer but
    /// gd): 2(1+β)/η for heavy ball against λ̂, (2+2β1)/((1−β1)η) for Adam against
    /// `precond_sharpness` (SPEC §12).
    pub edge_sharpness: Option<f64>,
    /// λ_H, the algebraically largest eigenvalue of the full-batch loss Hessian (SPEC §11), on
    /// the steps it is measured (`measure.hessian_every`; None elsewhere).
    pub hessian_top: Option<f64>,
    /// The top-s loss split with s = `measure.top_s` (MSE): L_{≤s} = s_L Σ_{j≤s} ⟨r, p̂_j⟩² and
    /// L_{>s} = L − L_{≤s}. (`loss_top` stays the fixed top-2 part, the old column.)
    pub loss_top_s: Option<f64>,
    pub loss_rest_s: Option<f64>,
    /// ‖K_t − K_0‖₂/‖K_0‖₂ of the raw kernel (n ≤ 512), on the steps it is measured.
    pub kernel_change: Option<f64>,
    /// Per hidden layer l = 1.., the fraction of gates with σ' = a_neg (`sparsity_l`).
    pub layer_sparsity: [Option<f64>; MAX_SPARSITY_LAYERS],
}

impl Sample {
    /// The optional columns, in `EXTRA_COLUMNS` order (report::output).
    pub fn extras(&self) -> [Option<f64>; EXTRA_COUNT] {
        [
            self.sparsity,
            self.rho,
            self.v_mean,
            self.lambda_ntk,
            self.loss_top,
            self.test_loss,
            self.agop_alignment,
            self.batch_crit_eta,
            self.test_acc,
            self.precond_sharpness,
            self.edge_sharpness,
            self.hessian_top,
            self.loss_top_s,
            self.loss_rest_s,
            self.kernel_change,
            self.layer_sparsity[0],
            self.layer_sparsity[1],
            self.layer_sparsity[2],
            self.layer_sparsity[3],
            self.layer_sparsity[4],
            self.layer_sparsity[5],
            self.layer_sparsity[6],
            self.layer_sparsity[7],
        ]
    }

    /// True when every number is finite (what may be written or drawn).
    pub fn is_finite(&self) -> bool {
        [self.eta, self.loss, self.lambda_hat, self.lambda_hat_2, self.lambda_raw, self.weight_norm_sq, self.dist_from_init, self.u, self.v]
            .iter()
            .chain(
                [self.train_acc, self.sparsity, self.rho, self.v_mean, self.lambda_ntk, self.loss_top, self.test_loss, self.test_acc, self.agop_alignment, self.batch_crit_eta, self.precond_sharpness, self.edge_sharpness]
                    .iter()
                    .chain(&[self.hessian_top, self.loss_top_s, self.loss_rest_s, self.kernel_change])
                    .chain(&self.layer_sparsity)
                    .flatten(),
            )
            .all(|x| x.is_finite())
    }
}

/// Where a run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Running,
    /// All `train.steps` updates done.
    Finished,
    /// Stopped at this step by the divergence rule.
    Diverged(u64),
}

/// The run summary (SPEC §5), also one CSV row per run in sweeps (read back by the app's saved state).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub lambda0: f64,
    pub lambda0_2: f64,
    pub eta: f64,
    pub eta_scaled: f64,
    pub eta_crit: f64,
    /// The exact critical rate where a paper gives one (SPEC §6), else null.
    pub eta_crit_theory: Option<f64>,
    pub eta_max_theory: Option<f64>,
    pub loss0: f64,
    pub peak_loss: f64,
    pub peak_step: u64,
    pub final_loss: f64,
    pub final_lambda: f64,
    pub final_eta_lambda: f64,
    pub weight_norm_sq0: f64,
    pub final_weight_norm_sq: f64,
    pub max_dist_from_init: f64,
    pub phase: Phase,
    pub steps_run: u64,
    pub diverged_at: Option<u64>,
    pub seed: u64,
    pub width: usize,
    /// The model approximation trained (network, quadratic, linearized).
    pub approx: crate::engine::config::Approx,
    /// The lowest test loss over the run and the step it was reached (data with a test split).
    pub best_test_loss: Option<f64>,
    pub best_test_step: Option<u64>,
    /// The highest test accuracy over the run (±1 labels with a test split).
    pub best_test_acc: Option<f64>,
    /// `train.optimizer`.
    pub optimizer: crate::engine::config::OptimizerKind,
    /// The optimizer's stability edge in η·sharpness units (SPEC §12): 2 for gd, rmsprop and
    /// adagrad, 2(1+β) heavy ball, 2(1+β)/(1+2β) Nesterov (against λ̂); (2+2β1)/(1−β1) Adam
    /// (against the preconditioned sharpness).
    pub optimizer_edge: f64,
    /// The last preconditioned sharpness (adaptive optimizers).
    pub final_precond_sharpness: Option<f64>,
    /// η of the last step in units of 1/λ̂0 (moves with schedules, e.g. the auto-catapult).
    pub final_eta_scaled: f64,
    /// The SPEC §11 measurements: `top_s`, `max_hessian_top`, `final_hessian_top`,
    /// `max_kernel_change`, `final_kernel_change`, `hessian_products` (flattened in the JSON).
    #[serde(flatten)]
    pub measures: MeasureSummary,
}


/// Which optional columns a sample has.
pub fn extra_presence(sample: &Sample) -> [bool; EXTRA_COUNT] {
    sample.extras().map(|e| e.is_some())
}
