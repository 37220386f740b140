//! The third-party goldens in `tests/golden` are the files their manifest lists, byte for byte: every
//! listed file exists with the listed size and sha256, and no other data file is there. They were made by
//! torch, jax, ml_dtypes and transformers (see `tests/golden/README.md`) and must never be regenerated or
//! edited; this test is what makes an accidental edit fail.

use crate::common;
use sha2::{Digest, Sha256};

#[test]
fn every_golden_matches_its_manifest_and_none_is_extra() {
    let dir = common::golden_dir();
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let sections = manifest["sections"].as_object().expect("manifest sections");
    let mut listed = std::collections::BTreeSet::new();
    for (section, files) in sections {
        for f in files.as_array().expect("a list of files") {
            let rel = f["file"].as_str().expect("file");
            let bytes = std::fs::read(common::golden_path(rel)).unwrap();
            assert_eq!(
                bytes.len() as u64,
                f["bytes"].as_u64().unwrap(),
                "{section}: {rel} has the wrong size"
            );
            let sum: String = Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(
                sum,
                f["sha256"].as_str().unwrap(),
                "{section}: {rel} was changed"
            );
            listed.insert(rel.to_string());
        }
    }
    let mut found = std::collections::BTreeSet::new();
    for section in sections.keys() {
        for e in std::fs::read_dir(dir.join(section)).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            found.insert(format!("{section}/{name}"));
        }
    }
    assert_eq!(
        found, listed,
        "tests/golden holds files the manifest does not list, or lacks some"
    );
    assert_eq!(listed.len(), 30);
}
