//! How a program's kernels reach the device. A program captured as a graph (ACL / a compiled model, or
//! a hand-written kernel sequence) is launched by the device's own queue: each kernel starts when the
//! one before it ends, after the chip's `launch_overhead_us`. A framework running op by op (torch_npu in
//! eager mode) dispatches each op from the host, which costs `framework_dispatch_us` of host time per
//! op; the host runs ahead of the device asynchronously, so kernel `i` cannot start before the host has
//! dispatched ops `0..=i`, i.e. before `(i + 1) x dispatch`. Short ops then leave the device waiting for
//! the host (host-bound), long ones hide the dispatch entirely. Views (reshapes that move no data) are
//! not dispatched as kernels and cost nothing in either mode.

use std::fmt;
use std::str::FromStr;

use crate::{Error, Result};

/// Who launches the kernels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LaunchMode {
    /// From the device's queue: a captured graph or a kernel sequence.
    #[default]
    Device,
    /// Op by op from a framework on the host (torch_npu eager), `framework_dispatch_us` per op.
    Framework,
}

impl LaunchMode {
    pub fn name(self) -> &'static str {
        match self {
            LaunchMode::Device => "device",
            LaunchMode::Framework => "framework",
        }
    }
}

impl fmt::Display for LaunchMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for LaunchMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "device" => Ok(LaunchMode::Device),
            "framework" => Ok(LaunchMode::Framework),
            _ => Err(Error::Usage(format!(
                "launch mode '{s}': expected device (a captured graph) or framework (op by op from the host, \
                 as torch_npu eager)"
            ))),
        }
    }
}
