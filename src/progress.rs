//! Progress of long library work, reported through a callback so that the library draws nothing itself:
//! the CLI turns these calls into an indicatif bar on stderr, a Python user into whatever they like.

/// Receives the progress of a long computation: one `start`, then `step`s, then `finish`.
pub trait Progress {
    /// The work begins: `what` it is, and how many steps it has (0: one step of unknown length).
    fn start(&mut self, what: &str, total: u64);
    /// One step is done; `line` is worth printing above the bar (a loss, say), `status` beside it.
    fn step(&mut self, line: Option<&str>, status: &str);
    /// The work is over (or failed).
    fn finish(&mut self);
    /// Something the user should know that is not a result (the CLI prints it on stderr).
    fn notice(&mut self, text: &str);
}

/// Progress that nobody watches.
pub struct Silent;

impl Progress for Silent {
    fn start(&mut self, _what: &str, _total: u64) {}
    fn step(&mut self, _line: Option<&str>, _status: &str) {}
    fn finish(&mut self) {}
    fn notice(&mut self, _text: &str) {}
}
