//! The command line (clap): `run`, `sweep`, `merge`, `presets`, `bench`, `figure`, `share`, `animate`, `lessons` and `gui`, over the same library the
//! app uses. Bad input exits with status 2 and one line on stderr; any completed run, a
//! divergent one included, exits 0.

mod sweep;
pub mod bench;
mod bench_w6;
pub mod figure;
pub mod teach;

pub use sweep::{merge, sweep};

use crate::engine::config::{self, Preset};
use crate::engine::library;
use crate::report::output::{self, SampleCsv};
use crate::engine::sim::Simulation;
use clap::{Args, Parser, Subcommand};
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "catapult-lab", version, about = "Lazy, catapult and divergent phases of large-learning-rate gradient descent")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run one preset to the end; per-step CSV and a summary JSON.
    Run(RunArgs),
    /// Run a grid over learning rate × width × seed in parallel; one summary row per run.
    Sweep(SweepArgs),
    /// List the shipped presets.
    Presets,
    /// Join sweep shards (journals) into one sweep CSV in grid order; names missing and duplicated cells.
    Merge(MergeArgs),
    /// Time the fixed speed workloads W1–W6, I1 and P1 (or export them for the NumPy and JAX references in bench/).
    Bench(BenchArgs),
    /// Run a preset and render the live view's four plots (loss, kernel, weights, u/v plane) to PNG.
    Figure(figure::FigureArgs),
    /// Print a short code (cl1-…) holding the whole effective preset; every --preset accepts it.
    Share(teach::ShareArgs),
    /// Render the live view over a run as an animated GIF (the figure renderer, replay timing).
    Animate(teach::AnimateArgs),
    /// List the shipped lessons (or check a lesson file with --check).
    Lessons(teach::LessonsArgs),
    /// Open the desktop app (the default with no command).
    #[cfg(feature = "gui")]
    Gui {
        /// A preset name or file to open on.
        #[arg(long)]
        preset: Option<String>,
    },
}

#[derive(Args, Debug)]
pub struct PresetArgs {
    /// A preset file, the name of a shipped preset (see `catapult-lab presets`), or a share code (cl1-…).
    #[arg(long)]
    pub preset: String,
    /// Override a dotted preset key, e.g. model.width=4000 or data.x=[1.0] (JSON, else string).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Number of steps (same as --set train.steps=N).
    #[arg(long)]
    pub steps: Option<usize>,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub preset: PresetArgs,
    /// Write the per-step CSV here.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Write the summary JSON here (default: stdout).
    #[arg(long)]
    pub summary: Option<PathBuf>,
    /// Write the data and each layer's parameters at init and at the end as .npz (NumPy; see README).
    #[arg(long, value_name = "FILE.npz")]
    pub params_out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct SweepArgs {
    #[command(flatten)]
    pub preset: PresetArgs,
    /// Learning rates in units of 1/λ̂0: FROM:TO:COUNT.
    #[arg(long = "eta-scaled", value_name = "A:B:N", conflicts_with = "eta", required_unless_present = "eta")]
    pub eta_scaled: Option<String>,
    /// Raw learning rates: FROM:TO:COUNT.
    #[arg(long, value_name = "A:B:N")]
    pub eta: Option<String>,
    /// Widths, comma-separated (default: the preset's).
    #[arg(long, value_delimiter = ',')]
    pub widths: Vec<usize>,
    /// Seeds per cell (seed, seed+1, …).
    #[arg(long, default_value_t = 1)]
    pub seeds: usize,
    /// Model approximations as an axis, comma-separated: network, quadratic, linearized
    /// (default: the preset's). One row per (η, approximation, width, seed).
    #[arg(long, value_delimiter = ',', value_parser = parse_approx)]
    pub approx: Vec<crate::engine::config::Approx>,
    /// Write the sweep CSV here (default: stdout).
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Also render the sweep's main figure to this PNG file.
    #[arg(long, value_name = "FILE.png")]
    pub plot: Option<PathBuf>,
    /// Run only the cells k ≡ K−1 (mod N) of the grid (1 ≤ K ≤ N), e.g. one Slurm array task;
    /// writes a journal to --csv that `merge` joins with the other shards.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Append each finished cell to --csv at once (a journal) and, when the file already holds
    /// cells of this grid and shard, skip them: a killed sweep continues where it stopped.
    #[arg(long)]
    pub resume: bool,
}

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// Journal files written by `sweep --shard K/N --csv FILE` (or `--resume`).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// The merged sweep CSV, rows in grid order (the same bytes a single `sweep --csv` writes).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Fewer steps per workload (a smoke run).
    #[arg(long)]
    pub quick: bool,
    /// Only these workloads (W1, W2, W3, W4, W5, W6, I1, P1), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Instead of timing: write each workload's data, initial weights and first 100 steps here.
    #[arg(long, value_name = "DIR")]
    pub export: Option<PathBuf>,
    /// Also write the measurements as JSON here.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

fn parse_approx(text: &str) -> Result<crate::engine::config::Approx, String> {
    serde_json::from_value(Value::String(text.trim().to_string())).map_err(|_| format!("`{text}`: expected network, quadratic or linearized"))
}

/// A user error: printed as one line, exit status 2.
pub struct UsageError(pub String);

impl From<config::ConfigError> for UsageError {
    fn from(e: config::ConfigError) -> Self {
        UsageError(e.to_string())
    }
}

/// Loads the preset named by the arguments with every override applied.
pub fn load(args: &PresetArgs) -> Result<Preset, UsageError> {
    let mut overrides: Vec<(String, Value)> = Vec::new();
    for text in &args.set {
        overrides.push(config::parse_override(text).map_err(UsageError)?);
    }
    if let Some(steps) = args.steps {
        overrides.push(("train.steps".into(), Value::from(steps)));
    }
    Ok(library::resolve(&args.preset, &overrides)?)
}

pub(crate) fn create(path: &PathBuf) -> Result<std::io::BufWriter<std::fs::File>, UsageError> {
    std::fs::File::create(path)
        .map(std::io::BufWriter::new)
        .map_err(|e| UsageError(format!("{}: cannot write: {e}", path.display())))
}

pub fn run(args: &RunArgs) -> Result<(), UsageError> {
    let preset = load(&args.preset)?;
    let mut sim = Simulation::new(&preset).map_err(|e| UsageError(format!("{}: {e}", args.preset.preset)))?;
    let mut csv = match &args.csv {
        Some(path) => Some(SampleCsv::with_columns(create(path)?, sim.extra_columns())),
        None => None,
    };
    let mut write_error = None;
    let summary = sim.run(|sample| {
        if let Some(w) = csv.as_mut()
            && let Err(e) = w.write(sample)
        {
            write_error.get_or_insert(e);
        }
    });
    if let Some(w) = csv {
        w.finish().map_err(|e| UsageError(format!("writing CSV: {e}")))?;
    }
    if let Some(e) = write_error {
        return Err(UsageError(format!("writing CSV: {e}")));
    }
    if let Some(path) = &args.params_out {
        crate::report::params_npz::write_params_npz(path, &sim).map_err(UsageError)?;
    }
    let json = output::summary_json(&summary);
    match &args.summary {
        Some(path) => {
            let mut f = create(path)?;
            writeln!(f, "{json}").and_then(|_| f.flush()).map_err(|e| UsageError(format!("{}: {e}", path.display())))?;
        }
        None => println!("{json}"),
    }
    Ok(())
}

pub fn bench(args: &BenchArgs) -> Result<(), UsageError> {
    match &args.export {
        Some(dir) => crate::cli::bench::export(dir).map_err(|e| UsageError(format!("bench --export: {e}"))),
        None => {
            let (reports, gemm) = crate::cli::bench::run_all(args.quick, &args.only).map_err(|e| UsageError(format!("bench: {e}")))?;
            if let Some(path) = &args.json {
                let (peak, machine) = crate::cli::bench::peak_gflops();
                let json = serde_json::json!({"machine": machine, "peak_gflops": peak, "gemm_gflops": gemm, "simd": crate::engine::model::simd::level().name(), "workloads": reports});
                std::fs::write(path, json.to_string()).map_err(|e| UsageError(format!("{}: {e}", path.display())))?;
            }
            Ok(())
        }
    }
}

pub fn presets() -> Result<(), UsageError> {
    for (name, _) in library::SHIPPED {
        let preset = library::shipped(name, &[]).expect("listed").map_err(UsageError::from)?;
        let first_sentence = preset.notes.split(". ").next().unwrap_or("").trim_end_matches('.');
        println!("{name:<24} {:<32} {first_sentence}", preset.describe_model());
    }
    Ok(())
}
