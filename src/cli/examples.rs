//! The examples each command's `--help` ends with, and the line `-h` ends with instead. The
//! tests of [`super::args`] parse every example with the real parser, so a renamed flag fails
//! a test before it misleads an operator.

/// The last line of every `-h`: where the rest is.
pub const MORE: &str =
    "Global options (--lab, --secrets, --state-dir, --kubeconfig, --color, …) and examples: --help";

pub const VALIDATE: &str = "\
Examples:
  genesis validate                               check hardware/lab.yaml, phases/ and secrets.yaml
  genesis --lab labs/site-b.yaml validate        another lab file
  genesis validate && genesis plan --offline     check, then show the plan without a cluster";

pub const PLAN: &str = "\
Examples:
  genesis plan                                   every step, compared with the live clusters
  genesis plan --machine ms-02-2                 one machine's branch
  genesis plan --only 'vm/*' -o json             the VM steps, as JSON (docs/plan-json.md)
  genesis plan --out reviewed.json               save it; apply it with `genesis up --plan reviewed.json`";

pub const GRAPH: &str = "\
Examples:
  genesis graph | dot -Tsvg > dag.svg            draw the step DAG with Graphviz
  genesis graph -o mermaid                       paste into Markdown";

pub const UP: &str = "\
Examples:
  genesis up                                     run every phase; asks before erasing disks
  genesis up --machine ms-02-3                   one machine's branch
  genesis up --plan reviewed.json --yes          apply exactly a saved plan, in a script
  genesis up --dry-run --from quorum             what would run from step `quorum` on
  genesis up --reinstall ms-02-2                 take a machine out of Harvester, install it again";

pub const REHEARSE: &str = "\
Examples:
  genesis rehearse                               the whole bootstrap of your lab, on this machine
  genesis rehearse --fault node-never-ready:ms-02-3 --fault sigkill:random
                                                 see two failures, then practise resuming:
  genesis rehearse --resume                      lift the faults, run up again on the kept world
  genesis rehearse --keep                        keep the world afterwards to explore with kubectl
  genesis rehearse --down                        stop a kept world and remove its directory";

pub const DOWN: &str = "\
Examples:
  genesis down --dry-run                         what would be deleted and powered off
  genesis down --phase 4                         only the VMs and what phase 4 made
  genesis down --machine ms-02-3 --yes           one machine, in a script";

pub const STATUS: &str = "\
Examples:
  genesis status                                 done, failed, pending or changed, per step
  genesis status --machine ms-02-2 -o json       one machine's steps, as JSON";

pub const RESET: &str = "\
Examples:
  genesis reset register-argocd                  run step 12 again on the next `up`
  genesis reset 'join-cluster/*'                 forget both join installs";

pub const UNLOCK: &str = "\
Examples:
  genesis unlock                                 release the lock of a run that is gone
  genesis --state kubernetes unlock --force      take the Platform cluster's Lease";

pub const SECRETS: &str = "\
Examples:
  genesis secrets check                          every referenced secret present and well formed
  genesis secrets keygen && genesis secrets encrypt
  genesis --secrets secrets.yaml.age secrets edit";

pub const DIAGNOSE: &str = "\
Examples:
  genesis diagnose                               bundle into .genesis/diagnose/, secrets scrubbed
  genesis diagnose --no-ssh --out /tmp/bundle    without logging in to the Harvester node";

pub const STATE: &str = "\
Examples:
  genesis state push                             keep the journal in the Platform cluster
  genesis --state kubernetes state pull          copy it back to .genesis/";

pub const HEALTH: &str = "\
Examples:
  genesis health                                 both clusters, the step-12 Secret and the VMs
  genesis health -o json --timeout 10s           for a monitor (docs/health-json.md)
  genesis health --harvester-context harvester   Harvester through your own kubeconfig context

Exit codes: 0 every check green or yellow, 1 a check is red, 2 bad input.";

pub const DESCRIBE: &str = "\
Examples:
  genesis describe ms-02-2                       every object of one machine's branch, live
  genesis describe register-argocd -o json       the objects of one step
  genesis describe 'vm/cp-*'                     both VMs";

pub const COMPLETIONS: &str = "\
Examples:
  genesis completions bash > ~/.local/share/bash-completion/completions/genesis
  source <(COMPLETE=bash genesis)                with step ids and machine names";

pub const MAN: &str = "\
Examples:
  genesis man | man -l -                         read the page
  genesis man --out-dir share/man/man1           one page per command";
