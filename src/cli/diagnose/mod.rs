//! `genesis diagnose`: a bundle for a failed run (or on demand). A directory and the same as a
//! `.tar.gz`, both printed: the journal, the run logs, `genesis status`, the objects genesis
//! works with on both clusters, and the first Harvester node's service logs over SSH. Every
//! file passes through the scrubber with the secrets registered; Secret values are never
//! collected (Argo CD cluster Secrets appear as metadata and key names). Each part is best
//! effort: what cannot be collected is recorded in the bundle with the reason, and the bundle
//! is still written. See docs/diagnose.md.

mod args;
mod bundle;
mod local;
mod node;
mod objects;

use std::collections::BTreeMap;
use std::time::Duration;

use genesis_engine::Scrubber;
use serde_json::json;

use crate::cli::common::Common;
use crate::cli::error::{CliError, CliResult, exit};

pub use args::{DiagnoseArgs, NODE_COMMANDS};
use bundle::Bundle;
use bundle::write_archive;
use local::collect_local;
use objects::collect_remote;

pub fn run(args: DiagnoseArgs, common: &Common) -> CliResult {
    // The inputs name the clusters, the node and the secrets; without them only the local
    // files can be collected.
    let inputs = match crate::inputs::load_with(&common.input_paths(), &common.load_options()) {
        Ok(inputs) => Some(inputs),
        Err(_) => {
            crate::errln!(
                "note: the inputs do not load (see `genesis validate`); collecting the local files only"
            );
            None
        }
    };
    let scrubber = Scrubber::new(
        inputs
            .iter()
            .flat_map(|inputs| inputs.secrets.values().map(|value| value.expose())),
    );
    let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        .to_string()
        .replace([':', '-'], "");
    let parent = args
        .out
        .clone()
        .unwrap_or_else(|| common.state_dir.join("diagnose"));
    let name = format!("genesis-diagnose-{stamp}");
    let dir = parent.join(&name);
    // The bundle holds the journal and the run logs: the state directory (when the bundle
    // goes there) and the bundle's directory are private (0700), its files 0600.
    let prepared = if args.out.is_none() {
        genesis_engine::state_dir::prepare(&common.state_dir)
    } else {
        Ok(())
    }
    .and_then(|()| genesis_engine::state_dir::prepare(&dir));
    if let Err(error) = prepared {
        let code = if genesis_engine::state_dir::unsafe_reason(&error).is_some() {
            exit::BAD_INPUT
        } else {
            exit::STEP_FAILED
        };
        return Err(CliError::new(
            code,
            format!("cannot create {}: {error}", dir.display()),
        ));
    }
    let mut bundle = Bundle {
        dir: dir.clone(),
        scrubber,
        parts: BTreeMap::new(),
    };

    collect_local(&mut bundle, common);
    if let Some(inputs) = &inputs {
        match tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
        {
            Ok(runtime) => {
                runtime.block_on(collect_remote(&mut bundle, inputs, common, &args));
                runtime.shutdown_timeout(Duration::from_millis(200));
            }
            Err(error) => bundle.record(
                "clusters",
                Err(format!("could not start the async runtime: {error}")),
            ),
        }
    }
    let summary = json!({
        "schema": "genesis.diagnose/v1",
        "created": humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        "lab": inputs.as_ref().map(|inputs| inputs.lab.name.clone()),
        "parts": bundle.parts,
    });
    let text = serde_json::to_string_pretty(&summary).unwrap_or_default() + "\n";
    bundle.write("summary.json", &text);

    let archive = parent.join(format!("{name}.tar.gz"));
    write_archive(&dir, &name, &archive).map_err(|error| {
        CliError::failed(format!(
            "cannot write {}: {error}; the bundle directory is {}",
            archive.display(),
            dir.display()
        ))
    })?;
    let failed: Vec<&String> = bundle
        .parts
        .iter()
        .filter(|(_, outcome)| outcome.as_str() != "ok")
        .map(|(part, _)| part)
        .collect();
    if !failed.is_empty() {
        crate::errln!(
            "note: not collected (reasons in the bundle): {}",
            failed
                .iter()
                .map(|part| part.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    crate::outln!("diagnose bundle: {}", dir.display());
    crate::outln!("archive: {}", archive.display());
    Ok(())
}
