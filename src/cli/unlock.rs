//! `genesis unlock`: release a lock whose run is gone (typically one on another host).

use std::process::ExitCode;

use clap::Args;
use genesis_engine::lock::{self, LockError, Unlocked};

use super::up::error_chain;
use super::{Common, exit};

#[derive(Debug, Args)]
pub struct UnlockArgs {}

pub fn run(_args: UnlockArgs, common: &Common) -> ExitCode {
    match lock::unlock(&common.state_dir) {
        Ok(Unlocked::Released(holder)) => {
            eprintln!("released the lock of {holder}");
            ExitCode::SUCCESS
        }
        Ok(Unlocked::WasFree) => {
            eprintln!("the state directory was not locked");
            ExitCode::SUCCESS
        }
        Err(error @ LockError::Held { .. }) => {
            eprintln!(
                "error: {error}; that run is alive on this host: stop it (Ctrl-C) instead of unlocking"
            );
            ExitCode::from(exit::LOCK_HELD)
        }
        Err(error) => {
            eprintln!("error: {}", error_chain(&error));
            ExitCode::from(exit::STEP_FAILED)
        }
    }
}
