//! `genesis unlock`: release a lock whose run is gone (a holder on another host, or a Lease in
//! the Platform cluster whose holder stopped renewing it).

use std::process::ExitCode;

use clap::Args;
use genesis_engine::lock::{LockError, Unlocked};

use super::up::error_chain;
use super::{Common, exit};

#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// With `--state kubernetes`: release the Lease even though it has not expired (its
    /// holder may still be running: make sure it is gone). The state directory's lock is never
    /// taken from a run alive on this host.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: UnlockArgs, common: &Common) -> ExitCode {
    let backend = match super::state::backend(common) {
        Ok(backend) => backend,
        Err(code) => return code,
    };
    match backend.unlock(args.force) {
        Ok(Unlocked::Released(holder)) => {
            crate::errln!("released the lock of {holder}");
            ExitCode::SUCCESS
        }
        Ok(Unlocked::WasFree) => {
            crate::errln!("{} was not locked", backend.describe());
            ExitCode::SUCCESS
        }
        Err(error @ LockError::Held { .. }) => {
            crate::errln!(
                "error: {error}; that run is alive on this host: stop it (Ctrl-C) instead of unlocking"
            );
            ExitCode::from(exit::LOCK_HELD)
        }
        Err(error) if error.is_held() => {
            crate::errln!("error: {error}");
            ExitCode::from(exit::LOCK_HELD)
        }
        Err(error) => {
            crate::errln!("error: {}", error_chain(&error));
            // A refused lock file or state directory (a link, another user's) is the
            // operator's to fix: exit 2.
            ExitCode::from(if error.refusal().is_some() {
                exit::BAD_INPUT
            } else {
                exit::STEP_FAILED
            })
        }
    }
}
