//! Serving with quantised weights and activations, as published CloudMatrix figures were measured
//! (`--quant w8a8`): the linear layers' weights stored int8 with a per-channel scale, their inputs
//! quantised to int8 per token on the Vector unit just before each matmul (amax over the row, scale =
//! amax / 127, x / scale rounded to int8: `Kernel::Quant`), the Cube multiplying int8 into int32 at twice
//! the bf16 rate, and FixPipe dequantising to bf16 on the way out (`Program::cube_matmul_dequant`). The
//! attention (its score and context products, MLA's absorbed ones) and the router stay bf16, as do the
//! LM head, the embeddings and the KV cache.
//!
//! Assumption: a quantisation step is counted before every quantised matmul, even where two of them
//! share an input (MLA's q and kv down projections): an over-count of one Vector pass in those layers.

use crate::{Error, Result};

/// The number format of the linear layers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Quant {
    /// bf16 weights and activations.
    #[default]
    Bf16,
    /// int8 weights (per channel) and activations (per token), int32 accumulation.
    W8a8,
}

impl Quant {
    pub fn parse(text: &str) -> Result<Quant> {
        match text.to_ascii_lowercase().as_str() {
            "bf16" | "none" => Ok(Quant::Bf16),
            "w8a8" => Ok(Quant::W8a8),
            _ => Err(Error::Usage(format!(
                "--quant {text}: expected w8a8 (int8 weights and activations) or bf16"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Quant::Bf16 => "bf16",
            Quant::W8a8 => "w8a8",
        }
    }

    /// Bytes per weight of a linear layer (the per-channel scales are negligible beside them).
    pub fn weight_bytes(self) -> f64 {
        match self {
            Quant::Bf16 => 2.0,
            Quant::W8a8 => 1.0,
        }
    }

    pub fn int8(self) -> bool {
        self == Quant::W8a8
    }
}
