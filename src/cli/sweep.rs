//! `sweep` and `merge`: a grid of runs on all cores, either written at the end in grid order
//! (plain CSV) or, with `--shard K/N` / `--resume`, appended cell by cell to a journal that
//! survives a kill and that `merge` joins with the other shards into the plain CSV.

use super::{MergeArgs, SweepArgs, UsageError, create, load};
use crate::engine::sim::Summary;
use crate::engine::sweep::{self, EtaAxis, Shard, SweepSpec};
use crate::report::journal::{self, Journal, JournalHeader};
use crate::report::output;
use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

pub fn sweep(args: &SweepArgs) -> Result<(), UsageError> {
    let base = load(&args.preset)?;
    let eta = match (&args.eta_scaled, &args.eta) {
        (Some(text), _) => EtaAxis::parse(text, true),
        (None, Some(text)) => EtaAxis::parse(text, false),
        (None, None) => Err("give --eta-scaled A:B:N or --eta A:B:N".to_string()),
    }
    .map_err(|e| UsageError(format!("sweep: {e}")))?;
    if args.seeds == 0 {
        return Err(UsageError("sweep: --seeds must be at least 1".into()));
    }
    let shard = match &args.shard {
        Some(text) => Shard::parse(text).map_err(|e| UsageError(format!("sweep: --shard {e}")))?,
        None => Shard::ALL,
    };
    let journal_mode = args.shard.is_some() || args.resume;
    if journal_mode && args.csv.is_none() {
        return Err(UsageError("sweep: --shard and --resume need --csv FILE (the journal the cells are appended to)".into()));
    }
    if journal_mode && args.plot.is_some() {
        return Err(UsageError("sweep: --plot draws a whole grid; merge the shards first, then plot the merged CSV's sweep without --shard".into()));
    }
    let spec = SweepSpec { base, eta, widths: args.widths.clone(), seeds: args.seeds, approxes: args.approx.clone() };
    let all_cells = spec.cells()?;
    let total_cells = all_cells.len();

    // The journal (shard or resume): cells already in it are skipped.
    let journal = match (&args.csv, journal_mode) {
        (Some(path), true) => {
            let header = JournalHeader { cells: total_cells, shard, grid: spec.grid_json().to_string() };
            let (journal, done) = Journal::open(path, &header, args.resume).map_err(UsageError)?;
            if !done.is_empty() {
                eprintln!("sweep: resuming: {} cells already in {}", done.len(), path.display());
            }
            Some((journal, done))
        }
        _ => None,
    };
    let cells: Vec<_> = all_cells
        .into_iter()
        .filter(|c| shard.owns(c.index) && !journal.as_ref().is_some_and(|(_, done)| done.contains(&c.index)))
        .collect();

    let total = cells.len();
    let done = AtomicUsize::new(0);
    let cancel = AtomicBool::new(false);
    let write_error: Mutex<Option<String>> = Mutex::new(None);
    if total == 0 {
        eprintln!("sweep: nothing to run");
    }
    let results = sweep::run_sweep(&cells, &cancel, |index, result| {
        if let (Some((journal, _)), Ok(summary)) = (&journal, result)
            && let Err(e) = journal.append(index, summary)
        {
            write_error.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(e);
            cancel.store(true, Ordering::Relaxed);
        }
        let k = done.fetch_add(1, Ordering::Relaxed) + 1;
        if k == total || k % (total / 20).max(1) == 0 {
            eprintln!("sweep: {k}/{total} runs done");
        }
    });
    if let Some(e) = write_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(UsageError(format!("sweep: {e}")));
    }
    let mut rows: Vec<Summary> = Vec::with_capacity(total);
    for (cell, result) in cells.iter().zip(results) {
        match result {
            Some(Ok(summary)) => rows.push(summary),
            Some(Err(e)) => {
                return Err(UsageError(format!("sweep: width {} seed {}: {e}", cell.preset.model.width, cell.preset.seed)));
            }
            None => {}
        }
    }
    if journal.is_some() {
        if let Some(path) = &args.csv {
            eprintln!("sweep: journal {} holds shard {}/{}; join the shards with `catapult-lab merge … --out FILE`", path.display(), shard.index, shard.count);
        }
        return Ok(());
    }
    match &args.csv {
        Some(path) => output::write_summary_csv(create(path)?, &rows),
        None => output::write_summary_csv(std::io::stdout().lock(), &rows),
    }
    .map_err(|e| UsageError(format!("writing sweep CSV: {e}")))?;
    if let Some(path) = &args.plot {
        crate::report::figure::render_sweep_png(&rows, path).map_err(|e| UsageError(format!("--plot {}: {e}", path.display())))?;
        eprintln!("sweep: figure written to {}", path.display());
    }
    Ok(())
}

pub fn merge(args: &MergeArgs) -> Result<(), UsageError> {
    let bytes = journal::merge(&args.inputs).map_err(UsageError)?;
    let mut out = create(&args.out)?;
    out.write_all(&bytes).and_then(|_| out.flush()).map_err(|e| UsageError(format!("{}: {e}", args.out.display())))?;
    eprintln!("merge: {} inputs → {}", args.inputs.len(), args.out.display());
    Ok(())
}
