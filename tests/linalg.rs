//! The engine's one GEMM path (`linalg::gemm`, the gemm crate) against a naive triple loop on
//! odd shapes, transposed operands and both beta values, the in-place column parts, and the
//! Gram lower triangle.

use catapult_lab::engine::linalg::{GRAM_BLOCK, gemm, gemm_column_parts, gram_lower};

fn naive(rows: usize, inner: usize, cols: usize, a: impl Fn(usize, usize) -> f64, b: impl Fn(usize, usize) -> f64) -> Vec<f64> {
    let mut c = vec![0.0; rows * cols];
    for i in 0..rows {
        for j in 0..cols {
            c[i * cols + j] = (0..inner).map(|k| a(i, k) * b(k, j)).sum();
        }
    }
    c
}

fn values(len: usize, salt: usize) -> Vec<f64> {
    (0..len).map(|i| (((i + salt) * 7919) % 2003) as f64 / 1001.0 - 1.0).collect()
}

#[test]
fn gemm_equals_a_triple_loop_on_odd_shapes_and_transposes() {
    for &(rows, inner, cols) in &[(1, 1, 1), (1, 7, 3), (7, 1, 63), (63, 257, 7), (257, 63, 65), (100, 300, 1), (2, 513, 129)] {
        let a = values(rows * inner, 1);
        let b = values(inner * cols, 2);
        let prior = values(rows * cols, 3);
        for (transpose_a, transpose_b) in [(false, false), (true, false), (false, true), (true, true)] {
            // A stored row-major as rows × inner, or as its transpose (inner × rows).
            let a_strides = if transpose_a { (1, rows as isize) } else { (inner as isize, 1) };
            let b_strides = if transpose_b { (1, inner as isize) } else { (cols as isize, 1) };
            let a_at = |i: usize, k: usize| if transpose_a { a[k * rows + i] } else { a[i * inner + k] };
            let b_at = |k: usize, j: usize| if transpose_b { b[j * inner + k] } else { b[k * cols + j] };
            let expected = naive(rows, inner, cols, a_at, b_at);
            let scale = expected.iter().fold(1.0f64, |m, v| m.max(v.abs()));
            for beta in [0.0, 1.0] {
                let mut c = prior.clone();
                gemm(rows, inner, cols, 0.5, &a, a_strides, &b, b_strides, beta, &mut c, (cols as isize, 1));
                for (k, (&got, &want)) in c.iter().zip(&expected).enumerate() {
                    let want = 0.5 * want + beta * prior[k];
                    assert!((got - want).abs() <= 1e-12 * scale, "{rows}×{inner}×{cols} tA={transpose_a} tB={transpose_b} β={beta}: [{k}] {got} vs {want}");
                }
            }
        }
    }
}

#[test]
fn gram_lower_adds_the_lower_triangle_of_a_transpose_a() {
    for &(n, rows) in &[(1, 3), (65, 7), (130, 40)] {
        let a = values(rows * n, 5);
        let prior = values(n * n, 6);
        let mut out = prior.clone();
        gram_lower(n, rows, &a, &mut out);
        for i in 0..n {
            for j in 0..n {
                let want: f64 = (0..rows).map(|r| a[r * n + i] * a[r * n + j]).sum();
                if j >= i {
                    // Added below the diagonal (and on it).
                    assert!((out[j * n + i] - prior[j * n + i] - want).abs() <= 1e-12 * (1.0 + want.abs()), "n={n} [{j},{i}]");
                } else if i / GRAM_BLOCK != j / GRAM_BLOCK {
                    // Above the diagonal outside the diagonal squares: untouched.
                    assert_eq!(out[j * n + i].to_bits(), prior[j * n + i].to_bits(), "n={n} [{j},{i}]");
                }
            }
        }
    }
}

#[test]
fn column_parts_equal_a_triple_loop_and_leave_nothing_else_written() {
    for &(rows, inner, cols) in &[(1, 5, 9), (7, 63, 257), (33, 100, 64), (128, 17, 1000)] {
        let a = values(rows * inner, 4);
        let b = values(inner * cols, 5);
        let prior = values(rows * cols, 6);
        for transpose_b in [false, true] {
            let b_strides = if transpose_b { (1, inner as isize) } else { (cols as isize, 1) };
            let b_at = |k: usize, j: usize| if transpose_b { b[j * inner + k] } else { b[k * cols + j] };
            let expected = naive(rows, inner, cols, |i, k| a[i * inner + k], b_at);
            let scale = expected.iter().fold(1.0f64, |m, v| m.max(v.abs()));
            for parts in [1, 2, 3, 4, 7] {
                for beta in [0.0, 1.0] {
                    // One guard entry after C must stay as it was.
                    let mut c = prior.clone();
                    c.push(42.0);
                    gemm_column_parts(rows, inner, cols, -0.75, &a, (inner as isize, 1), &b, b_strides, beta, &mut c, parts);
                    assert_eq!(c[rows * cols], 42.0);
                    for (k, &got) in c[..rows * cols].iter().enumerate() {
                        let want = -0.75 * expected[k] + beta * prior[k];
                        assert!((got - want).abs() <= 1e-12 * scale, "{rows}×{inner}×{cols} parts={parts} β={beta} tB={transpose_b}: [{k}] {got} vs {want}");
                    }
                }
            }
        }
    }
}
