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
    let extent = |r: usize, k: usize, (rs, cs): (isize, isize)| {
        if r == 0 || k == 0 { 0 } else { (r - 1) * rs as usize + (k - 1) * cs as usize + 1 }
    };
    assert!(a.len() >= extent(rows, inner, a_strides) && b.len() >= extent(inner, cols, b_strides) && c.len() >= extent(rows, cols, c_strides));
    // SAFETY: the asserts above keep every strided access inside the slices. The gemm crate
    // computes dst = α·dst + β·lhs·rhs (dst read only when `read_dst`), strides column first.
    unsafe {
        gemm::gemm(
            rows,
            cols,
            inner,
            c.as_mut_ptr(),
            c_strides.1,
            c_strides.0,
            beta != 0.0,
            a.as_ptr(),
            a_strides.1,
            a_strides.0,
            b.as_ptr(),
            b_strides.1,
            b_strides.0,
            beta,
            alpha,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// Rows per block of `gram_upper` (64 measured faster on W2 than 32 or 128: smaller blocks
/// skip more of the lower triangle, but pack the right-hand side more often).
pub const GRAM_BLOCK: usize = 64;

/// Adds the upper triangle (row blocks from the diagonal on) of Aᵀ A to `out` (n × n,
/// row-major), A being rows × n row-major: only the ≈ n(n + 64)/2 column pairs a symmetric
/// result needs are multiplied, one matrix product per block of 64 result rows.
pub fn gram_upper(n: usize, rows: usize, a: &[f64], out: &mut [f64]) {
    for i0 in (0..n).step_by(GRAM_BLOCK) {
        let ni = GRAM_BLOCK.min(n - i0);
        gemm(ni, rows, n - i0, 1.0, &a[i0..], (1, n as isize), &a[i0..], (n as isize, 1), 1.0, &mut out[i0 * n + i0..], (n as isize, 1));
    }
}
