//! Checks of the `measure` keys (SPEC §11): `measure.top_s` is one of 1, 2, 5, 10 (the top-s
//! loss split) and `measure.hessian_every` at most 10⁶ steps (0 = off, absent = automatic).

use super::MeasureConfig;
use super::validate::ConfigError;

/// The values `measure.top_s` may take.
pub const TOP_S_CHOICES: [usize; 4] = [1, 2, 5, 10];
/// The largest `measure.hessian_every` allowed.
pub const HESSIAN_EVERY_MAX: usize = 1_000_000;

fn err(file: &str, key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError { file: file.to_string(), key: key.to_string(), message: message.into() }
}

/// The `measure` keys of a preset.
pub fn validate_measure(m: &MeasureConfig, file: &str) -> Result<(), ConfigError> {
    if !TOP_S_CHOICES.contains(&m.top_s) {
        return Err(err(file, "measure.top_s", format!("value {} is not allowed; allowed: 1, 2, 5 or 10", m.top_s)));
    }
    if let Some(every) = m.hessian_every
        && every > HESSIAN_EVERY_MAX
    {
        return Err(err(file, "measure.hessian_every", format!("value {every} is out of range; allowed: 0 (off) to {HESSIAN_EVERY_MAX} steps")));
    }
    Ok(())
}
