//! Everything genesis prints passes through here.
//!
//! - [`text`] and [`line`]: the one sanitizer for terminal-bound text. Strings from outside
//!   (the lab's `name`, step names, a child's stdout and stderr, an API server's error message)
//!   can carry control characters: an ESC sequence that recolours, moves the cursor, retitles
//!   the window or rewrites what is already on screen; a CR that makes a line overwrite itself;
//!   a newline that forges a line of its own. Each such character is shown as its escape
//!   (`\u{1b}`) instead.
//! - [`out`] / [`err`] and the `outln!`, `out!`, `errln!`, `errout!` macros: writing that never
//!   panics. A closed stdout (`genesis plan | head -1`) ends the process quietly with status
//!   141, the status a shell reports for a process killed by SIGPIPE, which is what a pipeline
//!   consumer expects; a closed stderr is ignored (there is nobody left to tell).

use std::borrow::Cow;
use std::io::Write;

/// Exit status after stdout was closed by its reader: 128 + SIGPIPE (13).
pub const BROKEN_PIPE_STATUS: i32 = 141;

/// Whether a character is shown escaped. `keep_newline` keeps `\n` (for multi-line text); a
/// tab is always kept.
fn is_hostile(character: char, keep_newline: bool) -> bool {
    match character {
        '\n' => !keep_newline,
        '\t' => false,
        // C0 controls (ESC, CR, BEL, backspace, …) and DEL.
        '\u{0}'..='\u{1f}' | '\u{7f}' => true,
        // C1 controls: U+009B is a one-character CSI on terminals that honour 8-bit controls.
        '\u{80}'..='\u{9f}' => true,
        // Bidirectional overrides and isolates reorder what follows them on screen.
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => true,
        _ => false,
    }
}

fn escape(text: &str, keep_newline: bool) -> Cow<'_, str> {
    if !text
        .chars()
        .any(|character| is_hostile(character, keep_newline))
    {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for character in text.chars() {
        if is_hostile(character, keep_newline) {
            out.extend(character.escape_unicode());
        } else {
            out.push(character);
        }
    }
    Cow::Owned(out)
}

/// Multi-line text for the terminal: every control character but newline and tab escaped.
pub fn text(text: &str) -> Cow<'_, str> {
    escape(text, true)
}

/// One line for the terminal (a name, a table cell): newlines escaped too.
pub fn line(text: &str) -> Cow<'_, str> {
    escape(text, false)
}

/// Writes sanitized text to stdout; a closed stdout ends the process (see the module).
pub fn out(args: std::fmt::Arguments<'_>, newline: bool) {
    let formatted = std::fmt::format(args);
    write_out(text(&formatted).as_bytes(), newline);
}

/// Writes bytes to stdout as they are (a completion script, a man page, a JSON document that
/// escapes its own control characters); a closed stdout ends the process.
pub fn write_out(bytes: &[u8], newline: bool) {
    let mut stdout = std::io::stdout().lock();
    let result = stdout
        .write_all(bytes)
        .and_then(|()| {
            if newline {
                stdout.write_all(b"\n")
            } else {
                Ok(())
            }
        })
        .and_then(|()| stdout.flush());
    if let Err(error) = result {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(BROKEN_PIPE_STATUS);
        }
        let _ = writeln!(std::io::stderr(), "error: cannot write to stdout: {error}");
        std::process::exit(1);
    }
}

/// Writes sanitized text to stderr, ignoring a closed stderr.
pub fn err(args: std::fmt::Arguments<'_>, newline: bool) {
    let formatted = std::fmt::format(args);
    write_err(text(&formatted).as_bytes(), newline);
}

/// Writes bytes to stderr as they are (coloured diagnostics), ignoring a closed stderr.
pub fn write_err(bytes: &[u8], newline: bool) {
    let mut stderr = std::io::stderr().lock();
    // A rehearsal's `up` says so on every line (`super::rehearsal::mark`).
    if super::rehearsal::is_rehearsal() {
        let marked = super::rehearsal::mark(&String::from_utf8_lossy(bytes)).into_owned();
        let _ = stderr.write_all(marked.as_bytes());
    } else {
        let _ = stderr.write_all(bytes);
    }
    if newline {
        let _ = stderr.write_all(b"\n");
    }
    let _ = stderr.flush();
}

/// `println!` for genesis: sanitized, and quiet on a closed stdout.
#[macro_export]
macro_rules! outln {
    () => {
        $crate::ui::term::write_out(b"", true)
    };
    ($($arg:tt)*) => {
        $crate::ui::term::out(format_args!($($arg)*), true)
    };
}

/// `print!` for genesis: sanitized, and quiet on a closed stdout.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::ui::term::out(format_args!($($arg)*), false)
    };
}

/// `eprintln!` for genesis: sanitized, and never a panic on a closed stderr.
#[macro_export]
macro_rules! errln {
    () => {
        $crate::ui::term::write_err(b"", true)
    };
    ($($arg:tt)*) => {
        $crate::ui::term::err(format_args!($($arg)*), true)
    };
}

/// `eprint!` for genesis: sanitized, and never a panic on a closed stderr.
#[macro_export]
macro_rules! errout {
    ($($arg:tt)*) => {
        $crate::ui::term::err(format_args!($($arg)*), false)
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_escaped() {
        assert!(matches!(text("plain text\n\tok"), Cow::Borrowed(_)));
        assert_eq!(
            text("a\u{1b}[2Jb\rc\u{7}\u{9b}31m\u{202e}d\ne"),
            "a\\u{1b}[2Jb\\u{d}c\\u{7}\\u{9b}31m\\u{202e}d\ne"
        );
        assert_eq!(line("lab\nname"), "lab\\u{a}name");
        assert_eq!(line("héllo wörld"), "héllo wörld");
    }
}
