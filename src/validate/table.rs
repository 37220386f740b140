//! The measurement table as data: rows of published figures, read from TOML and checked before use
//! (units known, tolerances and values positive, ids unique), so that a bad row is a clear error naming it.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// What a row is for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A figure the model is checked against.
    #[default]
    Validation,
    /// A figure a model constant was taken from (named in `calibrates`): shown, not counted.
    Calibration,
}

impl Row {
    /// Counted in the summary and the exit code: a validation row without a known gap.
    pub fn counts(&self) -> bool {
        self.role == Role::Validation && self.gap.is_none()
    }
}

/// How the model predicts a row.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Case {
    /// One `cube_matmul`, as `davinci predict matmul M K N --chip C --dtype D [--trans-b]` records it.
    Matmul {
        chip: String,
        m: usize,
        k: usize,
        n: usize,
        dtype: String,
        #[serde(default)]
        trans_b: bool,
        /// The kernel's fixed base tile (`128x256x64`), where the figure's kernel has one.
        #[serde(default)]
        tile: Option<String>,
        /// B stored in the NZ layout (no ND -> NZ conversion).
        #[serde(default)]
        b_nz: bool,
        /// With `tile`: the tiles walked in swizzled groups of this many N-tiles.
        #[serde(default)]
        swizzle: Option<usize>,
    },
    /// A fused attention kernel (FlashAttention), `heads` of `sq` queries over `skv` keys, head dim `d`.
    Attention {
        chip: String,
        heads: usize,
        sq: usize,
        skv: usize,
        d: usize,
        #[serde(default)]
        causal: bool,
    },
    /// The Cube's sustained rate with every core busy and operands resident (a vendor compute test).
    CubePeak { chip: String, dtype: String },
    /// One Vector op, as `davinci predict op OP SHAPE --chip C --dtype D` records it (binary ops take two
    /// inputs of the shape); the value is the bytes the op reads and writes over its time.
    Vector {
        chip: String,
        op: String,
        shape: String,
        dtype: String,
    },
    /// A collective on a cluster preset (optionally with another chip or node count).
    Collective {
        cluster: String,
        #[serde(default)]
        chip: Option<String>,
        #[serde(default)]
        nodes: Option<usize>,
        collective: String,
        devices: usize,
        bytes: u64,
    },
    /// A MoE dispatch or combine (`moe-dispatch`, `moe-combine`) as `davinci collective` times it, over
    /// `devices` ranks (`rank`: chip or die); a GB/s value is DeepEP's own bandwidth figure.
    Moe {
        cluster: String,
        collective: String,
        devices: usize,
        rank: String,
        mode: String,
        tokens: usize,
        hidden: usize,
        topk: usize,
        experts: usize,
        dtype: String,
    },
    /// A training step of a model preset on a cluster, with a given plan or the best one.
    Train {
        cluster: String,
        #[serde(default)]
        nodes: Option<usize>,
        model: String,
        seq: usize,
        batch: usize,
        #[serde(default)]
        plan: Option<String>,
    },
    /// The model cannot express the row yet.
    NotCovered { reason: String },
}

impl Case {
    /// Why the row is not covered, for a `not_covered` case.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Case::NotCovered { reason } => Some(reason),
            _ => None,
        }
    }
}

/// The units a row's value may be in.
pub const UNITS: &[&str] = &["TFLOPS", "us", "GB/s", "tokens/s/chip", "%"];

/// Which fixed cost a figure includes besides the kernel's own time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Launch {
    /// The device's kernel launch only (event timing on the device, or a kernel timed by a profiler).
    #[default]
    Device,
    /// The framework's host dispatch too (torch_npu timed per call, where the host is the bottleneck).
    Framework,
}

/// One published figure.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Row {
    pub id: String,
    pub figure: String,
    pub conditions: String,
    pub source: String,
    /// Confidence tag of the source (O, O*, A, C).
    pub tag: String,
    pub measured: f64,
    pub unit: String,
    #[serde(default = "default_tolerance")]
    pub tolerance: f64,
    #[serde(default)]
    pub role: Role,
    #[serde(default)]
    pub launch: Launch,
    /// The model constant a calibration row set.
    #[serde(default)]
    pub calibrates: Option<String>,
    /// A known gap: the row is predicted and shown, but not counted, because the mechanism it needs is
    /// missing from the model (named here).
    #[serde(default)]
    pub gap: Option<String>,
    pub case: Case,
}

/// A row's tolerance where it gives none (the bar: 15%).
pub const DEFAULT_TOLERANCE: f64 = 0.15;

fn default_tolerance() -> f64 {
    DEFAULT_TOLERANCE
}

impl Row {
    /// Whether `word` (lowercase) occurs in the id, figure or conditions.
    pub fn matches(&self, word: &str) -> bool {
        [&self.id, &self.figure, &self.conditions]
            .iter()
            .any(|s| s.to_lowercase().contains(word))
    }
}

/// Every row of a measurement file.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct Table {
    #[serde(rename = "row")]
    pub rows: Vec<Row>,
}

impl Table {
    /// The table that ships with the crate (a test checks that it parses).
    pub fn shipped() -> Result<Table> {
        Self::parse(super::MEASURED, "the shipped measurement table")
    }

    /// Parses and checks `text`; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Table> {
        let t: Table = toml::from_str(text)
            .map_err(|e| Error::Invalid(format!("measurement table {origin}: {e}")))?;
        let mut seen = std::collections::HashSet::new();
        for r in &t.rows {
            let bad = |what: String| {
                Error::Invalid(format!(
                    "measurement table {origin}, row '{}': {what}",
                    r.id
                ))
            };
            if !seen.insert(r.id.as_str()) {
                return Err(bad("the id is used twice".into()));
            }
            if !UNITS.contains(&r.unit.as_str()) {
                return Err(bad(format!(
                    "unit '{}' is not one of {}",
                    r.unit,
                    UNITS.join(", ")
                )));
            }
            if !(r.measured.is_finite() && r.measured > 0.0) {
                return Err(bad(format!(
                    "measured must be a positive number, not {}",
                    r.measured
                )));
            }
            if !(r.tolerance.is_finite() && r.tolerance > 0.0 && r.tolerance < 10.0) {
                return Err(bad(format!(
                    "tolerance must be in (0, 10), not {}",
                    r.tolerance
                )));
            }
            if r.role == Role::Calibration && r.calibrates.is_none() {
                return Err(bad(
                    "a calibration row names the constant it calibrates".into()
                ));
            }
        }
        Ok(t)
    }
}
