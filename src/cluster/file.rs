//! Custom clusters from TOML (`--cluster path.toml`): `name`, optional `summary`, `base = "PRESET"` (then
//! only the fields that differ), `chip` (a chip preset or chip file), and numeric fields as bare numbers
//! (their source is the file) or `{ value = .., source = ".." }`. Errors name the file and the field.

use super::topology::{CLUSTER_FIELDS, ClusterSpec};
use crate::accel::Accelerator;
use crate::chip::file::{check_keys, read_field, string_field};
use crate::{Error, Result};

impl ClusterSpec {
    /// Parses a cluster from TOML: `name`, optional `summary`, `base` (a preset) and `chip` (a chip preset or
    /// chip file), and numeric fields as numbers or `{ value = .., source = ".." }`. Without `base`, every
    /// numeric field must be given.
    pub fn from_toml(text: &str, origin: &str) -> Result<ClusterSpec> {
        let err = |msg: String| Error::Invalid(format!("cluster file {origin}: {msg}"));
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| err(format!("not valid TOML: {}", e.message())))?;
        const META: &[&str] = &["name", "summary", "base", "chip"];
        let keys: Vec<&str> = CLUSTER_FIELDS.iter().map(|f| f.key).collect();
        check_keys(&table, META, &keys).map_err(err)?;
        let string = |key: &str| string_field(&table, key).map_err(err);
        let name = string("name")?.ok_or_else(|| err("'name' is missing".into()))?;
        let base = string("base")?;
        let mut c = match &base {
            Some(b) => ClusterSpec::preset(b).map_err(|e| err(e.to_string()))?,
            None => {
                let missing: Vec<&str> = CLUSTER_FIELDS
                    .iter()
                    .map(|f| f.key)
                    .filter(|k| !table.contains_key(*k))
                    .collect();
                if !missing.is_empty() || !table.contains_key("chip") {
                    return Err(err(format!(
                        "missing field(s) {}; give them, or start from a preset with base = \"cloudmatrix384\"",
                        if table.contains_key("chip") {
                            missing.join(", ")
                        } else {
                            format!("chip {}", missing.join(", "))
                        }
                    )));
                }
                super::presets::cloudmatrix384()
            }
        };
        c.name = name;
        c.summary = string("summary")?.unwrap_or_else(|| format!("custom cluster from {origin}"));
        if let Some(chip) = string("chip")? {
            c.chip = Accelerator::resolve(&chip).map_err(|e| err(e.to_string()))?;
        }
        for f in CLUSTER_FIELDS {
            let Some(v) = table.get(f.key) else { continue };
            let sourced = read_field(f.key, v, &format!("cluster file {origin}")).map_err(err)?;
            if let Some(slot) = c.field_mut(f.key) {
                *slot = sourced;
            }
        }
        c.validate()
            .map_err(|e| err(e.to_string().replacen("cluster ", "", 1)))?;
        Ok(c)
    }
}
