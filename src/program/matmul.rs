//! `cube_matmul` as recorded: options, and the geometry (batch, M, K, N and element strides) that recording
//! derives from the operand shapes. Shape rules:
//!
//! - A is `[M, K]` (or `[K, M]` with `trans_a`), optionally with a leading batch dimension.
//! - B is `[K, N]` (or `[N, K]` with `trans_b`), optionally with a leading batch dimension.
//! - With one operand batched and the other not, the unbatched one is shared by every batch entry; with
//!   both batched the batch sizes must be equal.
//! - The result is `[M, N]`, or `[batch, M, N]` when either operand is batched.

use super::TensorDesc;
use super::format::CubeFormat;
use crate::numerics::Accumulation;
use crate::tensor::{DType, Shape};
use crate::{Error, Result};

const OP: &str = "cube_matmul";

/// int8 products are at most 2^14 in magnitude, so an int32 sum of K of them cannot wrap for K < 2^17.
pub const MAX_INT8_K: usize = 1 << 17;

/// How `cube_matmul` is to be computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MatmulOptions {
    /// A is stored transposed, `[K, M]`.
    pub trans_a: bool,
    /// B is stored transposed, `[N, K]` (a torch `Linear` weight).
    pub trans_b: bool,
    /// f32 (the L0C accumulator as is; for int8, converted to f32 and dequantised when scales are
    /// given), bf16 or f16 (rounded once, as FixPipe does), or i32 (int8's raw accumulator).
    pub dtype_out: DType,
    /// The order of the additions.
    pub accumulate: Accumulation,
    /// The Cube format; `None` follows the operands (bf16, or the fp32 mode for f32 operands).
    pub format: Option<CubeFormat>,
    /// How the timing model tiles the matmul; the values do not depend on it.
    pub tiling: TilingHint,
}

/// What the timing model is told about a matmul's kernel beyond its sizes (no effect on the values).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
pub struct TilingHint {
    /// A fixed base tile `[baseM, baseN, baseK]` (clipped to the problem), one tile per block, the tiles
    /// handed to the cores in turn in row order: a library kernel's fixed tiling. `None`: the fastest
    /// tiling the scheduler finds.
    pub base_tile: Option<[usize; 3]>,
    /// B is held in global memory in the Cube's NZ fractal layout (a weight converted once, as catlass
    /// and ATC can do), so its copies into L1 need no ND -> NZ conversion.
    pub b_nz: bool,
    /// With a fixed base tile: the tiles walked in swizzled groups of this many N-tiles (catlass's and
    /// pto-dsl's `swizzle_nz`) instead of row order.
    pub swizzle: Option<usize>,
}

impl TilingHint {
    /// Parses a base tile written `MxNxK` (e.g. `128x256x64`): each a multiple of 16, at most 4096.
    pub fn parse_tile(text: &str) -> crate::Result<[usize; 3]> {
        let bad = || {
            crate::Error::Usage(format!(
                "tile '{text}': expected baseM x baseN x baseK, each a multiple of 16 up to 4096, e.g. 128x256x64"
            ))
        };
        let parts: Vec<usize> = text
            .split('x')
            .map(|p| p.trim().parse::<usize>().map_err(|_| bad()))
            .collect::<crate::Result<_>>()?;
        match parts[..] {
            [m, n, k] if [m, n, k].iter().all(|&v| v > 0 && v % 16 == 0 && v <= 4096) => {
                Ok([m, n, k])
            }
            _ => Err(bad()),
        }
    }
}

impl Default for MatmulOptions {
    fn default() -> Self {
        MatmulOptions {
            trans_a: false,
            trans_b: false,
            dtype_out: DType::F32,
            accumulate: Accumulation::Tree16,
            format: None,
            tiling: TilingHint::default(),
        }
    }
}

/// Sizes and element strides of one `cube_matmul`, derived once at recording.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MatmulGeometry {
    pub batch: usize,
    pub m: usize,
    pub k: usize,
    pub n: usize,
    /// Whether the result carries a batch dimension (rank 3).
    pub batched_out: bool,
    /// The Cube format it runs in (asked for, or the operands').
    pub format: CubeFormat,
    /// Whether the operands are f32 (the Cube's fp32 mode) rather than bf16.
    pub f32_inputs: bool,
    /// Element (b, m, k) of A is at `b * a_batch + m * a_m + k * a_k`.
    pub a_batch: usize,
    pub a_m: usize,
    pub a_k: usize,
    /// Element (b, k, n) of B is at `b * b_batch + k * b_k + n * b_n`.
    pub b_batch: usize,
    pub b_k: usize,
    pub b_n: usize,
}

impl MatmulGeometry {
    /// Checks dtypes and shapes and derives the geometry; every error names the op and both shapes.
    pub fn infer(a: &TensorDesc, b: &TensorDesc, opts: &MatmulOptions) -> Result<Self> {
        // Both operands in the format's dtype: bf16, f16, fp8, int8, or f32 for the fp32 and hf32 modes.
        let format = opts.format.unwrap_or(CubeFormat::of_dtype(a.dtype));
        let want = format.operand_dtype();
        if a.dtype != want || b.dtype != want {
            return Err(Error::dtype(
                OP,
                format!(
                    "the {format} format takes {want} operands, but A ('{}') is {} {} and B ('{}') is \
                     {} {}; cast them first",
                    a.name, a.dtype, a.shape, b.name, b.dtype, b.shape
                ),
            ));
        }
        let acc_dtype = format.accumulator_dtype();
        if format == CubeFormat::Int8 && opts.accumulate.narrowing().is_some() {
            return Err(Error::Invalid(format!(
                "{OP}: the {} accumulator is an f32 experiment; int8 accumulates exactly in int32, so use \
                 tree16 (A is {}, B is {})",
                opts.accumulate, a.shape, b.shape
            )));
        }
        let outs_ok = match format {
            CubeFormat::Int8 => matches!(
                opts.dtype_out,
                DType::I32 | DType::F32 | DType::Bf16 | DType::F16
            ),
            _ => matches!(opts.dtype_out, DType::F32 | DType::Bf16 | DType::F16),
        };
        if !outs_ok {
            return Err(Error::dtype(
                OP,
                format!(
                    "the {format} format's result can be {} (the {acc_dtype} accumulator), bf16 or f16, \
                     not {}",
                    if format == CubeFormat::Int8 {
                        "i32 or f32"
                    } else {
                        "f32"
                    },
                    opts.dtype_out
                ),
            ));
        }
        let both = || format!("A is {} and B is {}", a.shape, b.shape);
        let split = |d: &TensorDesc, which: &str| -> Result<(Option<usize>, usize, usize)> {
            match *d.shape.dims() {
                [r, c] => Ok((None, r, c)),
                [bt, r, c] => Ok((Some(bt), r, c)),
                _ => Err(Error::shape(
                    OP,
                    format!(
                        "{which} must have rank 2 or 3 (an optional batch dimension), but {}",
                        both()
                    ),
                )),
            }
        };
        let (ab, a0, a1) = split(a, "A")?;
        let (bb, b0, b1) = split(b, "B")?;
        let (m, ka) = if opts.trans_a { (a1, a0) } else { (a0, a1) };
        let (kb, n) = if opts.trans_b { (b1, b0) } else { (b0, b1) };
        if a.shape.dims().contains(&0) || b.shape.dims().contains(&0) {
            return Err(Error::shape(
                OP,
                format!("every dimension must be at least 1, but {}", both()),
            ));
        }
        if ka != kb {
            return Err(Error::shape(
                OP,
                format!(
                    "the K dimensions differ: {} gives M={m}, K={ka}{}; B gives K={kb}, N={n}{}",
                    both(),
                    if opts.trans_a { " (A transposed)" } else { "" },
                    if opts.trans_b { " (B transposed)" } else { "" },
                ),
            ));
        }
        let batch = match (ab, bb) {
            (Some(x), Some(y)) if x != y => {
                return Err(Error::shape(
                    OP,
                    format!("the batch sizes differ ({x} and {y}): {}", both()),
                ));
            }
            (Some(x), _) | (None, Some(x)) => x,
            (None, None) => 1,
        };
        let k = ka;
        if format == CubeFormat::Int8 && k >= MAX_INT8_K {
            return Err(Error::shape(
                OP,
                format!(
                    "int8 with K = {k}: the int32 accumulator could wrap (|sum| up to 2^14 K); K must be \
                     below {MAX_INT8_K} = 2^17. Split K into parts and add them in f32, or use bf16"
                ),
            ));
        }
        let (a_m, a_k) = if opts.trans_a { (1, m) } else { (k, 1) };
        let (b_k, b_n) = if opts.trans_b { (1, k) } else { (n, 1) };
        let g = MatmulGeometry {
            batch,
            m,
            k,
            n,
            batched_out: ab.is_some() || bb.is_some(),
            format,
            f32_inputs: a.dtype == DType::F32,
            a_batch: if ab.is_some() { m * k } else { 0 },
            a_m,
            a_k,
            b_batch: if bb.is_some() { k * n } else { 0 },
            b_k,
            b_n,
        };
        if g.out_shape().checked_numel().is_none() {
            return Err(Error::shape(
                OP,
                format!("the result is too large to address: {}", both()),
            ));
        }
        Ok(g)
    }

    /// Shape of the result.
    pub fn out_shape(&self) -> Shape {
        if self.batched_out {
            Shape::new([self.batch, self.m, self.n])
        } else {
            Shape::new([self.m, self.n])
        }
    }

    /// Multiply-accumulates in the whole op (2 FLOPs each).
    pub fn flops(&self) -> f64 {
        2.0 * self.batch as f64 * self.m as f64 * self.k as f64 * self.n as f64
    }
}

/// One recorded `cube_matmul`.
#[derive(Clone, Debug, PartialEq)]
pub struct MatmulOp {
    pub a: super::TensorId,
    pub b: super::TensorId,
    pub out: super::TensorId,
    pub options: MatmulOptions,
    pub geometry: MatmulGeometry,
    /// What FixPipe applies on the way out (identity unless recorded with `cube_matmul_fused`).
    pub epilogue: super::Epilogue,
    /// FixPipe's dequantisation of an int8 accumulator, before the epilogue.
    pub dequant: Option<super::Dequant>,
}
