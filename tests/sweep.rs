//! Sweeps (issue 4): phases over a grid of the two-layer linear net, the ∝ m catapult height,
//! cancellation, CSV round-trip and the headless figure.

use catapult_lab::engine::library;
use catapult_lab::report::output::{SUMMARY_COLUMNS, summary_row, write_summary_csv};
use catapult_lab::engine::sim::{Phase, Summary};
use catapult_lab::engine::sweep::{EtaAxis, SweepSpec, run_sweep};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn spec(from: f64, to: f64, count: usize, widths: Vec<usize>, steps: usize) -> SweepSpec {
    let mut base = library::shipped("catapult-uv", &[]).unwrap().unwrap();
    base.train.steps = steps;
    SweepSpec { base, eta: EtaAxis::Scaled { from, to, count }, widths, seeds: 1, approxes: Vec::new() }
}

fn run_all(spec: &SweepSpec) -> Vec<Summary> {
    let cells = spec.cells().unwrap();
    let cancel = AtomicBool::new(false);
    run_sweep(&cells, &cancel, |_, _| {}).into_iter().map(|r| r.unwrap().unwrap()).collect()
}

#[test]
fn sweep_classifies_lazy_catapult_divergent() {
    let rows = run_all(&spec(0.2, 6.0, 30, vec![500, 2000], 3000));
    assert_eq!(rows.len(), 60);
    for r in &rows {
        let x = r.eta_scaled;
        if x < 1.9 {
            assert_eq!(r.phase, Phase::Lazy, "{x}");
        } else if (2.2..=3.8).contains(&x) {
            assert_eq!(r.phase, Phase::Catapult, "{x}");
        } else if x > 4.2 {
            assert_eq!(r.phase, Phase::Divergent, "{x}");
        }
    }
}

#[test]
fn catapult_height_grows_linearly_with_width() {
    let rows = run_all(&SweepSpec { seeds: 3, ..spec(2.5, 2.5, 1, vec![500, 2000, 8000], 200) });
    let mean_peak = |w: usize| {
        let peaks: Vec<f64> = rows.iter().filter(|r| r.width == w).map(|r| r.peak_loss).collect();
        peaks.iter().sum::<f64>() / peaks.len() as f64
    };
    for (small, large) in [(500, 2000), (2000, 8000)] {
        let ratio = mean_peak(large) / mean_peak(small);
        assert!((2.5..=6.0).contains(&ratio), "4× width ({small}→{large}) gives {ratio}× peak loss");
    }
}

#[test]
fn cancel_stops_every_worker_within_a_second() {
    let big = spec(2.5, 3.5, 64, vec![20_000], 100_000_000);
    let cells = big.cells().unwrap();
    let cancel = AtomicBool::new(false);
    let finished = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        let handle = scope.spawn(|| run_sweep(&cells, &cancel, |_, _| {
            finished.fetch_add(1, Ordering::Relaxed);
        }));
        std::thread::sleep(Duration::from_millis(300));
        let cancelled_at = Instant::now();
        cancel.store(true, Ordering::Relaxed);
        let results = handle.join().unwrap();
        assert!(cancelled_at.elapsed() < Duration::from_secs(1), "stopped {:?} after cancel", cancelled_at.elapsed());
        assert!(results.iter().all(|r| r.is_none()), "no cell ran to its 1e8 steps");
    });
    assert_eq!(finished.load(Ordering::Relaxed), 0);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn sweep_csv_round_trips() {
    let rows = run_all(&spec(1.0, 4.5, 8, vec![100, 300], 300));
    let mut bytes = Vec::new();
    write_summary_csv(&mut bytes, &rows).unwrap();
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    assert_eq!(reader.headers().unwrap().iter().collect::<Vec<_>>(), SUMMARY_COLUMNS.to_vec());
    let read: Vec<Vec<String>> = reader.records().map(|r| r.unwrap().iter().map(String::from).collect()).collect();
    assert_eq!(read.len(), rows.len());
    for (row, summary) in read.iter().zip(&rows) {
        assert_eq!(row, &summary_row(summary));
        let eta: f64 = row[2].parse().unwrap();
        assert_eq!(eta, summary.eta, "floats print exactly (shortest round-trip form)");
    }
}

#[test]
fn plot_writes_a_png() {
    let rows = run_all(&spec(0.5, 5.0, 10, vec![100, 400], 300));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sweep.png");
    catapult_lab::report::figure::render_sweep_png(&rows, &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
    assert!(bytes.len() > 20_000, "a real figure, {} bytes", bytes.len());
}
