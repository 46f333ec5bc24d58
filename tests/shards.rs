//! Sweeps across processes: `--shard K/N` journals merge into exactly the single-process sweep
//! CSV, a missing shard is named, a sweep killed with SIGKILL resumes to the same rows with no
//! duplicates, a torn last line is dropped and recomputed, and the headless build holds no GUI crate.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_catapult-lab"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("the binary starts")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// A small grid: 4 η × 2 widths × 2 seeds = 16 cells of a one-example net.
const GRID: [&str; 10] = ["--preset", "catapult-uv", "--eta-scaled", "1:5:4", "--widths", "100,300", "--seeds", "2", "--steps", "300"];

fn sweep(extra: &[&str]) -> Output {
    let mut args = vec!["sweep"];
    args.extend(GRID);
    args.extend(extra);
    run(&args)
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn unsharded(dir: &Path) -> Vec<u8> {
    let plain = dir.join("plain.csv");
    let out = sweep(&["--csv", path_str(&plain)]);
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::read(plain).unwrap()
}

fn merge(inputs: &[PathBuf], out: &Path) -> Output {
    let mut args: Vec<&str> = vec!["merge"];
    args.extend(inputs.iter().map(|p| path_str(p)));
    args.extend(["--out", path_str(out)]);
    run(&args)
}

/// Journal rows (after the two header lines): the cell indices, in file order.
fn journal_cells(path: &Path) -> Vec<usize> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().skip(2).map(|l| l.split(',').next().unwrap().parse().unwrap()).collect()
}

#[test]
fn three_shards_merge_to_the_unsharded_csv_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let expected = unsharded(dir.path());
    let shards: Vec<PathBuf> = (1..=3).map(|k| dir.path().join(format!("shard-{k}.csv"))).collect();
    for (k, path) in shards.iter().enumerate() {
        let out = sweep(&["--shard", &format!("{}/3", k + 1), "--csv", path_str(path)]);
        assert!(out.status.success(), "{}", stderr(&out));
        // Shard K holds exactly the cells k ≡ K − 1 (mod 3).
        let mut cells = journal_cells(path);
        cells.sort();
        assert_eq!(cells, (0..16).filter(|c| c % 3 == k).collect::<Vec<_>>());
    }
    let merged = dir.path().join("merged.csv");
    let out = merge(&shards, &merged);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read(&merged).unwrap(), expected, "merge of 3 shards equals the unsharded sweep");
    // The order of the inputs does not matter.
    let out = merge(&[shards[2].clone(), shards[0].clone(), shards[1].clone()], &merged);
    assert!(out.status.success());
    assert_eq!(std::fs::read(&merged).unwrap(), expected);

    // Two of three shards: exit 2, naming the missing cells and their shard.
    let out = merge(&shards[..2], &dir.path().join("partial.csv"));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("5 of 16 cells missing: 2, 5, 8, 11, 14") && err.contains("shards 3/3"), "{err}");
    // A shard given twice: its cells are named as duplicated.
    let out = merge(&[shards[0].clone(), shards[0].clone(), shards[1].clone(), shards[2].clone()], &dir.path().join("dup.csv"));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("duplicated cells: cell 0 in"), "{}", stderr(&out));
    // A shard of another grid is refused.
    let other = dir.path().join("other.csv");
    let mut args = vec!["sweep"];
    args.extend(GRID);
    args[4] = "1:5:5";
    args.extend(["--shard", "1/3", "--csv", path_str(&other)]);
    assert!(run(&args).status.success());
    let out = merge(&[other, shards[1].clone(), shards[2].clone()], &dir.path().join("mixed.csv"));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("different sweep grids"), "{}", stderr(&out));
}

#[test]
fn a_sweep_killed_with_sigkill_resumes_to_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    // Long enough cells that the kill lands mid-sweep: 12 cells of 150 000 steps at m = 500 and 2000.
    let grid = ["--preset", "catapult-uv", "--eta-scaled", "1:3.5:6", "--widths", "500,2000", "--steps", "150000"];
    let plain = dir.path().join("plain.csv");
    let mut args = vec!["sweep"];
    args.extend(grid);
    args.extend(["--csv", path_str(&plain)]);
    assert!(run(&args).status.success());
    let expected = std::fs::read(&plain).unwrap();

    let journal = dir.path().join("journal.csv");
    let mut args = vec!["sweep"];
    args.extend(grid);
    args.extend(["--csv", path_str(&journal), "--resume"]);
    let mut child = bin().args(&args).stderr(std::process::Stdio::null()).spawn().unwrap();
    // Kill it once some but not all cells are in (SIGKILL: no chance to clean up).
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let rows = std::fs::read_to_string(&journal).map(|t| t.lines().count().saturating_sub(2)).unwrap_or(0);
        if rows >= 1 || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    let before = journal_cells(&journal);
    assert!(!status.success(), "killed, not finished");
    assert!(!before.is_empty() && before.len() < 12, "killed mid-sweep: {} cells in", before.len());

    let out = run(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!("resuming: {} cells already in", before.len())), "{}", stderr(&out));
    let mut after = journal_cells(&journal);
    assert_eq!(&after[..before.len()], &before[..], "the cells done before the kill are kept, not rerun");
    after.sort();
    assert_eq!(after, (0..12).collect::<Vec<_>>(), "every cell exactly once");
    let merged = dir.path().join("merged.csv");
    assert!(merge(&[journal], &merged).status.success());
    assert_eq!(std::fs::read(merged).unwrap(), expected);
}

#[test]
fn a_torn_last_line_is_dropped_and_recomputed() {
    let dir = tempfile::tempdir().unwrap();
    let expected = unsharded(dir.path());
    let journal = dir.path().join("journal.csv");
    let out = sweep(&["--csv", path_str(&journal), "--resume"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Cut the file inside its last row, as a kill in the middle of a write would.
    let text = std::fs::read_to_string(&journal).unwrap();
    let last_start = text[..text.len() - 1].rfind('\n').unwrap() + 1;
    let torn_cell: usize = text[last_start..].split(',').next().unwrap().parse().unwrap();
    let cut = last_start + (text.len() - last_start) / 2;
    std::fs::write(&journal, &text[..cut]).unwrap();
    let out = sweep(&["--csv", path_str(&journal), "--resume"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("resuming: 15 cells already in"), "{}", stderr(&out));
    let cells = journal_cells(&journal);
    assert_eq!(cells.len(), 16);
    assert_eq!(*cells.last().unwrap(), torn_cell, "the torn cell was run again");
    let merged = dir.path().join("merged.csv");
    assert!(merge(&[journal.clone()], &merged).status.success());
    assert_eq!(std::fs::read(&merged).unwrap(), expected);
    // Resuming a complete journal runs nothing; resuming with another shard is refused.
    let out = sweep(&["--csv", path_str(&journal), "--resume"]);
    assert!(out.status.success() && stderr(&out).contains("nothing to run"), "{}", stderr(&out));
    let out = sweep(&["--csv", path_str(&journal), "--resume", "--shard", "2/4"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("holds shard 1/1, not 2/4"), "{}", stderr(&out));
    // Bad --shard values and a journal option without --csv are usage errors.
    for bad in [["--shard", "0/3"], ["--shard", "4/3"], ["--shard", "x"]] {
        let out = sweep(&[bad[0], bad[1], "--csv", path_str(&dir.path().join("x.csv"))]);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(stderr(&out).contains("K/N"), "{}", stderr(&out));
    }
    let out = sweep(&["--resume"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("need --csv"));
}

#[test]
fn the_headless_build_holds_no_gui_crate() {
    let out = Command::new(env!("CARGO"))
        .args(["tree", "--offline", "--no-default-features", "--edges", "normal,build", "--prefix", "none", "--format", "{p}"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert!(out.status.success(), "cargo tree: {}", stderr(&out));
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(tree.contains("plotters") && tree.contains("clap"), "the command line's crates are there");
    for gui in ["eframe", "egui", "egui_plot", "wgpu", "winit", "rfd"] {
        assert!(!tree.lines().any(|l| l.split_whitespace().next() == Some(gui)), "{gui} in the headless tree");
    }
    // With the default features the window is there.
    let out = Command::new(env!("CARGO")).args(["tree", "--offline", "--edges", "normal", "--prefix", "none", "--format", "{p}"]).current_dir(env!("CARGO_MANIFEST_DIR")).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).lines().any(|l| l.starts_with("eframe ")));
}
