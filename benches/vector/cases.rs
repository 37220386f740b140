//! The cases of `benches/vector.rs`: the data (one 4096 x 4096 tensor of bf16-representable values and a
//! second for the binary ops, gamma and beta), the twin group's ops beside their plain versions, and the
//! executor group's one-op programs in f32 and bf16.

use davinci::program::broadcast::plan;
use davinci::reference::{
    vector_binary, vector_layernorm, vector_rmsnorm, vector_softmax, vector_unary,
};
use davinci::tensor::random::gen_bf16;
use davinci::{BinaryFn, DType, Program, Shape, Tensor, UnaryFn};

use super::plain;

pub const ROWS: usize = 4096;
pub const COLS: usize = 4096;
const EPS: f32 = 1e-5;

/// The inputs, as f32 (the twin's and the plain versions') and as tensors (the executors').
pub struct Data {
    pub x: Vec<f32>,
    pub y: Vec<f32>,
    pub gamma: Vec<f32>,
    pub beta: Vec<f32>,
    shape: Shape,
}

impl Data {
    pub fn new() -> Self {
        Data {
            x: gen_bf16(1, [ROWS, COLS], 2.0).to_f32_vec(),
            y: gen_bf16(2, [ROWS, COLS], 2.0).to_f32_vec(),
            gamma: gen_bf16(3, [COLS], 1.0).to_f32_vec(),
            beta: gen_bf16(4, [COLS], 0.5).to_f32_vec(),
            shape: Shape::new(vec![ROWS, COLS]),
        }
    }
}

type Run = fn(&Data) -> Vec<f32>;

/// One op of the twin group.
pub struct TwinCase {
    pub name: &'static str,
    pub bytes: u64,
    pub twin: Run,
    pub plain: Run,
}

const N: u64 = (ROWS * COLS * 4) as u64;

pub fn twin_cases() -> Vec<TwinCase> {
    let unary = |name, twin: Run, plain: Run| TwinCase {
        name,
        bytes: 2 * N,
        twin,
        plain,
    };
    let binary = |name, twin: Run, plain: Run| TwinCase {
        name,
        bytes: 3 * N,
        twin,
        plain,
    };
    vec![
        unary(
            "exp",
            |d| vector_unary::vector_unary(UnaryFn::Exp, &d.x),
            |d| plain::exp(&d.x),
        ),
        unary(
            "gelu",
            |d| vector_unary::vector_unary(UnaryFn::Gelu, &d.x),
            |d| plain::gelu(&d.x),
        ),
        unary(
            "softmax",
            |d| {
                let b = plan("softmax", &d.shape, &[&d.shape]).expect("plan");
                vector_softmax::vector_softmax(&d.x, None, &b, COLS)
            },
            |d| plain::softmax(&d.x, COLS),
        ),
        unary(
            "layernorm",
            |d| vector_layernorm::vector_layernorm(&d.x, Some(&d.gamma), Some(&d.beta), EPS, COLS),
            |d| plain::layernorm(&d.x, &d.gamma, &d.beta, COLS),
        ),
        unary(
            "rmsnorm",
            |d| vector_rmsnorm::vector_rmsnorm(&d.x, Some(&d.gamma), EPS, COLS),
            |d| plain::rmsnorm(&d.x, &d.gamma, COLS),
        ),
        binary(
            "add",
            |d| bin(d, BinaryFn::Add),
            |d| plain::map2(&d.x, &d.y, |a, b| a + b),
        ),
        binary(
            "mul",
            |d| bin(d, BinaryFn::Mul),
            |d| plain::map2(&d.x, &d.y, |a, b| a * b),
        ),
        unary(
            "relu",
            |d| vector_unary::vector_unary(UnaryFn::Relu, &d.x),
            |d| plain::relu(&d.x),
        ),
    ]
}

fn bin(d: &Data, f: BinaryFn) -> Vec<f32> {
    let b = plan("binary", &d.shape, &[&d.shape, &d.shape]).expect("plan");
    vector_binary::vector_binary(f, &d.x, &d.y, &b, ROWS * COLS)
}

/// One program of the executor group, with its inputs.
pub struct ExecCase {
    pub name: String,
    pub program: Program,
    pub inputs: Vec<Tensor>,
    pub bytes: u64,
}

pub fn exec_cases() -> Vec<ExecCase> {
    let d = Data::new();
    let mut out = Vec::new();
    for dtype in [DType::F32, DType::Bf16] {
        let tensor = |v: &Vec<f32>, shape: &[usize]| {
            let t = Tensor::from_f32(Shape::new(shape.to_vec()), v.clone()).expect("tensor");
            if dtype == DType::Bf16 { t.to_bf16() } else { t }
        };
        let x = tensor(&d.x, &[ROWS, COLS]);
        let y = tensor(&d.y, &[ROWS, COLS]);
        let g = tensor(&d.gamma, &[COLS]);
        let b = tensor(&d.beta, &[COLS]);
        let size = (ROWS * COLS * dtype.size()) as u64;
        let ops: [(&str, u64); 8] = [
            ("exp", 2),
            ("gelu", 2),
            ("softmax", 2),
            ("layernorm", 2),
            ("rmsnorm", 2),
            ("add", 3),
            ("mul", 3),
            ("relu", 2),
        ];
        for (op, words) in ops {
            let mut p = Program::new();
            let xi = p.input("x", [ROWS, COLS], dtype);
            let mut inputs = vec![x.clone()];
            let r = match op {
                "exp" => p.unary(UnaryFn::Exp, xi, dtype),
                "gelu" => p.unary(UnaryFn::Gelu, xi, dtype),
                "relu" => p.unary(UnaryFn::Relu, xi, dtype),
                "softmax" => p.softmax(xi, None, dtype),
                "layernorm" | "rmsnorm" => {
                    let gi = p.input("gamma", [COLS], dtype);
                    inputs.push(g.clone());
                    if op == "rmsnorm" {
                        p.rmsnorm(xi, Some(gi), EPS, dtype)
                    } else {
                        let bi = p.input("beta", [COLS], dtype);
                        inputs.push(b.clone());
                        p.layernorm(xi, Some(gi), Some(bi), EPS, dtype)
                    }
                }
                _ => {
                    let yi = p.input("y", [ROWS, COLS], dtype);
                    inputs.push(y.clone());
                    let f = if op == "add" {
                        BinaryFn::Add
                    } else {
                        BinaryFn::Mul
                    };
                    p.binary(f, xi, yi, dtype)
                }
            }
            .expect("the op records");
            p.output(r).expect("output");
            out.push(ExecCase {
                name: format!("{op}_{dtype}"),
                program: p,
                inputs,
                bytes: words * size,
            });
        }
    }
    out
}

/// The `chain` group's program: an SGD-with-momentum update, `param - lr * (mu * m + g)`, recorded as four
/// elementwise ops whose intermediates feed only the next (the GPU executor fuses them into one
/// `vector_chain` dispatch), with its inputs and the bytes a fused run must move (m, g, param read, the
/// result written; lr and mu are one element each).
pub fn chain_case() -> ExecCase {
    let d = Data::new();
    let full =
        |v: &Vec<f32>| Tensor::from_f32(Shape::new([ROWS, COLS]), v.clone()).expect("tensor");
    let scalar = |v: f32| Tensor::from_f32(Shape::new([1]), vec![v]).expect("tensor");
    let mut p = Program::new();
    let f32 = DType::F32;
    let m = p.input("m", [ROWS, COLS], f32);
    let g = p.input("g", [ROWS, COLS], f32);
    let param = p.input("param", [ROWS, COLS], f32);
    let mu = p.input("mu", [1], f32);
    let lr = p.input("lr", [1], f32);
    let steps = (|| {
        let a = p.binary(BinaryFn::Mul, m, mu, f32)?;
        let b = p.binary(BinaryFn::Add, a, g, f32)?;
        let u = p.binary(BinaryFn::Mul, b, lr, f32)?;
        p.binary(BinaryFn::Sub, param, u, f32)
    })();
    let out = steps.expect("the chain records");
    p.output(out).expect("output");
    ExecCase {
        name: "sgd_momentum_f32".into(),
        program: p,
        inputs: vec![
            full(&d.x),
            full(&d.y),
            full(&gen_bf16(5, [ROWS, COLS], 1.0).to_f32_vec()),
            scalar(0.9),
            scalar(0.01),
        ],
        bytes: 4 * (ROWS * COLS * 4) as u64,
    }
}
