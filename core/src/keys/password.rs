//! Where passwords for key files come from, besides `PATH:PASSWORD`.
//!
//! The keyring asks a [`PasswordSource`] with an attempt counter until it answers `None`; each
//! answer is tried once. The CLI uses [`StandardPasswords`] (the `WCFSCOPE_KEY_PASSWORD`
//! environment variable, then a no-echo terminal prompt when stdin is a terminal); tests and
//! the GUI use [`NoPassword`] or [`FixedPassword`] (the GUI asks in a dialog, then reloads).

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use zeroize::Zeroizing;

/// Environment variable holding a password for every key file that needs one.
pub const PASSWORD_ENV: &str = "WCFSCOPE_KEY_PASSWORD";

/// How many times the terminal prompt asks for one file.
const PROMPT_ATTEMPTS: u32 = 3;

/// Supplies passwords for an encrypted key file.
pub trait PasswordSource {
    /// The password to try on attempt `attempt` (0-based) for `path`, or `None` to give up.
    fn password(&self, path: &Path, attempt: u32) -> Option<Zeroizing<String>>;
}

/// Never has a password.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoPassword;

impl PasswordSource for NoPassword {
    fn password(&self, _: &Path, _: u32) -> Option<Zeroizing<String>> {
        None
    }
}

/// One password, offered once per file.
#[derive(Clone)]
pub struct FixedPassword(pub Zeroizing<String>);

impl FixedPassword {
    pub fn new(password: &str) -> Self {
        FixedPassword(Zeroizing::new(password.to_string()))
    }
}

impl std::fmt::Debug for FixedPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FixedPassword(<hidden>)")
    }
}

impl PasswordSource for FixedPassword {
    fn password(&self, _: &Path, attempt: u32) -> Option<Zeroizing<String>> {
        (attempt == 0).then(|| self.0.clone())
    }
}

/// `WCFSCOPE_KEY_PASSWORD` first, then up to three no-echo prompts on the terminal (only
/// when stdin is a terminal, so scripts and CI never block).
#[derive(Debug, Default, Clone, Copy)]
pub struct StandardPasswords;

impl PasswordSource for StandardPasswords {
    fn password(&self, path: &Path, attempt: u32) -> Option<Zeroizing<String>> {
        let env = std::env::var(PASSWORD_ENV).ok().map(Zeroizing::new);
        let prompt_attempt = match (&env, attempt) {
            (Some(pw), 0) => return Some(pw.clone()),
            (Some(_), n) => n - 1,
            (None, n) => n,
        };
        if prompt_attempt >= PROMPT_ATTEMPTS || !std::io::stdin().is_terminal() {
            return None;
        }
        let again = if attempt > 0 { "Wrong password. " } else { "" };
        prompt_no_echo(&format!("{again}Password for {}: ", path.display()))
    }
}

/// Reads one line from the terminal with echo turned off through `stty` (restored by a
/// guard even on error). Where `stty` is missing (Windows consoles) the line is read with
/// echo and the prompt says so.
fn prompt_no_echo(prompt: &str) -> Option<Zeroizing<String>> {
    let guard = EchoOff::new();
    let mut stderr = std::io::stderr();
    let note = if guard.is_some() {
        ""
    } else {
        "(input will be visible) "
    };
    let _ = write!(stderr, "{note}{prompt}");
    let _ = stderr.flush();
    let mut line = Zeroizing::new(String::new());
    let read = std::io::stdin().lock().read_line(&mut line);
    drop(guard);
    let _ = writeln!(stderr);
    match read {
        Ok(0) | Err(_) => None,
        Ok(_) => {
            let trimmed = line.trim_end_matches(['\r', '\n']);
            Some(Zeroizing::new(trimmed.to_string()))
        }
    }
}

/// Turns terminal echo off for its lifetime.
struct EchoOff;

impl EchoOff {
    fn new() -> Option<EchoOff> {
        stty("-echo").then_some(EchoOff)
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        stty("echo");
    }
}

fn stty(arg: &str) -> bool {
    Command::new("stty")
        .arg(arg)
        .stdin(Stdio::inherit())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
