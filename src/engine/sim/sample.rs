//! What a run reports: the per-step `Sample` (SPEC §4, the CSV columns), the run `Status` and
//! the `Summary` (SPEC §5).

use super::Phase;
use serde::{Deserialize, Serialize};

/// How many optional columns a sample has (`Sample::extras`).
pub const EXTRA_COUNT: usize = 11;
/// The position of `batch_crit_eta` among the optional columns.
pub(super) const BATCH_CRIT_EXTRA: usize = 7;
/// The positions of `precond_sharpness` and `edge_sharpness`.
pub(super) const PRECOND_EXTRA: usize = 9;
pub(super) const EDGE_EXTRA: usize = 10;

/// Everything measured at one step (SPEC §4). Optional fields apply to some runs only.
#[derive(Clone, Debug, PartialEq, Serialize)]
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
        ]
    }

    /// True when every number is finite (what may be written or drawn).
    pub fn is_finite(&self) -> bool {
        [self.eta, self.loss, self.lambda_hat, self.lambda_hat_2, self.lambda_raw, self.weight_norm_sq, self.dist_from_init, self.u, self.v]
            .iter()
            .chain(
                [self.train_acc, self.sparsity, self.rho, self.v_mean, self.lambda_ntk, self.loss_top, self.test_loss, self.test_acc, self.agop_alignment, self.batch_crit_eta, self.precond_sharpness, self.edge_sharpness]
                    .iter()
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
}


/// Which optional columns a sample has.
pub fn extra_presence(sample: &Sample) -> [bool; EXTRA_COUNT] {
    sample.extras().map(|e| e.is_some())
}
