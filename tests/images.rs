//! Real images and the user's own data (SPEC §13): the shipped MNIST and Fashion-MNIST subsets
//! (counts, pixel range, seeded disjoint splits, the shipped files' hashes), CSV data files and
//! their errors, the batched test-set outputs, input gradients and batch kernel.

use catapult_lab::engine::assets::{ImageSource, image_set, images_available};
use catapult_lab::engine::config::{DataConfig, DataKind, parse_preset};
use catapult_lab::engine::data::{self, images};
use catapult_lab::engine::model;

#[test]
fn shipped_image_sets_have_their_documented_counts() {
    let mnist = image_set(ImageSource::Mnist);
    assert_eq!((mnist.len(), mnist.rows, mnist.cols), (10_000, 28, 28));
    let per_class: Vec<usize> = (0..10).map(|c| mnist.labels.iter().filter(|&&l| l == c).count()).collect();
    assert_eq!(per_class, [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
    let fashion = image_set(ImageSource::FashionMnist);
    assert_eq!((fashion.len(), fashion.rows, fashion.cols), (10_000, 28, 28));
    assert!((0..10).all(|c| fashion.labels.iter().filter(|&&l| l == c).count() == 1000));
    assert_eq!(images_available(ImageSource::Mnist, [0, 1]), 1001 + 1127);
}

/// The shipped files are the conversion script's output (assets/README.md lists these hashes).
#[test]
fn shipped_image_files_match_their_documented_hashes() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/README.md")).unwrap();
    for (file, sha) in [
        ("mnist.u8.gz", "0281cb12b959326f86103bf95bed952221a576f8f6da60ff0d80a4aee0b3396a"),
        ("fashion_mnist.u8.gz", "69bc9ec0a2bdcbdad21f2e4b3c7fb154db8a9baa757e3b07685ef6111631e21f"),
    ] {
        assert!(readme.contains(sha), "{file}'s hash is documented");
        let out = std::process::Command::new("sha256sum").arg(format!("{}/assets/{file}", env!("CARGO_MANIFEST_DIR"))).output().expect("sha256sum runs");
        assert!(String::from_utf8_lossy(&out.stdout).starts_with(sha), "{file}: {}", String::from_utf8_lossy(&out.stdout));
    }
}

#[test]
fn image_data_sets_are_seeded_disjoint_and_scaled() {
    let cfg = DataConfig { kind: DataKind::Mnist, classes: [0, 1], n: 128, test_n: 1000, ..Default::default() };
    let (train, test) = data::build(&cfg, 7).unwrap();
    let test = test.unwrap();
    assert_eq!((train.n, train.d, test.n, test.d), (128, 784, 1000, 784));
    assert!(train.x.iter().chain(&test.x).all(|&p| (0.0..=1.0).contains(&p)));
    assert!(train.x.iter().any(|&p| p == 1.0) && train.x.iter().any(|&p| p == 0.0));
    assert!(train.y.iter().chain(&test.y).all(|&y| y == 1.0 || y == -1.0));
    // First class → −1, second → +1 (Meltzer–Liu), both present.
    let set = image_set(ImageSource::Mnist);
    let (train_idx, test_idx) = images::split(ImageSource::Mnist, [0, 1], 128, 1000, 7);
    for (k, &i) in train_idx.iter().enumerate() {
        assert_eq!(train.y[k], if set.labels[i] == 0 { -1.0 } else { 1.0 });
        assert_eq!(train.row(k)[300], set.image(i)[300] as f64 / 255.0);
    }
    assert!(train.y.contains(&1.0) && train.y.contains(&-1.0));
    assert!(train_idx.iter().all(|i| !test_idx.contains(i)), "train and test are disjoint by index");
    assert_eq!(data::build(&cfg, 7).unwrap().0, train, "same seed, same images");
    assert_ne!(data::build(&cfg, 8).unwrap().0, train);
    // Downsampling averages 2×2 and 4×4 blocks.
    let (small, _) = data::build(&DataConfig { downsample: 2, ..cfg.clone() }, 7).unwrap();
    assert_eq!(small.d, 196);
    let image = set.image(train_idx[0]);
    let block: u32 = [0, 1, 28, 29].iter().map(|&j| image[28 * 10 + 10 + j] as u32).sum();
    assert!((small.row(0)[14 * 5 + 5] - ((block + 2) / 4) as f64 / 255.0).abs() < 1e-12);
    assert_eq!(data::build(&DataConfig { downsample: 4, ..cfg.clone() }, 7).unwrap().0.d, 49);
    // Asking for more than there is, or a bad factor, is an error naming the key.
    let too_many = parse_preset(br#"{"version": 1, "data": {"kind": "fashion_mnist", "classes": [0, 1], "n": 1500}}"#, "f.json", &[]);
    assert!(too_many.unwrap_err().to_string().contains("data.n"));
    let factor = parse_preset(br#"{"version": 1, "data": {"kind": "mnist", "downsample": 3}}"#, "f.json", &[]);
    assert!(factor.unwrap_err().to_string().contains("data.downsample"));
}

#[test]
fn batched_test_outputs_equal_the_pointwise_outputs() {
    for approx in ["network", "quadratic", "linearized"] {
        let text = format!(r#"{{"version": 1, "model": {{"width": 300, "a_neg": 0.1, "approx": "{approx}"}}, "data": {{"kind": "mnist", "n": 16, "test_n": 40, "downsample": 2}}, "train": {{"eta_scaled": 1.5}}}}"#);
        let preset = parse_preset(text.as_bytes(), "b.json", &[]).unwrap();
        let (train, test) = data::build(&preset.data, preset.seed).unwrap();
        let test = test.unwrap();
        let mut m = model::build(&preset, &train);
        // Move away from the initialization so the three models differ.
        let dir: Vec<f64> = (0..m.n_params()).map(|i| ((i * 7919) % 13) as f64 / 13.0 - 0.5).collect();
        m.add_to_params(0.05, &dir);
        let mut batched = vec![0.0; test.n];
        m.outputs_on(&test, &mut batched);
        for i in 0..test.n {
            let one = m.output_at(test.row(i));
            assert!((batched[i] - one).abs() <= 1e-12 * (1.0 + one.abs()), "{approx} row {i}: {} vs {one}", batched[i]);
        }
        // The input gradients (the AGOP's) at many rows equal the one-row gradients.
        let d = test.d;
        let mut grads = vec![0.0; test.n * d];
        assert!(m.input_gradients(&test, &mut grads));
        let mut one = vec![0.0; d];
        for i in 0..test.n {
            assert!(m.input_gradient(test.row(i), &mut one));
            let scale = one.iter().fold(0.0f64, |a, g| a.max(g.abs())).max(1e-300);
            for j in 0..d {
                assert!((grads[i * d + j] - one[j]).abs() <= 1e-12 * scale, "{approx} ∇f row {i}[{j}]: {} vs {}", grads[i * d + j], one[j]);
            }
        }
    }
}

#[test]
fn the_closed_form_batch_kernel_equals_explicit_jacobian_rows() {
    for (approx, a_neg, data) in [("network", 0.0, r#"{"kind": "mnist", "n": 12, "test_n": 0, "downsample": 4}"#), ("quadratic", 0.3, r#"{"kind": "clusters", "n": 9, "d": 3}"#), ("linearized", 0.5, r#"{"kind": "clusters", "n": 9, "d": 1}"#)] {
        let text = format!(r#"{{"version": 1, "model": {{"width": 70, "a_neg": {a_neg}, "approx": "{approx}"}}, "data": {data}}}"#);
        let preset = parse_preset(text.as_bytes(), "k.json", &[]).unwrap();
        let (train, _) = data::build(&preset.data, preset.seed).unwrap();
        let mut m = model::build(&preset, &train);
        let dir: Vec<f64> = (0..m.n_params()).map(|i| ((i * 7919) % 13) as f64 / 13.0 - 0.5).collect();
        m.add_to_params(0.1, &dir);
        let b = train.n;
        let mut closed = vec![0.0; b * b];
        assert!(m.kernel_on(&train, &mut closed));
        let p = m.n_params();
        let mut rows = vec![0.0; b * p];
        for r in 0..b {
            m.jacobian_row(train.row(r), &mut rows[r * p..(r + 1) * p]);
        }
        for i in 0..b {
            for j in 0..b {
                let explicit = model::dot(&rows[i * p..(i + 1) * p], &rows[j * p..(j + 1) * p]);
                assert!((closed[i * b + j] - explicit).abs() <= 1e-10 * (1.0 + explicit.abs()), "{approx} K[{i},{j}]: {} vs {explicit}", closed[i * b + j]);
            }
        }
    }
}
