//! The optimizer and schedule keys at the command line: a bad value or a key on the wrong
//! optimizer or schedule kind is a usage error (exit 2) naming the key; the summary and the CSV
//! carry the optimizer's fields and columns.

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_catapult-lab")).args(args).output().expect("runs")
}

fn assert_usage_error(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "exit 2 for {needle}: {stderr}");
    assert!(stderr.contains(needle), "`{needle}` in: {stderr}");
    assert!(!stderr.contains("panicked"));
}

#[test]
fn bad_optimizer_and_schedule_keys_exit_2_naming_the_key() {
    let cases: [(&[&str], &str); 8] = [
        (&["train.optimizer=momentum", "train.beta=1"], "train.beta"),
        (&["train.optimizer=adam", "train.beta1=1.2"], "train.beta1"),
        (&["train.optimizer=adam", "train.eps=-1e-8"], "train.eps"),
        (&["train.schedule_kind=auto_catapult", "train.auto_factor=2"], "train.auto_factor"),
        (&["train.schedule_kind=cyclic", "train.cycle_steps=100", "train.cycle_low=3", "train.cycle_high=1"], "train.cycle_low"),
        (&["train.beta=0.9"], "train.beta"),
        (&["train.nesterov=true"], "train.nesterov"),
        (&["train.optimizer=sgd"], "train.optimizer"),
    ];
    for (sets, key) in cases {
        let mut args = vec!["run", "--preset", "catapult-uv", "--steps", "2"];
        for set in sets {
            args.extend(["--set", set]);
        }
        assert_usage_error(&run(&args), key);
    }
}

#[test]
fn an_adam_run_writes_its_sharpness_columns_and_summary_fields() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("adam.csv");
    let out = run(&["run", "--preset", "catapult-uv", "--steps", "5", "--set", "train.optimizer=adam", "--set", "train.eta=0.01", "--csv", csv.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["optimizer"], "adam");
    assert!((summary["optimizer_edge"].as_f64().unwrap() - 38.0).abs() < 1e-9);
    assert!(summary["final_precond_sharpness"].as_f64().unwrap() > 0.0);
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let (p, e) = (header.iter().position(|c| *c == "precond_sharpness").unwrap(), header.iter().position(|c| *c == "edge_sharpness").unwrap());
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 6);
    assert_eq!(rows[0][p], "", "no preconditioner before the first update");
    assert!(rows[1..].iter().all(|r| r[p].parse::<f64>().unwrap() > 0.0));
    assert!(rows.iter().all(|r| (r[e].parse::<f64>().unwrap() - 3800.0).abs() < 1e-6), "38/η");
}
