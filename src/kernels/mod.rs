//! One Rust launcher per shader, and the registry of shader sources. A kernel has one name everywhere:
//! `shaders/cube_matmul.wgsl` <-> `src/reference/cube_matmul.rs` <-> [`KernelId::CubeMatmul`] <-> bench
//! `cube_matmul`. Every shader gets `shaders/shared/bf16.wgsl` prepended, so helpers are written once.

pub mod cast;
pub mod cube_matmul;

const BF16_WGSL: &str = include_str!("../../shaders/shared/bf16.wgsl");

/// Every compute shader of the crate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KernelId {
    CubeMatmul,
    CastF32Bf16,
    CastBf16F32,
    ProbeNumerics,
}

impl KernelId {
    /// All kernels, for validation and for warming the pipeline cache.
    pub const ALL: [KernelId; 3] = [
        KernelId::CubeMatmul,
        KernelId::CastF32Bf16,
        KernelId::ProbeNumerics,
    ];

    /// The kernel's name: its shader file stem, CPU twin module and bench name.
    pub fn name(self) -> &'static str {
        match self {
            KernelId::CubeMatmul => "cube_matmul",
            KernelId::CastF32Bf16 => "cast_f32_bf16",
            KernelId::CastBf16F32 => "cast_bf16_f32",
            KernelId::ProbeNumerics => "probe_numerics",
        }
    }

    /// The kernel's own WGSL, without the shared prelude.
    fn own_source(self) -> &'static str {
        match self {
            KernelId::CubeMatmul => include_str!("../../shaders/cube_matmul.wgsl"),
            KernelId::CastF32Bf16 => include_str!("../../shaders/cast_f32_bf16.wgsl"),
            KernelId::CastBf16F32 => include_str!("../../shaders/cast_bf16_f32.wgsl"),
            KernelId::ProbeNumerics => include_str!("../../shaders/probe_numerics.wgsl"),
        }
    }

    /// The complete WGSL module: the shared prelude, then the kernel.
    pub fn source(self) -> String {
        format!("{BF16_WGSL}\n{}", self.own_source())
    }

    /// Parses and validates the module with naga, as wgpu would; the error text names the kernel.
    pub fn validate(self) -> Result<naga::Module, String> {
        let module = naga::front::wgsl::parse_str(&self.source())
            .map_err(|e| format!("{}: {}", self.name(), e.emit_to_string(&self.source())))?;
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::default(),
        )
        .validate(&module)
        .map_err(|e| format!("{}: {e:?}", self.name()))?;
        Ok(module)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shader_validates_with_naga() {
        for k in KernelId::ALL {
            if let Err(e) = k.validate() {
                panic!("{e}");
            }
        }
    }
}
