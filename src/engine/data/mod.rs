//! Data sets of SPEC §7 and §13 (single, points, clusters, teacher, digits, `sphere` for
//! thesis Fig 4.5, mnist, fashion_mnist, csv): generated or drawn from the seed alone with a
//! ChaCha stream of their own, so the same seed gives the same bytes whatever the model; with
//! their held-out test sets.

pub mod digits;
pub mod images;
pub mod separability;
pub mod teacher;

use crate::engine::config::{DataConfig, DataKind, XSpec, YSpec};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

pub use crate::engine::dataset::Dataset;
pub use separability::{classify_separability, Separability};

/// The ChaCha stream numbers that keep data, init and batches independent of each other.
pub const STREAM_DATA: u64 = 1;
pub const STREAM_INIT: u64 = 2;
pub const STREAM_BATCH: u64 = 3;
pub const STREAM_TEST: u64 = 4;

/// A seeded ChaCha generator on one of the streams above.
pub fn rng_for(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// The training set and, where the data kind has one, the held-out test set a config
/// describes; `seed` is the preset's seed. Fails only for a data file that cannot be read.
pub fn build(cfg: &DataConfig, seed: u64) -> Result<(Dataset, Option<Dataset>), String> {
    if let Some(source) = cfg.kind.image_source() {
        let (train, test) = images::load(source, cfg.classes, cfg.n, cfg.test_n, cfg.downsample.max(1), seed);
        return Ok((train, (test.n > 0).then_some(test)));
    }
    if cfg.kind == DataKind::Csv {
        let path = cfg.path.as_deref().ok_or("csv data needs data.path")?;
        // Validation already checked the labels for the loss; the kept copy is reused here.
        let load = |p: &str| crate::engine::csv_data::load(std::path::Path::new(p), cfg.label_column.as_deref(), false).map(|d| (*d).clone());
        let test = cfg.test_path.as_deref().map(load).transpose()?;
        return Ok((load(path)?, test));
    }
    let test = match cfg.kind {
        DataKind::Teacher if cfg.test_n > 0 => Some(teacher::sample(cfg.teacher, cfg.test_n, cfg.d, cfg.noise, seed, STREAM_TEST)),
        _ => None,
    };
    Ok((generate(cfg, seed), test))
}

/// The training set of a generated or shipped data kind (a csv kind that cannot be read
/// panics: use `build`).
pub fn generate(cfg: &DataConfig, seed: u64) -> Dataset {
    match cfg.kind {
        DataKind::Single => {
            let x = match &cfg.x {
                Some(XSpec::One(x)) => x.clone(),
                Some(XSpec::Many(rows)) => rows.first().cloned().unwrap_or_else(|| vec![1.0]),
                None => vec![1.0; cfg.d.max(1)],
            };
            let y = match &cfg.y {
                Some(YSpec::One(y)) => *y,
                Some(YSpec::Many(ys)) => ys.first().copied().unwrap_or(0.0),
                None => 0.0,
            };
            Dataset { n: 1, d: x.len(), x, y: vec![y] }
        }
        DataKind::Points => {
            let rows: Vec<Vec<f64>> = match &cfg.x {
                Some(XSpec::Many(rows)) => rows.clone(),
                Some(XSpec::One(xs)) => xs.iter().map(|&v| vec![v]).collect(),
                None => Vec::new(),
            };
            let y = match &cfg.y {
                Some(YSpec::Many(ys)) => ys.clone(),
                Some(YSpec::One(y)) => vec![*y; rows.len()],
                None => vec![0.0; rows.len()],
            };
            let d = rows.first().map_or(1, |r| r.len());
            Dataset { n: rows.len(), d, x: rows.concat(), y }
        }
        DataKind::Clusters => clusters(cfg.n, cfg.d, cfg.separation, cfg.flip, seed),
        DataKind::Teacher => teacher::sample(cfg.teacher, cfg.n, cfg.d, cfg.noise, seed, STREAM_DATA),
        DataKind::Digits => digits::load(cfg.classes, cfg.n, seed),
        DataKind::Sphere => {
            let label = match &cfg.y {
                Some(YSpec::One(y)) => *y,
                _ => 1.0,
            };
            sphere(cfg.n, cfg.d, label, cfg.scale_first, seed)
        }
        DataKind::Mnist | DataKind::FashionMnist | DataKind::Csv => build(cfg, seed).expect("the data file reads").0,
    }
}

/// n points uniform on the unit sphere of R^d (normalized Gaussians), every label `label`;
/// the first point and its label are multiplied by `scale_first`.
pub fn sphere(n: usize, d: usize, label: f64, scale_first: f64, seed: u64) -> Dataset {
    let mut rng = rng_for(seed, STREAM_DATA);
    let mut x = Vec::with_capacity(n * d);
    for _ in 0..n {
        let row: Vec<f64> = (0..d).map(|_| StandardNormal.sample(&mut rng)).collect();
        let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-300);
        x.extend(row.iter().map(|v| v / norm));
    }
    let mut y = vec![label; n];
    if n > 0 {
        x[..d].iter_mut().for_each(|v| *v *= scale_first);
        y[0] *= scale_first;
    }
    Dataset { n, d, x, y }
}

/// Two Gaussian clusters: labels ±1 balanced (first half +1), x = y·μ·e1 + N(0, I_d), then a
/// fraction `flip` of the labels flipped at random.
pub fn clusters(n: usize, d: usize, separation: f64, flip: f64, seed: u64) -> Dataset {
    let mut rng = rng_for(seed, STREAM_DATA);
    let mut x = Vec::with_capacity(n * d);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let label = if i < n.div_ceil(2) { 1.0 } else { -1.0 };
        for j in 0..d {
            let noise: f64 = StandardNormal.sample(&mut rng);
            x.push(if j == 0 { label * separation + noise } else { noise });
        }
        y.push(label);
    }
    let n_flip = (flip * n as f64).round() as usize;
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rng);
    for &i in order.iter().take(n_flip) {
        y[i] = -y[i];
    }
    Dataset { n, d, x, y }
}
