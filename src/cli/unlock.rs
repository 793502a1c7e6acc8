//! `genesis unlock`: release a lock whose run is gone (a holder on another host, or a Lease in
//! the Platform cluster whose holder stopped renewing it).

use clap::Args;
use genesis_engine::lock::{LockError, Unlocked};

use super::common::Common;
use super::error::{CliError, CliResult, exit};

#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// With `--state kubernetes`: release the Lease even though it has not expired (its
    /// holder may still be running: make sure it is gone). The state directory's lock is never
    /// taken from a run alive on this host.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: UnlockArgs, common: &Common) -> CliResult {
    let backend = super::state::backend(common)?;
    match backend.unlock(args.force) {
        Ok(Unlocked::Released(holder)) => {
            crate::errln!("released the lock of {holder}");
            Ok(())
        }
        Ok(Unlocked::WasFree) => {
            crate::errln!("{} was not locked", backend.describe());
            Ok(())
        }
        Err(error @ LockError::Held { .. }) => Err(CliError::new(
            exit::LOCK_HELD,
            format!(
                "{error}; that run is alive on this host: stop it (Ctrl-C) instead of unlocking"
            ),
        )),
        // Held elsewhere: exit 3; a refused lock file or state directory (a link, another
        // user's) is the operator's to fix: exit 2; else 1.
        Err(error) => Err(CliError::lock(&error)),
    }
}
