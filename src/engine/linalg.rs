//! The engine's one matrix-product path: a strided f64 GEMM (C = αAB + βC) and the
//! upper-triangle Gram product built on it. Every matrix product of the models goes through
//! here, so changing the library behind it changes one file. The library is the `gemm` crate
//! with its AVX-512 kernels (feature `x86-v4`, chosen at run time by CPU detection; AVX2/FMA or
//! SSE kernels on CPUs without it), single-threaded per call: the models split their work into
//! fixed chunks themselves, so results are bit-identical whatever the number of threads.
//! Measured against matrixmultiply by `catapult-lab bench` (its header prints both rates).

/// C (rows × cols) = alpha · A (rows × inner) · B (inner × cols) + beta · C (beta = 0
/// overwrites, 1 accumulates), strides in elements.
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    rows: usize,
    inner: usize,
    cols: usize,
    alpha: f64,
    a: &[f64],
    a_strides: (isize, isize),
    b: &[f64],
    b_strides: (isize, isize),
    beta: f64,
    c: &mut [f64],
    c_strides: (isize, isize),
) {
    assert!(a.len() >= extent(rows, inner, a_strides) && b.len() >= extent(inner, cols, b_strides) && c.len() >= extent(rows, cols, c_strides));
    // SAFETY: the assert keeps every strided access inside the slices.
    unsafe { raw_gemm(rows, inner, cols, alpha, a.as_ptr(), a_strides, b.as_ptr(), b_strides, beta, c.as_mut_ptr(), c_strides) }
}

/// `gemm` into a row-major C (rows × cols) with C's columns split into `parts` contiguous
/// blocks (bounds from the shape only), each block one single-threaded GEMM call on its own
/// thread writing its columns of C in place. Each entry is the same call's sum whatever the
/// number of threads, so the bits do not depend on it. B's column j starts at
/// `b[j · b_strides.1]`.
#[allow(clippy::too_many_arguments)]
pub fn gemm_column_parts(rows: usize, inner: usize, cols: usize, alpha: f64, a: &[f64], a_strides: (isize, isize), b: &[f64], b_strides: (isize, isize), beta: f64, c: &mut [f64], parts: usize) {
    use rayon::prelude::*;
    assert!(a.len() >= extent(rows, inner, a_strides) && b.len() >= extent(inner, cols, b_strides) && c.len() >= rows * cols);
    if rows == 0 || cols == 0 || inner == 0 {
        gemm(rows, inner, cols, alpha, a, a_strides, b, b_strides, beta, c, (cols as isize, 1));
        return;
    }
    let chunk = cols.div_ceil(parts.max(1));
    /// C's base pointer, shared by the parts (each writes only its own columns).
    struct Shared(*mut f64);
    // SAFETY: the parts write disjoint columns of C; C outlives the parallel loop.
    unsafe impl Sync for Shared {}
    let shared = Shared(c.as_mut_ptr());
    let shared = &shared;
    (0..cols.div_ceil(chunk)).into_par_iter().for_each(|i| {
        let c0 = i * chunk;
        let width = chunk.min(cols - c0);
        // SAFETY: the assert above keeps every access inside A, B and C; columns c0..c0 + width
        // of C belong to this part only.
        unsafe { raw_gemm(rows, inner, width, alpha, a.as_ptr(), a_strides, b.as_ptr().offset(c0 as isize * b_strides.1), b_strides, beta, shared.0.add(c0), (cols as isize, 1)) }
    });
}

/// One past the last element a rows × cols matrix with these strides touches (0 when empty).
fn extent(rows: usize, cols: usize, (rs, cs): (isize, isize)) -> usize {
    if rows == 0 || cols == 0 { 0 } else { (rows - 1) * rs as usize + (cols - 1) * cs as usize + 1 }
}

/// The gemm crate's product on raw pointers, single-threaded. The gemm crate computes
/// dst = α·dst + β·lhs·rhs (dst read only when `read_dst`), strides column first.
///
/// # Safety
/// Every strided access of the three matrices must lie inside their allocations, and C must
/// not overlap A or B.
#[allow(clippy::too_many_arguments)]
unsafe fn raw_gemm(rows: usize, inner: usize, cols: usize, alpha: f64, a: *const f64, a_strides: (isize, isize), b: *const f64, b_strides: (isize, isize), beta: f64, c: *mut f64, c_strides: (isize, isize)) {
    unsafe {
        gemm::gemm(rows, cols, inner, c, c_strides.1, c_strides.0, beta != 0.0, a, a_strides.1, a_strides.0, b, b_strides.1, b_strides.0, beta, alpha, false, false, false, gemm::Parallelism::None);
    }
}

/// Rows per block of `gram_lower`: smaller blocks skip more of the other triangle but pack the
/// right-hand side more often. W2's 256 × 256 blocks over 256 neurons, one thread, on the AMD
/// EPYC (Zen 5) machine of the sixth session: 32 rows 178–194 µs, 64 rows 211–230, 16 rows
/// 206–221, 8 rows 334 (the same bits for 32 and 64); W2's kernel() 19.0–23.1 → 17.3–19.8 ms
/// (min of 40, eight interleaved pairs). (64 had measured faster on the earlier Intel machine.)
pub const GRAM_BLOCK: usize = 32;

/// Adds the lower triangle of Aᵀ A to `out` (n × n, row-major), A being rows × n row-major:
/// entry (j, i) for j ≥ i, in column blocks of `GRAM_BLOCK` from the diagonal down (a block
/// also adds the strictly upper entries of its diagonal square). Only the ≈ n(n + 32)/2 column
/// pairs a symmetric result needs are multiplied, one matrix product per block; each block is
/// written column-major (the gemm crate writes these shapes 12 % faster so than row-major, with
/// the same bits), which lands it in the lower triangle.
pub fn gram_lower(n: usize, rows: usize, a: &[f64], out: &mut [f64]) {
    for i0 in (0..n).step_by(GRAM_BLOCK) {
        let ni = GRAM_BLOCK.min(n - i0);
        gemm(ni, rows, n - i0, 1.0, &a[i0..], (1, n as isize), &a[i0..], (n as isize, 1), 1.0, &mut out[i0 * n + i0..], (1, n as isize));
    }
}
