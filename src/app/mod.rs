//! The desktop app (placeholder until the app lands).
use crate::config::Preset;
pub fn run_native(_preset: Preset) -> Result<(), String> {
    Err("the app is not built yet".into())
}
