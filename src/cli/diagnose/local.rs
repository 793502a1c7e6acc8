//! The local parts of the bundle: the journal, the run logs and `genesis status`.

use std::path::PathBuf;

use crate::cli::common::Common;
use crate::errors::error_chain;

use super::bundle::Bundle;

/// The journal, the run logs and `genesis status`.
pub(crate) fn collect_local(bundle: &mut Bundle, common: &Common) {
    // The journal from the selected state backend (the state directory or, with
    // `--state kubernetes`, the Platform cluster's chunk Secrets).
    let outcome = crate::cli::state::options(common)
        .backend()
        .map_err(|error| error_chain(&error))
        .and_then(|backend| {
            backend.read_journal().map_err(|error| {
                format!(
                    "cannot read {}: {}",
                    backend.describe(),
                    error_chain(&error)
                )
            })
        })
        .map(|bytes| bundle.write("journal.ndjson", &String::from_utf8_lossy(&bytes)));
    bundle.record("journal", outcome);

    let logs = common.state_dir.join("logs");
    let outcome = match std::fs::read_dir(&logs) {
        Ok(entries) => {
            let mut names: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .collect();
            names.sort();
            for path in names {
                // Only regular files of this user, never through a link.
                if let (Some(name), Ok(Some(bytes))) = (
                    path.file_name(),
                    genesis_engine::state_dir::read_existing(&path),
                ) {
                    let relative = format!("logs/{}", name.to_string_lossy());
                    bundle.write(&relative, &String::from_utf8_lossy(&bytes));
                }
            }
            Ok(())
        }
        Err(error) => Err(format!("cannot read {}: {error}", logs.display())),
    };
    bundle.record("logs", outcome);

    // `genesis status` exactly as the operator would see it.
    let outcome = std::env::current_exe()
        .map_err(|error| format!("cannot find the genesis binary: {error}"))
        .and_then(|exe| {
            let mut command = std::process::Command::new(exe);
            command
                .arg("--lab")
                .arg(&common.lab)
                .arg("--phases")
                .arg(&common.phases)
                .arg("--secrets")
                .arg(&common.secrets)
                .arg("--state-dir")
                .arg(&common.state_dir);
            if let Some(identity) = &common.age_identity {
                command.arg("--age-identity").arg(identity);
            }
            command
                .args(["--color", "never", "status"])
                .env("NO_COLOR", "1")
                .output()
                .map_err(|error| format!("cannot run `genesis status`: {error}"))
        })
        .map(|output| {
            let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
            let stderr = String::from_utf8_lossy(&output.stderr);
            if !stderr.is_empty() {
                text.push_str("\n--- stderr ---\n");
                text.push_str(&stderr);
            }
            bundle.write("status.txt", &text);
        });
    bundle.record("status", outcome);
}
