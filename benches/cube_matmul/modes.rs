//! The modes table of `benches/cube_matmul.rs`: one `cube_matmul` size on the GPU executor in each mode a
//! user can ask for (B transposed, A transposed, Sequential, the fp32 and HF32 modes, K not a multiple of
//! 8, batched operands, a fused bias + GELU epilogue), beside the tree16 bf16 row-major product, measured
//! round-robin in the same rounds. The ratio to that product is the figure: every mode should be on the
//! fast path, within 70% of it.

use std::hint::black_box;
use std::time::Instant;

use davinci::program::{Activation, Epilogue};
use davinci::tensor::random::gen_bf16;
use davinci::{Accumulation, CubeFormat, DType, Executor, MatmulOptions, Program, Tensor};

/// One mode: its name, its operands and how it is recorded.
struct Mode {
    name: &'static str,
    inputs: Vec<Tensor>,
    program: Program,
    flops: f64,
    times: Vec<f64>,
}

/// A one-op program `a @ b` (plus a bias for the fused epilogue) with these options.
fn mode(
    name: &'static str,
    a: Tensor,
    b: Tensor,
    opts: MatmulOptions,
    bias: Option<Tensor>,
) -> Mode {
    let mut p = Program::new();
    let ia = p.input("a", a.shape().clone(), a.dtype());
    let ib = p.input("b", b.shape().clone(), b.dtype());
    let mut inputs = vec![a, b];
    let c = match bias {
        Some(bias) => {
            let ibias = p.input("bias", bias.shape().clone(), bias.dtype());
            inputs.push(bias);
            let e = Epilogue {
                bias: Some(ibias),
                activation: Activation::Gelu,
                ..Epilogue::default()
            };
            p.cube_matmul_fused(ia, ib, opts, e).expect("record")
        }
        None => p.cube_matmul(ia, ib, opts).expect("record"),
    };
    p.output(c).expect("output");
    let flops = match p.ops().last() {
        Some(davinci::program::Op::CubeMatmul(mm)) => mm.geometry.flops(),
        _ => unreachable!("the program's one op is the matmul"),
    };
    Mode {
        name,
        inputs,
        program: p,
        flops,
        times: Vec::new(),
    }
}

fn f32_of(t: &Tensor) -> Tensor {
    Tensor::from_f32(t.shape().clone(), t.to_f32_vec()).expect("f32 tensor")
}

fn modes(n: usize) -> Vec<Mode> {
    let bf = |seed, shape: [usize; 2]| gen_bf16(seed, shape, 1.0);
    let (a, b) = (bf(1, [n, n]), bf(2, [n, n]));
    let opts = MatmulOptions::default();
    let k = n - 4;
    let batch = 4;
    let half = n / 2;
    let batched = |seed, rows, cols| gen_bf16(seed, [batch, rows, cols], 1.0);
    vec![
        mode(
            "bf16 tree16 (A, B row-major)",
            a.clone(),
            b.clone(),
            opts,
            None,
        ),
        mode(
            "B transposed",
            a.clone(),
            b.clone(),
            MatmulOptions {
                trans_b: true,
                ..opts
            },
            None,
        ),
        mode(
            "A transposed",
            a.clone(),
            b.clone(),
            MatmulOptions {
                trans_a: true,
                ..opts
            },
            None,
        ),
        mode(
            "sequential",
            a.clone(),
            b.clone(),
            MatmulOptions {
                accumulate: Accumulation::Sequential,
                ..opts
            },
            None,
        ),
        mode("fp32 mode", f32_of(&a), f32_of(&b), opts, None),
        mode(
            "hf32 mode",
            f32_of(&a),
            f32_of(&b),
            MatmulOptions {
                format: Some(CubeFormat::Hf32),
                ..opts
            },
            None,
        ),
        mode(
            "K not a multiple of 8",
            bf(3, [n, k]),
            bf(4, [k, n]),
            opts,
            None,
        ),
        mode(
            "batched (4 x n/2 x n x n/2)",
            batched(5, half, n),
            batched(6, n, half),
            opts,
            None,
        ),
        mode(
            "fused bias + GELU",
            a,
            b,
            MatmulOptions {
                dtype_out: DType::Bf16,
                ..opts
            },
            Some(gen_bf16(7, [n], 1.0)),
        ),
    ]
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs every mode at `n` on `exec`, `runs` round-robin rounds after one warm-up call each, and prints the
/// table.
pub fn run(exec: &dyn Executor, n: usize, runs: usize) {
    let mut ms = modes(n);
    let call = |m: &Mode| {
        let inputs: Vec<&Tensor> = m.inputs.iter().collect();
        black_box(exec.run(&m.program, &inputs).expect("cube_matmul"));
    };
    for m in &ms {
        call(m);
    }
    for _ in 0..runs {
        for m in &mut ms {
            let t = Instant::now();
            call(m);
            m.times.push(t.elapsed().as_secs_f64());
        }
    }
    println!("\ncube_matmul modes at n = {n} on the GPU executor; medians of {runs} rounds");
    println!("{:<30} | {:>9} | {:>8}", "mode", "GFLOP/s", "vs first");
    let mut first = None;
    for m in &mut ms {
        let rate = m.flops / median(&mut m.times) / 1e9;
        let base = *first.get_or_insert(rate);
        println!(
            "{:<30} | {:>9.2} | {:>7.0}%",
            m.name,
            rate,
            100.0 * rate / base
        );
    }
}
