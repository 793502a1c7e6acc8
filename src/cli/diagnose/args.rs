//! The arguments of `genesis diagnose`, and the commands it runs on the first node.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

#[derive(Debug, Args)]
pub struct DiagnoseArgs {
    /// Directory to create the bundle in (default: `<state dir>/diagnose`).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Bound on reaching each cluster, each list and each SSH command.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "20s", value_name = "DURATION")]
    pub timeout: Duration,
    /// Do not log in to the Harvester node.
    #[arg(long)]
    pub no_ssh: bool,
}

/// The commands run on the first Harvester node; a failing one is recorded, not fatal.
pub const NODE_COMMANDS: &[(&str, &str)] = &[
    (
        "journal-rke2-server",
        "journalctl -u rke2-server --no-pager -n 500",
    ),
    (
        "journal-rancherd",
        "journalctl -u rancherd --no-pager -n 300",
    ),
    (
        "journal-rancher-system-agent",
        "journalctl -u rancher-system-agent --no-pager -n 300",
    ),
    (
        "systemctl-status",
        "systemctl status rke2-server rancherd rancher-system-agent --no-pager",
    ),
    (
        "kubelet-log",
        "tail -n 300 /var/lib/rancher/rke2/agent/logs/kubelet.log",
    ),
    ("uptime", "uptime"),
    ("disk", "df -h"),
];
