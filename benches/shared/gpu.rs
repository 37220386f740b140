//! The benches' GPU: the best adapter, unless `DAVINCI_BENCH_GPU=0` leaves it out (on a CPU-only box the
//! GPU is Mesa's lavapipe, seconds per call). Says on stdout which adapter runs, or why none does.

use davinci::GpuExecutor;

/// The GPU executor for bench `bench`, or `None` (with the reason printed).
pub fn open(bench: &str) -> Option<GpuExecutor> {
    if std::env::var("DAVINCI_BENCH_GPU").as_deref() == Ok("0") {
        println!("SKIP {bench}/gpu: DAVINCI_BENCH_GPU=0");
        return None;
    }
    match GpuExecutor::open() {
        Ok(gpu) => {
            let d = gpu.context().description();
            println!("GPU: {} ({}, {})", d.name, d.backend, d.device_type);
            Some(gpu)
        }
        Err(e) => {
            println!("SKIP {bench}/gpu: no GPU adapter ({e})");
            None
        }
    }
}
