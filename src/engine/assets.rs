//! The data files shipped inside the binary (assets/, sources and licences in assets/README.md),
//! decoded once on first use: the 8×8 digits (CSV) and the MNIST / Fashion-MNIST subsets (the
//! `CLIMG1` u8 format of assets/README.md, with average-pool downsampling). Both preset
//! validation (how many images a class has) and the data sets read them here, so neither
//! depends on the other.

use flate2::read::GzDecoder;
use std::io::Read;
use std::sync::OnceLock;

const DIGITS_GZ: &[u8] = include_bytes!("../../assets/digits.csv.gz");
pub const PIXELS: usize = 64;

/// (pixels scaled to [0, 1], label) of all 1797 images, decoded once.
pub fn digit_images() -> &'static [([f64; PIXELS], u8)] {
    static IMAGES: OnceLock<Vec<([f64; PIXELS], u8)>> = OnceLock::new();
    IMAGES.get_or_init(|| {
        let mut text = String::new();
        GzDecoder::new(DIGITS_GZ).read_to_string(&mut text).expect("the shipped digits file decodes");
        text.lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                let values: Vec<f64> = line.split(',').map(|v| v.trim().parse().expect("digits are integers")).collect();
                let mut pixels = [0.0; PIXELS];
                for (p, v) in pixels.iter_mut().zip(&values) {
                    *p = v / 16.0;
                }
                (pixels, values[PIXELS] as u8)
            })
            .collect()
    })
}

/// How many images of the two classes there are (the largest allowed `data.n`).
pub fn digits_available(classes: [u8; 2]) -> usize {
    digit_images().iter().filter(|(_, label)| classes.contains(label)).count()
}


const MNIST_GZ: &[u8] = include_bytes!("../../assets/mnist.u8.gz");
const FASHION_MNIST_GZ: &[u8] = include_bytes!("../../assets/fashion_mnist.u8.gz");

/// The shipped 28×28 image sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageSource {
    Mnist,
    FashionMnist,
}

/// A shipped image set, decoded once (about 8 MB each).
pub fn image_set(source: ImageSource) -> &'static ImageSet {
    static MNIST: OnceLock<ImageSet> = OnceLock::new();
    static FASHION: OnceLock<ImageSet> = OnceLock::new();
    let (cell, bytes) = match source {
        ImageSource::Mnist => (&MNIST, MNIST_GZ),
        ImageSource::FashionMnist => (&FASHION, FASHION_MNIST_GZ),
    };
    cell.get_or_init(|| decode_images(bytes).expect("the shipped image set decodes"))
}

/// How many shipped images the two classes have together (the most `data.n + data.test_n` may be).
pub fn images_available(source: ImageSource, classes: [u8; 2]) -> usize {
    image_set(source).labels.iter().filter(|l| classes.contains(l)).count()
}


const MAGIC: &[u8; 8] = b"CLIMG1\0\0";
const HEADER: usize = 20;

/// Images of one size with their labels; image `i` is `pixels[i * rows * cols..][..rows * cols]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageSet {
    pub rows: usize,
    pub cols: usize,
    pub labels: Vec<u8>,
    pub pixels: Vec<u8>,
}

impl ImageSet {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The `rows * cols` pixels of image `i`, row-major.
    pub fn image(&self, i: usize) -> &[u8] {
        let size = self.rows * self.cols;
        &self.pixels[i * size..(i + 1) * size]
    }
}

fn u32_at(bytes: &[u8], at: usize) -> usize {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize
}

/// Gunzips and checks one image set: magic, non-zero rows and cols, labels 0..=9, and that the
/// length is exactly header + count labels + count * rows * cols pixels.
pub fn decode_images(bytes_gz: &[u8]) -> Result<ImageSet, String> {
    let mut raw = Vec::new();
    GzDecoder::new(bytes_gz).read_to_end(&mut raw).map_err(|e| format!("image set: not a valid gzip stream ({e})"))?;
    if raw.len() < HEADER {
        return Err(format!("image set: {} bytes after gunzip, shorter than the {HEADER}-byte header", raw.len()));
    }
    if &raw[..8] != MAGIC {
        return Err(format!("image set: magic is \"{}\", expected \"{}\"", raw[..8].escape_ascii(), MAGIC.escape_ascii()));
    }
    let (count, rows, cols) = (u32_at(&raw, 8), u32_at(&raw, 12), u32_at(&raw, 16));
    if rows == 0 || cols == 0 {
        return Err(format!("image set: header says {rows}x{cols} images; both sides must be at least 1"));
    }
    let expected = count
        .checked_mul(rows)
        .and_then(|n| n.checked_mul(cols))
        .and_then(|n| n.checked_add(HEADER + count))
        .ok_or_else(|| format!("image set: the size of {count} images of {rows}x{cols} pixels overflows"))?;
    if raw.len() != expected {
        return Err(format!(
            "image set: {} bytes after gunzip, but the header ({count} images of {rows}x{cols}) needs exactly {expected}",
            raw.len()
        ));
    }
    let labels = raw[HEADER..HEADER + count].to_vec();
    if let Some(i) = labels.iter().position(|&l| l > 9) {
        return Err(format!("image set: label {} of image {i} is outside 0..=9", labels[i]));
    }
    let pixels = raw[HEADER + count..].to_vec();
    Ok(ImageSet { rows, cols, labels, pixels })
}

/// Average-pools every image over `factor` x `factor` blocks (factor 1 returns a copy; 28x28
/// becomes 14x14 with 2, 7x7 with 4). The result stays u8: each block mean is rounded to the
/// nearest integer, halves up, in exact integer arithmetic, so a pixel is off from the f64 mean by
/// at most 0.5/255 of full scale once scaled to [0, 1], far below anything a model here resolves,
/// and one type serves all sizes.
///
/// Panics if `factor` is 0 or does not divide both `rows` and `cols`.
pub fn downsample(set: &ImageSet, factor: usize) -> ImageSet {
    assert!(
        factor > 0 && set.rows.is_multiple_of(factor) && set.cols.is_multiple_of(factor),
        "downsample: factor {factor} must be at least 1 and divide {}x{}",
        set.rows,
        set.cols
    );
    let (rows, cols) = (set.rows / factor, set.cols / factor);
    let block = (factor * factor) as u32;
    let mut pixels = Vec::with_capacity(set.len() * rows * cols);
    for i in 0..set.len() {
        let image = set.image(i);
        for r in 0..rows {
            for c in 0..cols {
                let mut sum = 0u32;
                for dr in 0..factor {
                    let start = (r * factor + dr) * set.cols + c * factor;
                    sum += image[start..start + factor].iter().map(|&p| p as u32).sum::<u32>();
                }
                pixels.push(((sum + block / 2) / block) as u8);
            }
        }
    }
    ImageSet { rows, cols, labels: set.labels.clone(), pixels }
}
#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compression, write::GzEncoder};
    use std::io::Write;

    fn gz(raw: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(raw).unwrap();
        e.finish().unwrap()
    }

    fn raw_set(count: u32, rows: u32, cols: u32, labels: &[u8], pixels: &[u8]) -> Vec<u8> {
        let mut raw = MAGIC.to_vec();
        for v in [count, rows, cols] {
            raw.extend_from_slice(&v.to_le_bytes());
        }
        raw.extend_from_slice(labels);
        raw.extend_from_slice(pixels);
        raw
    }

    #[test]
    fn decodes_a_hand_built_set() {
        let set = decode_images(&gz(&raw_set(2, 2, 3, &[7, 0], &[1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 255]))).unwrap();
        assert_eq!((set.rows, set.cols, set.len()), (2, 3, 2));
        assert_eq!(set.labels, vec![7, 0]);
        assert_eq!(set.image(0), &[1, 2, 3, 4, 5, 6]);
        assert_eq!(set.image(1), &[10, 20, 30, 40, 50, 255]);
        assert!(decode_images(&gz(&raw_set(0, 28, 28, &[], &[]))).unwrap().is_empty());
    }

    #[test]
    fn rejects_bad_input_with_a_reason() {
        let err = |raw: Vec<u8>| decode_images(&gz(&raw)).unwrap_err();
        assert!(decode_images(b"not gzip at all").unwrap_err().contains("gzip"));
        assert!(err(MAGIC[..6].to_vec()).contains("header"));
        let mut bad_magic = raw_set(1, 1, 1, &[0], &[0]);
        bad_magic[0] = b'X';
        assert!(err(bad_magic).contains("magic"));
        assert!(err(raw_set(1, 0, 4, &[0], &[])).contains("at least 1"));
        assert!(err(raw_set(2, 1, 2, &[0, 1], &[9, 9, 9])).contains("needs exactly 26"));
        assert!(err(raw_set(1, 1, 1, &[0], &[9, 9])).contains("needs exactly 22"));
        assert!(err(raw_set(1, 1, 1, &[10], &[9])).contains("outside 0..=9"));
        assert!(err(raw_set(u32::MAX, u32::MAX, u32::MAX, &[], &[])).contains("overflows"));
    }

    #[test]
    fn downsample_pools_and_rounds() {
        #[rustfmt::skip]
        let pixels = vec![
            0, 1, 10, 10,
            1, 1, 20, 20,
            255, 255, 0, 0,
            255, 254, 0, 2,
        ];
        let set = ImageSet { rows: 4, cols: 4, labels: vec![3], pixels };
        assert_eq!(downsample(&set, 1), set);
        let half = downsample(&set, 2);
        // Means 0.75, 15, 254.75, 0.5 round to 1, 15, 255, 1 (halves up).
        assert_eq!((half.rows, half.cols, half.labels.clone(), half.pixels.clone()), (2, 2, vec![3], vec![1, 15, 255, 1]));
        // Sum 1084 over 16 is 67.75.
        assert_eq!(downsample(&set, 4).pixels, vec![68]);
    }

    #[test]
    #[should_panic(expected = "must be at least 1 and divide")]
    fn downsample_rejects_a_factor_that_does_not_divide() {
        downsample(&ImageSet { rows: 4, cols: 4, labels: vec![], pixels: vec![] }, 3);
    }
}
