//! How each kind of row is predicted: through the same recordings and cost models that
//! `davinci predict`, the cluster model and the collective costs give users, so that what is validated
//! is what they run.

use super::table::{Case, Launch, Row};
use crate::chip::ChipSpec;
use crate::cluster::collectives;
use crate::cluster::models::ModelSpec;
use crate::cluster::moe_kernel::MoeMode;
use crate::cluster::plan::{Plan, Workload};
use crate::cluster::topology::{ClusterSpec, RankUnit};
use crate::program::{CubeFormat, MatmulOptions, Program, TilingHint};
use crate::report::ops::{OpName, parse_shape};
use crate::report::predict_run::MatmulSizes;
use crate::sched::flash::{FlashProblem, predict_flash};
use crate::sched::predict;
use crate::tensor::DType;
use crate::units::Bytes;
use crate::{Error, Result};

/// The row's value as the model predicts it, in the row's unit, and what bound it; `None` for a row the
/// model does not cover.
pub fn predict_row(row: &Row) -> Result<Option<(f64, String)>> {
    let bad = |what: String| Error::Invalid(format!("measurement row '{}': {what}", row.id));
    let unit_err = || {
        bad(format!(
            "unit {} does not fit a {} case",
            row.unit,
            kind(&row.case)
        ))
    };
    let got = match &row.case {
        Case::NotCovered { .. } => return Ok(None),
        Case::Matmul {
            chip,
            m,
            k,
            n,
            dtype,
            trans_b,
            tile,
            b_nz,
            swizzle,
        } => {
            let chip = ChipSpec::resolve(chip)?;
            let tiling = TilingHint {
                base_tile: tile.as_deref().map(TilingHint::parse_tile).transpose()?,
                b_nz: *b_nz,
                swizzle: *swizzle,
            };
            let format: CubeFormat = dtype.parse()?;
            let sizes = MatmulSizes {
                m: *m,
                k: *k,
                n: *n,
                batch: 1,
                shared_b: false,
                opts: MatmulOptions {
                    trans_b: *trans_b,
                    format: Some(format),
                    tiling,
                    // 16-bit results (fp16 or bf16, two bytes) for 16-bit operands, as torch returns them.
                    dtype_out: if format.in_bytes() <= 2 {
                        DType::Bf16
                    } else {
                        DType::F32
                    },
                    ..MatmulOptions::default()
                },
            };
            let p = sizes.record(format.operand_dtype())?;
            let pred = predict(&p, &chip)?;
            let t = pred.total.0 + dispatch(row, &chip);
            if row.unit == "%" {
                // The share of the matmul's operand reads that L2 serves (msprof's L2 hit rate).
                let hit = pred
                    .ops
                    .iter()
                    .find_map(|o| match &o.plan {
                        crate::sched::Plan::Matmul(e) => Some(e.l2_read_hit),
                        _ => None,
                    })
                    .ok_or_else(|| bad("no matmul in the recording".into()))?;
                (100.0 * hit, pred.bound.name().to_string())
            } else {
                let value = timed(row, t, Some(pred.flops.0), None).ok_or_else(unit_err)?;
                (value, pred.bound.name().to_string())
            }
        }
        Case::Attention {
            chip,
            heads,
            sq,
            skv,
            d,
            causal,
        } => {
            let chip = ChipSpec::resolve(chip)?;
            let p = FlashProblem {
                heads: *heads,
                sq: *sq,
                skv: *skv,
                d: *d,
                dv: *d,
                causal: *causal,
            };
            let e = predict_flash(&chip, &p)?;
            let t = e.time.0 + dispatch(row, &chip);
            let value = timed(row, t, Some(e.flops.0), None).ok_or_else(unit_err)?;
            (value, e.bound.name().to_string())
        }
        Case::CubePeak { chip, dtype } => {
            let chip = ChipSpec::resolve(chip)?;
            let format: CubeFormat = dtype.parse()?;
            if row.unit != "TFLOPS" {
                return Err(unit_err());
            }
            (chip.sustained_peak(format).0 / 1e12, "cube".to_string())
        }
        Case::Vector {
            chip,
            op,
            shape,
            dtype,
        } => {
            let chip = ChipSpec::resolve(chip)?;
            let dt: DType = dtype.parse()?;
            let shape = parse_shape(shape)?;
            let op: OpName = op.parse()?;
            let mut p = Program::new();
            let x = p.input("x", shape.clone(), dt);
            let out = op.record(&mut p, x, &shape, dt, None, None)?;
            p.output(out)?;
            let pred = predict(&p, &chip)?;
            let t = pred.total.0 + dispatch(row, &chip);
            // The bytes the op itself reads and writes (its inputs and its result), as the figures count them.
            let tensors = if matches!(op, OpName::Binary(_)) {
                3
            } else {
                2
            };
            let bytes = (shape.numel() * dt.size() * tensors) as f64;
            let value = timed(row, t, None, Some(bytes)).ok_or_else(unit_err)?;
            (value, pred.bound.name().to_string())
        }
        Case::Collective {
            cluster,
            chip,
            nodes,
            collective,
            devices,
            bytes,
        } => {
            let c = cluster_with(cluster, chip.as_deref(), *nodes)?;
            if *devices < 2 || *devices > c.chips() {
                return Err(bad(format!(
                    "{devices} devices: the cluster has {} chips",
                    c.chips()
                )));
            }
            let g = c.group(RankUnit::Chip, *devices, 1);
            let s = Bytes(*bytes as f64);
            let cost = collectives::by_name(collective, &g, s)?;
            // In GB/s: nccl-tests' algorithm bandwidth, the buffer over the time.
            let value = timed(row, cost.time.0, None, Some(s.0)).ok_or_else(unit_err)?;
            (
                value,
                format!("{} over {}", cost.algorithm.name(), cost.tier.name()),
            )
        }
        Case::Moe {
            cluster,
            collective,
            devices,
            rank,
            mode,
            tokens,
            hidden,
            topk,
            experts,
            dtype,
        } => {
            let parse = |what: &str, v: &str, ok: &[&str]| {
                if ok.contains(&v) {
                    Ok(())
                } else {
                    Err(bad(format!("{what} '{v}': one of {}", ok.join(", "))))
                }
            };
            parse("rank", rank, &["chip", "die"])?;
            parse("mode", mode, &["normal", "low-latency"])?;
            parse("dtype", dtype, &["int8", "bf16"])?;
            let r = crate::report::collective_run::CollectiveRequest {
                name: collective.clone(),
                cluster: ClusterSpec::resolve(cluster)?,
                devices: *devices,
                bytes: None,
                moe: Some(crate::report::collective_run::MoeArgs {
                    tokens: *tokens,
                    hidden: *hidden,
                    top_k: *topk,
                    experts: *experts,
                    bytes_per_elem: if dtype == "int8" { 1.0 } else { 2.0 },
                    mode: Some(if mode == "normal" {
                        MoeMode::Normal
                    } else {
                        MoeMode::LowLatency
                    }),
                }),
                rank: if rank == "die" {
                    RankUnit::Die
                } else {
                    RankUnit::Chip
                },
            };
            let timing = crate::report::collective_run::time(&r)?;
            let (p, bw) = timing
                .kernel
                .ok_or_else(|| bad("the cluster's chip is not an Ascend chip".into()))?;
            let value = match row.unit.as_str() {
                "us" => p.total.0 / 1e3,
                "GB/s" => bw / 1e9,
                _ => return Err(unit_err()),
            };
            // The phase that takes longest.
            let phases = [
                ("setup", p.setup.0),
                ("send", p.send.0),
                ("flags", p.sync.0),
                ("receive", p.receive.0),
            ];
            let top = phases
                .iter()
                .fold(phases[0], |a, b| if b.1 > a.1 { *b } else { a });
            (
                value,
                format!("{} kernel, {} longest", p.mode.name(), top.0),
            )
        }
        Case::Train {
            cluster,
            nodes,
            model,
            seq,
            batch,
            plan,
        } => {
            if row.unit != "tokens/s/chip" {
                return Err(unit_err());
            }
            let c = cluster_with(cluster, None, *nodes)?;
            let m = ModelSpec::preset(model)?;
            let w = Workload::Train {
                batch: *batch,
                seq: *seq,
            };
            let pred = match plan {
                Some(text) => crate::cluster::step::predict_step(&m, &c, &Plan::parse(text)?, &w)?,
                None => {
                    let plans = crate::cluster::sweep::candidates(&m, &c, &w);
                    let (ranked, _) =
                        crate::cluster::sweep::sweep(&m, &c, &w, &plans, &mut |_, _| {})?;
                    ranked
                        .into_iter()
                        .next()
                        .ok_or_else(|| bad(format!("no plan of {model} fits {}", c.name)))?
                }
            };
            let bound = format!(
                "{} ({:.0}% compute, MFU {:.0}%)",
                pred.plan,
                100.0 * pred.compute.0 / pred.step.0.max(1e-9),
                100.0 * pred.mfu
            );
            (pred.tokens_per_s_per_chip, bound)
        }
    };
    if !got.0.is_finite() || got.0 <= 0.0 {
        return Err(bad(format!("the model predicted {} {}", got.0, row.unit)));
    }
    Ok(Some(got))
}

/// A kernel's time `t` (ns) in the row's unit: microseconds, TFLOPS of `flops`, or GB/s of `bytes`;
/// `None` where the unit does not fit what the case gives.
fn timed(row: &Row, t: f64, flops: Option<f64>, bytes: Option<f64>) -> Option<f64> {
    match row.unit.as_str() {
        "us" => Some(t / 1e3),
        // FLOP per ns is GFLOP/s.
        "TFLOPS" => flops.map(|f| f / t / 1e3),
        // Bytes per ns is GB/s.
        "GB/s" => bytes.map(|b| b / t),
        _ => None,
    }
}

/// The host dispatch a framework-timed figure includes, in ns (0 for device timing): for one kernel, what
/// `sched::launch`'s framework mode gives (the kernel starts after one dispatch).
fn dispatch(row: &Row, chip: &ChipSpec) -> f64 {
    match row.launch {
        Launch::Device => 0.0,
        Launch::Framework => chip.framework_dispatch_us.value * 1e3,
    }
}

fn kind(c: &Case) -> &'static str {
    match c {
        Case::Attention { .. } => "attention",
        Case::Matmul { .. } => "matmul",
        Case::CubePeak { .. } => "cube_peak",
        Case::Vector { .. } => "vector",
        Case::Collective { .. } => "collective",
        Case::Moe { .. } => "moe",
        Case::Train { .. } => "train",
        Case::NotCovered { .. } => "not_covered",
    }
}

/// A cluster preset, with another chip or node count where a row's conditions differ from the preset's.
fn cluster_with(name: &str, chip: Option<&str>, nodes: Option<usize>) -> Result<ClusterSpec> {
    let mut c = ClusterSpec::resolve(name)?;
    if let Some(chip) = chip {
        c.chip = ChipSpec::resolve(chip)?.into();
    }
    if let Some(n) = nodes {
        c.nodes.value = n as f64;
        c.nodes.source = "the measurement's conditions".into();
    }
    c.validate()?;
    Ok(c)
}
