//! The compact, exact store of a run's history (report::history_store, used by the app's saved
//! state for pinned runs): a long thinned history comes back column for column with its bucket
//! span (and keeps thinning the same way), odd numbers come back bit for bit, and damaged or
//! foreign packed data is refused with a reason, never a panic. Also: a prefix cuts every column.

use catapult_lab::engine::config::share;
use catapult_lab::engine::sim::{Regime, Sample};
use catapult_lab::report::history_store::PackedHistory;
use catapult_lab::report::series::History;

fn sample(step: u64) -> Sample {
    let t = step as f64;
    Sample {
        step,
        eta: 1.0 + (t * 0.001).sin() * 0.1,
        loss: 1.0 + (t * 0.37).sin(),
        lambda_hat: 2.0 + (t * 0.011).cos(),
        lambda_hat_2: 0.5,
        lambda_raw: 3.0,
        eta_lambda: 2.0 + (t * 0.011).cos(),
        weight_norm_sq: 100.0 + t.sqrt(),
        dist_from_init: t.ln_1p(),
        u: 1e-3 * t,
        v: 2.5,
        train_acc: (step % 3 == 0).then_some(0.5),
        sparsity: None,
        rho: Some(-0.25),
        v_mean: None,
        lambda_ntk: None,
        loss_top: (step % 7 == 0).then_some(t),
        test_loss: None,
        test_acc: None,
        agop_alignment: None,
        batch_crit_eta: (step > 0).then_some(0.9),
        precond_sharpness: None,
        edge_sharpness: None,
        hessian_top: (step % 10 == 0).then_some(3.0 + t * 1e-3),
        loss_top_s: Some(0.5 * t),
        loss_rest_s: None,
        kernel_change: (step % 2 == 1).then_some(-0.0),
        layer_sparsity: std::array::from_fn(|l| (l < 3 && step % (l as u64 + 2) == 0).then_some(0.1 * l as f64)),
    }
}

fn regime(step: u64) -> Regime {
    [Regime::Stable, Regime::Catapult, Regime::Divergent][(step % 3) as usize]
}

fn same(a: &History, b: &History) {
    assert_eq!(a.len(), b.len());
    assert_eq!(a.bucket_span(), b.bucket_span());
    assert_eq!(a.to_csv().unwrap(), b.to_csv().unwrap());
    assert_eq!(a.regime, b.regime);
    for (x, y) in [(&a.step, &b.step), (&a.loss, &b.loss), (&a.u, &b.u), (&a.eta, &b.eta)] {
        assert!(x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits()));
    }
    assert_eq!(a.train_acc, b.train_acc);
    assert_eq!(a.loss_top, b.loss_top);
    assert_eq!(a.batch_crit_eta, b.batch_crit_eta);
    assert_eq!(a.hessian_top, b.hessian_top);
    assert_eq!(a.loss_top_s, b.loss_top_s);
    assert_eq!(a.kernel_change.iter().map(|v| v.map(f64::to_bits)).collect::<Vec<_>>(), b.kernel_change.iter().map(|v| v.map(f64::to_bits)).collect::<Vec<_>>());
    assert_eq!(a.layer_sparsity, b.layer_sparsity);
}

#[test]
fn a_long_thinned_history_comes_back_exactly_and_thins_on_the_same_way() {
    let mut history = History::default();
    let n = 700_000;
    for step in 0..=n {
        history.push(&sample(step), regime(step));
    }
    assert!(history.bucket_span() > 1, "the history was thinned");
    let packed = PackedHistory::pack(&history);
    let json = serde_json::to_string(&packed).unwrap();
    let mut back = serde_json::from_str::<PackedHistory>(&json).unwrap().unpack().unwrap();
    same(&history, &back);
    assert_eq!(back.layer_sparsity.len(), 3, "three hidden layers' sparsity columns come back");
    assert_eq!(back.generation, history.generation);
    eprintln!("{} rows (span {}): {} bytes of JSON, {} bytes in memory", history.len(), history.bucket_span(), json.len(), history.memory_bytes());
    // Compact: well under the columns' size in memory.
    assert!(json.len() < history.len() * 23 * 8 / 2, "{} bytes for {} rows", json.len(), history.len());
    for step in n + 1..=n + 300_000 {
        history.push(&sample(step), regime(step));
        back.push(&sample(step), regime(step));
    }
    same(&history, &back);
}

#[test]
fn odd_numbers_come_back_bit_for_bit() {
    let mut history = History::default();
    for (k, x) in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, f64::MIN_POSITIVE / 4.0, 1e308].into_iter().enumerate() {
        let mut s = sample(k as u64);
        s.loss = x;
        s.u = -x;
        s.rho = Some(x);
        history.push(&s, Regime::Stable);
    }
    let back = PackedHistory::pack(&history).unpack().unwrap();
    for i in 0..history.len() {
        assert_eq!(back.loss[i].to_bits(), history.loss[i].to_bits());
        assert_eq!(back.u[i].to_bits(), history.u[i].to_bits());
        assert_eq!(back.rho[i].map(f64::to_bits), history.rho[i].map(f64::to_bits));
    }
    assert_eq!(PackedHistory::pack(&History::default()).unpack().unwrap().len(), 0);
}

#[test]
fn a_prefix_cuts_every_column() {
    let mut history = History::default();
    for step in 0..40 {
        let mut s = sample(step);
        s.precond_sharpness = Some(1.0);
        s.edge_sharpness = Some(2.0);
        history.push(&s, regime(step));
    }
    let cut = history.prefix(10);
    assert_eq!((cut.precond_sharpness.len(), cut.edge_sharpness.len(), cut.regime.len()), (10, 10, 10));
    same(&PackedHistory::pack(&cut).unpack().unwrap(), &cut);
}

#[test]
fn damaged_or_foreign_packed_data_is_refused_with_a_reason() {
    let mut history = History::default();
    for step in 0..500 {
        history.push(&sample(step), regime(step));
    }
    let good = PackedHistory::pack(&history);
    let refuse = |p: PackedHistory, expected: &str| {
        let e = p.unpack().err().unwrap_or_else(|| panic!("accepted, expected {expected}"));
        assert!(e.contains(expected), "{e} (expected {expected})");
    };
    let mut p = good.clone();
    p.data.truncate(p.data.len() / 2);
    refuse(p, "data");
    let mut p = good.clone();
    p.data.insert(5, '*');
    refuse(p, "not a code character");
    let mut p = good.clone();
    p.rows += 1;
    refuse(p, "column `");
    let mut p = good.clone();
    p.rows -= 1;
    refuse(p, "column `");
    let mut longer = inflate(&good);
    longer.push(0);
    refuse(with_bytes(&good, &longer), "1 bytes left over");
    let mut unordered = inflate(&good);
    unordered[..8 * 500].fill(0);
    refuse(with_bytes(&good, &unordered), "steps are not increasing");
    let mut p = good.clone();
    p.columns[3] = "lambda_hat_9".into();
    refuse(p, "unknown column `lambda_hat_9`");
    let mut p = good.clone();
    p.columns[4] = p.columns[3].clone();
    refuse(p, "appears twice");
    let mut p = good.clone();
    p.rows = usize::MAX;
    refuse(p, "more than a history keeps");
    // Every single changed character of the data is caught (zlib's checksum) or decodes to the
    // same history (a character's unused low bits at the end).
    for i in (0..good.data.len()).step_by(7) {
        let mut p = good.clone();
        let mut bytes = p.data.into_bytes();
        bytes[i] = if bytes[i] == b'Q' { b'R' } else { b'Q' };
        p.data = String::from_utf8(bytes).unwrap();
        if let Ok(h) = p.unpack() {
            same(&h, &history);
        }
    }
}

/// The inflated column bytes of a packed history, and a packed history with other bytes.
fn inflate(p: &PackedHistory) -> Vec<u8> {
    use std::io::Read;
    let zipped = share::base64url_decode(&p.data).unwrap();
    let mut bytes = Vec::new();
    flate2::read::ZlibDecoder::new(zipped.as_slice()).read_to_end(&mut bytes).unwrap();
    bytes
}

fn with_bytes(p: &PackedHistory, bytes: &[u8]) -> PackedHistory {
    use std::io::Write;
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    PackedHistory { data: share::base64url_encode(&encoder.finish().unwrap()), ..p.clone() }
}

#[test]
fn a_history_without_an_optional_column_reads_it_as_absent() {
    let rows = 50;
    let mut history = History::default();
    for step in 0..rows as u64 {
        let mut s = sample(step);
        s.kernel_change = None;
        s.layer_sparsity = [None; 8];
        history.push(&s, regime(step));
    }
    let full = PackedHistory::pack(&history);
    let bytes = inflate(&full);
    assert_eq!(full.columns.last().map(String::as_str), Some("regime"));
    assert_eq!(full.columns[full.columns.len() - 2], "kernel_change");
    // What a version that did not know `kernel_change` would have written: no such column (its
    // bytes are one presence byte per row, all 0, just before the regimes).
    let mut older = bytes.clone();
    older.drain(bytes.len() - 2 * rows..bytes.len() - rows);
    let mut p = with_bytes(&full, &older);
    p.columns.retain(|c| c != "kernel_change");
    let back = p.unpack().unwrap();
    same(&back, &history);
    assert_eq!(back.kernel_change, vec![None; rows]);
    // A missing number column is refused by name.
    let mut p = with_bytes(&full, &bytes[rows * 8..]);
    p.columns.remove(0);
    let e = p.unpack().err().expect("refused");
    assert!(e.contains("column `step` is missing"), "{e}");
}
