//! One Rust launcher per shader, and the registry of shader sources. A kernel has one name everywhere:
//! `shaders/cube_matmul.wgsl` <-> `src/reference/cube_matmul.rs` <-> [`KernelId::CubeMatmul`] <-> bench
//! `cube_matmul`. Every shader gets `shaders/shared/bf16.wgsl` prepended, so helpers are written once.

pub mod cast;
pub mod cube_matmul;
pub mod vector;

const BF16_WGSL: &str = include_str!("../../shaders/shared/bf16.wgsl");
/// The Vector unit's math (correctly rounded division and sqrt, hand-written transcendentals).
pub(crate) const VECTOR_MATH_WGSL: &str = concat!(
    include_str!("../../shaders/shared/softfloat.wgsl"),
    "\n",
    include_str!("../../shaders/shared/vector_math.wgsl")
);
/// The uniforms, broadcasting, reduction tree and stores shared by the `vector_*` shaders.
const VECTOR_PARAMS_WGSL: &str = include_str!("../../shaders/shared/vector_params.wgsl");
/// The entry point of the elementwise Vector kernels, over their `value(i)`.
const ELEMENTWISE_MAIN_WGSL: &str = include_str!("../../shaders/shared/elementwise_main.wgsl");
/// The entry point of the data-movement kernels, over their `source(i)`.
const MTE_MAIN_WGSL: &str = include_str!("../../shaders/shared/mte_main.wgsl");

/// Every compute shader of the crate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KernelId {
    CubeMatmul,
    /// The register-tiled, subgroup-sharing fast path of `cube_matmul` (same contract, same CPU twin).
    CubeMatmulSg,
    CastF32Bf16,
    CastBf16F32,
    ProbeNumerics,
    /// The f32 FMA rate microbenchmark of `davinci info --peak`.
    ProbePeak,
    VectorUnary,
    VectorBinary,
    VectorReduce,
    VectorSoftmax,
    VectorLayernorm,
    VectorRmsnorm,
    VectorEpilogue,
    VectorRope,
    MtePermute,
    MteGather,
}

impl KernelId {
    /// All kernels, for validation and for warming the pipeline cache.
    pub const ALL: [KernelId; 16] = [
        KernelId::CubeMatmul,
        KernelId::CubeMatmulSg,
        KernelId::CastF32Bf16,
        KernelId::CastBf16F32,
        KernelId::ProbeNumerics,
        KernelId::ProbePeak,
        KernelId::VectorUnary,
        KernelId::VectorBinary,
        KernelId::VectorReduce,
        KernelId::VectorSoftmax,
        KernelId::VectorLayernorm,
        KernelId::VectorRmsnorm,
        KernelId::VectorEpilogue,
        KernelId::VectorRope,
        KernelId::MtePermute,
        KernelId::MteGather,
    ];

    /// The kernel's name: its shader file stem, CPU twin module and bench name.
    pub fn name(self) -> &'static str {
        match self {
            KernelId::CubeMatmul => "cube_matmul",
            KernelId::CubeMatmulSg => "cube_matmul_sg",
            KernelId::CastF32Bf16 => "cast_f32_bf16",
            KernelId::CastBf16F32 => "cast_bf16_f32",
            KernelId::ProbeNumerics => "probe_numerics",
            KernelId::ProbePeak => "probe_peak",
            KernelId::VectorUnary => "vector_unary",
            KernelId::VectorBinary => "vector_binary",
            KernelId::VectorReduce => "vector_reduce",
            KernelId::VectorSoftmax => "vector_softmax",
            KernelId::VectorLayernorm => "vector_layernorm",
            KernelId::VectorRmsnorm => "vector_rmsnorm",
            KernelId::VectorEpilogue => "vector_epilogue",
            KernelId::VectorRope => "vector_rope",
            KernelId::MtePermute => "mte_permute",
            KernelId::MteGather => "mte_gather",
        }
    }

    /// The kernel's own WGSL, without the shared prelude.
    fn own_source(self) -> &'static str {
        match self {
            KernelId::CubeMatmul => include_str!("../../shaders/cube_matmul.wgsl"),
            KernelId::CubeMatmulSg => include_str!("../../shaders/cube_matmul_sg.wgsl"),
            KernelId::CastF32Bf16 => include_str!("../../shaders/cast_f32_bf16.wgsl"),
            KernelId::CastBf16F32 => include_str!("../../shaders/cast_bf16_f32.wgsl"),
            KernelId::ProbeNumerics => include_str!("../../shaders/probe_numerics.wgsl"),
            KernelId::ProbePeak => include_str!("../../shaders/probe_peak.wgsl"),
            KernelId::VectorUnary => include_str!("../../shaders/vector_unary.wgsl"),
            KernelId::VectorBinary => include_str!("../../shaders/vector_binary.wgsl"),
            KernelId::VectorReduce => include_str!("../../shaders/vector_reduce.wgsl"),
            KernelId::VectorSoftmax => include_str!("../../shaders/vector_softmax.wgsl"),
            KernelId::VectorLayernorm => include_str!("../../shaders/vector_layernorm.wgsl"),
            KernelId::VectorRmsnorm => include_str!("../../shaders/vector_rmsnorm.wgsl"),
            KernelId::VectorEpilogue => include_str!("../../shaders/vector_epilogue.wgsl"),
            KernelId::VectorRope => include_str!("../../shaders/vector_rope.wgsl"),
            KernelId::MtePermute => include_str!("../../shaders/mte_permute.wgsl"),
            KernelId::MteGather => include_str!("../../shaders/mte_gather.wgsl"),
        }
    }

    /// Whether the kernel is one of the Vector unit's or a data movement, which share the vector prelude.
    fn is_vector(self) -> bool {
        self.name().starts_with("vector_") || self.name().starts_with("mte_")
    }

    /// The shared entry point appended after the kernel's own source, if it uses one.
    fn shared_main(self) -> &'static str {
        match self {
            KernelId::VectorUnary
            | KernelId::VectorBinary
            | KernelId::VectorEpilogue
            | KernelId::VectorRope => ELEMENTWISE_MAIN_WGSL,
            KernelId::MtePermute | KernelId::MteGather => MTE_MAIN_WGSL,
            _ => "",
        }
    }

    /// The complete WGSL module: the shared prelude (bf16; for Vector kernels also the math library and the
    /// shared uniforms), the kernel, and the shared entry point of its family if it has one.
    pub fn source(self) -> String {
        if self.is_vector() {
            format!(
                "{BF16_WGSL}\n{VECTOR_MATH_WGSL}\n{VECTOR_PARAMS_WGSL}\n{}\n{}",
                self.own_source(),
                self.shared_main()
            )
        } else {
            format!("{BF16_WGSL}\n{}", self.own_source())
        }
    }

    /// Every set of override constants a launcher builds this kernel's pipeline with: the variants that
    /// can run, each of which the backend tests translate. One empty set for a kernel without overrides.
    pub fn variants(self) -> Vec<Vec<(&'static str, f64)>> {
        match self {
            KernelId::CubeMatmul => {
                let mut v = Vec::new();
                for sequential in [false, true] {
                    for rows in cube_matmul::ROWS_PER_INVOCATION {
                        for f32_inputs in [false, true] {
                            v.push(cube_matmul::tiled_constants(sequential, rows, f32_inputs));
                        }
                    }
                }
                v
            }
            KernelId::CubeMatmulSg => cube_matmul::SG_WORKGROUPS
                .iter()
                .flat_map(|&wg| [false, true].map(|b_t| cube_matmul::sg_constants(wg, b_t)))
                .collect(),
            KernelId::ProbePeak => vec![vec![("WG", f64::from(crate::device::peak::WG))]],
            _ => vec![Vec::new()],
        }
    }

    /// Whether the kernel uses subgroup operations (and so needs wgpu's `SUBGROUP` feature).
    pub fn needs_subgroups(self) -> bool {
        self == KernelId::CubeMatmulSg
    }

    /// Parses and validates the module with naga, as wgpu would; the error text names the kernel.
    pub fn validate(self) -> Result<naga::Module, String> {
        let module = naga::front::wgsl::parse_str(&self.source())
            .map_err(|e| format!("{}: {}", self.name(), e.emit_to_string(&self.source())))?;
        let mut caps = naga::valid::Capabilities::default();
        if self.needs_subgroups() {
            caps |= naga::valid::Capabilities::SUBGROUP;
        }
        naga::valid::Validator::new(naga::valid::ValidationFlags::all(), caps)
            .subgroup_stages(naga::valid::ShaderStages::COMPUTE)
            .subgroup_operations(naga::valid::SubgroupOperationSet::all())
            .validate(&module)
            .map_err(|e| format!("{}: {e:?}", self.name()))?;
        Ok(module)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The math library on its own: a stub Params with `zero`, and an entry point that calls every
    /// function, so naga checks all of them (an unused function is still validated, but this also
    /// checks the call signatures the Vector shaders rely on).
    #[test]
    fn vector_math_validates_with_naga() {
        let src = format!(
            "{BF16_WGSL}\n{VECTOR_MATH_WGSL}\n{}",
            r#"
struct Params { n: u32, zero: u32, _pad0: u32, _pad1: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    let x = out[i];
    let y = out[i + 1u];
    var s = vm_add(x, y) + vm_sub(x, y) + vm_mul(x, y) + vm_div(x, y) + vm_max(x, y) + vm_min(x, y);
    s += vm_sqrt(x) + vm_recip(x) + vm_rsqrt(x) + vm_exp(x) + vm_log(x) + vm_tanh(x);
    s += vm_sigmoid(x) + vm_silu(x) + vm_gelu(x) + vm_gelu_tanh(x) + vm_erf(x) + vm_erfc(x);
    s += vm_ldexp(x, 3) + vm_exp_parts(x).p + vm_nan2(x, y);
    if (vm_is_nan(s) || vm_is_inf(s) || vm_gt(x, y)) {
        s = vm_quiet(s);
    }
    out[i] = s;
}
"#
        );
        let module = naga::front::wgsl::parse_str(&src)
            .unwrap_or_else(|e| panic!("{}", e.emit_to_string(&src)));
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::default(),
        )
        .validate(&module)
        .unwrap_or_else(|e| panic!("{e:?}"));
    }

    #[test]
    fn every_shader_validates_with_naga() {
        for k in KernelId::ALL {
            if let Err(e) = k.validate() {
                panic!("{e}");
            }
        }
    }
}
