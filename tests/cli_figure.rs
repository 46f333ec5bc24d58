//! `catapult-lab figure`: the live view's four plots as PNG, and `--series` lists every plotted
//! point in data units; its 2/η line is 2/η(step) of the run's own CSV at every step.

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_catapult-lab"))
}

fn csv_records(path: &std::path::Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_path(path).expect("readable CSV");
    let header = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader.records().map(|r| r.unwrap().iter().map(String::from).collect()).collect();
    (header, rows)
}

#[test]
fn the_figure_series_follow_eta_through_a_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let (png, series, run_csv) = (dir.path().join("f.png"), dir.path().join("f.csv"), dir.path().join("run.csv"));
    let out = bin().args(["figure", "--preset", "zhu-multiple-catapults", "--steps", "400", "--size", "1280x720", "--out"]).arg(&png).arg("--series").arg(&series).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = bin().args(["run", "--preset", "zhu-multiple-catapults", "--steps", "400", "--csv"]).arg(&run_csv).output().unwrap();
    assert!(out.status.success());
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
    assert_eq!(u32::from_be_bytes(bytes[16..20].try_into().unwrap()), 1280);

    let (header, rows) = csv_records(&series);
    assert_eq!(header, ["plot", "series", "x", "y"]);
    let (run_header, run_rows) = csv_records(&run_csv);
    let col = |name: &str| run_header.iter().position(|h| h == name).unwrap();
    let eta: Vec<f64> = run_rows.iter().map(|r| r[col("eta")].parse().unwrap()).collect();
    let loss: Vec<f64> = run_rows.iter().map(|r| r[col("loss")].parse().unwrap()).collect();
    let line: Vec<(f64, f64)> = rows.iter().filter(|r| r[0] == "kernel" && r[1] == "2/eta").map(|r| (r[2].parse().unwrap(), r[3].parse().unwrap())).collect();
    assert_eq!(line.len(), eta.len(), "every step of a 400-step run is drawn");
    for (x, y) in &line {
        assert_eq!(*y, 2.0 / eta[*x as usize], "2/η at step {x}");
    }
    assert!(eta.windows(2).any(|w| w[0] != w[1]));
    for (plot, name) in [("loss", "loss"), ("kernel", "lambda_hat"), ("kernel", "lambda_hat_2"), ("weights", "weight_norm_sq"), ("weights", "dist_from_init"), ("phase_plane", "uv")] {
        assert!(rows.iter().any(|r| r[0] == plot && r[1] == name), "{plot}/{name} missing");
    }
    // (ReLU: no 4/η line, theory gives no η_max.)
    assert!(!rows.iter().any(|r| r[1] == "4/eta"));
    // Data units, not log10: the loss series is the CSV's loss.
    let plotted_loss: Vec<(f64, f64)> = rows.iter().filter(|r| r[0] == "loss").map(|r| (r[2].parse().unwrap(), r[3].parse().unwrap())).collect();
    for (x, y) in plotted_loss {
        assert_eq!(y, loss[x as usize]);
    }
}

#[test]
fn a_bad_size_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin().args(["figure", "--preset", "catapult-uv", "--size", "huge", "--out"]).arg(dir.path().join("x.png")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--size"));
}
