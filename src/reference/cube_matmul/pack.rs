//! Packing operands into the micro-kernel's panels, the scratch buffers that hold them, and the copy of
//! finished tiles back into the row-major result: the memory traffic around the CPU twin's GEMM, shared
//! out over the host's threads like the tiles themselves.

use super::cube_out;

/// Scratch buffers kept between calls: fresh allocations of this size cost more in page faults than the
/// packing itself (and a fresh tile buffer's first writes fault once per page, each fault a TLB
/// shootdown across the threads: a tenth of a decoder layer's time before it was kept).
static SCRATCH: std::sync::Mutex<Vec<Vec<f32>>> = std::sync::Mutex::new(Vec::new());

/// A zeroed buffer of `len` elements, reusing the kept one that fits best (the smallest that holds
/// `len`, else the largest, which then grows).
pub(super) fn scratch(len: usize) -> Vec<f32> {
    let mut kept = SCRATCH.lock().unwrap_or_else(|p| p.into_inner());
    let fits = (0..kept.len())
        .filter(|&i| kept[i].capacity() >= len)
        .min_by_key(|&i| kept[i].capacity());
    let largest = (0..kept.len()).max_by_key(|&i| kept[i].capacity());
    let mut v = fits
        .or(largest)
        .map(|i| kept.swap_remove(i))
        .unwrap_or_default();
    drop(kept);
    v.clear();
    v.resize(len, 0.0);
    v
}

/// Keeps `v` for a later call: the two packed operands and one tile buffer per thread at most.
pub(super) fn give_back(v: Vec<f32>) {
    let mut kept = SCRATCH.lock().unwrap_or_else(|p| p.into_inner());
    if kept.len() < 2 + crate::reference::threads() {
        kept.push(v);
    }
}

/// Packs `lines` lines (rows of A or columns of B) of `klen` values into panels of `width` lines, each
/// `[kp][width]`, in the zeroed buffer `p`; line `l`'s value `k` is `get(start(l) + k * stride)`. The
/// padding (lines past `lines`, values past `klen`) stays +0. Panels are shared out over the threads
/// (packing B alone took a sixth of a 512 x 4096 x 14336 product on one thread).
pub(super) fn pack(
    p: &mut [f32],
    width: usize,
    kp: usize,
    (lines, klen): (usize, usize),
    start: &(impl Fn(usize) -> usize + Sync),
    stride: usize,
    get: &(impl Fn(usize) -> f32 + Sync),
) {
    let panel_len = kp * width;
    crate::reference::par_fill(p, panel_len, |off, part| {
        for (i, panel) in part.chunks_mut(panel_len).enumerate() {
            let pi = off / panel_len + i;
            let n = width.min(lines.saturating_sub(pi * width));
            let starts: Vec<usize> = (0..n).map(|l| start(pi * width + l)).collect();
            if stride == 1 {
                // Each line's values are contiguous (rows of a row-major A): read them line by line.
                for (l, &s) in starts.iter().enumerate() {
                    for k in 0..klen {
                        panel[k * width + l] = get(s + k);
                    }
                }
            } else {
                // The lines sit side by side (columns of a row-major B): read the panel's lines at
                // each k together, so that every read goes along memory rather than down a column
                // (which took a quarter of a 2048-cube's time).
                for k in 0..klen {
                    let row = &mut panel[k * width..k * width + n];
                    for (v, &s) in row.iter_mut().zip(&starts) {
                        *v = get(s + k * stride);
                    }
                }
            }
        }
    });
}

/// Finished tiles of row panels `rows` by column panels `cols` (`[row panel][column panel][mr * nr]`)
/// into `c`, the row-major `[*][n]` result whose first row is row panel `first_panel`'s first, dropping
/// the padding; each value leaves the accumulator as the Cube hands it out (NaN canonical).
pub(super) fn store(
    tiles: &[f32],
    (mr, nr): (usize, usize),
    (rows, cols): (std::ops::Range<usize>, std::ops::Range<usize>),
    (m, n): (usize, usize),
    first_panel: usize,
    c: &mut [f32],
) {
    let width = cols.len();
    for (ti, tile) in tiles.chunks(mr * nr).enumerate() {
        let (pi, pj) = (rows.start + ti / width, cols.start + ti % width);
        for r in 0..mr.min(m.saturating_sub(pi * mr)) {
            let row0 = ((pi - first_panel) * mr + r) * n + pj * nr;
            let w = nr.min(n - pj * nr);
            let src = &tile[r * nr..r * nr + w];
            for (d, &v) in c[row0..row0 + w].iter_mut().zip(src) {
                *d = cube_out(v);
            }
        }
    }
}
