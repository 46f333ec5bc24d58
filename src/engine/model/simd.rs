//! Which vector instructions the hot per-neuron loops run with, chosen once at run time.
//!
//! The release build targets baseline x86-64 (SSE2: two f64 lanes), so the binary runs on
//! any x86-64 machine. The few loops that dominate a step are written with `multiversion!`,
//! which compiles them again with AVX2 (four lanes) and AVX-512 (eight lanes) enabled, and
//! `level()` picks the widest the CPU has. No loop uses fused multiply-add (Rust never
//! contracts a·b + c on its own) and every reduction keeps its fixed lanes, so all levels
//! give bit-identical results; `CATAPULT_SIMD=baseline|avx2|avx512` forces a level (capped
//! at what the CPU has), which the tests use to check exactly that.

use std::sync::OnceLock;

/// A set of vector instructions, narrowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Baseline,
    Avx2,
    Avx512,
}

impl Level {
    /// The name `CATAPULT_SIMD` and the benchmark use.
    pub fn name(self) -> &'static str {
        match self {
            Level::Baseline => "baseline",
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
        }
    }
}

/// The widest level this CPU supports.
pub fn detected() -> Level {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512vl") && std::arch::is_x86_feature_detected!("avx2") {
            return Level::Avx512;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            return Level::Avx2;
        }
    }
    Level::Baseline
}

/// The level the loops use: `detected()`, or `CATAPULT_SIMD` when it names a narrower one.
pub fn level() -> Level {
    static LEVEL: OnceLock<Level> = OnceLock::new();
    *LEVEL.get_or_init(|| {
        let wanted = match std::env::var("CATAPULT_SIMD").ok().as_deref() {
            Some("baseline") => Level::Baseline,
            Some("avx2") => Level::Avx2,
            _ => Level::Avx512,
        };
        wanted.min(detected())
    })
}

/// Defines `fn name(args) -> ret { body }` compiled three times (baseline, AVX2, AVX-512)
/// and dispatching on `level()`. The function may not be generic and takes no `self`.
macro_rules! multiversion {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty $body:block) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) -> $ret {
            #[inline(always)]
            fn body($($arg: $ty),*) -> $ret $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512vl,avx2,avx")]
                fn avx512($($arg: $ty),*) -> $ret {
                    body($($arg),*)
                }
                #[target_feature(enable = "avx2,avx")]
                fn avx2($($arg: $ty),*) -> $ret {
                    body($($arg),*)
                }
                match $crate::engine::model::simd::level() {
                    // SAFETY: `level()` only returns a level whose features the CPU has.
                    $crate::engine::model::simd::Level::Avx512 => return unsafe { avx512($($arg),*) },
                    // SAFETY: as above.
                    $crate::engine::model::simd::Level::Avx2 => return unsafe { avx2($($arg),*) },
                    $crate::engine::model::simd::Level::Baseline => {}
                }
            }
            body($($arg),*)
        }
    };
}
pub(crate) use multiversion;
