# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_genesis_global_optspecs
    string join \n lab= phases= secrets= age-identity= state-dir= state= kubeconfig= context= harvester-context= write-harvester-kubeconfig= color= h/help V/version
end

function __fish_genesis_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_genesis_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_genesis_using_subcommand
    set -l cmd (__fish_genesis_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c genesis -n "__fish_genesis_needs_command" -l lab -d 'The lab inventory: networks, endpoints, machines, VMs' -r -F
complete -c genesis -n "__fish_genesis_needs_command" -l phases -d 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)' -r -F
complete -c genesis -n "__fish_genesis_needs_command" -l secrets -d 'The secrets file (see secrets.example); never printed' -r -F
complete -c genesis -n "__fish_genesis_needs_command" -l age-identity -d 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)' -r -F
complete -c genesis -n "__fish_genesis_needs_command" -l state-dir -d 'Where the journal, lock and run logs live' -r -F
complete -c genesis -n "__fish_genesis_needs_command" -l state -d 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file\'s `state:`, else local' -r -f -a "local\t'The state directory (`--state-dir`): journal file and lock file'
kubernetes\t'The Platform cluster: chunk Secrets and a Lease in a namespace of genesis\'s own'"
complete -c genesis -n "__fish_genesis_needs_command" -l kubeconfig -d 'Kubeconfig for the Platform cluster (default: the lab file\'s, else KUBECONFIG or ~/.kube/config)' -r -F
complete -c genesis -n "__fish_genesis_needs_command" -l context -d 'Kubeconfig context of the Platform cluster (default: the lab file\'s)' -r
complete -c genesis -n "__fish_genesis_needs_command" -l harvester-context -d 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH' -r
complete -c genesis -n "__fish_genesis_needs_command" -l write-harvester-kubeconfig -d 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)' -r -F
complete -c genesis -n "__fish_genesis_needs_command" -l color -d 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c genesis -n "__fish_genesis_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c genesis -n "__fish_genesis_needs_command" -s V -l version -d 'Print version'
complete -c genesis -n "__fish_genesis_needs_command" -f -a "validate" -d 'Check the lab, phase and secrets files offline; exit 2 naming file, line and field'
complete -c genesis -n "__fish_genesis_needs_command" -f -a "plan" -d 'Show what `genesis up` would do, step by step, without changing anything'
complete -c genesis -n "__fish_genesis_needs_command" -f -a "graph" -d 'Print the step DAG as Graphviz dot or Mermaid'
complete -c genesis -n "__fish_genesis_needs_command" -f -a "up" -d 'Run the phases to completion, continuing from the journal'
complete -c genesis -n "__fish_genesis_needs_command" -f -a "rehearse" -d 'Rehearse the whole bootstrap of your lab on this machine: a private world of real API servers, sshd and the lab simulator, your inputs with stand-in secrets, the same `up`'
complete -c genesis -n "__fish_genesis_needs_command" -f -a "down" -d 'Delete what genesis made (reverse order, only objects with its label) and power the machines off; `up` makes it all again'
complete -c genesis -n "__fish_genesis_needs_command" -f -a "status" -d 'Show the journal as a table: what is done, failed, pending or changed'
complete -c genesis -n "__fish_genesis_needs_command" -f -a "reset" -d 'Forget steps in the journal so that the next `genesis up` runs them again'
complete -c genesis -n "__fish_genesis_needs_command" -f -a "unlock" -d 'Release the lock of a run that is gone (for a holder on another host)'
complete -c genesis -n "__fish_genesis_needs_command" -f -a "secrets" -d 'The secrets file: encrypt it with age, edit the encrypted file, check every reference'
complete -c genesis -n "__fish_genesis_needs_command" -f -a "diagnose" -d 'Collect a bundle for a failed run: journal, logs, status, objects of both clusters and the first Harvester node\'s service logs, secrets scrubbed (see docs/diagnose.md)'
complete -c genesis -n "__fish_genesis_needs_command" -f -a "health" -d 'Check the lab as it stands: Platform nodes, Harvester quorum, the Argo CD Secret\'s credentials, the VMs; read-only, seconds (exit 1 when a check is red)'
complete -c genesis -n "__fish_genesis_needs_command" -f -a "describe" -d 'Show the objects a step (or a machine\'s branch) owns, read live, as a tree with their conditions'
complete -c genesis -n "__fish_genesis_needs_command" -f -a "state" -d 'Move the journal between the state directory and the Platform cluster (push|pull)'
complete -c genesis -n "__fish_genesis_needs_command" -f -a "completions" -d 'Print a shell completion script (bash, zsh, fish, elvish, powershell)'
complete -c genesis -n "__fish_genesis_needs_command" -f -a "man" -d 'Print the man page (or write one per command with --out-dir, or the Markdown reference)'
complete -c genesis -n "__fish_genesis_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c genesis -n "__fish_genesis_using_subcommand validate" -l lab -d 'The lab inventory: networks, endpoints, machines, VMs' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand validate" -l phases -d 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand validate" -l secrets -d 'The secrets file (see secrets.example); never printed' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand validate" -l age-identity -d 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand validate" -l state-dir -d 'Where the journal, lock and run logs live' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand validate" -l state -d 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file\'s `state:`, else local' -r -f -a "local\t'The state directory (`--state-dir`): journal file and lock file'
kubernetes\t'The Platform cluster: chunk Secrets and a Lease in a namespace of genesis\'s own'"
complete -c genesis -n "__fish_genesis_using_subcommand validate" -l kubeconfig -d 'Kubeconfig for the Platform cluster (default: the lab file\'s, else KUBECONFIG or ~/.kube/config)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand validate" -l context -d 'Kubeconfig context of the Platform cluster (default: the lab file\'s)' -r
complete -c genesis -n "__fish_genesis_using_subcommand validate" -l harvester-context -d 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH' -r
complete -c genesis -n "__fish_genesis_using_subcommand validate" -l write-harvester-kubeconfig -d 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand validate" -l color -d 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c genesis -n "__fish_genesis_using_subcommand validate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c genesis -n "__fish_genesis_using_subcommand plan" -s o -l output -d 'Output format: text for people, json for machines (see docs/plan-json.md)' -r -f -a "text\t''
json\t''"
complete -c genesis -n "__fish_genesis_using_subcommand plan" -l observe-timeout -d 'Bound on reaching the Platform cluster and on each step\'s observation; past it the plan falls back to offline (cluster) or says the step was not observed' -r
complete -c genesis -n "__fish_genesis_using_subcommand plan" -l out -d 'Also save the plan to FILE (JSON, mode 0600) with fingerprints of its inputs and of what it observed; `genesis up --plan FILE` applies exactly it (docs/runbook.md)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand plan" -l from -d 'Start at this step (id, number or glob): it and everything after it, run again even if done' -r
complete -c genesis -n "__fish_genesis_using_subcommand plan" -l only -d 'Only this step (id, number, fan-out template or glob such as `vm/cp-*`); repeatable; run again even if done' -r
complete -c genesis -n "__fish_genesis_using_subcommand plan" -l skip -d 'Never this step (id, number, template or glob); repeatable' -r
complete -c genesis -n "__fish_genesis_using_subcommand plan" -l machine -d 'Only this machine\'s or VM\'s branch: every step fanned out for it and the steps that need them (not another machine\'s); repeatable, combines with --only' -r
complete -c genesis -n "__fish_genesis_using_subcommand plan" -l lab -d 'The lab inventory: networks, endpoints, machines, VMs' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand plan" -l phases -d 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand plan" -l secrets -d 'The secrets file (see secrets.example); never printed' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand plan" -l age-identity -d 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand plan" -l state-dir -d 'Where the journal, lock and run logs live' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand plan" -l state -d 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file\'s `state:`, else local' -r -f -a "local\t'The state directory (`--state-dir`): journal file and lock file'
kubernetes\t'The Platform cluster: chunk Secrets and a Lease in a namespace of genesis\'s own'"
complete -c genesis -n "__fish_genesis_using_subcommand plan" -l kubeconfig -d 'Kubeconfig for the Platform cluster (default: the lab file\'s, else KUBECONFIG or ~/.kube/config)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand plan" -l context -d 'Kubeconfig context of the Platform cluster (default: the lab file\'s)' -r
complete -c genesis -n "__fish_genesis_using_subcommand plan" -l harvester-context -d 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH' -r
complete -c genesis -n "__fish_genesis_using_subcommand plan" -l write-harvester-kubeconfig -d 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand plan" -l color -d 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c genesis -n "__fish_genesis_using_subcommand plan" -l offline -d 'Contact nothing: plan from the inputs and the journal only'
complete -c genesis -n "__fish_genesis_using_subcommand plan" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c genesis -n "__fish_genesis_using_subcommand graph" -s o -l output -d 'Output format' -r -f -a "dot\t''
mermaid\t''"
complete -c genesis -n "__fish_genesis_using_subcommand graph" -l lab -d 'The lab inventory: networks, endpoints, machines, VMs' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand graph" -l phases -d 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand graph" -l secrets -d 'The secrets file (see secrets.example); never printed' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand graph" -l age-identity -d 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand graph" -l state-dir -d 'Where the journal, lock and run logs live' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand graph" -l state -d 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file\'s `state:`, else local' -r -f -a "local\t'The state directory (`--state-dir`): journal file and lock file'
kubernetes\t'The Platform cluster: chunk Secrets and a Lease in a namespace of genesis\'s own'"
complete -c genesis -n "__fish_genesis_using_subcommand graph" -l kubeconfig -d 'Kubeconfig for the Platform cluster (default: the lab file\'s, else KUBECONFIG or ~/.kube/config)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand graph" -l context -d 'Kubeconfig context of the Platform cluster (default: the lab file\'s)' -r
complete -c genesis -n "__fish_genesis_using_subcommand graph" -l harvester-context -d 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH' -r
complete -c genesis -n "__fish_genesis_using_subcommand graph" -l write-harvester-kubeconfig -d 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand graph" -l color -d 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c genesis -n "__fish_genesis_using_subcommand graph" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c genesis -n "__fish_genesis_using_subcommand up" -s j -l parallelism -d 'Steps running at once' -r
complete -c genesis -n "__fish_genesis_using_subcommand up" -l timeout -d 'Deadline for the whole run, e.g. `90m`; step timeouts sit inside it' -r
complete -c genesis -n "__fish_genesis_using_subcommand up" -s o -l output -d '`text`: progress and a final table on stderr; `json`: one event per line on stdout' -r -f -a "text\t'Progress and the final table on stderr'
json\t'One JSON event per line on stdout'"
complete -c genesis -n "__fish_genesis_using_subcommand up" -l plan -d 'Apply a plan saved by `genesis plan --out FILE`: exactly its steps; refused (exit 2) if its inputs or what it observed changed since' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand up" -l reinstall -d 'Redo this machine or VM first (repeatable): a machine is taken out of Harvester and installed again, a VM deleted and created again; then the run goes on as usual (docs/runbook.md, "Redo a machine or a VM")' -r
complete -c genesis -n "__fish_genesis_using_subcommand up" -l from -d 'Start at this step (id, number or glob): it and everything after it, run again even if done' -r
complete -c genesis -n "__fish_genesis_using_subcommand up" -l only -d 'Only this step (id, number, fan-out template or glob such as `vm/cp-*`); repeatable; run again even if done' -r
complete -c genesis -n "__fish_genesis_using_subcommand up" -l skip -d 'Never this step (id, number, template or glob); repeatable' -r
complete -c genesis -n "__fish_genesis_using_subcommand up" -l machine -d 'Only this machine\'s or VM\'s branch: every step fanned out for it and the steps that need them (not another machine\'s); repeatable, combines with --only' -r
complete -c genesis -n "__fish_genesis_using_subcommand up" -l lab -d 'The lab inventory: networks, endpoints, machines, VMs' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand up" -l phases -d 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand up" -l secrets -d 'The secrets file (see secrets.example); never printed' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand up" -l age-identity -d 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand up" -l state-dir -d 'Where the journal, lock and run logs live' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand up" -l state -d 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file\'s `state:`, else local' -r -f -a "local\t'The state directory (`--state-dir`): journal file and lock file'
kubernetes\t'The Platform cluster: chunk Secrets and a Lease in a namespace of genesis\'s own'"
complete -c genesis -n "__fish_genesis_using_subcommand up" -l kubeconfig -d 'Kubeconfig for the Platform cluster (default: the lab file\'s, else KUBECONFIG or ~/.kube/config)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand up" -l context -d 'Kubeconfig context of the Platform cluster (default: the lab file\'s)' -r
complete -c genesis -n "__fish_genesis_using_subcommand up" -l harvester-context -d 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH' -r
complete -c genesis -n "__fish_genesis_using_subcommand up" -l write-harvester-kubeconfig -d 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand up" -l color -d 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c genesis -n "__fish_genesis_using_subcommand up" -l dry-run -d 'Show what would happen instead (same as `genesis plan`)'
complete -c genesis -n "__fish_genesis_using_subcommand up" -l verify -d 'Ask each done step whether its result still holds; drifted steps run again'
complete -c genesis -n "__fish_genesis_using_subcommand up" -s y -l yes -d 'Erase disks and power-cycle machines without asking (for scripts; GENESIS_YES=1 does the same; see docs/runbook.md)'
complete -c genesis -n "__fish_genesis_using_subcommand up" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c genesis -n "__fish_genesis_using_subcommand rehearse" -l scenario -d 'Scenario file: how long each thing takes in the real lab, and faults (default: the reference scenario; docs/rehearse.md)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand rehearse" -l fault -d 'Inject a fault (repeatable): bmc-unreachable:MACHINE, workflow-fails-once:MACHINE, node-never-ready:MACHINE, vm-never-joins:VM, image-import-fails[:IMAGE], apiserver-restart:platform|harvester, sigkill:random' -r
complete -c genesis -n "__fish_genesis_using_subcommand rehearse" -l speed -d 'Run this many times faster than the scenario\'s pace (0.5: half as fast)' -r
complete -c genesis -n "__fish_genesis_using_subcommand rehearse" -l dir -d 'The rehearsal directory (default: $TMPDIR/genesis-rehearsal-<uid>): everything a rehearsal writes is below it' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand rehearse" -l serve-world -d 'The world process itself (started by `genesis rehearse`)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand rehearse" -l lab -d 'The lab inventory: networks, endpoints, machines, VMs' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand rehearse" -l phases -d 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand rehearse" -l secrets -d 'The secrets file (see secrets.example); never printed' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand rehearse" -l age-identity -d 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand rehearse" -l state-dir -d 'Where the journal, lock and run logs live' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand rehearse" -l state -d 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file\'s `state:`, else local' -r -f -a "local\t'The state directory (`--state-dir`): journal file and lock file'
kubernetes\t'The Platform cluster: chunk Secrets and a Lease in a namespace of genesis\'s own'"
complete -c genesis -n "__fish_genesis_using_subcommand rehearse" -l kubeconfig -d 'Kubeconfig for the Platform cluster (default: the lab file\'s, else KUBECONFIG or ~/.kube/config)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand rehearse" -l context -d 'Kubeconfig context of the Platform cluster (default: the lab file\'s)' -r
complete -c genesis -n "__fish_genesis_using_subcommand rehearse" -l harvester-context -d 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH' -r
complete -c genesis -n "__fish_genesis_using_subcommand rehearse" -l write-harvester-kubeconfig -d 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand rehearse" -l color -d 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c genesis -n "__fish_genesis_using_subcommand rehearse" -l simulated-controllers -d 'Let the lab simulator play Tinkerbell and Rufio too, instead of running their real upstream controllers against Redfish BMC emulators (no Go build of the controllers, no Python; a faster start)'
complete -c genesis -n "__fish_genesis_using_subcommand rehearse" -l keep -d 'Leave the world running afterwards, with the KUBECONFIG to explore it; `genesis rehearse --down` removes it'
complete -c genesis -n "__fish_genesis_using_subcommand rehearse" -l resume -d 'Continue the kept rehearsal: lift its faults (the lab mended) and run `genesis up` again'
complete -c genesis -n "__fish_genesis_using_subcommand rehearse" -l down -d 'Stop the kept rehearsal world and remove its directory'
complete -c genesis -n "__fish_genesis_using_subcommand rehearse" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c genesis -n "__fish_genesis_using_subcommand down" -l phase -d 'Only this phase and the later ones (3: the machines and what follows; 4: the VMs)' -r
complete -c genesis -n "__fish_genesis_using_subcommand down" -l machine -d 'Only this machine\'s or VM\'s steps (repeatable); a machine is also taken out of Harvester (its Node cordoned and deleted)' -r
complete -c genesis -n "__fish_genesis_using_subcommand down" -l lab -d 'The lab inventory: networks, endpoints, machines, VMs' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand down" -l phases -d 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand down" -l secrets -d 'The secrets file (see secrets.example); never printed' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand down" -l age-identity -d 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand down" -l state-dir -d 'Where the journal, lock and run logs live' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand down" -l state -d 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file\'s `state:`, else local' -r -f -a "local\t'The state directory (`--state-dir`): journal file and lock file'
kubernetes\t'The Platform cluster: chunk Secrets and a Lease in a namespace of genesis\'s own'"
complete -c genesis -n "__fish_genesis_using_subcommand down" -l kubeconfig -d 'Kubeconfig for the Platform cluster (default: the lab file\'s, else KUBECONFIG or ~/.kube/config)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand down" -l context -d 'Kubeconfig context of the Platform cluster (default: the lab file\'s)' -r
complete -c genesis -n "__fish_genesis_using_subcommand down" -l harvester-context -d 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH' -r
complete -c genesis -n "__fish_genesis_using_subcommand down" -l write-harvester-kubeconfig -d 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand down" -l color -d 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c genesis -n "__fish_genesis_using_subcommand down" -s y -l yes -d 'Delete and power off without asking (for scripts; GENESIS_YES=1 does the same)'
complete -c genesis -n "__fish_genesis_using_subcommand down" -l dry-run -d 'Show what would be deleted and powered off, and stop'
complete -c genesis -n "__fish_genesis_using_subcommand down" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c genesis -n "__fish_genesis_using_subcommand status" -s o -l output -d '`text`: a table on stdout; `json`: the same rows as a JSON document' -r -f -a "text\t'Progress and the final table on stderr'
json\t'One JSON event per line on stdout'"
complete -c genesis -n "__fish_genesis_using_subcommand status" -l from -d 'Start at this step (id, number or glob): it and everything after it, run again even if done' -r
complete -c genesis -n "__fish_genesis_using_subcommand status" -l only -d 'Only this step (id, number, fan-out template or glob such as `vm/cp-*`); repeatable; run again even if done' -r
complete -c genesis -n "__fish_genesis_using_subcommand status" -l skip -d 'Never this step (id, number, template or glob); repeatable' -r
complete -c genesis -n "__fish_genesis_using_subcommand status" -l machine -d 'Only this machine\'s or VM\'s branch: every step fanned out for it and the steps that need them (not another machine\'s); repeatable, combines with --only' -r
complete -c genesis -n "__fish_genesis_using_subcommand status" -l lab -d 'The lab inventory: networks, endpoints, machines, VMs' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand status" -l phases -d 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand status" -l secrets -d 'The secrets file (see secrets.example); never printed' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand status" -l age-identity -d 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand status" -l state-dir -d 'Where the journal, lock and run logs live' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand status" -l state -d 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file\'s `state:`, else local' -r -f -a "local\t'The state directory (`--state-dir`): journal file and lock file'
kubernetes\t'The Platform cluster: chunk Secrets and a Lease in a namespace of genesis\'s own'"
complete -c genesis -n "__fish_genesis_using_subcommand status" -l kubeconfig -d 'Kubeconfig for the Platform cluster (default: the lab file\'s, else KUBECONFIG or ~/.kube/config)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand status" -l context -d 'Kubeconfig context of the Platform cluster (default: the lab file\'s)' -r
complete -c genesis -n "__fish_genesis_using_subcommand status" -l harvester-context -d 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH' -r
complete -c genesis -n "__fish_genesis_using_subcommand status" -l write-harvester-kubeconfig -d 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand status" -l color -d 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c genesis -n "__fish_genesis_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c genesis -n "__fish_genesis_using_subcommand reset" -l lab -d 'The lab inventory: networks, endpoints, machines, VMs' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand reset" -l phases -d 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand reset" -l secrets -d 'The secrets file (see secrets.example); never printed' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand reset" -l age-identity -d 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand reset" -l state-dir -d 'Where the journal, lock and run logs live' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand reset" -l state -d 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file\'s `state:`, else local' -r -f -a "local\t'The state directory (`--state-dir`): journal file and lock file'
kubernetes\t'The Platform cluster: chunk Secrets and a Lease in a namespace of genesis\'s own'"
complete -c genesis -n "__fish_genesis_using_subcommand reset" -l kubeconfig -d 'Kubeconfig for the Platform cluster (default: the lab file\'s, else KUBECONFIG or ~/.kube/config)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand reset" -l context -d 'Kubeconfig context of the Platform cluster (default: the lab file\'s)' -r
complete -c genesis -n "__fish_genesis_using_subcommand reset" -l harvester-context -d 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH' -r
complete -c genesis -n "__fish_genesis_using_subcommand reset" -l write-harvester-kubeconfig -d 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand reset" -l color -d 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c genesis -n "__fish_genesis_using_subcommand reset" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c genesis -n "__fish_genesis_using_subcommand unlock" -l lab -d 'The lab inventory: networks, endpoints, machines, VMs' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand unlock" -l phases -d 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand unlock" -l secrets -d 'The secrets file (see secrets.example); never printed' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand unlock" -l age-identity -d 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand unlock" -l state-dir -d 'Where the journal, lock and run logs live' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand unlock" -l state -d 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file\'s `state:`, else local' -r -f -a "local\t'The state directory (`--state-dir`): journal file and lock file'
kubernetes\t'The Platform cluster: chunk Secrets and a Lease in a namespace of genesis\'s own'"
complete -c genesis -n "__fish_genesis_using_subcommand unlock" -l kubeconfig -d 'Kubeconfig for the Platform cluster (default: the lab file\'s, else KUBECONFIG or ~/.kube/config)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand unlock" -l context -d 'Kubeconfig context of the Platform cluster (default: the lab file\'s)' -r
complete -c genesis -n "__fish_genesis_using_subcommand unlock" -l harvester-context -d 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH' -r
complete -c genesis -n "__fish_genesis_using_subcommand unlock" -l write-harvester-kubeconfig -d 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand unlock" -l color -d 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c genesis -n "__fish_genesis_using_subcommand unlock" -l force -d 'With `--state kubernetes`: release the Lease even though it has not expired (its holder may still be running: make sure it is gone). The state directory\'s lock is never taken from a run alive on this host'
complete -c genesis -n "__fish_genesis_using_subcommand unlock" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and not __fish_seen_subcommand_from encrypt edit check keygen help" -l lab -d 'The lab inventory: networks, endpoints, machines, VMs' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and not __fish_seen_subcommand_from encrypt edit check keygen help" -l phases -d 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and not __fish_seen_subcommand_from encrypt edit check keygen help" -l secrets -d 'The secrets file (see secrets.example); never printed' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and not __fish_seen_subcommand_from encrypt edit check keygen help" -l age-identity -d 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and not __fish_seen_subcommand_from encrypt edit check keygen help" -l state-dir -d 'Where the journal, lock and run logs live' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and not __fish_seen_subcommand_from encrypt edit check keygen help" -l state -d 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file\'s `state:`, else local' -r -f -a "local\t'The state directory (`--state-dir`): journal file and lock file'
kubernetes\t'The Platform cluster: chunk Secrets and a Lease in a namespace of genesis\'s own'"
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and not __fish_seen_subcommand_from encrypt edit check keygen help" -l kubeconfig -d 'Kubeconfig for the Platform cluster (default: the lab file\'s, else KUBECONFIG or ~/.kube/config)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and not __fish_seen_subcommand_from encrypt edit check keygen help" -l context -d 'Kubeconfig context of the Platform cluster (default: the lab file\'s)' -r
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and not __fish_seen_subcommand_from encrypt edit check keygen help" -l harvester-context -d 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH' -r
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and not __fish_seen_subcommand_from encrypt edit check keygen help" -l write-harvester-kubeconfig -d 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and not __fish_seen_subcommand_from encrypt edit check keygen help" -l color -d 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and not __fish_seen_subcommand_from encrypt edit check keygen help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and not __fish_seen_subcommand_from encrypt edit check keygen help" -f -a "encrypt" -d 'Encrypt a plaintext secrets file with age (secrets.yaml -> secrets.yaml.age)'
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and not __fish_seen_subcommand_from encrypt edit check keygen help" -f -a "edit" -d 'Decrypt into a private temporary file, run $VISUAL or $EDITOR on it, check it, encrypt it again to the same recipients and wipe the temporary file'
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and not __fish_seen_subcommand_from encrypt edit check keygen help" -f -a "check" -d 'Check that every secret the lab and phases reference is present and well formed (names only, never values); exit 2 on any problem'
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and not __fish_seen_subcommand_from encrypt edit check keygen help" -f -a "keygen" -d 'Create a new age identity (0600; default ~/.config/genesis/age.txt) and print its public key, the recipient to encrypt to'
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and not __fish_seen_subcommand_from encrypt edit check keygen help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from encrypt" -s o -l output -d 'The encrypted file to write (default: INPUT.age)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from encrypt" -l recipient -d 'An age X25519 recipient (`age1…`); repeat for several' -r
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from encrypt" -l recipients-file -d 'A file of recipients, one `age1…` a line (`#` comments); repeatable' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from encrypt" -l lab -d 'The lab inventory: networks, endpoints, machines, VMs' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from encrypt" -l phases -d 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from encrypt" -l secrets -d 'The secrets file (see secrets.example); never printed' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from encrypt" -l age-identity -d 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from encrypt" -l state-dir -d 'Where the journal, lock and run logs live' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from encrypt" -l state -d 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file\'s `state:`, else local' -r -f -a "local\t'The state directory (`--state-dir`): journal file and lock file'
kubernetes\t'The Platform cluster: chunk Secrets and a Lease in a namespace of genesis\'s own'"
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from encrypt" -l kubeconfig -d 'Kubeconfig for the Platform cluster (default: the lab file\'s, else KUBECONFIG or ~/.kube/config)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from encrypt" -l context -d 'Kubeconfig context of the Platform cluster (default: the lab file\'s)' -r
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from encrypt" -l harvester-context -d 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH' -r
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from encrypt" -l write-harvester-kubeconfig -d 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from encrypt" -l color -d 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from encrypt" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from edit" -l lab -d 'The lab inventory: networks, endpoints, machines, VMs' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from edit" -l phases -d 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from edit" -l secrets -d 'The secrets file (see secrets.example); never printed' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from edit" -l age-identity -d 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from edit" -l state-dir -d 'Where the journal, lock and run logs live' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from edit" -l state -d 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file\'s `state:`, else local' -r -f -a "local\t'The state directory (`--state-dir`): journal file and lock file'
kubernetes\t'The Platform cluster: chunk Secrets and a Lease in a namespace of genesis\'s own'"
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from edit" -l kubeconfig -d 'Kubeconfig for the Platform cluster (default: the lab file\'s, else KUBECONFIG or ~/.kube/config)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from edit" -l context -d 'Kubeconfig context of the Platform cluster (default: the lab file\'s)' -r
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from edit" -l harvester-context -d 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH' -r
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from edit" -l write-harvester-kubeconfig -d 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from edit" -l color -d 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from edit" -l rekey -d 'Do not start the editor: only encrypt again to the recipients file (after adding or removing someone)'
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from edit" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from check" -l lab -d 'The lab inventory: networks, endpoints, machines, VMs' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from check" -l phases -d 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from check" -l secrets -d 'The secrets file (see secrets.example); never printed' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from check" -l age-identity -d 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from check" -l state-dir -d 'Where the journal, lock and run logs live' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from check" -l state -d 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file\'s `state:`, else local' -r -f -a "local\t'The state directory (`--state-dir`): journal file and lock file'
kubernetes\t'The Platform cluster: chunk Secrets and a Lease in a namespace of genesis\'s own'"
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from check" -l kubeconfig -d 'Kubeconfig for the Platform cluster (default: the lab file\'s, else KUBECONFIG or ~/.kube/config)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from check" -l context -d 'Kubeconfig context of the Platform cluster (default: the lab file\'s)' -r
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from check" -l harvester-context -d 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH' -r
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from check" -l write-harvester-kubeconfig -d 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from check" -l color -d 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from keygen" -s o -l output -d 'Where to write the identity (default: --age-identity, GENESIS_AGE_IDENTITY or ~/.config/genesis/age.txt); an existing file is never overwritten' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from keygen" -l lab -d 'The lab inventory: networks, endpoints, machines, VMs' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from keygen" -l phases -d 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from keygen" -l secrets -d 'The secrets file (see secrets.example); never printed' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from keygen" -l age-identity -d 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from keygen" -l state-dir -d 'Where the journal, lock and run logs live' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from keygen" -l state -d 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file\'s `state:`, else local' -r -f -a "local\t'The state directory (`--state-dir`): journal file and lock file'
kubernetes\t'The Platform cluster: chunk Secrets and a Lease in a namespace of genesis\'s own'"
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from keygen" -l kubeconfig -d 'Kubeconfig for the Platform cluster (default: the lab file\'s, else KUBECONFIG or ~/.kube/config)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from keygen" -l context -d 'Kubeconfig context of the Platform cluster (default: the lab file\'s)' -r
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from keygen" -l harvester-context -d 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH' -r
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from keygen" -l write-harvester-kubeconfig -d 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from keygen" -l color -d 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from keygen" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from help" -f -a "encrypt" -d 'Encrypt a plaintext secrets file with age (secrets.yaml -> secrets.yaml.age)'
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from help" -f -a "edit" -d 'Decrypt into a private temporary file, run $VISUAL or $EDITOR on it, check it, encrypt it again to the same recipients and wipe the temporary file'
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from help" -f -a "check" -d 'Check that every secret the lab and phases reference is present and well formed (names only, never values); exit 2 on any problem'
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from help" -f -a "keygen" -d 'Create a new age identity (0600; default ~/.config/genesis/age.txt) and print its public key, the recipient to encrypt to'
complete -c genesis -n "__fish_genesis_using_subcommand secrets; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c genesis -n "__fish_genesis_using_subcommand diagnose" -l out -d 'Directory to create the bundle in (default: `<state dir>/diagnose`)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand diagnose" -l timeout -d 'Bound on reaching each cluster, each list and each SSH command' -r
complete -c genesis -n "__fish_genesis_using_subcommand diagnose" -l lab -d 'The lab inventory: networks, endpoints, machines, VMs' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand diagnose" -l phases -d 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand diagnose" -l secrets -d 'The secrets file (see secrets.example); never printed' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand diagnose" -l age-identity -d 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand diagnose" -l state-dir -d 'Where the journal, lock and run logs live' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand diagnose" -l state -d 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file\'s `state:`, else local' -r -f -a "local\t'The state directory (`--state-dir`): journal file and lock file'
kubernetes\t'The Platform cluster: chunk Secrets and a Lease in a namespace of genesis\'s own'"
complete -c genesis -n "__fish_genesis_using_subcommand diagnose" -l kubeconfig -d 'Kubeconfig for the Platform cluster (default: the lab file\'s, else KUBECONFIG or ~/.kube/config)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand diagnose" -l context -d 'Kubeconfig context of the Platform cluster (default: the lab file\'s)' -r
complete -c genesis -n "__fish_genesis_using_subcommand diagnose" -l harvester-context -d 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH' -r
complete -c genesis -n "__fish_genesis_using_subcommand diagnose" -l write-harvester-kubeconfig -d 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand diagnose" -l color -d 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c genesis -n "__fish_genesis_using_subcommand diagnose" -l no-ssh -d 'Do not log in to the Harvester node'
complete -c genesis -n "__fish_genesis_using_subcommand diagnose" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c genesis -n "__fish_genesis_using_subcommand health" -s o -l output -d '`text`: one line per check and what to do; `json`: the report (docs/health-json.md)' -r -f -a "text\t'Progress and the final table on stderr'
json\t'One JSON event per line on stdout'"
complete -c genesis -n "__fish_genesis_using_subcommand health" -l timeout -d 'How long the whole check may take: every cluster is read at once under this deadline' -r
complete -c genesis -n "__fish_genesis_using_subcommand health" -l lab -d 'The lab inventory: networks, endpoints, machines, VMs' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand health" -l phases -d 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand health" -l secrets -d 'The secrets file (see secrets.example); never printed' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand health" -l age-identity -d 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand health" -l state-dir -d 'Where the journal, lock and run logs live' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand health" -l state -d 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file\'s `state:`, else local' -r -f -a "local\t'The state directory (`--state-dir`): journal file and lock file'
kubernetes\t'The Platform cluster: chunk Secrets and a Lease in a namespace of genesis\'s own'"
complete -c genesis -n "__fish_genesis_using_subcommand health" -l kubeconfig -d 'Kubeconfig for the Platform cluster (default: the lab file\'s, else KUBECONFIG or ~/.kube/config)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand health" -l context -d 'Kubeconfig context of the Platform cluster (default: the lab file\'s)' -r
complete -c genesis -n "__fish_genesis_using_subcommand health" -l harvester-context -d 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH' -r
complete -c genesis -n "__fish_genesis_using_subcommand health" -l write-harvester-kubeconfig -d 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand health" -l color -d 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c genesis -n "__fish_genesis_using_subcommand health" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c genesis -n "__fish_genesis_using_subcommand describe" -s o -l output -d '`text`: a tree; `json`: the same as a document (docs/health-json.md, "describe")' -r -f -a "text\t'Progress and the final table on stderr'
json\t'One JSON event per line on stdout'"
complete -c genesis -n "__fish_genesis_using_subcommand describe" -l timeout -d 'How long reading may take: every cluster is read at once under this deadline' -r
complete -c genesis -n "__fish_genesis_using_subcommand describe" -l lab -d 'The lab inventory: networks, endpoints, machines, VMs' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand describe" -l phases -d 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand describe" -l secrets -d 'The secrets file (see secrets.example); never printed' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand describe" -l age-identity -d 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand describe" -l state-dir -d 'Where the journal, lock and run logs live' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand describe" -l state -d 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file\'s `state:`, else local' -r -f -a "local\t'The state directory (`--state-dir`): journal file and lock file'
kubernetes\t'The Platform cluster: chunk Secrets and a Lease in a namespace of genesis\'s own'"
complete -c genesis -n "__fish_genesis_using_subcommand describe" -l kubeconfig -d 'Kubeconfig for the Platform cluster (default: the lab file\'s, else KUBECONFIG or ~/.kube/config)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand describe" -l context -d 'Kubeconfig context of the Platform cluster (default: the lab file\'s)' -r
complete -c genesis -n "__fish_genesis_using_subcommand describe" -l harvester-context -d 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH' -r
complete -c genesis -n "__fish_genesis_using_subcommand describe" -l write-harvester-kubeconfig -d 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand describe" -l color -d 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c genesis -n "__fish_genesis_using_subcommand describe" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c genesis -n "__fish_genesis_using_subcommand state; and not __fish_seen_subcommand_from push pull help" -l lab -d 'The lab inventory: networks, endpoints, machines, VMs' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand state; and not __fish_seen_subcommand_from push pull help" -l phases -d 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand state; and not __fish_seen_subcommand_from push pull help" -l secrets -d 'The secrets file (see secrets.example); never printed' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand state; and not __fish_seen_subcommand_from push pull help" -l age-identity -d 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand state; and not __fish_seen_subcommand_from push pull help" -l state-dir -d 'Where the journal, lock and run logs live' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand state; and not __fish_seen_subcommand_from push pull help" -l state -d 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file\'s `state:`, else local' -r -f -a "local\t'The state directory (`--state-dir`): journal file and lock file'
kubernetes\t'The Platform cluster: chunk Secrets and a Lease in a namespace of genesis\'s own'"
complete -c genesis -n "__fish_genesis_using_subcommand state; and not __fish_seen_subcommand_from push pull help" -l kubeconfig -d 'Kubeconfig for the Platform cluster (default: the lab file\'s, else KUBECONFIG or ~/.kube/config)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand state; and not __fish_seen_subcommand_from push pull help" -l context -d 'Kubeconfig context of the Platform cluster (default: the lab file\'s)' -r
complete -c genesis -n "__fish_genesis_using_subcommand state; and not __fish_seen_subcommand_from push pull help" -l harvester-context -d 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH' -r
complete -c genesis -n "__fish_genesis_using_subcommand state; and not __fish_seen_subcommand_from push pull help" -l write-harvester-kubeconfig -d 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand state; and not __fish_seen_subcommand_from push pull help" -l color -d 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c genesis -n "__fish_genesis_using_subcommand state; and not __fish_seen_subcommand_from push pull help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c genesis -n "__fish_genesis_using_subcommand state; and not __fish_seen_subcommand_from push pull help" -f -a "push" -d 'Copy the local state directory\'s journal into the Platform cluster'
complete -c genesis -n "__fish_genesis_using_subcommand state; and not __fish_seen_subcommand_from push pull help" -f -a "pull" -d 'Copy the Platform cluster\'s journal into the local state directory'
complete -c genesis -n "__fish_genesis_using_subcommand state; and not __fish_seen_subcommand_from push pull help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c genesis -n "__fish_genesis_using_subcommand state; and __fish_seen_subcommand_from push" -l lab -d 'The lab inventory: networks, endpoints, machines, VMs' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand state; and __fish_seen_subcommand_from push" -l phases -d 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand state; and __fish_seen_subcommand_from push" -l secrets -d 'The secrets file (see secrets.example); never printed' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand state; and __fish_seen_subcommand_from push" -l age-identity -d 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand state; and __fish_seen_subcommand_from push" -l state-dir -d 'Where the journal, lock and run logs live' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand state; and __fish_seen_subcommand_from push" -l state -d 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file\'s `state:`, else local' -r -f -a "local\t'The state directory (`--state-dir`): journal file and lock file'
kubernetes\t'The Platform cluster: chunk Secrets and a Lease in a namespace of genesis\'s own'"
complete -c genesis -n "__fish_genesis_using_subcommand state; and __fish_seen_subcommand_from push" -l kubeconfig -d 'Kubeconfig for the Platform cluster (default: the lab file\'s, else KUBECONFIG or ~/.kube/config)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand state; and __fish_seen_subcommand_from push" -l context -d 'Kubeconfig context of the Platform cluster (default: the lab file\'s)' -r
complete -c genesis -n "__fish_genesis_using_subcommand state; and __fish_seen_subcommand_from push" -l harvester-context -d 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH' -r
complete -c genesis -n "__fish_genesis_using_subcommand state; and __fish_seen_subcommand_from push" -l write-harvester-kubeconfig -d 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand state; and __fish_seen_subcommand_from push" -l color -d 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c genesis -n "__fish_genesis_using_subcommand state; and __fish_seen_subcommand_from push" -l force -d 'Replace a destination that already holds a journal'
complete -c genesis -n "__fish_genesis_using_subcommand state; and __fish_seen_subcommand_from push" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c genesis -n "__fish_genesis_using_subcommand state; and __fish_seen_subcommand_from pull" -l lab -d 'The lab inventory: networks, endpoints, machines, VMs' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand state; and __fish_seen_subcommand_from pull" -l phases -d 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand state; and __fish_seen_subcommand_from pull" -l secrets -d 'The secrets file (see secrets.example); never printed' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand state; and __fish_seen_subcommand_from pull" -l age-identity -d 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand state; and __fish_seen_subcommand_from pull" -l state-dir -d 'Where the journal, lock and run logs live' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand state; and __fish_seen_subcommand_from pull" -l state -d 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file\'s `state:`, else local' -r -f -a "local\t'The state directory (`--state-dir`): journal file and lock file'
kubernetes\t'The Platform cluster: chunk Secrets and a Lease in a namespace of genesis\'s own'"
complete -c genesis -n "__fish_genesis_using_subcommand state; and __fish_seen_subcommand_from pull" -l kubeconfig -d 'Kubeconfig for the Platform cluster (default: the lab file\'s, else KUBECONFIG or ~/.kube/config)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand state; and __fish_seen_subcommand_from pull" -l context -d 'Kubeconfig context of the Platform cluster (default: the lab file\'s)' -r
complete -c genesis -n "__fish_genesis_using_subcommand state; and __fish_seen_subcommand_from pull" -l harvester-context -d 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH' -r
complete -c genesis -n "__fish_genesis_using_subcommand state; and __fish_seen_subcommand_from pull" -l write-harvester-kubeconfig -d 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand state; and __fish_seen_subcommand_from pull" -l color -d 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c genesis -n "__fish_genesis_using_subcommand state; and __fish_seen_subcommand_from pull" -l force -d 'Replace a destination that already holds a journal'
complete -c genesis -n "__fish_genesis_using_subcommand state; and __fish_seen_subcommand_from pull" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c genesis -n "__fish_genesis_using_subcommand state; and __fish_seen_subcommand_from help" -f -a "push" -d 'Copy the local state directory\'s journal into the Platform cluster'
complete -c genesis -n "__fish_genesis_using_subcommand state; and __fish_seen_subcommand_from help" -f -a "pull" -d 'Copy the Platform cluster\'s journal into the local state directory'
complete -c genesis -n "__fish_genesis_using_subcommand state; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c genesis -n "__fish_genesis_using_subcommand completions" -l lab -d 'The lab inventory: networks, endpoints, machines, VMs' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand completions" -l phases -d 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand completions" -l secrets -d 'The secrets file (see secrets.example); never printed' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand completions" -l age-identity -d 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand completions" -l state-dir -d 'Where the journal, lock and run logs live' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand completions" -l state -d 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file\'s `state:`, else local' -r -f -a "local\t'The state directory (`--state-dir`): journal file and lock file'
kubernetes\t'The Platform cluster: chunk Secrets and a Lease in a namespace of genesis\'s own'"
complete -c genesis -n "__fish_genesis_using_subcommand completions" -l kubeconfig -d 'Kubeconfig for the Platform cluster (default: the lab file\'s, else KUBECONFIG or ~/.kube/config)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand completions" -l context -d 'Kubeconfig context of the Platform cluster (default: the lab file\'s)' -r
complete -c genesis -n "__fish_genesis_using_subcommand completions" -l harvester-context -d 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH' -r
complete -c genesis -n "__fish_genesis_using_subcommand completions" -l write-harvester-kubeconfig -d 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand completions" -l color -d 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c genesis -n "__fish_genesis_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c genesis -n "__fish_genesis_using_subcommand man" -l out-dir -d 'Write one page per command (genesis.1, genesis-up.1, …) into DIR instead of printing genesis.1' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand man" -l lab -d 'The lab inventory: networks, endpoints, machines, VMs' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand man" -l phases -d 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand man" -l secrets -d 'The secrets file (see secrets.example); never printed' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand man" -l age-identity -d 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand man" -l state-dir -d 'Where the journal, lock and run logs live' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand man" -l state -d 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file\'s `state:`, else local' -r -f -a "local\t'The state directory (`--state-dir`): journal file and lock file'
kubernetes\t'The Platform cluster: chunk Secrets and a Lease in a namespace of genesis\'s own'"
complete -c genesis -n "__fish_genesis_using_subcommand man" -l kubeconfig -d 'Kubeconfig for the Platform cluster (default: the lab file\'s, else KUBECONFIG or ~/.kube/config)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand man" -l context -d 'Kubeconfig context of the Platform cluster (default: the lab file\'s)' -r
complete -c genesis -n "__fish_genesis_using_subcommand man" -l harvester-context -d 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH' -r
complete -c genesis -n "__fish_genesis_using_subcommand man" -l write-harvester-kubeconfig -d 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)' -r -F
complete -c genesis -n "__fish_genesis_using_subcommand man" -l color -d 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c genesis -n "__fish_genesis_using_subcommand man" -l markdown -d 'Print the Markdown command reference (docs/reference/cli.md) instead'
complete -c genesis -n "__fish_genesis_using_subcommand man" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c genesis -n "__fish_genesis_using_subcommand help; and not __fish_seen_subcommand_from validate plan graph up rehearse down status reset unlock secrets diagnose health describe state completions man help" -f -a "validate" -d 'Check the lab, phase and secrets files offline; exit 2 naming file, line and field'
complete -c genesis -n "__fish_genesis_using_subcommand help; and not __fish_seen_subcommand_from validate plan graph up rehearse down status reset unlock secrets diagnose health describe state completions man help" -f -a "plan" -d 'Show what `genesis up` would do, step by step, without changing anything'
complete -c genesis -n "__fish_genesis_using_subcommand help; and not __fish_seen_subcommand_from validate plan graph up rehearse down status reset unlock secrets diagnose health describe state completions man help" -f -a "graph" -d 'Print the step DAG as Graphviz dot or Mermaid'
complete -c genesis -n "__fish_genesis_using_subcommand help; and not __fish_seen_subcommand_from validate plan graph up rehearse down status reset unlock secrets diagnose health describe state completions man help" -f -a "up" -d 'Run the phases to completion, continuing from the journal'
complete -c genesis -n "__fish_genesis_using_subcommand help; and not __fish_seen_subcommand_from validate plan graph up rehearse down status reset unlock secrets diagnose health describe state completions man help" -f -a "rehearse" -d 'Rehearse the whole bootstrap of your lab on this machine: a private world of real API servers, sshd and the lab simulator, your inputs with stand-in secrets, the same `up`'
complete -c genesis -n "__fish_genesis_using_subcommand help; and not __fish_seen_subcommand_from validate plan graph up rehearse down status reset unlock secrets diagnose health describe state completions man help" -f -a "down" -d 'Delete what genesis made (reverse order, only objects with its label) and power the machines off; `up` makes it all again'
complete -c genesis -n "__fish_genesis_using_subcommand help; and not __fish_seen_subcommand_from validate plan graph up rehearse down status reset unlock secrets diagnose health describe state completions man help" -f -a "status" -d 'Show the journal as a table: what is done, failed, pending or changed'
complete -c genesis -n "__fish_genesis_using_subcommand help; and not __fish_seen_subcommand_from validate plan graph up rehearse down status reset unlock secrets diagnose health describe state completions man help" -f -a "reset" -d 'Forget steps in the journal so that the next `genesis up` runs them again'
complete -c genesis -n "__fish_genesis_using_subcommand help; and not __fish_seen_subcommand_from validate plan graph up rehearse down status reset unlock secrets diagnose health describe state completions man help" -f -a "unlock" -d 'Release the lock of a run that is gone (for a holder on another host)'
complete -c genesis -n "__fish_genesis_using_subcommand help; and not __fish_seen_subcommand_from validate plan graph up rehearse down status reset unlock secrets diagnose health describe state completions man help" -f -a "secrets" -d 'The secrets file: encrypt it with age, edit the encrypted file, check every reference'
complete -c genesis -n "__fish_genesis_using_subcommand help; and not __fish_seen_subcommand_from validate plan graph up rehearse down status reset unlock secrets diagnose health describe state completions man help" -f -a "diagnose" -d 'Collect a bundle for a failed run: journal, logs, status, objects of both clusters and the first Harvester node\'s service logs, secrets scrubbed (see docs/diagnose.md)'
complete -c genesis -n "__fish_genesis_using_subcommand help; and not __fish_seen_subcommand_from validate plan graph up rehearse down status reset unlock secrets diagnose health describe state completions man help" -f -a "health" -d 'Check the lab as it stands: Platform nodes, Harvester quorum, the Argo CD Secret\'s credentials, the VMs; read-only, seconds (exit 1 when a check is red)'
complete -c genesis -n "__fish_genesis_using_subcommand help; and not __fish_seen_subcommand_from validate plan graph up rehearse down status reset unlock secrets diagnose health describe state completions man help" -f -a "describe" -d 'Show the objects a step (or a machine\'s branch) owns, read live, as a tree with their conditions'
complete -c genesis -n "__fish_genesis_using_subcommand help; and not __fish_seen_subcommand_from validate plan graph up rehearse down status reset unlock secrets diagnose health describe state completions man help" -f -a "state" -d 'Move the journal between the state directory and the Platform cluster (push|pull)'
complete -c genesis -n "__fish_genesis_using_subcommand help; and not __fish_seen_subcommand_from validate plan graph up rehearse down status reset unlock secrets diagnose health describe state completions man help" -f -a "completions" -d 'Print a shell completion script (bash, zsh, fish, elvish, powershell)'
complete -c genesis -n "__fish_genesis_using_subcommand help; and not __fish_seen_subcommand_from validate plan graph up rehearse down status reset unlock secrets diagnose health describe state completions man help" -f -a "man" -d 'Print the man page (or write one per command with --out-dir, or the Markdown reference)'
complete -c genesis -n "__fish_genesis_using_subcommand help; and not __fish_seen_subcommand_from validate plan graph up rehearse down status reset unlock secrets diagnose health describe state completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c genesis -n "__fish_genesis_using_subcommand help; and __fish_seen_subcommand_from secrets" -f -a "encrypt" -d 'Encrypt a plaintext secrets file with age (secrets.yaml -> secrets.yaml.age)'
complete -c genesis -n "__fish_genesis_using_subcommand help; and __fish_seen_subcommand_from secrets" -f -a "edit" -d 'Decrypt into a private temporary file, run $VISUAL or $EDITOR on it, check it, encrypt it again to the same recipients and wipe the temporary file'
complete -c genesis -n "__fish_genesis_using_subcommand help; and __fish_seen_subcommand_from secrets" -f -a "check" -d 'Check that every secret the lab and phases reference is present and well formed (names only, never values); exit 2 on any problem'
complete -c genesis -n "__fish_genesis_using_subcommand help; and __fish_seen_subcommand_from secrets" -f -a "keygen" -d 'Create a new age identity (0600; default ~/.config/genesis/age.txt) and print its public key, the recipient to encrypt to'
complete -c genesis -n "__fish_genesis_using_subcommand help; and __fish_seen_subcommand_from state" -f -a "push" -d 'Copy the local state directory\'s journal into the Platform cluster'
complete -c genesis -n "__fish_genesis_using_subcommand help; and __fish_seen_subcommand_from state" -f -a "pull" -d 'Copy the Platform cluster\'s journal into the local state directory'
