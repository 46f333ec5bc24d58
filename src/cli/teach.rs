//! The teaching commands: `share` (a preset as a short code that every `--preset` accepts) and
//! `animate` (the live view over a run as an animated GIF, frames placed by the replay's timing).

use super::{PresetArgs, UsageError, load};
use crate::engine::config::share;
use clap::Args;

#[derive(Args, Debug)]
pub struct ShareArgs {
    #[command(flatten)]
    pub preset: PresetArgs,
}

/// Prints the share code of the effective preset (the preset with every `--set` applied).
pub fn share(args: &ShareArgs) -> Result<(), UsageError> {
    let preset = load(&args.preset)?;
    println!("{}", share::encode(&preset));
    Ok(())
}
