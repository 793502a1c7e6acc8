//! `genesis validate`: check every input offline.

use std::process::ExitCode;

use clap::Args;

use super::Common;

#[derive(Debug, Args)]
pub struct ValidateArgs {}

pub fn run(_args: ValidateArgs, common: &Common) -> ExitCode {
    match common.load_inputs() {
        Ok(inputs) => {
            for warning in
                crate::inputs::talos::warnings(&inputs.lab, &inputs.secrets, inputs.graph.steps())
            {
                eprintln!("warning: {warning}");
            }
            let machines = inputs.lab.machines.len();
            let vms = inputs.lab.vms.len();
            crate::errln!(
                "{}, {} and {} are valid: {} machines, {} VMs, {} steps in {} phases.",
                common.lab.display(),
                common.phases.display(),
                // The file read: secrets.yaml.age when secrets.yaml does not exist.
                inputs.secrets.file().unwrap_or(&common.secrets).display(),
                machines,
                vms,
                inputs.graph.len(),
                inputs.phases.len()
            );
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}
