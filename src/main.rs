//! The `catapult-lab` binary: parses the command line and dispatches to the command line
//! (`cli`) or, for `gui` and no command, the desktop app (`app`); no logic of its own.

use catapult_lab::cli::{self, Cli, Command};
use clap::Parser;

fn main() {
    let args = Cli::try_parse().unwrap_or_else(|e| e.exit());
    let result = match &args.command {
        Some(Command::Run(a)) => cli::run(a),
        Some(Command::Sweep(a)) => cli::sweep(a),
        Some(Command::Merge(a)) => cli::merge(a),
        Some(Command::Presets) => cli::presets(),
        Some(Command::Bench(a)) => cli::bench(a),
        Some(Command::Figure(a)) => cli::figure::figure(a),
        Some(Command::Share(a)) => cli::teach::share(a),
        Some(Command::Animate(a)) => cli::teach::animate(a),
        Some(Command::Lessons(a)) => cli::teach::lessons(a),
        #[cfg(feature = "gui")]
        Some(Command::Gui { preset }) => gui(preset.as_deref()),
        #[cfg(feature = "gui")]
        None => gui(None),
        #[cfg(not(feature = "gui"))]
        None => Err(cli::UsageError("this build has no window (built without the `gui` feature); give a command: run, sweep, merge, figure, presets or bench (see --help)".into())),
    };
    if let Err(cli::UsageError(message)) = result {
        eprintln!("error: {message}");
        std::process::exit(2);
    }
}

/// Opens the desktop app on a preset (default: the shipped catapult).
#[cfg(feature = "gui")]
fn gui(preset: Option<&str>) -> Result<(), cli::UsageError> {
    use catapult_lab::engine::library;
    let preset = library::resolve(preset.unwrap_or(library::DEFAULT_PRESET), &[])?;
    catapult_lab::app::run_native(preset).map_err(|e| cli::UsageError(format!("cannot open the window: {e}")))
}
