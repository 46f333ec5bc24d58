//! The learning-rate schedule kinds beyond the piecewise list (SPEC §12): the triangular cycle
//! (thesis Remark 4.3.3: its rising phase starts a catapult) and the auto-catapult (thesis
//! ch. 5: each time the loss is back below its pre-spike level, η is set so that η·λ̂_t =
//! `auto_factor`, above the current lazy edge 2, so that another catapult starts).

/// The triangular cycle's value at `step`: `low` at the start of each period of `steps`,
/// rising linearly to `high` at mid-period and back down.
pub fn cyclic_value(step: u64, steps: u64, low: f64, high: f64) -> f64 {
    let steps = steps.max(2);
    let phase = (step % steps) as f64 / steps as f64;
    let triangle = 1.0 - (2.0 * phase - 1.0).abs();
    low + (high - low) * triangle
}

/// The auto-catapult's state: the loss level before the current spike, whether the loss has
/// spiked above it since the last change, and how many changes were made.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AutoCatapult {
    factor: f64,
    max: usize,
    changes: usize,
    pre_spike: f64,
    spiked: bool,
}

/// A spike: the loss above this many times its pre-spike level (SPEC §5's "well above").
pub const SPIKE_FACTOR: f64 = 2.0;

impl AutoCatapult {
    /// Starts with the loss at init as the pre-spike level.
    pub fn new(factor: f64, max: usize, loss0: f64) -> Self {
        AutoCatapult { factor, max, changes: 0, pre_spike: loss0, spiked: false }
    }

    /// Looks at the last sample's loss and λ̂; returns the new η when a change is due (the loss
    /// spiked above 2× the pre-spike level and is back below it; fewer than `max` changes).
    /// The level at the change becomes the next pre-spike level.
    pub fn observe(&mut self, loss: f64, lambda_hat: f64) -> Option<f64> {
        if self.changes >= self.max || !loss.is_finite() {
            return None;
        }
        if loss > SPIKE_FACTOR * self.pre_spike {
            self.spiked = true;
        }
        if self.spiked && loss < self.pre_spike && lambda_hat > 0.0 {
            self.changes += 1;
            self.spiked = false;
            self.pre_spike = loss;
            return Some(self.factor / lambda_hat);
        }
        None
    }

    /// Changes made so far.
    pub fn changes(&self) -> usize {
        self.changes
    }
}
