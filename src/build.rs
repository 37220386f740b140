//! Build script. Two jobs:
//! - the kernel table (`build/shaders.rs`): every shader's imports resolved, validated by naga with each of
//!   its override variants, and `$OUT_DIR/kernel_table.rs` generated for `src/kernel_table.rs`; a broken
//!   shader fails the build with naga's message;
//! - which optional compiler features the crate may use, so that the declared minimum Rust version
//!   (`rust-version` in Cargo.toml) still builds. Today that is only `davinci_avx512`: the AVX-512
//!   intrinsics, stable since Rust 1.89, used by the CPU twin's fastest micro-kernel.

use std::path::PathBuf;
use std::process::Command;

#[path = "build/shaders.rs"]
mod shaders;

fn main() {
    println!("cargo::rerun-if-changed=src/build.rs");
    println!("cargo::rerun-if-changed=src/build");
    println!("cargo::rerun-if-changed=shaders");
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"));
    if let Err(e) = shaders::generate(&root, &out) {
        // The whole message, so that a broken shader reads like a compile error.
        eprintln!("{e}");
        panic!("the kernel table could not be built:\n{e}");
    }
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
