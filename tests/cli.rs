//! The command-line contract: `run`, `sweep` and `presets` on real presets, their CSV and
//! summary JSON, exit status 0 for every completed run (divergent included) and 2 with one
//! line naming the key for bad input; every shipped preset loads and runs.

use catapult_lab::engine::library;
use catapult_lab::report::output::{SAMPLE_COLUMNS, SUMMARY_COLUMNS};
use std::path::Path;
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_catapult-lab"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("the binary starts")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// A bad-input failure: status 2, one line, no panic or backtrace, mentioning `needle`.
fn assert_usage_error(out: &Output, needle: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(err.contains(needle), "stderr should name `{needle}`: {err}");
    assert!(!err.contains("panicked") && !err.contains("backtrace"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
}

fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader.records().map(|r| r.unwrap().iter().map(String::from).collect()).collect();
    (header, rows)
}

#[test]
fn run_writes_csv_and_summary() {
    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("out.csv");
    let summary_path = dir.path().join("summary.json");
    let out = run(&[
        "run", "--preset", "catapult-uv", "--steps", "300", "--csv", csv_path.to_str().unwrap(),
        "--summary", summary_path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (header, rows) = read_csv(&csv_path);
    assert_eq!(header[..SAMPLE_COLUMNS.len()], SAMPLE_COLUMNS.map(String::from));
    assert_eq!(rows.len(), 301, "step 0 plus 300 updates");
    assert_eq!(rows[0][0], "0");
    assert_eq!(rows[300][0], "300");
    let summary: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&summary_path).unwrap()).unwrap();
    for field in SUMMARY_COLUMNS {
        assert!(summary.get(field).is_some(), "summary has `{field}`");
    }
    assert_eq!(summary["phase"], "catapult");
    assert!((summary["eta_scaled"].as_f64().unwrap() - 2.6).abs() < 1e-12);
    assert_eq!(summary["steps_run"], 300);
}

#[test]
fn summary_goes_to_stdout_and_set_overrides_keys() {
    let out = run(&["run", "--preset", "catapult-uv", "--set", "model.width=200", "--set", "train.eta_scaled=1.2", "--steps", "50"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["width"], 200);
    assert_eq!(summary["phase"], "lazy");
}

#[test]
fn divergent_run_exits_zero_and_writes_nothing_non_finite() {
    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("div.csv");
    let out = run(&["run", "--preset", "divergent-uv", "--set", "train.divergence_factor=1e300", "--csv", csv_path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["phase"], "divergent");
    let at = summary["diverged_at"].as_u64().expect("diverged_at is a step");
    let text = std::fs::read_to_string(&csv_path).unwrap();
    for bad in ["NaN", "nan", "inf"] {
        assert!(!text.contains(bad), "CSV holds {bad}");
    }
    let (_, rows) = read_csv(&csv_path);
    assert!(rows.len() as u64 <= at + 1);
    let raw = String::from_utf8_lossy(&out.stdout);
    assert!(!raw.contains("NaN") && !raw.contains("inf"));
}

#[test]
fn sweep_writes_one_row_per_cell() {
    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("sweep.csv");
    let out = run(&[
        "sweep", "--preset", "catapult-uv", "--eta-scaled", "1:5:5", "--widths", "100,400", "--seeds", "2",
        "--steps", "400", "--csv", csv_path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("20/20"), "progress on stderr");
    let (header, rows) = read_csv(&csv_path);
    assert_eq!(header, SUMMARY_COLUMNS.map(String::from));
    assert_eq!(rows.len(), 5 * 2 * 2);
    let phase = header.iter().position(|h| h == "phase").unwrap();
    let eta_scaled = header.iter().position(|h| h == "eta_scaled").unwrap();
    for row in &rows {
        let x: f64 = row[eta_scaled].parse().unwrap();
        let expected = if x < 2.0 { "lazy" } else if x < 4.0 { "catapult" } else { "divergent" };
        if (x - 2.0).abs() > 0.01 && (x - 4.0).abs() > 0.01 {
            assert_eq!(row[phase], expected, "{row:?}");
        }
    }
    // Without --csv the CSV goes to stdout.
    let out = run(&["sweep", "--preset", "lazy-uv", "--eta", "0.1:0.2:2", "--steps", "10"]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 3);
}

#[test]
fn presets_lists_every_shipped_preset() {
    let out = run(&["presets"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for (name, _) in library::SHIPPED {
        assert!(text.lines().any(|l| l.starts_with(name)), "{name} listed");
    }
}

#[test]
fn every_file_in_presets_is_shipped_loads_and_runs() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("presets");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().to_string())
        .collect();
    files.sort();
    let mut shipped: Vec<String> = library::SHIPPED.iter().map(|(n, _)| n.to_string()).collect();
    shipped.sort();
    assert_eq!(files, shipped, "presets/ and library::SHIPPED agree");
    for name in ["lazy-uv", "catapult-uv", "divergent-uv", "zhu-multi-example"] {
        assert!(shipped.contains(&name.to_string()), "{name} is required by the spec");
    }
    for name in &shipped {
        let preset = library::shipped(name, &[]).unwrap().unwrap();
        assert_eq!(&preset.name, name);
        assert!(!preset.notes.is_empty(), "{name} has notes");
        let mut sim = catapult_lab::engine::sim::Simulation::new(&preset).unwrap();
        for _ in 0..50 {
            if let Some(s) = sim.step() {
                assert!(s.is_finite());
            }
        }
    }
    for (name, expected) in [("lazy-uv", "lazy"), ("catapult-uv", "catapult"), ("divergent-uv", "divergent")] {
        let out = run(&["run", "--preset", name]);
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(summary["phase"], expected, "{name}");
    }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn bad_presets_and_flags_exit_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases: Vec<(String, &str)> = vec![
        (write(d, "typo.json", r#"{"version": 1, "model": {"widht": 10}}"#), "model.widht"),
        (write(d, "top.json", r#"{"version": 1, "colour": "red"}"#), "colour"),
        (write(d, "neg.json", r#"{"version": 1, "model": {"width": -5}}"#), "model.width"),
        (write(d, "type.json", r#"{"version": 1, "train": {"steps": "many"}}"#), "train.steps"),
        (write(d, "range.json", r#"{"version": 1, "model": {"a_neg": 3}}"#), "model.a_neg"),
        (write(d, "enum.json", r#"{"version": 1, "loss": {"kind": "hinge"}}"#), "loss.kind"),
        (write(d, "ver.json", r#"{"version": 7}"#), "version"),
        (write(d, "trunc.json", r#"{"version": 1, "model": {"#), "trunc.json"),
        (write(d, "both.json", r#"{"version": 1, "train": {"eta": 0.1, "eta_scaled": 2}}"#), "train.eta"),
        (write(d, "huge.json", r#"{"version": 1, "model": {"width": 90000000}, "data": {"kind": "clusters", "n": 1000, "d": 64}}"#), "GiB"),
        (write(d, "empty.json", r#"{"version": 1, "data": {"kind": "points", "x": [], "y": []}}"#), "data.x"),
    ];
    for (path, needle) in &cases {
        let out = run(&["run", "--preset", path]);
        assert_usage_error(&out, needle);
        assert!(stderr(&out).contains(Path::new(path).file_name().unwrap().to_str().unwrap()), "names the file");
    }
    assert_usage_error(&run(&["run", "--preset", "no-such-preset"]), "no-such-preset");
    assert_usage_error(&run(&["run", "--preset", "catapult-uv", "--set", "model.widht=3"]), "model.widht");
    assert_usage_error(&run(&["run", "--preset", "catapult-uv", "--set", "nonsense"]), "KEY=VALUE");
    assert_usage_error(&run(&["run", "--preset", "catapult-uv", "--set", "train.eta_scaled=-1"]), "train.eta_scaled");
    assert_usage_error(&run(&["sweep", "--preset", "catapult-uv", "--eta-scaled", "1:2"]), "FROM:TO:COUNT");
    assert_usage_error(&run(&["sweep", "--preset", "catapult-uv", "--eta-scaled", "1:2:3", "--widths", "0"]), "model.width");
    let out = run(&["run", "--presett", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!stderr(&out).contains("panicked"));
}

/// A negative zero (ρ at init is a sum of −0 terms) is written as 0, never `-0`.
#[test]
fn csv_writes_zero_not_negative_zero() {
    let preset = library::shipped("catapult-uv", &[("train.steps".to_string(), serde_json::json!(1))]).unwrap().unwrap();
    let mut sim = catapult_lab::engine::sim::Simulation::new(&preset).unwrap();
    let mut first = sim.first_sample().clone();
    first.rho = Some(-0.0);
    first.u = -0.0;
    let mut csv = catapult_lab::report::output::SampleCsv::with_columns(Vec::new(), sim.extra_columns());
    csv.write(&first).unwrap();
    sim.run(|s| csv.write(s).unwrap());
    let text = String::from_utf8(csv.finish().unwrap()).unwrap();
    assert!(!text.contains("-0,") && !text.contains(",-0\n") && !text.ends_with(",-0"), "{text}");
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let row: Vec<&str> = text.lines().nth(1).unwrap().split(',').collect();
    let rho = header.iter().position(|h| *h == "rho").unwrap();
    assert_eq!((row[rho], row[header.iter().position(|h| *h == "u").unwrap()]), ("0", "0"));
}

#[test]
fn bench_refuses_an_unknown_workload_before_timing_anything() {
    let out = run(&["bench", "--only", "W2,W9"]);
    assert_usage_error(&out, "unknown workload 'W9'");
    assert!(stderr(&out).contains("W6"), "the message lists the known workloads: {}", stderr(&out));
    assert!(out.stdout.is_empty(), "nothing timed: {}", String::from_utf8_lossy(&out.stdout));
    let names: Vec<&str> = catapult_lab::cli::bench::workloads().unwrap().iter().map(|w| w.name).collect();
    for name in names {
        assert!(catapult_lab::cli::bench::WORKLOADS.contains(&name), "{name} is listed as known");
    }
}
