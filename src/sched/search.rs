//! The choice of a matmul's tiling: every candidate that [`super::tiling`] offers (base tiles, block
//! grids that fit the cores, and on a multi-die chip both die splits) is timed by
//! [`super::matmul::evaluate`], and the fastest wins (the first one on a tie, so the choice is
//! deterministic). The candidate set only grows with more cores, and no candidate slows down with more
//! bandwidth, so neither can make a prediction slower.

use super::matmul::{Busy, MatmulEstimate, evaluate};
use super::tiling::{
    BlockOrder, MAX_FIXED_BLOCKS, MatmulTiling, Problem, base_tiles, block_grids, fixed_tile,
};
use crate::chip::ChipSpec;
use crate::units::{Bytes, Nanos};

/// The fastest tiling of `p` on `chip` and its cost; with a fixed base tile in the problem's hint, that
/// tile one per block (an error if it does not fit the buffers).
pub fn best(chip: &ChipSpec, p: &Problem) -> crate::Result<MatmulEstimate> {
    let p = p.folded();
    let dies = chip.dies();
    let cores = dies * chip.cube_cores_per_die();
    let swizzled;
    let orders: &[BlockOrder] = match (p.hint.base_tile, p.hint.swizzle) {
        (Some(_), Some(c)) if c > 0 => {
            swizzled = [BlockOrder::Swizzle(c)];
            &swizzled
        }
        (_, Some(c)) => {
            return Err(crate::Error::shape(
                "cube_matmul",
                format!(
                    "a swizzle of {c} tiles: the swizzled walk needs a fixed base tile and a group \
                     of at least one tile"
                ),
            ));
        }
        _ if dies > 1 => &[BlockOrder::MFirst, BlockOrder::NFirst],
        _ => &[BlockOrder::MFirst],
    };
    let mut best: Option<MatmulEstimate> = None;
    let (tiles, fixed) = match p.hint.base_tile {
        Some(tile) => (vec![fixed_tile(chip, &p, tile)?], true),
        None => (base_tiles(chip, &p, cores), false),
    };
    for (bm, bn, bk, step_k, db_l0c) in tiles {
        let grids = if fixed {
            let (mt, nt) = (p.m.div_ceil(bm), p.n.div_ceil(bn));
            if p.batch.saturating_mul(mt).saturating_mul(nt) > MAX_FIXED_BLOCKS {
                return Err(crate::Error::shape(
                    "cube_matmul",
                    format!(
                        "a fixed {bm}x{bn} tile gives {} x {mt} x {nt} blocks to follow, more than the \
                         timing model's {MAX_FIXED_BLOCKS}; give a larger tile or predict a smaller problem",
                        p.batch
                    ),
                ));
            }
            vec![(mt, nt, bm, bn)]
        } else {
            block_grids(&p, bm, bn, cores)
        };
        for (blocks_m, blocks_n, sc_m, sc_n) in grids {
            for &order in orders {
                let tiling = MatmulTiling {
                    problem: p,
                    single_core_m: sc_m.min(p.m),
                    single_core_n: sc_n.min(p.n),
                    single_core_k: p.k,
                    base_m: bm,
                    base_n: bn,
                    base_k: bk,
                    step_k,
                    depth_l1: 2,
                    db_l0ab: true,
                    db_l0c,
                    order,
                    blocks_m,
                    blocks_n,
                };
                let e = evaluate(chip, &tiling, None);
                if best.as_ref().is_none_or(|b| e.time.0 < b.time.0) {
                    best = Some(e);
                }
            }
        }
    }
    // base_tiles always yields a tile for a valid chip (16x16x16 fits any validated L0), and block_grids
    // always yields the one-block grid; the fallback only keeps this total.
    Ok(best.unwrap_or_else(|| MatmulEstimate {
        tiling: fallback_tiling(p),
        time: Nanos::ZERO,
        busy: Busy::default(),
        hbm_bytes: Bytes::ZERO,
        l2_bytes: Bytes::ZERO,
        link_bytes: Bytes::ZERO,
        cores_used: 0,
        l2_hit: 1.0,
        l2_read_hit: 1.0,
        m_inner: false,
    }))
}

fn fallback_tiling(p: Problem) -> MatmulTiling {
    MatmulTiling {
        problem: p,
        single_core_m: p.m,
        single_core_n: p.n,
        single_core_k: p.k,
        base_m: 16,
        base_n: 16,
        base_k: 16,
        step_k: 1,
        depth_l1: 2,
        db_l0ab: true,
        db_l0c: true,
        order: BlockOrder::MFirst,
        blocks_m: 1,
        blocks_n: 1,
    }
}
