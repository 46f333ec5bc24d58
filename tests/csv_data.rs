//! The user's own data (`data.kind = "csv"`): a file with a header row and numeric columns.
//! Every bad file is refused with its exact message naming the file, the line and the column;
//! a relative path resolves against the preset's folder, not the working directory.

use catapult_lab::engine::config::load_preset_file;
use catapult_lab::engine::sim::Simulation;
use std::path::Path;

/// Writes `data.csv` (and a preset next to it) in a fresh folder and loads the preset.
fn load_with(csv: &[u8], data_keys: &str, loss: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("data.csv"), csv).unwrap();
    let preset = format!(r#"{{"version": 1, "data": {{"kind": "csv", "path": "data.csv"{data_keys}}}, "loss": {{"kind": "{loss}"}}}}"#);
    std::fs::write(dir.path().join("p.json"), preset).unwrap();
    load_preset_file(&dir.path().join("p.json"), &[]).map(|_| ()).map_err(|e| {
        // Name the file the way a user sees it, without the temporary folder.
        e.to_string().replace(&format!("{}/", dir.path().display()), "")
    })
}

#[test]
fn bad_csv_files_are_refused_naming_file_line_and_column() {
    let cases: [(&[u8], &str, &str, &str); 16] = [
        (b"", "", "mse", "p.json: key `data.path`: data.csv: the file is empty; expected a header row (x1,…,xd,y) and data rows"),
        (b"\n\n", "", "mse", "p.json: key `data.path`: data.csv: the file is empty; expected a header row (x1,…,xd,y) and data rows"),
        (b"x1,y\n", "", "mse", "p.json: key `data.path`: data.csv: no data rows after the header"),
        (b"y\n1\n", "", "mse", "p.json: key `data.path`: data.csv: line 1: the header has 1 column; need at least one input column and the label"),
        (b"x1,,y\n1,2,3\n", "", "mse", "p.json: key `data.path`: data.csv: line 1, column 2: empty column name"),
        (b"x1,y\n1,2\n3\n", "", "mse", "p.json: key `data.path`: data.csv: line 3: 1 cells, but the header has 2 columns"),
        (b"x1,y\n1,2\n3,4,5\n", "", "mse", "p.json: key `data.path`: data.csv: line 3: 3 cells, but the header has 2 columns"),
        (b"x1,x2,y\n1,2,3\n4,abc,6\n", "", "mse", "p.json: key `data.path`: data.csv: line 3, column 2 (x2): `abc` is not a number"),
        (b"x1,y\n1,\n", "", "mse", "p.json: key `data.path`: data.csv: line 2, column 2 (y): `` is not a number"),
        (b"x1,y\n1,NaN\n", "", "mse", "p.json: key `data.path`: data.csv: line 2, column 2 (y): `NaN` is not a finite number"),
        (b"x1,y\ninf,1\n", "", "mse", "p.json: key `data.path`: data.csv: line 2, column 1 (x1): `inf` is not a finite number"),
        (b"x1,y\n1e999,1\n", "", "mse", "p.json: key `data.path`: data.csv: line 2, column 1 (x1): `1e999` is not a finite number"),
        (b"x1,y\n1,1\n2,0.5\n", "", "logistic", "p.json: key `data.path`: data.csv: line 3, column 2 (y): label 0.5 is not +1 or -1, which the logistic and exponential losses need"),
        (b"x1,y\n1,1\n2,0\n", "", "exponential", "p.json: key `data.path`: data.csv: line 3, column 2 (y): label 0 is not +1 or -1, which the logistic and exponential losses need"),
        (b"x1,y\n1,1\n", r#", "label_column": "target""#, "mse", "p.json: key `data.path`: data.csv: line 1: no column named `target` (data.label_column); the columns are x1, y"),
        (b"x1,y\n\xff,1\n", "", "mse", "p.json: key `data.path`: data.csv: line 2: not UTF-8 text"),
    ];
    for (csv, keys, loss, expected) in cases {
        assert_eq!(load_with(csv, keys, loss).unwrap_err(), expected, "{}", String::from_utf8_lossy(csv));
    }
    // A missing file, a missing path and a test file with other columns.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.json"), r#"{"version": 1, "data": {"kind": "csv", "path": "nope.csv"}}"#).unwrap();
    let e = load_preset_file(&dir.path().join("p.json"), &[]).unwrap_err().to_string();
    assert!(e.contains("key `data.path`") && e.contains("nope.csv: cannot read the data file"), "{e}");
    std::fs::write(dir.path().join("p.json"), r#"{"version": 1, "data": {"kind": "csv"}}"#).unwrap();
    let e = load_preset_file(&dir.path().join("p.json"), &[]).unwrap_err().to_string();
    assert!(e.ends_with("key `data.path`: csv data needs data.path, the CSV file (relative to the preset's folder)"), "{e}");
    std::fs::write(dir.path().join("a.csv"), "x1,x2,y\n1,2,1\n").unwrap();
    std::fs::write(dir.path().join("b.csv"), "x1,y\n1,1\n").unwrap();
    std::fs::write(dir.path().join("p.json"), r#"{"version": 1, "data": {"kind": "csv", "path": "a.csv", "test_path": "b.csv"}}"#).unwrap();
    let e = load_preset_file(&dir.path().join("p.json"), &[]).unwrap_err().to_string();
    assert!(e.contains("key `data.test_path`") && e.contains("1 input columns, but") && e.contains("a.csv has 2"), "{e}");
    // Files above the size limit are refused with the limit (a sparse file: no disk used).
    let big = std::fs::File::create(dir.path().join("big.csv")).unwrap();
    big.set_len(catapult_lab::engine::csv_data::MAX_CSV_BYTES + 1).unwrap();
    std::fs::write(dir.path().join("p.json"), r#"{"version": 1, "data": {"kind": "csv", "path": "big.csv"}}"#).unwrap();
    let e = load_preset_file(&dir.path().join("p.json"), &[]).unwrap_err().to_string();
    assert!(e.contains("larger than the 256 MB limit for data files"), "{e}");
}

#[test]
fn csv_paths_resolve_against_the_preset_folder_and_the_data_runs() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/csv/moons.json");
    // Run from another working directory: the relative data.path still finds moons.csv.
    let elsewhere = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_catapult-lab"))
        .args(["run", "--preset", example.to_str().unwrap(), "--steps", "5"])
        .current_dir(elsewhere.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let preset = load_preset_file(&example, &[]).unwrap();
    assert!(Path::new(preset.data.path.as_deref().unwrap()).is_absolute());
    let mut sim = Simulation::new(&preset).unwrap();
    assert_eq!((sim.data().n, sim.data().d), (80, 2));
    let first = sim.step().unwrap();
    assert!(first.test_loss.is_some() && first.test_acc.is_some(), "the test file gives test loss and accuracy");
    // The columns can come in any order: the label column is named.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("d.csv"), "label,a,b\n1,0.5,2\n-1,1.5,-2\n").unwrap();
    std::fs::write(dir.path().join("p.json"), r#"{"version": 1, "data": {"kind": "csv", "path": "d.csv", "label_column": "label"}}"#).unwrap();
    let sim = Simulation::new(&load_preset_file(&dir.path().join("p.json"), &[]).unwrap()).unwrap();
    assert_eq!(sim.data().x, vec![0.5, 2.0, 1.5, -2.0]);
    assert_eq!(sim.data().y, vec![1.0, -1.0]);
}
