//! How the crate touches the file system, so every loader and writer refuses hostile paths the same way:
//! inputs must be regular files (a FIFO would block a reader forever, `/dev/zero` never ends, a directory
//! is no file), reads are bounded by what the format allows, outputs are written atomically (a temporary
//! file in the same folder, then a rename: a failed run leaves no partial file and never touches an
//! existing output), and a run that would need more host memory than is available is refused up front
//! with the size it needed, instead of ending in an allocation abort or an OOM kill.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Error, Result};

/// The length of `path`, after checking that it is a regular file (following symlinks). `what` names the
/// file's role in the error ("tensor file", "chip file").
pub fn regular_file_len(path: &Path, what: &'static str) -> Result<u64> {
    let meta = std::fs::metadata(path).map_err(|source| Error::Io {
        action: read_action(what),
        path: path.to_path_buf(),
        source,
    })?;
    // A file error (Error::Io), as a missing file is: callers (the Python module among them) tell file
    // problems from other bad input by the variant.
    let refuse = |detail: String| Error::Io {
        action: read_action(what),
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, detail),
    };
    if meta.is_dir() {
        return Err(refuse(format!("is a directory, but a {what} was expected")));
    }
    if !meta.is_file() {
        return Err(refuse(format!(
            "is not a regular file (a FIFO, a device or a socket); a {what} must be a regular file"
        )));
    }
    Ok(meta.len())
}

/// Whether a `NAME|FILE` argument names a file rather than a preset: anything that exists and is not a
/// folder. A FIFO or a device counts, so that its loader refuses it by name instead of "unknown preset";
/// a folder does not, so that a folder named like a preset (`minilm/`) leaves the preset usable.
pub fn names_a_file(path: &Path) -> bool {
    path.exists() && !path.is_dir()
}

/// The words an I/O error on reading a `what` starts with.
fn read_action(what: &'static str) -> &'static str {
    match what {
        "tensor file" => "cannot read tensor file",
        "weights file" => "cannot open weights file",
        "chip file" => "cannot read the chip file",
        "cluster file" => "cannot read the cluster file",
        "model file" => "cannot read the model file",
        _ => "cannot read",
    }
}

/// Reads a whole regular file of at most `max` bytes; a larger one is refused before reading. The read is
/// bounded by `max` too, so a file that grows while it is read cannot exhaust memory.
pub fn read_bounded(path: &Path, what: &'static str, max: u64) -> Result<Vec<u8>> {
    let len = regular_file_len(path, what)?;
    if len > max {
        return Err(Error::Invalid(format!(
            "{}: is {} bytes, more than the {max} bytes a {what} may have",
            path.display(),
            len
        )));
    }
    check_host_memory(&format!("reading {}", path.display()), u128::from(len))?;
    let io = |source| Error::Io {
        action: read_action(what),
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(max + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > max {
        return Err(Error::Invalid(format!(
            "{}: grew past {max} bytes while it was read; a {what} must not change during a run",
            path.display()
        )));
    }
    Ok(bytes)
}

/// Reads a UTF-8 text file of at most `max` bytes (see [`read_bounded`]).
pub fn read_text_bounded(path: &Path, what: &'static str, max: u64) -> Result<String> {
    let bytes = read_bounded(path, what, max)?;
    String::from_utf8(bytes).map_err(|e| {
        Error::Invalid(format!(
            "{}: is not UTF-8 text (invalid byte at offset {}); a {what} is text",
            path.display(),
            e.utf8_error().valid_up_to()
        ))
    })
}

/// The most a text input (chip, cluster or model file, `config.json`) may be: far above any real one.
pub const MAX_TEXT_FILE: u64 = 16 << 20;

/// Writes `bytes` to `path` atomically: into a temporary file beside it, flushed to disk, then renamed over
/// `path`. On any error the temporary file is removed and an existing `path` is left as it was.
pub fn write_atomic(path: &Path, bytes: &[u8], what: &'static str) -> Result<()> {
    let refuse = |kind: std::io::ErrorKind, why: String| Error::Io {
        action: write_action(what),
        path: path.to_path_buf(),
        source: std::io::Error::new(kind, why),
    };
    if path.is_dir() {
        return Err(refuse(
            std::io::ErrorKind::IsADirectory,
            format!("is a directory; give a file name for the {what}"),
        ));
    }
    // A rename would replace a device or a FIFO (/dev/full, /dev/stdout) with a regular file.
    if let Ok(meta) = std::fs::metadata(path)
        && !meta.is_file()
    {
        return Err(refuse(
            std::io::ErrorKind::InvalidInput,
            format!(
                "is not a regular file (a device, a FIFO or a socket); give a file path for the {what}"
            ),
        ));
    }
    let name = path.file_name().ok_or_else(|| {
        refuse(
            std::io::ErrorKind::InvalidInput,
            format!("names no file; give a file name for the {what}"),
        )
    })?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let tmp = dir.join(format!(
        ".{}.davinci-tmp-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    written.map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        Error::Io {
            action: write_action(what),
            path: path.to_path_buf(),
            source,
        }
    })
}

/// The words an I/O error on writing a `what` starts with.
fn write_action(what: &'static str) -> &'static str {
    match what {
        "tensor file" => "cannot write tensor file",
        "trace" => "cannot write the trace to",
        "plot" => "cannot write the plot to",
        _ => "cannot write",
    }
}

/// Writes a Chrome trace (or any JSON report) atomically, with an error that says what to check.
pub fn write_json(path: &Path, value: &serde_json::Value, what: &'static str) -> Result<()> {
    let text = serde_json::to_string(value)
        .map_err(|e| Error::Invalid(format!("cannot serialise the {what}: {e}")))?;
    // Still a file error (Error::Io), with what to check added to the cause.
    write_atomic(path, text.as_bytes(), what).map_err(|e| match e {
        Error::Io {
            action,
            path,
            source,
        } => Error::Io {
            action,
            path,
            source: std::io::Error::new(
                source.kind(),
                format!("{source}; check that its directory exists and is writable"),
            ),
        },
        other => other,
    })
}

/// The host memory available to a new allocation: the least of `MemAvailable` (Linux), the cgroup's
/// memory limit less its usage (a container's), and the process's address-space limit (`ulimit -v`), any
/// of which ends a larger run in an OOM kill or an allocation abort. `None` where none is known.
pub fn host_available_bytes() -> Option<u128> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok().and_then(|t| {
        let line = t.lines().find(|l| l.starts_with("MemAvailable:"))?;
        let kib: u128 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    });
    let number = |p: &str| -> Option<u128> { std::fs::read_to_string(p).ok()?.trim().parse().ok() };
    // cgroup v2; "max" (no limit) does not parse.
    let cgroup = number("/sys/fs/cgroup/memory.max")
        .map(|max| max.saturating_sub(number("/sys/fs/cgroup/memory.current").unwrap_or(0)));
    let rlimit = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|t| {
            let line = t.lines().find(|l| l.starts_with("Max address space"))?;
            let limit = line.split_whitespace().nth(3)?.parse::<u128>().ok()?;
            // The limit counts what is mapped already.
            let status = std::fs::read_to_string("/proc/self/status").ok()?;
            let vm = status.lines().find(|l| l.starts_with("VmSize:"))?;
            let kib: u128 = vm.split_whitespace().nth(1)?.parse().ok()?;
            Some(limit.saturating_sub(kib * 1024))
        });
    [meminfo, cgroup, rlimit].into_iter().flatten().min()
}

/// Refuses `need` bytes for `what` when they exceed the host's available memory (or, where that is
/// unknown, the address space), naming both sizes.
pub fn check_host_memory(what: &str, need: u128) -> Result<()> {
    // Every executor run passes through here; below this size reading /proc would cost more than the
    // check could ever save (assumption: any host running davinci has 64 MiB to spare).
    const ALWAYS_FITS: u128 = 64 << 20;
    if need <= ALWAYS_FITS {
        return Ok(());
    }
    let limit = host_available_bytes()
        .unwrap_or(usize::MAX as u128)
        .min(isize::MAX as u128);
    if need > limit {
        return Err(Error::Invalid(format!(
            "{what} needs about {} of host memory but only {} is available; use smaller sizes",
            crate::units::fmt_bytes(need),
            crate::units::fmt_bytes(limit)
        )));
    }
    Ok(())
}

/// Makes sure an output path can be written before any work is done (a long run that fails only at the end
/// is worse than an early error). A file this guard created is removed again unless
/// [`OutputGuard::commit`] is called; an existing file is never truncated early (the real write is
/// [`write_atomic`]'s).
pub struct OutputGuard {
    path: PathBuf,
    created: bool,
    committed: bool,
}

impl OutputGuard {
    pub fn create(path: &Path) -> Result<Self> {
        let existed = path.exists();
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| {
                Error::Invalid(format!(
                    "cannot write the output file {}: {e}; check that its directory exists and is \
                     writable, or choose another output path",
                    path.display()
                ))
            })?;
        Ok(OutputGuard {
            path: path.to_path_buf(),
            created: !existed,
            committed: false,
        })
    }

    /// The output was written: keep it.
    pub fn commit(mut self) {
        self.committed = true;
    }
}

impl Drop for OutputGuard {
    fn drop(&mut self) {
        if self.created && !self.committed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("davinci-files-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn devices_and_directories_are_refused_before_reading() {
        let e = read_bounded(Path::new("/dev/zero"), "tensor file", 1 << 20).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        let d = scratch("dir");
        let e = read_bounded(&d, "chip file", 10).unwrap_err();
        assert!(e.to_string().contains("is a directory"), "{e}");
    }

    #[test]
    fn oversized_files_are_refused() {
        let d = scratch("big");
        let f = d.join("big.toml");
        std::fs::write(&f, vec![b'#'; 100]).unwrap();
        let e = read_bounded(&f, "chip file", 99).unwrap_err();
        assert!(e.to_string().contains("100 bytes, more than the 99"), "{e}");
        assert_eq!(read_bounded(&f, "chip file", 100).unwrap().len(), 100);
    }

    #[test]
    fn atomic_write_replaces_whole_or_not_at_all() {
        let d = scratch("atomic");
        let f = d.join("out.bin");
        write_atomic(&f, b"first", "output").unwrap();
        write_atomic(&f, b"second", "output").unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"second");
        // A directory as the target: refused, nothing created.
        let e = write_atomic(&d, b"x", "output").unwrap_err();
        assert!(e.to_string().contains("is a directory"), "{e}");
        // A device is never replaced.
        let e = write_atomic(Path::new("/dev/null"), b"x", "output").unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        assert!(!std::fs::metadata("/dev/null").unwrap().is_file());
        // A missing folder: an error, no stray temporary file.
        let e = write_atomic(&d.join("no/such/out.bin"), b"x", "output").unwrap_err();
        assert!(e.to_string().contains("no/such/out.bin"), "{e}");
        let left: Vec<_> = std::fs::read_dir(&d).unwrap().collect();
        assert_eq!(left.len(), 1, "only out.bin remains: {left:?}");
    }

    #[test]
    fn absurd_memory_is_refused() {
        let e = check_host_memory("a test", u128::MAX).unwrap_err();
        assert!(e.to_string().contains("use smaller sizes"), "{e}");
        check_host_memory("a test", 1024).unwrap();
    }
}
