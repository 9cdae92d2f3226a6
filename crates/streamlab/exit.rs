//! The exit codes beyond 0 (success) and 1 (an error, one line), for
//! commands that finish their work and still have bad news: a scripted
//! grader tells them apart.

use std::fmt;

/// `analyze`: the capture is cut off or damaged part-way; the report
/// covers what was read.
pub const DAMAGED: u8 = 3;
/// `analyze --check` found something missing; `conformance` found
/// failing checks.
pub const CHECKS_FAILED: u8 = 4;

/// An error that ends the program with `code` after its one line.
#[derive(Debug)]
pub struct Exit {
    pub code: u8,
    pub message: String,
}

impl Exit {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Exit {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Exit {}
