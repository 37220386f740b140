//! Training prototypes on the emulated 910C: reverse-mode gradients recorded into the same [`Program`]
//! as the forward pass (so the GPU executor, the CPU twin and the timing model all see the whole step),
//! mixed precision as Ascend training runs it, optimizers as Vector-unit ops, and a small training loop.
//!
//! - [`Params`]: named f32 master weights. [`Tape`]: a [`Graph`](crate::model::Graph) for the forward pass
//!   (built from `model/` layers over [`Tape::param`], the parameters' bf16 copies) that
//!   [`Tape::backward`] differentiates; [`Gradients`] gives the gradient of any tensor that requires one.
//! - Mixed precision: bf16 weights and activations on the Cube (f32 accumulation), f32 master weights,
//!   f32 weight gradients, f32 optimizer state; dynamic loss scaling optional
//!   ([`Trainer::with_loss_scale`]).
//! - [`Sgd`] (momentum) and [`AdamW`]; [`cross_entropy`]; [`Trainer`] runs whole steps.
//! - [`tiny`]: the demo, a 2-layer decoder learning to copy token sequences.
//!
//! Everything is deterministic by construction (fixed accumulation orders, no atomics): the same seed on
//! the same executor gives the same loss curve to the bit, and the GPU executor gives the CPU twin's bits.
//! Every backward rule is checked against f64 finite differences in `tests/train_grads.rs`.
//!
//! # Example
//!
//! A two-layer classifier with a fused GELU, trained with AdamW (runs as a doc test):
//!
//! ```
//! use davinci::model::Linear;
//! use davinci::tensor::random::gen_bf16;
//! use davinci::train::{AdamW, Params, Tape, Trainer, cross_entropy};
//! use davinci::{Activation, CpuExecutor, DType, Executor, Result, TensorId};
//!
//! fn forward(tape: &mut Tape, x: &davinci::Tensor, targets: &[u32]) -> Result<TensorId> {
//!     let dt = tape.compute_dtype(); // bf16 (mixed precision) or f32
//!     let input = tape.input("x", x.clone());
//!     let input = tape.graph.program.cast(input, dt)?;
//!     let hidden = Linear { weight: tape.param("w1")?, bias: Some(tape.param("b1")?), out_features: 32 };
//!     let out = Linear { weight: tape.param("w2")?, bias: None, out_features: 4 };
//!     let h = hidden.forward(&mut tape.graph, input, Activation::Gelu, None, dt)?;
//!     let logits = out.forward(&mut tape.graph, h, Activation::None, None, dt)?;
//!     cross_entropy(tape, logits, targets)
//! }
//!
//! # fn main() -> Result<()> {
//! let mut params = Params::new();
//! params.add("w1", gen_bf16(1, [32, 8], 0.35))?; // f32 masters (bf16 values widened)
//! params.add("b1", davinci::Tensor::from_f32([32], vec![0.0; 32])?)?;
//! params.add("w2", gen_bf16(2, [4, 32], 0.18))?;
//! // 16 points of 8 features; the class is the position of the largest of the first four.
//! let x = gen_bf16(3, [16, 8], 1.0);
//! let targets: Vec<u32> = (x.to_f32_vec().chunks(8))
//!     .map(|r| (0..4).max_by(|&a, &b| r[a].total_cmp(&r[b])).unwrap() as u32)
//!     .collect();
//!
//! let exec = CpuExecutor; // or GpuExecutor::open()?: the same bits
//! let mut trainer = Trainer::new(params, AdamW::new(2e-2)?, DType::Bf16).keep_grads(true);
//! let mut losses = Vec::new();
//! for _ in 0..40 {
//!     let report = trainer.step(&exec, |tape| forward(tape, &x, &targets))?;
//!     assert_eq!(report.grads[2].0, "w2"); // every parameter's f32 gradient, by name
//!     losses.push(report.loss);
//! }
//! assert!(losses[39] < 0.5 * losses[0], "{losses:?}");
//!
//! // Without the trainer: record, differentiate and run one program by hand.
//! let mut tape = Tape::with_params(trainer.params(), DType::F32);
//! let loss = forward(&mut tape, &x, &targets)?;
//! let grads = tape.backward(loss)?;
//! tape.graph.output("d_w1", grads.param("w1")?)?;
//! let out = tape.graph.run(&exec)?;
//! assert_eq!(out[0].1.shape().dims(), [32, 8]);
//! assert!(grads.get(tape.program().inputs()[3]).is_err()); // x requires no gradient
//! # let _ = exec.name();
//! # Ok(())
//! # }
//! ```
//!
//! [`Program`]: crate::program::Program

mod autodiff;
pub mod demo;
mod loss;
mod optim;
mod params;
pub mod tiny;
mod trainer;
mod vjp_matmul;
mod vjp_vector;

pub use autodiff::{Gradients, Tape};
pub use loss::cross_entropy;
pub use optim::{AdamW, Optimizer, Sgd};
pub use params::Params;
pub use trainer::{LossScale, StepReport, Trainer};
