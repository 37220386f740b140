//! Matmul tiling in the manner of Ascend C's `TCubeTiling`: base tiles (`baseM/N/K`, one L0 tile) that fit
//! L0A, L0B and L0C with double buffering, an L1 chunk (`stepK`) that fits L1 twice over, and single-core
//! blocks (`singleCoreM/N`; K is not split across cores) spread over the AI cores of every die.
//!
//! The candidates depend on the problem and the buffer sizes only, never on the core count or the
//! bandwidths: the scheduler picks the fastest candidate that fits the chip's cores, so adding cores (which
//! only admits more candidates) or bandwidth (which slows no candidate) can never make an op slower.

use crate::chip::ChipSpec;
use crate::program::{CubeFormat, TilingHint};

/// The matmul as the scheduler sees it: `batch` independent `[m, k] x [k, n]` problems.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Problem {
    pub batch: usize,
    pub m: usize,
    pub k: usize,
    pub n: usize,
    /// Bytes per input element (the format's: bf16 and fp16 2, int8 1, fp32 and hf32 4).
    pub in_bytes: f64,
    /// The Cube format: its MAC rate and fractal depth (C0 elements of K per fractal).
    pub format: CubeFormat,
    /// Bytes per output element (f32 or bf16).
    pub out_bytes: f64,
    /// Bytes per output element that FixPipe reads (a residual), 0 without.
    pub residual_bytes: f64,
    /// A is the same for every batch entry (it lives once).
    pub a_shared: bool,
    /// B is the same for every batch entry.
    pub b_shared: bool,
    /// A fixed base tile, and whether B is stored NZ (from the op's options).
    pub hint: TilingHint,
}

impl Problem {
    /// A batch whose B is shared is one matmul of `batch * m` rows: A and the result are row-contiguous.
    pub fn folded(self) -> Problem {
        if self.batch > 1 && self.b_shared && !self.a_shared {
            Problem {
                batch: 1,
                m: self.batch * self.m,
                a_shared: true,
                ..self
            }
        } else {
            self
        }
    }
}

/// The order blocks are numbered in; each die takes a contiguous range, so the order decides which
/// operand the dies split between them and which one they share.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum BlockOrder {
    /// Batch, then M-blocks, then N-blocks: dies split A's rows (and the batch) and share B.
    MFirst,
    /// Batch, then N-blocks, then M-blocks: dies split B's columns and share A.
    NFirst,
    /// Within each batch entry, groups of this many N-blocks walked down M, every other group back up
    /// (`swizzle_nz` of pto-dsl's matmul guide, one of catlass's `block_swizzle.hpp` orders): the blocks
    /// the cores hold at once share a few panels of A and of B, so that B larger than L2 still hits.
    Swizzle(usize),
}

impl BlockOrder {
    pub fn name(self) -> &'static str {
        match self {
            BlockOrder::MFirst => "split M across dies",
            BlockOrder::NFirst => "split N across dies",
            BlockOrder::Swizzle(_) => "swizzled (groups of N-blocks down M)",
        }
    }
}

/// One tiling, as `TCubeTiling` would hold it.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct MatmulTiling {
    /// The problem as tiled (a batch with a shared B is folded into M).
    pub problem: Problem,
    pub single_core_m: usize,
    pub single_core_n: usize,
    /// K is not split across cores: always the whole K.
    pub single_core_k: usize,
    pub base_m: usize,
    pub base_n: usize,
    pub base_k: usize,
    /// Base-K tiles per MTE2 copy into L1 (the L1 chunk is `step_k * base_k` deep).
    pub step_k: usize,
    /// L1 holds two chunks (one loading while the other feeds L0); always 2.
    pub depth_l1: usize,
    /// L0A and L0B hold two tiles each: always, by construction of the base tiles.
    pub db_l0ab: bool,
    /// L0C holds two output tiles, so FixPipe drains one while the Cube fills the other.
    pub db_l0c: bool,
    pub order: BlockOrder,
    /// M-blocks and N-blocks per batch entry.
    pub blocks_m: usize,
    pub blocks_n: usize,
}

impl MatmulTiling {
    /// Blocks in all (batch entries x M-blocks x N-blocks).
    pub fn blocks(&self) -> usize {
        self.problem.batch * self.blocks_m * self.blocks_n
    }

    /// The L1 chunk depth in K.
    pub fn chunk_k(&self) -> usize {
        self.step_k * self.base_k
    }

    /// Bytes of L1, L0A, L0B and L0C the tiling occupies.
    pub fn buffer_use(&self) -> [f64; 4] {
        let p = &self.problem;
        let kc = self.chunk_k() as f64;
        let (bm, bn, bk) = (self.base_m as f64, self.base_n as f64, self.base_k as f64);
        [
            2.0 * (bm + bn) * kc * p.in_bytes,
            2.0 * bm * bk * p.in_bytes,
            2.0 * bk * bn * p.in_bytes,
            if self.db_l0c { 2.0 } else { 1.0 } * bm * bn * 4.0,
        ]
    }
}

/// The sizes tried for baseM and baseN (multiples of the 16-row fractal; 512 is the widest a 64 KiB
/// L0 holds with a useful depth).
const BASE_SIZES: [usize; 6] = [16, 32, 64, 128, 256, 512];
/// The depths tried for baseK.
const BASE_K: [usize; 6] = [16, 32, 64, 128, 256, 512];
/// The most base-K tiles one MTE2 copy brings in: bursts of this size already reach the port's rate
/// (ascend.md: >= 16 KB per copy reaches peak, >= 256 KB for the measured 163 B/cycle).
const MAX_STEP_K: usize = 16;

/// The most blocks of the one-tile-per-block grid the search times (each block is followed through L2).
pub const MAX_TILE_BLOCKS: usize = 1 << 15;

/// The most blocks a fixed base tile's grid may give (each is followed through L2 by the timing).
pub const MAX_FIXED_BLOCKS: usize = 1 << 26;

/// The largest L1 step (base-K tiles per MTE2 copy) that keeps two chunks of A and B in `l1` bytes and
/// stays within K.
fn step_k(p: &Problem, bm: usize, bn: usize, bk: usize, l1: f64) -> usize {
    (1..=MAX_STEP_K)
        .rev()
        .find(|s| {
            s * bk <= round16(p.k).max(bk)
                && 2.0 * (bm + bn) as f64 * (s * bk) as f64 * p.in_bytes <= l1
        })
        .unwrap_or(1)
}

fn round16(x: usize) -> usize {
    x.div_ceil(16) * 16
}

/// Base tiles worth trying: for each L0C buffering, the (baseM, baseN) pairs that fit, each with the
/// deepest baseK that fits L0A and L0B double-buffered and the largest L1 step. A pair is dropped when it
/// could be doubled in either direction and still leave at least one tile per core: a larger tile reads
/// less from global memory per FLOP, so the smaller one only pays off when it spreads the work wider.
/// With more cores fewer pairs are dropped, so the candidates only grow.
pub fn base_tiles(
    chip: &ChipSpec,
    p: &Problem,
    cores: usize,
) -> Vec<(usize, usize, usize, usize, bool)> {
    let l0a = ChipSpec::kib(&chip.l0a_kib).0;
    let l0b = ChipSpec::kib(&chip.l0b_kib).0;
    let l0c = ChipSpec::kib(&chip.l0c_kib).0;
    let l1 = ChipSpec::kib(&chip.l1_kib).0;
    let (m16, n16, k16) = (round16(p.m), round16(p.n), round16(p.k));
    let clip = |s: usize, lim: usize| s.min(lim);
    let mut out = Vec::new();
    for db_l0c in [true, false] {
        let c_fits =
            |bm: usize, bn: usize| (bm * bn * 4) as f64 * if db_l0c { 2.0 } else { 1.0 } <= l0c;
        let k_for = |bm: usize, bn: usize| {
            BASE_K
                .iter()
                .map(|&k| clip(k, k16))
                .filter(|&bk| {
                    (2 * bm * bk) as f64 * p.in_bytes <= l0a
                        && (2 * bk * bn) as f64 * p.in_bytes <= l0b
                })
                .max()
        };
        for &bm0 in &BASE_SIZES {
            for &bn0 in &BASE_SIZES {
                let (bm, bn) = (clip(bm0, m16), clip(bn0, n16));
                if !c_fits(bm, bn) {
                    continue;
                }
                let Some(bk) = k_for(bm, bn) else { continue };
                let grows = |bm2: usize, bn2: usize| {
                    (bm2, bn2) != (bm, bn)
                        && c_fits(bm2, bn2)
                        && k_for(bm2, bn2).is_some()
                        && p.batch * p.m.div_ceil(bm2) * p.n.div_ceil(bn2) >= cores
                };
                let top = BASE_SIZES[BASE_SIZES.len() - 1];
                if (bm0 < top && grows(clip(2 * bm0, m16), bn))
                    || (bn0 < top && grows(bm, clip(2 * bn0, n16)))
                {
                    continue;
                }
                let t = (bm, bn, bk, step_k(p, bm, bn, bk, l1), db_l0c);
                if !out.contains(&t) {
                    out.push(t);
                }
            }
        }
    }
    out
}

/// The fixed base tile of `hint` clipped to the problem, with the deepest L1 step that fits and L0C
/// double-buffered where it fits; an error names the buffer a tile does not fit.
pub fn fixed_tile(
    chip: &ChipSpec,
    p: &Problem,
    [bm, bn, bk]: [usize; 3],
) -> crate::Result<(usize, usize, usize, usize, bool)> {
    let (bm, bn, bk) = (
        bm.min(round16(p.m)),
        bn.min(round16(p.n)),
        bk.min(round16(p.k)),
    );
    let kib = |s| ChipSpec::kib(s).0;
    let need = [
        ("L0A", (2 * bm * bk) as f64 * p.in_bytes, kib(&chip.l0a_kib)),
        ("L0B", (2 * bk * bn) as f64 * p.in_bytes, kib(&chip.l0b_kib)),
        ("L0C", (bm * bn * 4) as f64, kib(&chip.l0c_kib)),
        (
            "L1",
            2.0 * (bm + bn) as f64 * bk as f64 * p.in_bytes,
            kib(&chip.l1_kib),
        ),
    ];
    if let Some((name, bytes, cap)) = need.iter().find(|(_, b, c)| b > c) {
        return Err(crate::Error::shape(
            "cube_matmul",
            format!(
                "the base tile {bm}x{bn}x{bk} needs {bytes} bytes of {name} (double-buffered where it \
                 must be), more than the chip's {cap}"
            ),
        ));
    }
    let db_l0c = (2 * bm * bn * 4) as f64 <= kib(&chip.l0c_kib);
    Ok((bm, bn, bk, step_k(p, bm, bn, bk, kib(&chip.l1_kib)), db_l0c))
}

/// Block grids worth trying for `cores` AI cores in all: for each count of M-blocks, the most N-blocks
/// that keeps every block on a core of its own (or, when the batch alone exceeds the cores, one block per
/// batch entry); the balanced splits; and one block per base tile. Returned as (blocks_m, blocks_n,
/// single_core_m, single_core_n).
pub fn block_grids(
    p: &Problem,
    base_m: usize,
    base_n: usize,
    cores: usize,
) -> Vec<(usize, usize, usize, usize)> {
    let (mt, nt) = (p.m.div_ceil(base_m), p.n.div_ceil(base_n));
    let per_batch = (cores / p.batch.max(1)).max(1);
    let mut out = Vec::new();
    let mut last_bm = 0;
    for want_m in 1..=mt.min(per_batch) {
        // The tiles each M-block gets, and the block count that really results.
        let tiles_m = mt.div_ceil(want_m);
        let bm = mt.div_ceil(tiles_m);
        if bm == last_bm {
            continue;
        }
        last_bm = bm;
        let mut last_bn = 0;
        for want_n in 1..=nt.min(per_batch / bm) {
            let tiles_n = nt.div_ceil(want_n);
            let bn = nt.div_ceil(tiles_n);
            if bn == last_bn {
                continue;
            }
            last_bn = bn;
            out.push((bm, bn, tiles_m * base_m, tiles_n * base_n));
        }
    }
    // Balanced grids: M and N split as evenly as 16-row fractals allow, so that every core gets the same
    // share even where the base tiles do not divide it (catlass's load-balanced tilings).
    let (m16, n16) = (p.m.div_ceil(16), p.n.div_ceil(16));
    // Every split that fits the cores, so that a chip with more cores offers every grid one with fewer
    // does (more cores are never slower).
    let mut last_m = 0;
    for want_m in 1..=m16.min(per_batch) {
        let sc_m = m16.div_ceil(want_m) * 16;
        if sc_m == last_m {
            continue;
        }
        last_m = sc_m;
        let mut last_n = 0;
        for want_n in 1..=(per_batch / p.m.div_ceil(sc_m)).min(n16) {
            let sc_n = n16.div_ceil(want_n) * 16;
            if sc_n == last_n {
                continue;
            }
            last_n = sc_n;
            let g = (p.m.div_ceil(sc_m), p.n.div_ceil(sc_n), sc_m, sc_n);
            if !out.contains(&g) {
                out.push(g);
            }
        }
    }
    // One base tile per block, handed to the cores in turn (a persistent kernel walking the tiles), so
    // that the rounds, not the blocks, balance the cores. Timing follows every block, so this grid is
    // offered only up to MAX_TILE_BLOCKS of them (where the blocks are many, the rounds balance anyway).
    let g = (mt, nt, base_m, base_n);
    if p.batch.saturating_mul(mt).saturating_mul(nt) <= MAX_TILE_BLOCKS && !out.contains(&g) {
        out.push(g);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(n: usize) -> Problem {
        Problem {
            batch: 1,
            m: n,
            k: n,
            n,
            in_bytes: 2.0,
            out_bytes: 4.0,
            residual_bytes: 0.0,
            format: CubeFormat::Bf16,
            a_shared: true,
            b_shared: true,
            hint: TilingHint::default(),
        }
    }

    #[test]
    fn base_tiles_fit_the_buffers() {
        let chip = ChipSpec::default_chip();
        let p = square(4096);
        let tiles = base_tiles(&chip, &p, 48);
        assert!(tiles.contains(&(128, 256, 64, 5, false)), "{tiles:?}");
        for (bm, bn, bk, step, db) in tiles {
            let t = MatmulTiling {
                problem: p,
                single_core_m: bm,
                single_core_n: bn,
                single_core_k: p.k,
                base_m: bm,
                base_n: bn,
                base_k: bk,
                step_k: step,
                depth_l1: 2,
                db_l0ab: true,
                db_l0c: db,
                order: BlockOrder::MFirst,
                blocks_m: 1,
                blocks_n: 1,
            };
            let [l1, l0a, l0b, l0c] = t.buffer_use();
            assert!(l1 <= 512.0 * 1024.0 && l0a <= 65536.0 && l0b <= 65536.0);
            assert!(l0c <= 131072.0);
        }
    }

    #[test]
    fn small_problems_get_small_tiles_and_grids_fit_the_cores() {
        let chip = ChipSpec::default_chip();
        let p = square(20);
        for (bm, bn, bk, _, _) in base_tiles(&chip, &p, 48) {
            assert!(bm <= 32 && bn <= 32 && bk <= 32);
        }
        let p = square(8192);
        let grids = block_grids(&p, 128, 256, 48);
        // Every grid gives each core at most one block, except the one that hands out single base tiles
        // in turn; balanced grids split M and N into equal 16-multiples.
        let one_per_tile = (64, 32, 128, 256);
        assert!(grids.contains(&one_per_tile), "{grids:?}");
        assert!(
            grids
                .iter()
                .filter(|&&g| g != one_per_tile)
                .all(|&(bm, bn, _, _)| bm * bn <= 48)
        );
        assert!(grids.contains(&(8, 6, 1024, 1536)), "{grids:?}");
        assert!(grids.contains(&(3, 16, 2736, 512)), "{grids:?}");
    }

    #[test]
    fn a_batch_with_shared_b_folds_into_m() {
        let p = Problem {
            batch: 4,
            a_shared: false,
            ..square(64)
        };
        assert_eq!(p.folded().m, 256);
        assert_eq!(p.folded().batch, 1);
    }
}
