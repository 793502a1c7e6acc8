//! `exec`: run a local command with arguments and environment; success by exit code.
//!
//! Operators use it for local hooks. Output goes line by line to the run log (never to the
//! terminal, which shows the latest line as the step's sub-state). Environment values may be
//! secrets (`{secret: name}`); they reach the child process only, and the engine scrubs them
//! from anything the command prints.
//!
//! The command runs again when a resume finds its outcome unknown, so it should be idempotent;
//! it can tell from `GENESIS_OUTCOME_UNKNOWN=1` that an earlier attempt may have done part of
//! the work.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;

use genesis_engine::Scrubber;
use genesis_engine::events::Stream;
use genesis_engine::{
    ActionError, ErrorKind, Outputs, PlanContext, PlanOutcome, Planned, Ran, RunContext, StepSpec,
};
use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::process::Command;

use crate::actions::catalog::{Build, Definition, ParamType, Preview, Target, display};
use crate::secrets::Secrets;
use serde_json::Value;

/// The `exec` action; holds the secrets that `env` may reference.
#[derive(Debug)]
pub struct Exec {
    secrets: Secrets,
    /// Scrubs each output line before it is shortened for the sub-state or the error: a line
    /// cut short would no longer match the secret it holds.
    scrubber: Scrubber,
}

/// The parameters of an `exec` step.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecParams {
    pub command: String,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, EnvValue>,
    pub cwd: Option<PathBuf>,
    pub success_codes: Option<Vec<i32>>,
}

/// A plain value or a reference to a secret.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum EnvValue {
    Plain(String),
    Secret { secret: String },
}

impl ExecParams {
    pub fn parse(step: &StepSpec) -> Result<Self, ActionError> {
        serde_json::from_value(step.params.clone()).map_err(|error| {
            ActionError::with_source(
                ErrorKind::InvalidParams,
                format!("step `{}`: the `exec` parameters are not usable", step.id),
                error,
            )
        })
    }

    fn success_codes(&self) -> Vec<i32> {
        self.success_codes.clone().unwrap_or_else(|| vec![0])
    }

    fn command_line(&self) -> String {
        std::iter::once(self.command.as_str())
            .chain(self.args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl Exec {
    pub fn new(secrets: Secrets) -> Self {
        let scrubber = Scrubber::new(secrets.values().map(|value| value.expose()));
        Self { secrets, scrubber }
    }

    async fn execute(&self, step: &StepSpec, context: &RunContext) -> Result<Outputs, ActionError> {
        let params = ExecParams::parse(step)?;
        let mut command = Command::new(&params.command);
        command
            .args(&params.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .env("GENESIS_STEP_ID", step.id.as_str())
            .env("GENESIS_ATTEMPT", context.attempt().to_string())
            .env(
                "GENESIS_OUTCOME_UNKNOWN",
                if context.outcome_unknown() { "1" } else { "0" },
            );
        if let Some(item) = &step.item {
            command.env("GENESIS_ITEM", item);
        }
        for (name, value) in &params.env {
            match value {
                EnvValue::Plain(text) => {
                    command.env(name, text);
                }
                EnvValue::Secret { secret } => {
                    let value = self.secrets.get(secret).ok_or_else(|| {
                        ActionError::new(
                            ErrorKind::InvalidParams,
                            format!(
                                "step `{}`: environment variable `{name}` names the secret `{secret}`, which the secrets file does not have",
                                step.id
                            ),
                        )
                    })?;
                    command.env(name, value.expose());
                }
            }
        }
        if let Some(cwd) = &params.cwd {
            command.current_dir(cwd);
        }
        // Its own process group: a Ctrl-C at the terminal reaches genesis, which stops the
        // command itself (SIGTERM, then SIGKILL), instead of racing it.
        #[cfg(unix)]
        command.process_group(0);
        let line = params.command_line();
        context.set_substate(format!("running `{line}`"));
        let mut child = command.spawn().map_err(|error| {
            let kind = match error.kind() {
                std::io::ErrorKind::NotFound => ErrorKind::NotFound,
                std::io::ErrorKind::PermissionDenied => ErrorKind::PermissionDenied,
                _ => ErrorKind::Io,
            };
            ActionError::with_source(kind, format!("could not start `{}`", params.command), error)
        })?;
        let children = Children::track(child.id());
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let cancel = context.cancel().clone();
        let waited = tokio::select! {
            waited = async {
                tokio::join!(
                    forward(stdout, Stream::Stdout, context, &self.scrubber),
                    forward(stderr, Stream::Stderr, context, &self.scrubber),
                    child.wait()
                )
            } => Some(waited),
            () = cancel.cancelled() => None,
        };
        let Some((_, last_stderr, status)) = waited else {
            context.set_substate(format!("stopping `{line}`"));
            stop(&mut child).await;
            drop(children);
            return Err(ActionError::new(
                ErrorKind::Cancelled,
                format!("`{line}` was stopped: the run was interrupted"),
            ));
        };
        drop(children);
        let status = status.map_err(|error| {
            ActionError::with_source(
                ErrorKind::Io,
                format!("could not wait for `{}`", params.command),
                error,
            )
        })?;
        let Some(code) = status.code() else {
            return Err(ActionError::new(
                ErrorKind::CommandFailed,
                format!("`{line}` was killed by a signal ({status})"),
            ));
        };
        if !params.success_codes().contains(&code) {
            let tail = last_stderr
                .map(|text| format!(": {text}"))
                .unwrap_or_default();
            return Err(ActionError::new(
                ErrorKind::CommandFailed,
                format!("`{line}` exited with code {code}{tail}"),
            ));
        }
        let mut outputs = Outputs::new();
        outputs.insert("exit_code".to_owned(), code.into());
        Ok(outputs)
    }
}

/// How long a stopped command gets between SIGTERM and SIGKILL.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Stops a command's process group: SIGTERM, then SIGKILL after a grace period.
async fn stop(child: &mut tokio::process::Child) {
    #[cfg(unix)]
    if let Some(pid) = child.id().and_then(|pid| i32::try_from(pid).ok()) {
        signal_group(pid, libc::SIGTERM);
        if tokio::time::timeout(STOP_GRACE, child.wait()).await.is_ok() {
            return;
        }
        signal_group(pid, libc::SIGKILL);
    }
    let _ = child.kill().await;
}

#[cfg(unix)]
fn signal_group(group: i32, signal: i32) {
    // SAFETY: kill(2) with a negative pid signals the process group the command leads; it
    // touches no memory of ours.
    unsafe {
        libc::kill(-group, signal);
    }
}

/// Process groups of the commands running now, so that a second Ctrl-C (which exits at once)
/// can take them along instead of leaving them orphaned.
static RUNNING: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());

/// Registration of one running command; removed on drop.
struct Children(Option<u32>);

impl Children {
    fn track(pid: Option<u32>) -> Self {
        if let (Some(pid), Ok(mut running)) = (pid, RUNNING.lock()) {
            running.push(pid);
        }
        Self(pid)
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        if let (Some(pid), Ok(mut running)) = (self.0, RUNNING.lock()) {
            running.retain(|other| *other != pid);
        }
    }
}

/// Kills every command still running (for the second Ctrl-C, just before genesis exits).
pub fn kill_running() {
    #[cfg(unix)]
    if let Ok(running) = RUNNING.lock() {
        for pid in running.iter().filter_map(|pid| i32::try_from(*pid).ok()) {
            signal_group(pid, libc::SIGKILL);
        }
    }
}

/// The longest output line kept whole; a longer one is passed on in pieces of this size.
const MAX_LINE: u64 = 64 * 1024;

/// Sends each line to the run log and shows it as the sub-state; returns the last line. Reads
/// to the end whatever the child prints (bytes that are not UTF-8 are replaced, an endless
/// line is cut in pieces), so the child never blocks on a full pipe.
async fn forward<R: AsyncRead + Unpin>(
    reader: Option<R>,
    stream: Stream,
    context: &RunContext,
    scrubber: &Scrubber,
) -> Option<String> {
    let mut reader = BufReader::new(reader?);
    let mut last = None;
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        match (&mut reader)
            .take(MAX_LINE)
            .read_until(b'\n', &mut buffer)
            .await
        {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&buffer);
        let text = text.trim_end_matches(['\n', '\r']);
        let line = scrubber.scrub(text).into_owned();
        let trimmed = line.trim();
        if !trimmed.is_empty() {
            context.set_substate(truncate(trimmed, 80));
            last = Some(truncate(trimmed, 200));
        }
        context.output(stream, line);
    }
    last
}

fn truncate(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(limit.saturating_sub(1)).collect();
    short.push('…');
    short
}

impl genesis_engine::Action for Exec {
    fn plan<'a>(&'a self, step: &'a StepSpec, _context: &'a PlanContext) -> Planned<'a> {
        Box::pin(async move {
            let params = ExecParams::parse(step)?;
            Ok(PlanOutcome::CannotPreview {
                why: format!(
                    "`{}` is a local command; genesis cannot tell what it would change",
                    params.command_line()
                ),
            })
        })
    }

    fn run<'a>(&'a self, step: &'a StepSpec, context: &'a RunContext) -> Ran<'a> {
        Box::pin(self.execute(step, context))
    }
}

/// `exec`: a local command as a step.
pub(crate) const KIND: Definition = Definition {
    name: "exec",
    summary: "run a local command; success by exit code",
    target: Target::Local,
    preview: Preview::CannotPreview,
    effects: &[],
    owns: None,
    params: ParamType::of::<ExecParams>(),
    names: &[],
    describe: |p| {
        let args =
            p.0.get("args")
                .and_then(Value::as_array)
                .map(|args| args.iter().map(display).collect::<Vec<_>>().join(" "));
        let command = match args.filter(|args| !args.is_empty()) {
            Some(args) => format!("{} {args}", p.text("command")),
            None => p.text("command"),
        };
        vec![format!("run `{command}` locally; success by exit code")]
    },
    build: Build::Local(|secrets| std::sync::Arc::new(Exec::new(secrets.clone()))),
};

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use genesis_engine::{RetryPolicy, StepId};

    use super::*;

    fn step(params: serde_json::Value) -> StepSpec {
        StepSpec {
            id: StepId::from("hook"),
            number: "1".into(),
            ordinal: 1,
            name: "hook".into(),
            phase: 2,
            kind: "exec".into(),
            item: None,
            params,
            needs: vec![],
            timeout: Duration::from_secs(5),
            retry: RetryPolicy::default(),
            estimate: None,
            secret_digests: Default::default(),
        }
    }

    #[test]
    fn parses_plain_and_secret_environment() {
        let params = ExecParams::parse(&step(serde_json::json!({
            "command": "true",
            "args": ["-x"],
            "env": {"A": "1", "B": {"secret": "harvester.token"}},
            "success_codes": [0, 3],
        })))
        .expect("parses");
        assert!(matches!(params.env.get("A"), Some(EnvValue::Plain(value)) if value == "1"));
        assert!(
            matches!(params.env.get("B"), Some(EnvValue::Secret { secret }) if secret == "harvester.token")
        );
        assert_eq!(params.success_codes(), [0, 3]);
        assert_eq!(params.command_line(), "true -x");
    }

    #[test]
    fn rejects_unusable_parameters_permanently() {
        let error =
            ExecParams::parse(&step(serde_json::json!({"args": []}))).expect_err("no command");
        assert_eq!(error.kind(), ErrorKind::InvalidParams);
        assert_eq!(error.class(), genesis_engine::ErrorClass::Permanent);
    }

    #[test]
    fn truncates_long_lines_on_char_boundaries() {
        assert_eq!(truncate("äöü", 5), "äöü");
        assert_eq!(truncate("äöüäöü", 4), "äöü…");
    }
}
