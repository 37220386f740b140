//! Generates `src/onnx/proto.rs` from `proto/onnx.proto`: protox (a protobuf compiler in Rust, so no
//! `protoc` binary is needed) parses the schema, prost-build writes the message types. Run from anywhere:
//! `cargo run --manifest-path tools/onnx-codegen/Cargo.toml`.

use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let proto = root.join("proto");
    let fds = protox::compile([proto.join("onnx.proto")], [&proto])?;
    let out = std::env::temp_dir().join(format!("onnx-codegen-{}", std::process::id()));
    std::fs::create_dir_all(&out)?;
    // The schema's comments are its documentation; copied into doc comments, their indented examples
    // would become doctests that cannot compile.
    prost_build::Config::new()
        .out_dir(&out)
        .disable_comments(["."])
        .compile_fds(fds)?;
    let code = std::fs::read_to_string(out.join("onnx.rs"))?;
    let header = "//! The ONNX protobuf messages, generated from `proto/onnx.proto` (onnx 1.23.2) by\n\
                  //! `tools/onnx-codegen` (protox + prost-build), without the schema's comments: read\n\
                  //! `proto/onnx.proto` for what each field means. Do not edit: regenerate (proto/README.md).\n\
                  #![allow(clippy::all, missing_docs, rustdoc::all)]\n\n";
    let target = root.join("src/onnx/proto.rs");
    std::fs::write(&target, format!("{header}{code}"))?;
    std::fs::remove_dir_all(&out)?;
    println!("wrote {}", target.display());
    Ok(())
}
