//! Checks of the optimizer and schedule-kind keys of `train` (SPEC §12): each parameter in its
//! range, and only on the optimizer or schedule kind it belongs to (a `beta` on `gd` is an error
//! naming the key, not silently ignored).

use super::{OptimizerKind, ScheduleKind, TrainConfig};
use super::validate::ConfigError;

fn err(file: &str, key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError { file: file.to_string(), key: key.to_string(), message: message.into() }
}

/// A decay rate in [0, 1).
fn check_decay(file: &str, key: &str, value: Option<f64>) -> Result<(), ConfigError> {
    match value {
        Some(x) if !(x.is_finite() && (0.0..1.0).contains(&x)) => Err(err(file, key, format!("value {x} is out of range; allowed: 0 ≤ {} < 1", key.trim_start_matches("train.")))),
        _ => Ok(()),
    }
}

/// The optimizer keys and the schedule-kind keys of `t`.
pub fn validate_optimizer_and_schedule(t: &TrainConfig, file: &str) -> Result<(), ConfigError> {
    let opt = t.optimizer;
    let belongs: [(&str, bool, &[OptimizerKind]); 5] = [
        ("train.beta", t.beta.is_some(), &[OptimizerKind::Momentum]),
        ("train.nesterov", t.nesterov.is_some(), &[OptimizerKind::Momentum]),
        ("train.beta1", t.beta1.is_some(), &[OptimizerKind::Adam]),
        ("train.beta2", t.beta2.is_some(), &[OptimizerKind::Adam, OptimizerKind::Rmsprop]),
        ("train.eps", t.eps.is_some(), &[OptimizerKind::Adam, OptimizerKind::Rmsprop, OptimizerKind::Adagrad]),
    ];
    for (key, given, owners) in belongs {
        if given && !owners.contains(&opt) {
            let names: Vec<&str> = owners.iter().map(|o| o.key()).collect();
            return Err(err(file, key, format!("applies only to train.optimizer = {}, but the optimizer is {}", names.join(" or "), opt.key())));
        }
    }
    check_decay(file, "train.beta", t.beta)?;
    check_decay(file, "train.beta1", t.beta1)?;
    check_decay(file, "train.beta2", t.beta2)?;
    if let Some(eps) = t.eps {
        if !(eps.is_finite() && (0.0..=1.0).contains(&eps)) {
            return Err(err(file, "train.eps", format!("value {eps} is out of range; allowed: 0 ≤ eps ≤ 1")));
        }
    }
    let kind = t.schedule_kind;
    let cyclic_keys = [("train.cycle_steps", t.cycle_steps.is_some()), ("train.cycle_low", t.cycle_low.is_some()), ("train.cycle_high", t.cycle_high.is_some())];
    let auto_keys = [("train.auto_factor", t.auto_factor.is_some()), ("train.auto_max", t.auto_max.is_some())];
    for (keys, owner) in [(&cyclic_keys[..], ScheduleKind::Cyclic), (&auto_keys[..], ScheduleKind::AutoCatapult)] {
        if let Some((key, _)) = keys.iter().find(|(_, given)| *given).filter(|_| kind != owner) {
            return Err(err(file, key, format!("applies only to train.schedule_kind = {}, but the schedule kind is {}", owner.key(), kind.key())));
        }
    }
    match kind {
        ScheduleKind::Piecewise => {}
        ScheduleKind::Cyclic => {
            if !t.schedule.is_empty() {
                return Err(err(file, "train.schedule", "a list of changes does not combine with train.schedule_kind = cyclic (the cycle sets η at every step)"));
            }
            let (Some(steps), Some(low), Some(high)) = (t.cycle_steps, t.cycle_low, t.cycle_high) else {
                let missing = cyclic_keys.iter().find(|(_, given)| !given).map(|(key, _)| *key).unwrap_or("train.cycle_steps");
                return Err(err(file, missing, "needed for train.schedule_kind = cyclic (cycle_steps, cycle_low, cycle_high)"));
            };
            if !(2..=100_000_000).contains(&steps) {
                return Err(err(file, "train.cycle_steps", format!("value {steps} is out of range; allowed: 2 to 100000000")));
            }
            for (key, value) in [("train.cycle_low", low), ("train.cycle_high", high)] {
                if !(value.is_finite() && value > 0.0 && value <= 1e12) {
                    return Err(err(file, key, format!("value {value} is out of range; a learning rate greater than 0")));
                }
            }
            if low > high {
                return Err(err(file, "train.cycle_low", format!("value {low} is above train.cycle_high = {high}; the cycle runs from low up to high")));
            }
        }
        ScheduleKind::AutoCatapult => {
            let factor = t.auto_factor_or_default();
            if !(factor.is_finite() && factor > 2.0 && factor <= 1e6) {
                return Err(err(file, "train.auto_factor", format!("value {factor} is out of range; allowed: above 2 (the lazy edge η·λ̂ = 2), e.g. 2.6")));
            }
            let max = t.auto_max_or_default();
            if !(1..=1_000_000).contains(&max) {
                return Err(err(file, "train.auto_max", format!("value {max} is out of range; allowed: 1 to 1000000")));
            }
        }
    }
    Ok(())
}
