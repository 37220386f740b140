//! `davinci predict matmul M K N` and `davinci predict op NAME SHAPE`: how long one op would take on an
//! Ascend chip, and why ([`davinci::report::predict_run`]). Nothing runs on the host.

use clap::{Args, Subcommand};
use davinci::gpu::GpuDtype;
use davinci::program::{MatmulOptions, TilingHint};
use davinci::report::gpu_predict;
use davinci::report::predict_run::{self, MatmulSizes};
use davinci::sched::flash::FlashProblem;
use davinci::{CubeFormat, DType};

use crate::common::{ChipArgs, CliError, ComputeArg, DTypeArg, MatmulFlags, Outcome};

#[derive(Args, Debug)]
pub struct PredictArgs {
    #[command(subcommand)]
    pub what: PredictCommand,
}

#[derive(Subcommand, Debug)]
pub enum PredictCommand {
    /// Predict one cube_matmul of [M, K] x [K, N].
    Matmul(PredictMatmulArgs),
    /// Predict one vector op (cast, unary, binary, reduction, softmax, layernorm, rmsnorm) on a shape.
    Op(PredictOpArgs),
    /// Predict one fused attention kernel (FlashAttention): scores stay on chip.
    Attention(PredictAttentionArgs),
}

#[derive(Args, Debug)]
pub struct PredictAttentionArgs {
    /// Independent (batch x head) problems.
    #[arg(long, default_value_t = 1)]
    pub heads: usize,
    /// Queries per head.
    #[arg(long)]
    pub sq: usize,
    /// Keys per head (the queries' count by default).
    #[arg(long)]
    pub skv: Option<usize>,
    /// Head dimension of Q, K and V.
    #[arg(long, default_value_t = 128)]
    pub d: usize,
    /// Queries see only earlier keys (the last sq of skv).
    #[arg(long)]
    pub causal: bool,
    #[command(flatten)]
    pub chip: ChipArgs,
}

#[derive(Args, Debug)]
pub struct PredictMatmulArgs {
    pub m: usize,
    pub k: usize,
    pub n: usize,
    #[command(flatten)]
    pub matmul: MatmulFlags,
    /// The Cube format: bf16 or fp16 (16x16x16 per cycle), int8 (16x32x16 into int32, twice the rate),
    /// hf32 (f32 operands, reduced mantissa) or fp32 (about a quarter of the bf16 rate) [default: bf16].
    // The library's names (CubeFormat: FromStr), so the CLI keeps no list of its own.
    /// On an NVIDIA GPU (`--chip h100-sxm`): bf16, fp16, fp8, int8, fp4, tf32 or fp32, each at the GPU's
    /// own rate.
    // Parsed once the chip is known: the library's names (CubeFormat, GpuDtype: FromStr).
    #[arg(long, value_name = "FORMAT", conflicts_with = "dtype_in")]
    pub dtype: Option<String>,
    /// Operand dtype: bf16, or f32 (the Cube's fp32 mode); `--dtype` names every format.
    #[arg(long, value_enum)]
    pub dtype_in: Option<ComputeArg>,
    /// Batch size; above 1, A gets a leading batch dimension (and B too unless --shared-b).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub batch: u64,
    /// With --batch: B is one [K, N] matrix shared by every batch entry (a weight).
    #[arg(long)]
    pub shared_b: bool,
    /// Time a library kernel's fixed base tile (baseM x baseN x baseK, e.g. 128x256x64, walked one tile per
    /// block in row order) instead of the fastest tiling the scheduler finds.
    #[arg(long, value_name = "MxNxK")]
    pub tile: Option<String>,
    /// With --tile: walk the tiles in swizzled groups of N tiles down M (catlass's and pto-dsl's
    /// `swizzle_nz`, which keeps B in L2 when it is larger) instead of row order.
    #[arg(long, value_name = "N", requires = "tile", value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub swizzle: Option<u64>,
    /// B is held in the Cube's NZ layout in global memory (a weight converted once): no ND -> NZ conversion.
    #[arg(long)]
    pub b_nz: bool,
    #[command(flatten)]
    pub chip: ChipArgs,
}

#[derive(Args, Debug)]
pub struct PredictOpArgs {
    /// cast, a unary function (exp, silu, ...), a binary one (add, mul, ...), a reduction (sum, mean,
    /// amax, sumsq), softmax, layernorm or rmsnorm.
    pub name: String,
    /// The input's shape, e.g. 4096x4096 (row ops work along the last axis).
    pub shape: String,
    /// A binary op's second operand (broadcast to the first); the same shape by default.
    #[arg(long, value_name = "SHAPE")]
    pub other: Option<String>,
    /// The input dtype.
    #[arg(long, value_enum, default_value = "bf16")]
    pub dtype: DTypeArg,
    /// The output dtype; the input's by default (for cast: the other one).
    #[arg(long, value_enum)]
    pub dtype_out: Option<DTypeArg>,
    #[command(flatten)]
    pub chip: ChipArgs,
}

pub fn run(args: &PredictArgs) -> Result<Outcome, CliError> {
    match &args.what {
        PredictCommand::Matmul(a) => {
            let batch =
                usize::try_from(a.batch).map_err(|_| CliError::usage("--batch is too large"))?;
            let sizes = MatmulSizes {
                m: a.m,
                k: a.k,
                n: a.n,
                batch,
                shared_b: a.shared_b,
                opts: MatmulOptions {
                    tiling: TilingHint {
                        base_tile: a.tile.as_deref().map(TilingHint::parse_tile).transpose()?,
                        b_nz: a.b_nz,
                        swizzle: a.swizzle.map(|c| c as usize),
                    },
                    ..a.matmul.options()
                },
            };
            if let Some(gpu) = a.chip.gpu()? {
                let dtype = match (&a.dtype, a.dtype_in) {
                    (Some(d), _) => d.parse::<GpuDtype>()?,
                    (None, Some(ComputeArg::F32)) => GpuDtype::Fp32,
                    (None, _) => GpuDtype::Bf16,
                };
                return Ok(gpu_predict::matmul(&sizes, dtype, &gpu)?);
            }
            let target = a.chip.target()?;
            let format = match (&a.dtype, a.dtype_in) {
                (Some(f), _) => f.parse::<CubeFormat>()?,
                (None, d) => CubeFormat::of_dtype(d.unwrap_or_default().into()),
            };
            Ok(predict_run::matmul(&sizes, format, &target)?)
        }
        PredictCommand::Attention(a) => {
            if let Some(g) = a.chip.gpu()? {
                return Err(CliError::usage(format!(
                    "predict attention is modelled for Ascend chips only; {} has no fused-attention model \
                     yet (predict its two matmuls and the softmax with `predict matmul` and `predict op`)",
                    g.name
                )));
            }
            let target = a.chip.target()?;
            let p = FlashProblem {
                heads: a.heads,
                sq: a.sq,
                skv: a.skv.unwrap_or(a.sq),
                d: a.d,
                dv: a.d,
                causal: a.causal,
            };
            Ok(predict_run::attention(&p, &target)?)
        }
        PredictCommand::Op(a) => {
            if let Some(gpu) = a.chip.gpu()? {
                return Ok(gpu_predict::op(
                    &a.name,
                    &a.shape,
                    a.other.as_deref(),
                    a.dtype.into(),
                    a.dtype_out.map(DType::from),
                    &gpu,
                )?);
            }
            let target = a.chip.target()?;
            Ok(predict_run::op(
                &a.name,
                &a.shape,
                a.other.as_deref(),
                a.dtype.into(),
                a.dtype_out.map(DType::from),
                &target,
            )?)
        }
    }
}
