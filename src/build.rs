//! Build script: tells the crate which optional compiler features it may use, so that the declared minimum
//! Rust version (`rust-version` in Cargo.toml) still builds. Today that is only `davinci_avx512`: the
//! AVX-512 intrinsics, stable since Rust 1.89, used by the CPU twin's fastest micro-kernel.

use std::process::Command;

fn main() {
    println!("cargo::rerun-if-changed=src/build.rs");
    println!("cargo::rustc-check-cfg=cfg(davinci_avx512)");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let minor = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        // "rustc 1.95.0 (59807616e 2026-04-14)"
        .and_then(|v| {
            v.split_whitespace()
                .nth(1)?
                .split('.')
                .nth(1)?
                .parse::<u32>()
                .ok()
        });
    let x86_64 = std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("x86_64");
    if x86_64 && minor.is_some_and(|m| m >= 89) {
        println!("cargo::rustc-cfg=davinci_avx512");
    }
}
