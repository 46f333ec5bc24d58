//! The phase of a run (SPEC §5): the running statistics the rules need, the rules themselves,
//! and the local stability regime of one sample (η·λ̂ against 2 and 4).

use super::{Sample, Status};
use serde::{Deserialize, Serialize};

/// The phase of a run (SPEC §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Lazy,
    Rich,
    Catapult,
    Divergent,
    Oscillating,
    Dead,
    Unconverged,
}

impl Phase {
    /// Every phase, in the order legends list them.
    pub const ALL: [Phase; 7] = [Phase::Lazy, Phase::Rich, Phase::Catapult, Phase::Oscillating, Phase::Divergent, Phase::Dead, Phase::Unconverged];

    /// The name used everywhere: summary, CSV, sweep strip, app badge, README.
    pub fn label(self) -> &'static str {
        match self {
            Phase::Lazy => "lazy",
            Phase::Rich => "rich",
            Phase::Catapult => "catapult",
            Phase::Divergent => "divergent",
            Phase::Oscillating => "oscillating",
            Phase::Dead => "dead",
            Phase::Unconverged => "unconverged",
        }
    }

    /// What the phase means (SPEC §5), one sentence (tooltips and legends).
    pub fn description(self) -> &'static str {
        match self {
            Phase::Lazy => "Lazy: the loss fell without rising and the kernel stayed put (|λ̂_end/λ̂0 − 1| ≤ 0.5): linear-model behaviour.",
            Phase::Rich => "Rich: the loss fell without a spike but the kernel moved a lot (λ̂_end/λ̂0 > 1.5 or < 0.5): feature learning.",
            Phase::Catapult => "Catapult: the loss rose well above its start (L_peak − L* > 2 (L0 − L*)), came back below L0, and the kernel ended flatter (λ̂_end < λ̂0).",
            Phase::Oscillating => "Oscillating: bounded but not converging (e.g. a 2-cycle).",
            Phase::Divergent => "Divergent: the run blew up (non-finite, loss beyond the divergence factor, or λ̂ > 10 λ̂0 while the loss is above L0).",
            Phase::Dead => "Dead: the ReLU kernel collapsed (λ̂_end < 10⁻³ λ̂0).",
            Phase::Unconverged => "Unconverged: none of the above within the steps given.",
        }
    }

    /// The phase theory predicts from the rate alone (SPEC §1, §5): η·λ̂0 ≤ 2 lazy; above it a
    /// catapult up to η_max·λ̂0 where theory gives one (4 for quadratic models and two-layer linear
    /// nets, 2 for linear models), divergent beyond. Never `lazy` for a super-critical rate.
    pub fn predicted(eta_scaled: f64, eta_max_scaled: Option<f64>) -> Phase {
        if eta_scaled <= 2.0 {
            Phase::Lazy
        } else if eta_max_scaled.is_some_and(|max| eta_scaled > max) {
            Phase::Divergent
        } else {
            Phase::Catapult
        }
    }
}

/// The phase the app shows: what the run has shown so far, or while it is young the phase
/// theory predicts (marked as a prediction).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PhaseReading {
    pub phase: Phase,
    /// True when `phase` is theory's prediction, not yet what the run has shown.
    pub predicted: bool,
}

impl PhaseReading {
    /// "catapult", or "predicted: catapult".
    pub fn text(self) -> String {
        if self.predicted { format!("predicted: {}", self.phase.label()) } else { self.phase.label().to_string() }
    }
}

/// A run is young (the app shows the prediction) for at most this many steps, and only while
/// what it has shown does not decide its phase.
pub const YOUNG_STEPS: u64 = 100;

/// Steps over which the end of a run is judged converging or oscillating.
const END_WINDOW: usize = 64;

/// Running statistics the phase rules need.
#[derive(Clone, Debug)]
pub(super) struct RunStats {
    pub(super) first: Sample,
    pub(super) last: Sample,
    pub(super) peak_loss: f64,
    pub(super) peak_step: u64,
    /// The smallest loss so far: the loss floor L* of classification losses (SPEC §5).
    pub(super) min_loss: f64,
    pub(super) max_dist: f64,
    /// The losses of the last `END_WINDOW` steps, oldest first.
    pub(super) recent_losses: std::collections::VecDeque<f64>,
    /// ‖f_t − f_{t−1}‖ / max(‖f_t‖, ‖f_0‖) at the last step: stays large on a cycle, goes
    /// to 0 when the outputs converge (also to f = 0).
    pub(super) last_move: f64,
    /// ‖f_t − f_{t−2}‖ on the same scale: near 0 on a 2-cycle, larger than the move otherwise.
    pub(super) last_return: f64,
}

impl RunStats {
    pub(super) fn new(first: Sample) -> Self {
        RunStats {
            peak_loss: first.loss,
            peak_step: first.step,
            min_loss: first.loss,
            max_dist: first.dist_from_init,
            recent_losses: [first.loss].into_iter().collect(),
            last: first.clone(),
            first,
            last_move: 0.0,
            last_return: 0.0,
        }
    }

    pub(super) fn record(&mut self, sample: &Sample, last_move: f64, last_return: f64) {
        if sample.loss > self.peak_loss {
            self.peak_loss = sample.loss;
            self.peak_step = sample.step;
        }
        self.min_loss = self.min_loss.min(sample.loss);
        self.max_dist = self.max_dist.max(sample.dist_from_init);
        if self.recent_losses.len() == END_WINDOW {
            self.recent_losses.pop_front();
        }
        self.recent_losses.push_back(sample.loss);
        self.last_move = last_move;
        self.last_return = last_return;
        self.last = sample.clone();
    }
}

/// The phase rules of SPEC §5 applied to what has happened so far. `floor_is_zero`: the loss's
/// lower bound L* is 0 (MSE); otherwise L* is the lowest loss the run reached (for logistic and
/// exponential loss the loss it converges to, e.g. log 2 on degenerate data).
/// `below_momentum_edge`: a momentum run with η·λ̂0 under its own edge 2(1+β) (SPEC §12): its
/// loss may rise while the iterate swings (the stable 2×2 map is not normal), which is not a
/// catapult; the run is then named by its kernel (lazy or rich) once the loss ends below L0.
pub(super) fn classify(stats: &RunStats, status: Status, relu: bool, floor_is_zero: bool, below_momentum_edge: bool) -> Phase {
    let (l0, lambda0) = (stats.first.loss, stats.first.lambda_hat);
    let (end_loss, end_lambda) = (stats.last.loss, stats.last.lambda_hat);
    if matches!(status, Status::Diverged(_)) {
        return Phase::Divergent;
    }
    if relu && end_lambda < 1e-3 * lambda0 {
        return Phase::Dead;
    }
    let floor = if floor_is_zero { 0.0 } else { stats.min_loss.min(l0) };
    let spiked = !below_momentum_edge && stats.peak_loss - floor > 2.0 * (l0 - floor) && stats.peak_loss > 1.01 * l0;
    let never_rose = below_momentum_edge || stats.peak_loss <= 1.01 * l0;
    // Whether the kernel moved is judged on the tangent kernel K itself (λ_max(K), the CSV's
    // lambda_raw): for MSE its ratio is λ̂'s exactly; for logistic/exponential loss K̂ also moves
    // with the curvature ℓ'' as the loss falls, which a linear predictor does without learning
    // any feature.
    let (raw0, raw_end) = (stats.first.lambda_raw, stats.last.lambda_raw);
    let kernel_stayed = raw0 > 0.0 && (raw_end / raw0 - 1.0).abs() <= 0.5;
    let smooth = if kernel_stayed { Phase::Lazy } else { Phase::Rich };
    if status == Status::Running {
        // A run in progress is named by what it has shown so far (the badge in the app).
        return if spiked {
            Phase::Catapult
        } else if never_rose {
            smooth
        } else {
            Phase::Unconverged
        };
    }
    if spiked && end_loss < l0 && end_lambda < lambda0 {
        return Phase::Catapult;
    }
    // Oscillating: the loss has stopped falling while the outputs keep jumping back and forth
    // (f_t far from f_{t−1} but close to f_{t−2}: a 2-cycle), even if the loss is below L0.
    let window_start = stats.recent_losses.front().copied().unwrap_or(end_loss);
    let not_converging = end_loss >= 0.9 * window_start;
    if stats.recent_losses.len() >= 4 && not_converging && stats.last_move > 1e-6 && stats.last_return < 0.5 * stats.last_move {
        return Phase::Oscillating;
    }
    if never_rose && end_loss < l0 {
        return smooth;
    }
    Phase::Unconverged
}

/// True when a running run has not yet shown what decides its phase: no spike, no blow-up, no
/// collapse (the caller also bounds the age by `YOUNG_STEPS`).
pub(super) fn undecided(stats: &RunStats, floor_is_zero: bool) -> bool {
    let l0 = stats.first.loss;
    let floor = if floor_is_zero { 0.0 } else { stats.min_loss.min(l0) };
    !(stats.peak_loss - floor > 2.0 * (l0 - floor) && stats.peak_loss > 1.01 * l0)
}

/// The local stability regime of one sample, by v = η·λ̂ (SPEC §1, §4): below 2 the step is
/// stable; between 2 and 4 the catapult mechanism acts; above 4 (where theory gives η_max =
/// 4/λ̂) the quadratic model diverges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Regime {
    Stable,
    Catapult,
    Divergent,
}

impl Regime {
    pub fn of(sample: &Sample, has_eta_max: bool) -> Regime {
        if sample.eta_lambda <= 2.0 {
            Regime::Stable
        } else if !has_eta_max || sample.eta_lambda <= 4.0 {
            Regime::Catapult
        } else {
            Regime::Divergent
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Regime::Stable => "stable (η·λ < 2)",
            Regime::Catapult => "catapult zone (η·λ > 2)",
            Regime::Divergent => "divergent zone (η·λ > 4)",
        }
    }
}

