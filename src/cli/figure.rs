//! `catapult-lab figure`: runs a preset headlessly and renders the live view's four plots to PNG
//! (report::live_figure, the window's series and layout), optionally writing every plotted point
//! in data units as `plot,series,x,y` CSV (`--series`).

use super::{PresetArgs, UsageError, load};
use crate::engine::sim::{Regime, Simulation};
use crate::report::live_figure::render_history;
use crate::report::live_view::series_csv;
use crate::report::series::History;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct FigureArgs {
    #[command(flatten)]
    pub preset: PresetArgs,
    /// The PNG to write.
    #[arg(long, value_name = "FILE.png")]
    pub out: PathBuf,
    /// Picture size in pixels, WIDTHxHEIGHT.
    #[arg(long, default_value = "1920x1080", value_name = "WxH")]
    pub size: String,
    /// Also write every plotted point (data units) as CSV: plot,series,x,y.
    #[arg(long, value_name = "FILE.csv")]
    pub series: Option<PathBuf>,
}

pub(crate) fn parse_size(text: &str) -> Result<(u32, u32), UsageError> {
    let bad = || UsageError(format!("--size {text}: expected WIDTHxHEIGHT, e.g. 1920x1080 (each 200 to 8000)"));
    let (w, h) = text.split_once(['x', 'X']).ok_or_else(bad)?;
    let (w, h): (u32, u32) = (w.trim().parse().map_err(|_| bad())?, h.trim().parse().map_err(|_| bad())?);
    if !(200..=8000).contains(&w) || !(200..=8000).contains(&h) {
        return Err(bad());
    }
    Ok((w, h))
}

pub fn figure(args: &FigureArgs) -> Result<(), UsageError> {
    let size = parse_size(&args.size)?;
    let preset = load(&args.preset)?;
    let mut sim = Simulation::new(&preset).map_err(|e| UsageError(format!("{}: {e}", args.preset.preset)))?;
    let has_eta_max = sim.eta_max_theory().is_some();
    let mut history = History::default();
    let first = sim.first_sample().clone();
    history.push(&first, Regime::of(&first, has_eta_max));
    while let Some(sample) = sim.step() {
        history.push(&sample, Regime::of(&sample, has_eta_max));
    }
    let peak_step = sim.summary().peak_step;
    let series = render_history(&history, &preset, has_eta_max, peak_step, &args.out, size).map_err(|e| UsageError(format!("figure: {e}")))?;
    if let Some(path) = &args.series {
        std::fs::write(path, series_csv(&series)).map_err(|e| UsageError(format!("{}: cannot write: {e}", path.display())))?;
    }
    Ok(())
}
