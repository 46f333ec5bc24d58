//! The shipped MNIST and Fashion-MNIST subsets as a two-class problem (SPEC §13): the images of
//! `data.classes = [a, b]` (a → −1, b → +1, as Meltzer–Liu) in a seeded order, the first n for
//! training and the next `test_n` held out (disjoint by index), pixels / 255, optionally
//! average-pooled by `data.downsample` (2: 14×14, 4: 7×7).

use super::{Dataset, STREAM_DATA, rng_for};
use crate::engine::assets::{ImageSource, downsample, image_set};
use rand::seq::SliceRandom;

/// The indices (into the shipped set) of the training and test images of one draw.
pub fn split(source: ImageSource, classes: [u8; 2], n: usize, test_n: usize, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let set = image_set(source);
    let mut chosen: Vec<usize> = (0..set.len()).filter(|&i| classes.contains(&set.labels[i])).collect();
    chosen.shuffle(&mut rng_for(seed, STREAM_DATA));
    let test = chosen[n.min(chosen.len())..(n + test_n).min(chosen.len())].to_vec();
    chosen.truncate(n);
    (chosen, test)
}

/// (training set, test set) of `n` and `test_n` images.
pub fn load(source: ImageSource, classes: [u8; 2], n: usize, test_n: usize, factor: usize, seed: u64) -> (Dataset, Dataset) {
    let full = image_set(source);
    let pooled;
    let set = if factor > 1 {
        pooled = downsample(full, factor);
        &pooled
    } else {
        full
    };
    let (train, test) = split(source, classes, n, test_n, seed);
    let pixels = set.rows * set.cols;
    let build = |indices: &[usize]| {
        let mut x = Vec::with_capacity(indices.len() * pixels);
        for &i in indices {
            x.extend(set.image(i).iter().map(|&p| p as f64 / 255.0));
        }
        let y = indices.iter().map(|&i| if set.labels[i] == classes[0] { -1.0 } else { 1.0 }).collect();
        Dataset { n: indices.len(), d: pixels, x, y }
    };
    (build(&train), build(&test))
}
