//! The kernel table: one [`KernelId`] per `shaders/<name>.wgsl`, generated at build time by
//! `src/build/shaders.rs` from the shaders themselves. It holds each kernel's name (shader stem, CPU twin
//! module `src/reference/<name>.rs`, launcher `src/kernels/<name>.rs` or its family's, bench group), its
//! WGSL with imports resolved, its bindings and workgroup size as naga read them, the override values its
//! launcher may use, and the function codes the Vector shaders switch on. `device`, `kernels`, `program`,
//! `sched`, the benches and the CLI all read names and codes from here, so nothing is kept in step by hand.
//!
//! This module imports nothing from the crate, so that every layer may use it without a loop.

include!(concat!(env!("OUT_DIR"), "/kernel_table.rs"));

/// What a binding of a kernel's bind group 0 is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindingKind {
    /// `var<uniform>`: the launcher's parameter struct.
    Uniform,
    /// `var<storage, read>`: an operand.
    StorageRead,
    /// `var<storage, read_write>`: the result.
    StorageReadWrite,
}

impl KernelId {
    /// [`KernelId::variant_sets`] as owned lists (for the backend tests and `naga`'s pipeline constants).
    pub fn variants(self) -> Vec<Vec<(&'static str, f64)>> {
        self.variant_sets().iter().map(|v| v.to_vec()).collect()
    }

    /// Whether `constants` is one of the declared variants (launchers may use only those).
    pub fn is_declared_variant(self, constants: &[(&'static str, f64)]) -> bool {
        if self.variants_each() {
            let allowed = self.override_values();
            return constants.len() == allowed.len()
                && constants
                    .iter()
                    .zip(allowed)
                    .all(|((n, v), (name, values))| n == name && values.contains(v));
        }
        self.variant_sets().contains(&constants)
    }

    /// The kernel of this name, if there is one.
    pub fn from_name(name: &str) -> Option<KernelId> {
        KernelId::ALL.into_iter().find(|k| k.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        for k in KernelId::ALL {
            assert_eq!(KernelId::from_name(k.name()), Some(k));
        }
        assert_eq!(KernelId::from_name("no_such_kernel"), None);
    }

    #[test]
    fn bindings_and_workgroups_were_read_from_the_shaders() {
        // cube_matmul: params, a, b, the two dequantisation scales, c.
        assert_eq!(
            KernelId::CubeMatmul.bindings(),
            &[
                BindingKind::Uniform,
                BindingKind::StorageRead,
                BindingKind::StorageRead,
                BindingKind::StorageRead,
                BindingKind::StorageRead,
                BindingKind::StorageReadWrite
            ]
        );
        assert_eq!(KernelId::CubeMatmul.workgroup_size(), [16, 16, 1]);
        assert_eq!(KernelId::VectorUnary.workgroup_size(), [256, 1, 1]);
        assert_eq!(KernelId::CubeMatmulSg.workgroup_override(), Some("WG"));
        assert!(KernelId::CubeMatmulSg.needs_subgroups() && KernelId::CubeMatmulSg.bounds_proven());
        assert!(!KernelId::CubeMatmul.bounds_proven());
        // Every kernel writes exactly one result, bound last.
        for k in KernelId::ALL {
            let b = k.bindings();
            assert_eq!(
                b.last(),
                Some(&BindingKind::StorageReadWrite),
                "{}",
                k.name()
            );
            let writes = b.iter().filter(|&&x| x == BindingKind::StorageReadWrite);
            assert_eq!(writes.count(), 1, "{}", k.name());
        }
    }

    #[test]
    fn variants_are_the_declared_combinations() {
        // SEQUENTIAL x ROWS x IN_FORMAT: 2 x 2 x 7.
        assert_eq!(KernelId::CubeMatmul.variants().len(), 28);
        assert_eq!(KernelId::CubeMatmulSg.variants().len(), 120);
        // FLAGS x WHOLE: 2 x 2 and 4 x 2.
        assert_eq!(KernelId::VectorSoftmax.variants().len(), 4);
        assert_eq!(KernelId::VectorLayernorm.variants().len(), 8);
        assert_eq!(KernelId::CastF32Bf16.variants(), vec![Vec::new()]);
        // @variants-each: one value changed at a time is listed; any combination is declared.
        assert_eq!(KernelId::VectorChain.variants().len(), 49);
        assert!(KernelId::VectorChain.variants_each() && !KernelId::VectorUnary.variants_each());
        let mut c = KernelId::VectorChain.variants()[0].clone();
        for (name, v) in c.iter_mut() {
            if ["K0", "K1", "K2", "K3", "F0", "F1", "F2", "F3"].contains(name) {
                *v = 2.0;
            }
        }
        assert!(KernelId::VectorChain.is_declared_variant(&c));
        c[1].1 = 4.0;
        assert!(
            !KernelId::VectorChain.is_declared_variant(&c),
            "K0 = 4 is not declared"
        );
        c.pop();
        assert!(
            !KernelId::VectorChain.is_declared_variant(&c[..]),
            "an override left out"
        );
        let sg = |wg: f64| {
            [
                ("WG", wg),
                ("B_T", 1.0),
                ("IN_FORMAT", 6.0),
                ("SEQ", 0.0),
                ("ACT", 2.0),
            ]
        };
        assert!(KernelId::CubeMatmulSg.is_declared_variant(&sg(32.0)));
        assert!(!KernelId::CubeMatmulSg.is_declared_variant(&sg(48.0)));
    }

    #[test]
    fn folded_modules_hold_their_own_case_only() {
        let case = |name: &str| format!("case {name}:");
        let div = KernelId::VectorBinary.source_for(&[("FUNC", codes::BINARY_DIV as f64)]);
        assert!(div.contains(&case("BINARY_DIV")));
        assert!(!div.contains(&case("BINARY_ADD")) && !div.contains(&case("BINARY_GELU_GRAD")));
        assert!(div.len() < KernelId::VectorBinary.source().len());
        let exp =
            KernelId::VectorUnary.source_for(&[("FUNC", codes::UNARY_EXP as f64), ("WIDE", 1.0)]);
        assert!(exp.contains(&case("UNARY_EXP")) && !exp.contains(&case("UNARY_ERF")));
        // Every declared value has its module; a kernel without `// @fold` keeps its whole source.
        for k in [KernelId::VectorBinary, KernelId::VectorUnary] {
            assert_eq!(k.fold_override(), Some("FUNC"));
            for v in k.variants() {
                assert_ne!(k.source_for(&v), k.source(), "{} {v:?}", k.name());
            }
        }
        assert_eq!(KernelId::VectorSoftmax.fold_override(), None);
        let sm = [("WG", 256.0)];
        assert_eq!(
            KernelId::VectorSoftmax.source_for(&sm),
            KernelId::VectorSoftmax.source()
        );
    }

    #[test]
    fn the_sources_have_no_unresolved_imports() {
        for k in KernelId::ALL {
            assert!(!k.source().contains("#import"), "{}", k.name());
            for v in k.variants() {
                assert!(!k.source_for(&v).contains("#import"), "{} {v:?}", k.name());
            }
        }
    }
}
