//! The hostile-input harness: runs the `davinci` binary on one bad input at a time, as a user would, each
//! under a time limit and an address-space limit, and holds every run to the same rules:
//!
//! - it ends within its time limit (no hang) and by exiting, not by a signal (no allocation abort, no OOM
//!   kill: the address-space limit turns an attempt to allocate past it into an abort that shows here);
//! - its exit code is 0, 1 (a runtime failure) or 2 (a usage error), never 101 (a panic), and stderr holds no
//!   panic message;
//! - a failure prints its reason on stderr, naming what the case expects (the op, the file, the value), and
//!   leaves stdout empty;
//! - a success with `--json` prints one JSON object with no `null`, and no number beyond 1e100 (an absurd
//!   input answered with an absurd figure); human output holds no `NaN` or `inf`;
//! - files: an existing output is untouched by a failed run, and no temporary file is left behind.
//!
//! Each test file builds a list of [`Case`]s and calls [`run_all`], which runs them two at a time and
//! reports every broken rule of every case at once.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// What a case must do.
#[derive(Clone, Debug)]
pub enum Expect {
    /// Exit 0.
    Ok,
    /// Exit with this code, every needle (case-insensitive) on stderr, nothing on stdout.
    Fail(i32, Vec<String>),
    /// Fail with exit 1 or 2, every needle on stderr.
    Refused(Vec<String>),
    /// Either succeed or fail cleanly with every needle on stderr (for inputs whose outcome depends on
    /// the host, e.g. its memory), still under every other rule.
    OkOrFail(Vec<String>),
}

/// One hostile run.
#[derive(Clone, Debug)]
pub struct Case {
    pub name: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub expect: Expect,
    pub timeout: Duration,
    /// A file that exists before the run and must hold the same bytes after it (an output the run must not
    /// touch when it fails).
    pub untouched: Option<PathBuf>,
    /// A folder in which the run must leave no temporary file.
    pub clean_dir: Option<PathBuf>,
}

impl Case {
    pub fn new(name: impl Into<String>, args: &[&str], expect: Expect) -> Self {
        Case {
            name: name.into(),
            args: args.iter().map(|s| s.to_string()).collect(),
            // The CPU executor unless a case asks for another: the rules are about input handling, and
            // lavapipe's start-up would only add time.
            env: vec![("DAVINCI_ADAPTER".into(), "no-such-adapter-anywhere".into())],
            expect,
            timeout: Duration::from_secs(60),
            untouched: None,
            clean_dir: None,
        }
    }

    /// Lets the binary open the machine's GPU adapter (lavapipe in CI) instead of none.
    pub fn on_gpu(mut self) -> Self {
        self.env.retain(|(key, _)| key != "DAVINCI_ADAPTER");
        self
    }

    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.retain(|(key, _)| key != k);
        self.env.push((k.into(), v.into()));
        self
    }

    pub fn untouched(mut self, p: &Path) -> Self {
        self.untouched = Some(p.to_path_buf());
        self
    }

    pub fn clean_dir(mut self, p: &Path) -> Self {
        self.clean_dir = Some(p.to_path_buf());
        self
    }

    pub fn timeout(mut self, secs: u64) -> Self {
        self.timeout = Duration::from_secs(secs);
        self
    }
}

/// A failure with exit code `code` whose stderr holds every needle.
pub fn fail(code: i32, needles: &[&str]) -> Expect {
    Expect::Fail(code, needles.iter().map(|s| s.to_string()).collect())
}

/// A refusal (exit 1 or 2) whose stderr holds every needle.
pub fn refused(needles: &[&str]) -> Expect {
    Expect::Refused(needles.iter().map(|s| s.to_string()).collect())
}

/// A usage error (exit 2) whose stderr holds every needle.
pub fn usage(needles: &[&str]) -> Expect {
    fail(2, needles)
}

/// A runtime failure (exit 1) whose stderr holds every needle.
pub fn runtime(needles: &[&str]) -> Expect {
    fail(1, needles)
}

/// The address-space limit of every run: far above any legal case here, far below the machine's memory,
/// so an unchecked allocation aborts visibly instead of swapping or waking the OOM killer.
const ADDRESS_SPACE_KIB: u64 = 12 << 20;

/// Runs one case and returns every rule it broke.
fn check(case: &Case) -> Vec<String> {
    let before = case.untouched.as_ref().map(|p| std::fs::read(p).ok());
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!(
            "ulimit -v {ADDRESS_SPACE_KIB} && exec \"$0\" \"$@\""
        ))
        .arg(env!("CARGO_BIN_EXE_davinci"))
        .args(&case.args)
        .env_remove("DAVINCI_ADAPTER")
        .envs(case.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let child = cmd.spawn().expect("sh runs");
    // `exec` keeps the shell's pid, which the binary's temporary files carry.
    let pid = child.id();
    let out = wait_with_timeout(child, case.timeout);
    let mut broken = Vec::new();
    let Some(out) = out else {
        return vec![format!(
            "hang: still running after {:?}, killed",
            case.timeout
        )];
    };
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let code = out.status.code();
    let secs = start.elapsed().as_secs_f64();
    match code {
        None => broken.push(format!("killed by a signal ({:?})", out.status)),
        Some(0..=2) => {}
        Some(c) => broken.push(format!("exit code {c} (0, 1 or 2 expected)")),
    }
    for bad in ["panicked at", "memory allocation of", "RUST_BACKTRACE"] {
        if stderr.contains(bad) {
            broken.push(format!("stderr holds '{bad}'"));
        }
    }
    let failed = code != Some(0);
    let needles = match &case.expect {
        Expect::Ok if failed => {
            broken.push(format!("failed (exit {code:?}) but should succeed"));
            vec![]
        }
        Expect::Ok => vec![],
        Expect::Fail(want, _) if code != Some(*want) => {
            broken.push(format!("exit {code:?}, expected {want}"));
            vec![]
        }
        Expect::Fail(_, n) => n.clone(),
        Expect::Refused(_) if !failed => {
            broken.push("succeeded but should be refused".into());
            vec![]
        }
        Expect::Refused(n) => n.clone(),
        Expect::OkOrFail(n) if failed => n.clone(),
        Expect::OkOrFail(_) => vec![],
    };
    let lower = stderr.to_lowercase();
    for n in needles {
        if !lower.contains(&n.to_lowercase()) {
            broken.push(format!("stderr lacks '{n}'"));
        }
    }
    if failed {
        if stderr.trim().is_empty() {
            broken.push("failed with nothing on stderr".into());
        }
        // Exit 1 may still carry the report of a run whose check failed; a usage error never does.
        if code == Some(2) && !stdout.trim().is_empty() {
            broken.push("a usage error printed on stdout".into());
        }
    } else if case.args.iter().any(|a| a == "--json") {
        broken.extend(json_problems(&stdout));
    } else {
        for word in stdout.split(|c: char| !c.is_alphanumeric()) {
            if ["NaN", "nan", "inf", "Infinity"].contains(&word) {
                broken.push(format!("human output shows '{word}'"));
                break;
            }
        }
    }
    if let (Some(p), Some(before)) = (&case.untouched, before)
        && std::fs::read(p).ok() != before
    {
        broken.push(format!("{} changed", p.display()));
    }
    if let Some(dir) = &case.clean_dir {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.contains(&format!("davinci-tmp-{pid}-")) {
                broken.push(format!("left a temporary file {name}"));
            }
        }
    }
    if !broken.is_empty() {
        broken.push(format!(
            "(after {secs:.1} s; stderr: {})",
            stderr.trim().chars().take(600).collect::<String>()
        ));
    }
    broken
}

/// What is wrong with a `--json` report: not one object, a `null`, or an absurd number.
fn json_problems(stdout: &str) -> Vec<String> {
    let v: Value = match serde_json::from_str(stdout) {
        Ok(v) => v,
        Err(e) => return vec![format!("stdout is not one JSON value: {e}")],
    };
    if !v.is_object() {
        return vec!["stdout is JSON but not an object".into()];
    }
    let mut problems = Vec::new();
    walk(&v, "$", &mut problems);
    problems.truncate(5);
    problems
}

/// Report keys whose `null` means "absent", never a number: the adapter (and its limits and numerics)
/// on a host without one, GPU = CPU agreement when only one executor ran, why a sequence was not scaled
/// when it was not, and a dense model's mixture of experts.
const ABSENT_OK: &[&str] = &[
    "adapter",
    "limits",
    "numerics",
    "bit_exact",
    "seq_scaled_reason",
    "moe",
];

fn walk(v: &Value, path: &str, out: &mut Vec<String>) {
    match v {
        Value::Null if ABSENT_OK.iter().any(|k| path.ends_with(&format!(".{k}"))) => {}
        Value::Null => out.push(format!("{path} is null (a NaN or an infinity?)")),
        Value::Number(n) if n.as_f64().is_some_and(|x| x.abs() > 1e100) => {
            out.push(format!("{path} = {n}, an absurd figure"));
        }
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| walk(x, &format!("{path}[{i}]"), out)),
        Value::Object(o) => o
            .iter()
            .for_each(|(k, x)| walk(x, &format!("{path}.{k}"), out)),
        _ => {}
    }
}

/// Waits for a child, killing it after `limit`; `None` when it had to be killed.
fn wait_with_timeout(
    mut child: std::process::Child,
    limit: Duration,
) -> Option<std::process::Output> {
    // Read the pipes on threads so that a chatty child cannot block on a full pipe.
    let mut so = child.stdout.take().expect("piped");
    let mut se = child.stderr.take().expect("piped");
    let t_out = std::thread::spawn(move || {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut so, &mut b).ok();
        b
    });
    let t_err = std::thread::spawn(move || {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut se, &mut b).ok();
        b
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break Some(s);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stdout = t_out.join().unwrap_or_default();
    let stderr = t_err.join().unwrap_or_default();
    status.map(|status| std::process::Output {
        status,
        stdout,
        stderr,
    })
}

/// Runs every case, two at a time (CI has two cores), and fails listing each case that broke a rule.
pub fn run_all(cases: Vec<Case>) {
    let n = cases.len();
    let names: std::collections::HashSet<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names.len(), n, "case names must be unique");
    let queue = std::sync::Mutex::new(cases.into_iter().collect::<Vec<_>>());
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                loop {
                    let Some(case) = queue.lock().unwrap().pop() else {
                        break;
                    };
                    let broken = check(&case);
                    if !broken.is_empty() {
                        failures.lock().unwrap().push(format!(
                            "{} (davinci {}):\n  {}",
                            case.name,
                            case.args.join(" "),
                            broken.join("\n  ")
                        ));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    eprintln!("hostile: {n} cases, {} broke a rule", failures.len());
    assert!(
        failures.is_empty(),
        "{} of {n} hostile cases broke a rule:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A folder for one test's files, removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Self {
        let d = std::env::temp_dir().join(format!("davinci-hostile-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("scratch dir");
        Scratch(d)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Writes a file and returns its path as a string.
    pub fn file(&self, name: &str, bytes: &[u8]) -> String {
        let p = self.path(name);
        std::fs::write(&p, bytes).expect("write scratch file");
        p.display().to_string()
    }

    /// A FIFO (named pipe) that nothing writes to: a reader that opens it blocks forever.
    pub fn fifo(&self, name: &str) -> String {
        let p = self.path(name);
        let ok = Command::new("mkfifo")
            .arg(&p)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "mkfifo {}", p.display());
        p.display().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
