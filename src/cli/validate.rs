//! `genesis validate`: check every input offline.

use clap::Args;

use super::common::Common;
use super::error::CliResult;

#[derive(Debug, Args)]
pub struct ValidateArgs {}

pub fn run(_args: ValidateArgs, common: &Common) -> CliResult {
    let inputs = common.load_inputs()?;
    let warnings =
        crate::inputs::talos::warnings(&inputs.lab, &inputs.secrets, inputs.graph.steps())
            .into_iter()
            .chain(crate::inputs::preflight::moving_images(
                &inputs.phases,
                inputs.graph.steps(),
            ));
    for warning in warnings {
        crate::errln!("warning: {warning}");
    }
    crate::errln!(
        "{}, {} and {} are valid: {} machines, {} VMs, {} steps in {} phases.",
        common.lab.display(),
        common.phases.display(),
        // The file read: secrets.yaml.age when secrets.yaml does not exist.
        inputs.secrets.file().unwrap_or(&common.secrets).display(),
        inputs.lab.machines.len(),
        inputs.lab.vms.len(),
        inputs.graph.len(),
        inputs.phases.len()
    );
    Ok(())
}
