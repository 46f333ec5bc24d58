//! Data sets: teacher values and gradients (finite differences), the held-out split, the
//! shipped digits (two classes, pixels in [0, 1], ±1 labels, seeded subsets) and their limits.

use catapult_lab::engine::config::{DataConfig, DataKind, Teacher, parse_preset};
use catapult_lab::engine::data::{self, teacher};

#[test]
fn teacher_gradients_match_finite_differences() {
    let x: Vec<f64> = (0..12).map(|i| 0.3 * (i as f64) - 1.4).collect();
    for t in [Teacher::Rank2, Teacher::Rank3, Teacher::Rank4, Teacher::Fullrank] {
        let mut grad = vec![0.0; x.len()];
        teacher::gradient(t, &x, &mut grad);
        for k in 0..x.len() {
            let h = 1e-6;
            let (mut plus, mut minus) = (x.clone(), x.clone());
            plus[k] += h;
            minus[k] -= h;
            let fd = (teacher::value(t, &plus) - teacher::value(t, &minus)) / (2.0 * h);
            assert!((fd - grad[k]).abs() < 1e-7 * (1.0 + fd.abs()), "{t:?} coordinate {k}: fd {fd} vs {}", grad[k]);
        }
    }
    assert_eq!(teacher::value(Teacher::Rank2, &[2.0, 3.0, 5.0]), 6.0);
    assert_eq!(teacher::value(Teacher::Rank4, &[2.0, 3.0, 5.0, 7.0]), 2.0 + 6.0 + 30.0 + 210.0);
}

#[test]
fn teacher_data_has_a_separate_seeded_test_split() {
    let cfg = DataConfig { kind: DataKind::Teacher, n: 200, d: 5, noise: 0.0, test_n: 300, ..Default::default() };
    let train = data::generate(&cfg, 1);
    let test = data::build(&cfg, 1).unwrap().1.unwrap();
    assert_eq!((train.n, train.d, test.n, test.d), (200, 5, 300, 5));
    assert_ne!(train.x[..5], test.x[..5], "the test split is fresh draws");
    for i in 0..train.n {
        assert_eq!(train.y[i], train.x[i * 5] * train.x[i * 5 + 1], "noise 0: y = x1 x2");
    }
    assert_eq!(test, data::build(&cfg, 1).unwrap().1.unwrap());
    let noisy = DataConfig { noise: 0.1, ..cfg };
    let with_noise = data::generate(&noisy, 1);
    let residual: f64 = (0..200).map(|i| (with_noise.y[i] - with_noise.x[i * 5] * with_noise.x[i * 5 + 1]).powi(2)).sum::<f64>() / 200.0;
    assert!((residual.sqrt() - 0.1).abs() < 0.03, "noise std {}", residual.sqrt());
}

#[test]
fn digits_two_classes_scaled_and_seeded() {
    assert_eq!(catapult_lab::engine::assets::digits_available([0, 1]), 178 + 182);
    let cfg = DataConfig { kind: DataKind::Digits, n: 150, classes: [3, 8], ..Default::default() };
    let set = data::generate(&cfg, 4);
    assert_eq!((set.n, set.d), (150, 64));
    assert!(set.x.iter().all(|&v| (0.0..=1.0).contains(&v)));
    assert!(set.x.iter().any(|&v| v == 1.0), "full-intensity pixels exist");
    let positives = set.y.iter().filter(|&&y| y == 1.0).count();
    assert!(set.y.iter().all(|&y| y == 1.0 || y == -1.0));
    assert!((50..100).contains(&positives), "both classes drawn: {positives} of 150 are 3s");
    assert_eq!(set, data::generate(&cfg, 4));
    assert_ne!(set, data::generate(&cfg, 5));
    assert_eq!(data::classify_separability(&set), data::Separability::Separable, "3 vs 8 in 64 dims");
}

#[test]
fn digits_and_teacher_limits_are_errors_naming_the_key() {
    let too_many = parse_preset(br#"{"version": 1, "data": {"kind": "digits", "classes": [0, 1], "n": 400}}"#, "d.json", &[]);
    assert!(too_many.unwrap_err().to_string().contains("data.n"));
    let same = parse_preset(br#"{"version": 1, "data": {"kind": "digits", "classes": [2, 2]}}"#, "d.json", &[]);
    assert!(same.unwrap_err().to_string().contains("data.classes"));
    let small_d = parse_preset(br#"{"version": 1, "data": {"kind": "teacher", "teacher": "rank4", "d": 3}}"#, "t.json", &[]);
    assert!(small_d.unwrap_err().to_string().contains("data.d"));
    let ok = parse_preset(br#"{"version": 1, "data": {"kind": "teacher", "teacher": "rank3", "d": 20, "n": 50}}"#, "t.json", &[]);
    assert!(ok.is_ok());
}
