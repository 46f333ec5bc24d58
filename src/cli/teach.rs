//! The teaching commands: `share` (a preset as a short code that every `--preset` accepts) and
//! `animate` (the live view over a run as an animated GIF, frames placed by the replay's timing).

use super::{PresetArgs, UsageError, load};
use crate::engine::config::share;
use crate::engine::sim::{Regime, Simulation};
use crate::report::animation::{AnimationOptions, write_gif};
use crate::report::series::History;
use clap::Args;
use std::path::PathBuf;

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

#[derive(Args, Debug)]
pub struct AnimateArgs {
    #[command(flatten)]
    pub preset: PresetArgs,
    /// The GIF to write.
    #[arg(long, value_name = "FILE.gif")]
    pub out: PathBuf,
    /// Frames per second of the replay clock (frames showing the same step merge into one).
    #[arg(long, default_value_t = 15.0)]
    pub fps: f64,
    /// Picture size in pixels, WIDTHxHEIGHT.
    #[arg(long, default_value = "1280x720", value_name = "WxH")]
    pub size: String,
    /// Spend about 5 s on the 30 steps around the loss peak.
    #[arg(long)]
    pub slowmo: bool,
}

/// Runs the preset headlessly and writes the live view over the run as an animated GIF.
pub fn animate(args: &AnimateArgs) -> Result<(), UsageError> {
    let size = super::figure::parse_size(&args.size)?;
    if !(args.fps.is_finite() && (1.0..=60.0).contains(&args.fps)) {
        return Err(UsageError(format!("--fps {}: expected 1 to 60", args.fps)));
    }
    let preset = load(&args.preset)?;
    let (history, has_eta_max, peak_step) = run_history(&preset).map_err(|e| UsageError(format!("{}: {e}", args.preset.preset)))?;
    let started = std::time::Instant::now();
    let file = super::create(&args.out)?;
    let options = AnimationOptions { size, fps: args.fps, slowmo: args.slowmo };
    let plan = write_gif(&history, &preset, has_eta_max, peak_step, &options, file).map_err(|e| UsageError(format!("animate: {e}")))?;
    let bytes = std::fs::metadata(&args.out).map(|m| m.len()).unwrap_or(0);
    let slow = plan.slowmo.map_or(String::new(), |(lo, hi)| format!(", slow motion over steps {}–{} (loss peak at step {peak_step})", lo as u64 + 1, hi as u64));
    println!(
        "wrote {}: {} frames, {}x{}, {:.1} s, {:.0} KB, rendered in {:.1} s{slow}",
        args.out.display(),
        plan.rows.len(),
        size.0,
        size.1,
        plan.seconds.iter().sum::<f64>(),
        bytes as f64 / 1024.0,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The history of a whole run (every step of the head, buckets after), whether 4/η applies, and
/// the loss peak's step.
pub fn run_history(preset: &crate::engine::config::Preset) -> Result<(History, bool, u64), String> {
    let mut sim = Simulation::new(preset)?;
    let has_eta_max = sim.eta_max_theory().is_some();
    let mut history = History::default();
    let first = sim.first_sample().clone();
    history.push(&first, Regime::of(&first, has_eta_max));
    while let Some(sample) = sim.step() {
        history.push(&sample, Regime::of(&sample, has_eta_max));
    }
    Ok((history, has_eta_max, sim.summary().peak_step))
}

#[derive(Args, Debug)]
pub struct LessonsArgs {
    /// Check a lesson file instead of listing: prints its steps, or the first error (file, step, key).
    #[arg(long, value_name = "FILE.json")]
    pub check: Option<PathBuf>,
}

/// Lists the shipped lessons (name, title, one line), or checks a lesson file.
pub fn lessons(args: &LessonsArgs) -> Result<(), UsageError> {
    use crate::engine::lessons;
    if let Some(path) = &args.check {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| UsageError(format!("{file}: cannot read: {e}")))?;
        let lesson = lessons::parse(&text, &file)?;
        println!("{file}: lesson {} ({}), {} steps, valid", lesson.name, lesson.title, lesson.steps.len());
        return Ok(());
    }
    for (name, text) in lessons::SHIPPED {
        let lesson = lessons::parse(text, &format!("assets/lessons/{name}.json"))?;
        println!("{name:<24} {:<40} {}", lesson.title, lesson.summary);
    }
    Ok(())
}
