//! The README's library example: one bf16 matmul on the best executor, checked against the CPU twin.
use davinci::{
    CpuExecutor, ExecutorChoice, MatmulOptions, matmul, select, tensor::random::gen_bf16,
};

fn main() -> davinci::Result<()> {
    let exec = select(ExecutorChoice::Auto)?.executors.remove(0);
    let a = gen_bf16(1, [17, 33], 1.0); // M x K, bf16
    let b = gen_bf16(2, [33, 65], 1.0); // K x N
    let c = matmul(exec.as_ref(), &a, &b, MatmulOptions::default())?; // f32 [17, 65], tree16
    let twin = matmul(&CpuExecutor, &a, &b, MatmulOptions::default())?;
    println!(
        "{} executor: c[0,0] = {}, bit-identical to the CPU twin: {}",
        exec.name(),
        c.to_f32_vec()[0],
        c.bit_eq(&twin)
    );
    Ok(())
}
