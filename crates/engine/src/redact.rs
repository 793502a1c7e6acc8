//! Scrubbing secret values out of every text that leaves the engine.
//!
//! The redacting string type keeps secrets out of `Debug` and `Display`, but a value can still
//! leak through a command's output, an error message from a server, or a parameter that was
//! interpolated. So every output path (journal, run log, terminal, plan) also passes through a
//! [`Scrubber`], which replaces each registered value wherever it appears.

use std::borrow::Cow;
use std::sync::RwLock;

use aho_corasick::{AhoCorasick, MatchKind};

/// What a secret value is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Secret values learned while the process runs (a fetched kubeconfig's client key), scrubbed
/// by every [`Scrubber`] in the process from the moment they are registered.
static RUNTIME: RwLock<Option<Runtime>> = RwLock::new(None);

#[derive(Debug)]
struct Runtime {
    patterns: Vec<String>,
    automaton: AhoCorasick,
}

/// Registers secret values discovered at run time (for example a client key read from a
/// remote file): from now on every scrubber of this process replaces them too. Call it before
/// the value can reach any output.
pub fn register_runtime_secrets<I, S>(secrets: I)
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let Ok(mut runtime) = RUNTIME.write() else {
        return;
    };
    let mut patterns = runtime
        .take()
        .map(|runtime| runtime.patterns)
        .unwrap_or_default();
    patterns.extend(spellings(secrets));
    patterns.sort();
    patterns.dedup();
    *runtime = build(&patterns).map(|automaton| Runtime {
        patterns,
        automaton,
    });
}

/// The shortest line of a multi-line secret that is scrubbed by itself (after trimming
/// surrounding white space). Shorter lines (`version: v1alpha1`, `machine:`, `  install:`) are
/// the common furniture of such files and would black out unrelated text everywhere; a line
/// this long in a key or a machine config carries key material, a token or a certificate.
pub const MIN_LINE_LEN: usize = 20;

/// The shortest value whose base64 spellings are scrubbed (shorter ones encode to a handful of
/// characters that occur by chance in other base64 text).
pub const MIN_BASE64_LEN: usize = 6;

/// Every spelling of the secrets that is scrubbed: each non-empty value; for a multi-line
/// value each of its lines of at least [`MIN_LINE_LEN`] characters (PEM armour lines such as
/// `-----END OPENSSH PRIVATE KEY-----` excepted: they say what a text is, not what it holds);
/// the base64 of the whole value (standard and URL-safe alphabets, without padding, so a padded
/// spelling is caught too); and the JSON-escaped spelling of each of these.
fn spellings<I, S>(secrets: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    use base64::Engine as _;
    let mut plain = Vec::new();
    for secret in secrets {
        let secret = secret.as_ref();
        if secret.is_empty() {
            continue;
        }
        plain.push(secret.to_owned());
        if secret.contains('\n') {
            for line in secret.lines() {
                let line = line.trim();
                if line.chars().count() >= MIN_LINE_LEN && !is_armour(line) {
                    plain.push(line.to_owned());
                }
            }
        }
        if secret.len() >= MIN_BASE64_LEN {
            plain.push(base64::engine::general_purpose::STANDARD_NO_PAD.encode(secret));
            plain.push(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret));
        }
    }
    let mut patterns = Vec::with_capacity(plain.len() * 2);
    for spelling in plain {
        let escaped = serde_json::to_string(&spelling).unwrap_or_default();
        let escaped = escaped
            .strip_prefix('"')
            .and_then(|inner| inner.strip_suffix('"'))
            .unwrap_or_default();
        if !escaped.is_empty() && escaped != spelling {
            patterns.push(escaped.to_owned());
        }
        patterns.push(spelling);
    }
    patterns
}

/// `-----BEGIN …-----` / `-----END …-----`.
fn is_armour(line: &str) -> bool {
    line.starts_with("-----") && line.ends_with("-----")
}

fn build(patterns: &[String]) -> Option<AhoCorasick> {
    if patterns.is_empty() {
        return None;
    }
    // Leftmost-longest, so a secret that contains another is replaced whole.
    AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostLongest)
        .build(patterns)
        .ok()
}

fn replace(automaton: &AhoCorasick, text: &str) -> Option<String> {
    if !automaton.is_match(text) {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    automaton.replace_all_with(text, &mut out, |_, _, dst| {
        dst.push_str(REDACTED);
        true
    });
    Some(out)
}

/// A set of secret values, replaced by [`REDACTED`] wherever they occur.
#[derive(Debug, Clone, Default)]
pub struct Scrubber {
    automaton: Option<AhoCorasick>,
}

impl Scrubber {
    /// A scrubber that replaces nothing.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Registers every non-empty value, plus its JSON-escaped form, because the journal and
    /// the JSON outputs carry values escaped (a secret with a quote or a backslash in it would
    /// otherwise slip through in its escaped spelling).
    pub fn new<I, S>(secrets: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut patterns = spellings(secrets);
        patterns.sort();
        patterns.dedup();
        Self {
            automaton: build(&patterns),
        }
    }

    /// Nothing to replace: no values of its own and none registered at run time.
    pub fn is_empty(&self) -> bool {
        self.automaton.is_none() && RUNTIME.read().map_or(true, |runtime| runtime.is_none())
    }

    /// The text with every secret value replaced; borrows when nothing matched.
    pub fn scrub<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut text = Cow::Borrowed(text);
        if let Some(automaton) = &self.automaton
            && let Some(out) = replace(automaton, &text)
        {
            text = Cow::Owned(out);
        }
        if let Ok(runtime) = RUNTIME.read()
            && let Some(runtime) = runtime.as_ref()
            && let Some(out) = replace(&runtime.automaton, &text)
        {
            text = Cow::Owned(out);
        }
        text
    }

    /// Scrubs an owned string in place.
    pub fn scrub_string(&self, text: &mut String) {
        if let Cow::Owned(scrubbed) = self.scrub(text) {
            *text = scrubbed;
        }
    }

    /// Scrubs every string (keys included) of a JSON value in place.
    pub fn scrub_json(&self, value: &mut serde_json::Value) {
        if self.is_empty() {
            return;
        }
        match value {
            serde_json::Value::String(text) => self.scrub_string(text),
            serde_json::Value::Array(items) => {
                items.iter_mut().for_each(|item| self.scrub_json(item))
            }
            serde_json::Value::Object(map) => {
                let entries = std::mem::take(map);
                for (mut key, mut item) in entries {
                    self.scrub_string(&mut key);
                    self.scrub_json(&mut item);
                    map.insert(key, item);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_every_occurrence_and_the_longest_secret() {
        let scrubber = Scrubber::new(["hunter2", "hunter22", ""]);
        assert_eq!(
            scrubber.scrub("a hunter2 b hunter22 c"),
            "a [redacted] b [redacted] c"
        );
        assert!(matches!(scrubber.scrub("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn catches_the_json_escaped_spelling() {
        let secret = "pa\"ss\\word";
        let scrubber = Scrubber::new([secret]);
        let line = serde_json::to_string(&serde_json::json!({ "error": format!("bad {secret}") }))
            .expect("serializable");
        assert!(!scrubber.scrub(&line).contains("ss"));
        let mut value = serde_json::json!({ "k": [secret], secret: 1 });
        scrubber.scrub_json(&mut value);
        assert_eq!(value, serde_json::json!({ "k": [REDACTED], REDACTED: 1 }));
    }

    #[test]
    fn multi_line_secrets_are_scrubbed_line_by_line_and_encoded() {
        let key = "-----BEGIN OPENSSH PRIVATE KEY-----\n\
                   b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n\
                   QyNTUxOQAAACBGVm9w\n\
                   -----END OPENSSH PRIVATE KEY-----\n";
        let scrubber = Scrubber::new([key]);
        // A long line alone, as a child printing the key line by line would show it.
        let out = scrubber.scrub(
            "stderr: b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
        );
        assert_eq!(out, "stderr: [redacted]");
        // Short lines and armour lines are left alone.
        assert_eq!(scrubber.scrub("QyNTUxOQAAACBGVm9w"), "QyNTUxOQAAACBGVm9w");
        assert_eq!(
            scrubber.scrub("-----END OPENSSH PRIVATE KEY-----"),
            "-----END OPENSSH PRIVATE KEY-----"
        );
        // The whole value in base64 (padded or not) and JSON-escaped.
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::STANDARD.encode(key);
        assert!(
            !scrubber
                .scrub(&encoded)
                .contains(&encoded[..encoded.len() - 2])
        );
        let json = serde_json::to_string(key).expect("json");
        assert!(
            !scrubber
                .scrub(&json)
                .contains("b3BlbnNzaC1rZXktdjEAAAAABG5v")
        );
    }

    #[test]
    fn empty_scrubber_is_a_no_op() {
        let scrubber = Scrubber::empty();
        assert!(scrubber.is_empty());
        assert_eq!(scrubber.scrub("x"), "x");
    }
}
