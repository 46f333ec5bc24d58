//! The phase of a run (SPEC §5): the running statistics the rules need, the rules themselves,
//! and the local stability regime of one sample (η·λ̂ against 2 and 4).

use super::{Sample, Status};
use serde::Serialize;

/// The phase of a run (SPEC §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Lazy,
    Catapult,
    Divergent,
    Oscillating,
    Dead,
    Unconverged,
}

impl Phase {
    pub fn label(self) -> &'static str {
        match self {
            Phase::Lazy => "lazy",
            Phase::Catapult => "catapult",
            Phase::Divergent => "divergent",
            Phase::Oscillating => "oscillating",
            Phase::Dead => "dead",
            Phase::Unconverged => "unconverged",
        }
    }
}

/// Steps over which the end of a run is judged converging or oscillating.
const END_WINDOW: usize = 64;

/// Running statistics the phase rules need.
#[derive(Clone, Debug)]
pub(super) struct RunStats {
    pub(super) first: Sample,
    pub(super) last: Sample,
    pub(super) peak_loss: f64,
    pub(super) peak_step: u64,
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

/// The phase rules of SPEC §5 applied to what has happened so far.
pub(super) fn classify(stats: &RunStats, status: Status, relu: bool) -> Phase {
    let (l0, lambda0) = (stats.first.loss, stats.first.lambda_hat);
    let (end_loss, end_lambda) = (stats.last.loss, stats.last.lambda_hat);
    if matches!(status, Status::Diverged(_)) {
        return Phase::Divergent;
    }
    if relu && end_lambda < 1e-3 * lambda0 {
        return Phase::Dead;
    }
    if status == Status::Running {
        // A run in progress is named by what it has shown so far (the badge in the app).
        return if stats.peak_loss > 2.0 * l0 {
            Phase::Catapult
        } else if stats.peak_loss <= 1.01 * l0 {
            Phase::Lazy
        } else {
            Phase::Unconverged
        };
    }
    if stats.peak_loss > 2.0 * l0 && end_loss < l0 && end_lambda < lambda0 {
        return Phase::Catapult;
    }
    // Oscillating: the loss has stopped falling while the outputs keep jumping back and forth
    // (f_t far from f_{t−1} but close to f_{t−2}: a 2-cycle), even if the loss is below L0.
    let window_start = stats.recent_losses.front().copied().unwrap_or(end_loss);
    let not_converging = end_loss >= 0.9 * window_start;
    if stats.recent_losses.len() >= 4 && not_converging && stats.last_move > 1e-6 && stats.last_return < 0.5 * stats.last_move {
        return Phase::Oscillating;
    }
    if stats.peak_loss <= 1.01 * l0 && end_loss < l0 {
        return Phase::Lazy;
    }
    Phase::Unconverged
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

