// shared/codes.wgsl: the function codes the Vector shaders switch on (p.func), one family per shader.
// The build (src/build/shaders.rs) reads these lines into Rust's `kernel_table::codes`, which UnaryFn,
// BinaryFn, ReduceFn and Activation map onto, and fails when a shader lacks a case for one of them;
// so Rust and WGSL cannot drift apart. A new function gets a new code here (values are never reused).

// vector_unary.wgsl
const UNARY_NEG: u32 = 0u;
const UNARY_ABS: u32 = 1u;
const UNARY_EXP: u32 = 2u;
const UNARY_LOG: u32 = 3u;
const UNARY_SQRT: u32 = 4u;
const UNARY_RSQRT: u32 = 5u;
const UNARY_RECIP: u32 = 6u;
const UNARY_TANH: u32 = 7u;
const UNARY_SIGMOID: u32 = 8u;
const UNARY_RELU: u32 = 9u;
const UNARY_SILU: u32 = 10u;
const UNARY_GELU: u32 = 11u;
const UNARY_GELU_TANH: u32 = 12u;
const UNARY_ERF: u32 = 13u;

// vector_binary.wgsl
const BINARY_ADD: u32 = 0u;
const BINARY_SUB: u32 = 1u;
const BINARY_MUL: u32 = 2u;
const BINARY_DIV: u32 = 3u;
const BINARY_MAX: u32 = 4u;
const BINARY_MIN: u32 = 5u;
const BINARY_RELU_GRAD: u32 = 6u;
const BINARY_SILU_GRAD: u32 = 7u;
const BINARY_GELU_GRAD: u32 = 8u;
const BINARY_GELU_TANH_GRAD: u32 = 9u;

// vector_reduce.wgsl
const REDUCE_SUM: u32 = 0u;
const REDUCE_MEAN: u32 = 1u;
const REDUCE_AMAX: u32 = 2u;
const REDUCE_SUMSQ: u32 = 3u;

// vector_epilogue.wgsl
const ACT_NONE: u32 = 0u;
const ACT_RELU: u32 = 1u;
const ACT_GELU: u32 = 2u;
const ACT_GELU_TANH: u32 = 3u;
const ACT_SILU: u32 = 4u;

// cast_formats.wgsl: element formats (DType), also the `from`/`to` of a cast.
const FMT_BF16: u32 = 0u;
const FMT_F32: u32 = 1u;
const FMT_F16: u32 = 2u;
const FMT_E4M3: u32 = 3u;
const FMT_E5M2: u32 = 4u;
const FMT_I8: u32 = 5u;
const FMT_I32: u32 = 6u;

// cube_matmul.wgsl: the Cube's operand formats (CubeFormat), its IN_FORMAT override.
const CUBE_BF16: u32 = 0u;
const CUBE_FP32: u32 = 1u;
const CUBE_FP16: u32 = 2u;
const CUBE_E4M3: u32 = 3u;
const CUBE_E5M2: u32 = 4u;
const CUBE_INT8: u32 = 5u;
const CUBE_HF32: u32 = 6u;

// cube_matmul_sg's way out (shared/cube_sg_out.wgsl): flags of p.epi, bits that combine.
const EPI_SCALE: u32 = 1u;
const EPI_BIAS: u32 = 2u;
const EPI_RESIDUAL: u32 = 4u;
const EPI_OUT_BF16: u32 = 8u;
const EPI_BIAS_BF16: u32 = 16u;
const EPI_RESIDUAL_BF16: u32 = 32u;
