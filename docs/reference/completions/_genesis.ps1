
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'genesis' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'genesis'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'genesis' {
            [CompletionResult]::new('--lab', '--lab', [CompletionResultType]::ParameterName, 'The lab inventory: networks, endpoints, machines, VMs')
            [CompletionResult]::new('--phases', '--phases', [CompletionResultType]::ParameterName, 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)')
            [CompletionResult]::new('--secrets', '--secrets', [CompletionResultType]::ParameterName, 'The secrets file (see secrets.example); never printed')
            [CompletionResult]::new('--age-identity', '--age-identity', [CompletionResultType]::ParameterName, 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where the journal, lock and run logs live')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Platform cluster (default: the lab file''s)')
            [CompletionResult]::new('--harvester-context', '--harvester-context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH')
            [CompletionResult]::new('--write-harvester-kubeconfig', '--write-harvester-kubeconfig', [CompletionResultType]::ParameterName, 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('validate', 'validate', [CompletionResultType]::ParameterValue, 'Check the lab, phase and secrets files offline; exit 2 naming file, line and field')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Show what `genesis up` would do, step by step, without changing anything')
            [CompletionResult]::new('graph', 'graph', [CompletionResultType]::ParameterValue, 'Print the step DAG as Graphviz dot or Mermaid')
            [CompletionResult]::new('up', 'up', [CompletionResultType]::ParameterValue, 'Run the phases to completion, continuing from the journal')
            [CompletionResult]::new('rehearse', 'rehearse', [CompletionResultType]::ParameterValue, 'Rehearse the whole bootstrap of your lab on this machine: a private world of real API servers, sshd and the lab simulator, your inputs with stand-in secrets, the same `up`')
            [CompletionResult]::new('down', 'down', [CompletionResultType]::ParameterValue, 'Delete what genesis made (reverse order, only objects with its label) and power the machines off; `up` makes it all again')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show the journal as a table: what is done, failed, pending or changed')
            [CompletionResult]::new('reset', 'reset', [CompletionResultType]::ParameterValue, 'Forget steps in the journal so that the next `genesis up` runs them again')
            [CompletionResult]::new('unlock', 'unlock', [CompletionResultType]::ParameterValue, 'Release the lock of a run that is gone (for a holder on another host)')
            [CompletionResult]::new('secrets', 'secrets', [CompletionResultType]::ParameterValue, 'The secrets file: encrypt it with age, edit the encrypted file, check every reference')
            [CompletionResult]::new('diagnose', 'diagnose', [CompletionResultType]::ParameterValue, 'Collect a bundle for a failed run: journal, logs, status, objects of both clusters and the first Harvester node''s service logs, secrets scrubbed (see docs/diagnose.md)')
            [CompletionResult]::new('health', 'health', [CompletionResultType]::ParameterValue, 'Check the lab as it stands: Platform nodes, Harvester quorum, the Argo CD Secret''s credentials, the VMs; read-only, seconds (exit 1 when a check is red)')
            [CompletionResult]::new('describe', 'describe', [CompletionResultType]::ParameterValue, 'Show the objects a step (or a machine''s branch) owns, read live, as a tree with their conditions')
            [CompletionResult]::new('state', 'state', [CompletionResultType]::ParameterValue, 'Move the journal between the state directory and the Platform cluster (push|pull)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script (bash, zsh, fish, elvish, powershell)')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (or write one per command with --out-dir, or the Markdown reference)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'genesis;validate' {
            [CompletionResult]::new('--lab', '--lab', [CompletionResultType]::ParameterName, 'The lab inventory: networks, endpoints, machines, VMs')
            [CompletionResult]::new('--phases', '--phases', [CompletionResultType]::ParameterName, 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)')
            [CompletionResult]::new('--secrets', '--secrets', [CompletionResultType]::ParameterName, 'The secrets file (see secrets.example); never printed')
            [CompletionResult]::new('--age-identity', '--age-identity', [CompletionResultType]::ParameterName, 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where the journal, lock and run logs live')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Platform cluster (default: the lab file''s)')
            [CompletionResult]::new('--harvester-context', '--harvester-context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH')
            [CompletionResult]::new('--write-harvester-kubeconfig', '--write-harvester-kubeconfig', [CompletionResultType]::ParameterName, 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'genesis;plan' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: text for people, json for machines (see docs/plan-json.md)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: text for people, json for machines (see docs/plan-json.md)')
            [CompletionResult]::new('--observe-timeout', '--observe-timeout', [CompletionResultType]::ParameterName, 'Bound on reaching the Platform cluster and on each step''s observation; past it the plan falls back to offline (cluster) or says the step was not observed')
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Also save the plan to FILE (JSON, mode 0600) with fingerprints of its inputs and of what it observed; `genesis up --plan FILE` applies exactly it (docs/runbook.md)')
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'Start at this step (id, number or glob): it and everything after it, run again even if done')
            [CompletionResult]::new('--only', '--only', [CompletionResultType]::ParameterName, 'Only this step (id, number, fan-out template or glob such as `vm/cp-*`); repeatable; run again even if done')
            [CompletionResult]::new('--skip', '--skip', [CompletionResultType]::ParameterName, 'Never this step (id, number, template or glob); repeatable')
            [CompletionResult]::new('--machine', '--machine', [CompletionResultType]::ParameterName, 'Only this machine''s or VM''s branch: every step fanned out for it and the steps that need them (not another machine''s); repeatable, combines with --only')
            [CompletionResult]::new('--lab', '--lab', [CompletionResultType]::ParameterName, 'The lab inventory: networks, endpoints, machines, VMs')
            [CompletionResult]::new('--phases', '--phases', [CompletionResultType]::ParameterName, 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)')
            [CompletionResult]::new('--secrets', '--secrets', [CompletionResultType]::ParameterName, 'The secrets file (see secrets.example); never printed')
            [CompletionResult]::new('--age-identity', '--age-identity', [CompletionResultType]::ParameterName, 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where the journal, lock and run logs live')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Platform cluster (default: the lab file''s)')
            [CompletionResult]::new('--harvester-context', '--harvester-context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH')
            [CompletionResult]::new('--write-harvester-kubeconfig', '--write-harvester-kubeconfig', [CompletionResultType]::ParameterName, 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Contact nothing: plan from the inputs and the journal only')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'genesis;graph' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--lab', '--lab', [CompletionResultType]::ParameterName, 'The lab inventory: networks, endpoints, machines, VMs')
            [CompletionResult]::new('--phases', '--phases', [CompletionResultType]::ParameterName, 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)')
            [CompletionResult]::new('--secrets', '--secrets', [CompletionResultType]::ParameterName, 'The secrets file (see secrets.example); never printed')
            [CompletionResult]::new('--age-identity', '--age-identity', [CompletionResultType]::ParameterName, 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where the journal, lock and run logs live')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Platform cluster (default: the lab file''s)')
            [CompletionResult]::new('--harvester-context', '--harvester-context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH')
            [CompletionResult]::new('--write-harvester-kubeconfig', '--write-harvester-kubeconfig', [CompletionResultType]::ParameterName, 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'genesis;up' {
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Steps running at once')
            [CompletionResult]::new('--parallelism', '--parallelism', [CompletionResultType]::ParameterName, 'Steps running at once')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline for the whole run, e.g. `90m`; step timeouts sit inside it')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, '`text`: progress and a final table on stderr; `json`: one event per line on stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, '`text`: progress and a final table on stderr; `json`: one event per line on stdout')
            [CompletionResult]::new('--plan', '--plan', [CompletionResultType]::ParameterName, 'Apply a plan saved by `genesis plan --out FILE`: exactly its steps; refused (exit 2) if its inputs or what it observed changed since')
            [CompletionResult]::new('--reinstall', '--reinstall', [CompletionResultType]::ParameterName, 'Redo this machine or VM first (repeatable): a machine is taken out of Harvester and installed again, a VM deleted and created again; then the run goes on as usual (docs/runbook.md, "Redo a machine or a VM")')
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'Start at this step (id, number or glob): it and everything after it, run again even if done')
            [CompletionResult]::new('--only', '--only', [CompletionResultType]::ParameterName, 'Only this step (id, number, fan-out template or glob such as `vm/cp-*`); repeatable; run again even if done')
            [CompletionResult]::new('--skip', '--skip', [CompletionResultType]::ParameterName, 'Never this step (id, number, template or glob); repeatable')
            [CompletionResult]::new('--machine', '--machine', [CompletionResultType]::ParameterName, 'Only this machine''s or VM''s branch: every step fanned out for it and the steps that need them (not another machine''s); repeatable, combines with --only')
            [CompletionResult]::new('--lab', '--lab', [CompletionResultType]::ParameterName, 'The lab inventory: networks, endpoints, machines, VMs')
            [CompletionResult]::new('--phases', '--phases', [CompletionResultType]::ParameterName, 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)')
            [CompletionResult]::new('--secrets', '--secrets', [CompletionResultType]::ParameterName, 'The secrets file (see secrets.example); never printed')
            [CompletionResult]::new('--age-identity', '--age-identity', [CompletionResultType]::ParameterName, 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where the journal, lock and run logs live')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Platform cluster (default: the lab file''s)')
            [CompletionResult]::new('--harvester-context', '--harvester-context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH')
            [CompletionResult]::new('--write-harvester-kubeconfig', '--write-harvester-kubeconfig', [CompletionResultType]::ParameterName, 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show what would happen instead (same as `genesis plan`)')
            [CompletionResult]::new('--verify', '--verify', [CompletionResultType]::ParameterName, 'Ask each done step whether its result still holds; drifted steps run again')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Erase disks and power-cycle machines without asking (for scripts; GENESIS_YES=1 does the same; see docs/runbook.md)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Erase disks and power-cycle machines without asking (for scripts; GENESIS_YES=1 does the same; see docs/runbook.md)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'genesis;rehearse' {
            [CompletionResult]::new('--scenario', '--scenario', [CompletionResultType]::ParameterName, 'Scenario file: how long each thing takes in the real lab, and faults (default: the reference scenario; docs/rehearse.md)')
            [CompletionResult]::new('--fault', '--fault', [CompletionResultType]::ParameterName, 'Inject a fault (repeatable): bmc-unreachable:MACHINE, workflow-fails-once:MACHINE, node-never-ready:MACHINE, vm-never-joins:VM, image-import-fails[:IMAGE], apiserver-restart:platform|harvester, sigkill:random')
            [CompletionResult]::new('--speed', '--speed', [CompletionResultType]::ParameterName, 'Run this many times faster than the scenario''s pace (0.5: half as fast)')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'The rehearsal directory (default: $TMPDIR/genesis-rehearsal-<uid>): everything a rehearsal writes is below it')
            [CompletionResult]::new('--serve-world', '--serve-world', [CompletionResultType]::ParameterName, 'The world process itself (started by `genesis rehearse`)')
            [CompletionResult]::new('--lab', '--lab', [CompletionResultType]::ParameterName, 'The lab inventory: networks, endpoints, machines, VMs')
            [CompletionResult]::new('--phases', '--phases', [CompletionResultType]::ParameterName, 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)')
            [CompletionResult]::new('--secrets', '--secrets', [CompletionResultType]::ParameterName, 'The secrets file (see secrets.example); never printed')
            [CompletionResult]::new('--age-identity', '--age-identity', [CompletionResultType]::ParameterName, 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where the journal, lock and run logs live')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Platform cluster (default: the lab file''s)')
            [CompletionResult]::new('--harvester-context', '--harvester-context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH')
            [CompletionResult]::new('--write-harvester-kubeconfig', '--write-harvester-kubeconfig', [CompletionResultType]::ParameterName, 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)')
            [CompletionResult]::new('--simulated-controllers', '--simulated-controllers', [CompletionResultType]::ParameterName, 'Let the lab simulator play Tinkerbell and Rufio too, instead of running their real upstream controllers against Redfish BMC emulators (no Go build of the controllers, no Python; a faster start)')
            [CompletionResult]::new('--keep', '--keep', [CompletionResultType]::ParameterName, 'Leave the world running afterwards, with the KUBECONFIG to explore it; `genesis rehearse --down` removes it')
            [CompletionResult]::new('--resume', '--resume', [CompletionResultType]::ParameterName, 'Continue the kept rehearsal: lift its faults (the lab mended) and run `genesis up` again')
            [CompletionResult]::new('--down', '--down', [CompletionResultType]::ParameterName, 'Stop the kept rehearsal world and remove its directory')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'genesis;down' {
            [CompletionResult]::new('--phase', '--phase', [CompletionResultType]::ParameterName, 'Only this phase and the later ones (3: the machines and what follows; 4: the VMs)')
            [CompletionResult]::new('--machine', '--machine', [CompletionResultType]::ParameterName, 'Only this machine''s or VM''s steps (repeatable); a machine is also taken out of Harvester (its Node cordoned and deleted)')
            [CompletionResult]::new('--lab', '--lab', [CompletionResultType]::ParameterName, 'The lab inventory: networks, endpoints, machines, VMs')
            [CompletionResult]::new('--phases', '--phases', [CompletionResultType]::ParameterName, 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)')
            [CompletionResult]::new('--secrets', '--secrets', [CompletionResultType]::ParameterName, 'The secrets file (see secrets.example); never printed')
            [CompletionResult]::new('--age-identity', '--age-identity', [CompletionResultType]::ParameterName, 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where the journal, lock and run logs live')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Platform cluster (default: the lab file''s)')
            [CompletionResult]::new('--harvester-context', '--harvester-context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH')
            [CompletionResult]::new('--write-harvester-kubeconfig', '--write-harvester-kubeconfig', [CompletionResultType]::ParameterName, 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Delete and power off without asking (for scripts; GENESIS_YES=1 does the same)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Delete and power off without asking (for scripts; GENESIS_YES=1 does the same)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show what would be deleted and powered off, and stop')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'genesis;status' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, '`text`: a table on stdout; `json`: the same rows as a JSON document')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, '`text`: a table on stdout; `json`: the same rows as a JSON document')
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'Start at this step (id, number or glob): it and everything after it, run again even if done')
            [CompletionResult]::new('--only', '--only', [CompletionResultType]::ParameterName, 'Only this step (id, number, fan-out template or glob such as `vm/cp-*`); repeatable; run again even if done')
            [CompletionResult]::new('--skip', '--skip', [CompletionResultType]::ParameterName, 'Never this step (id, number, template or glob); repeatable')
            [CompletionResult]::new('--machine', '--machine', [CompletionResultType]::ParameterName, 'Only this machine''s or VM''s branch: every step fanned out for it and the steps that need them (not another machine''s); repeatable, combines with --only')
            [CompletionResult]::new('--lab', '--lab', [CompletionResultType]::ParameterName, 'The lab inventory: networks, endpoints, machines, VMs')
            [CompletionResult]::new('--phases', '--phases', [CompletionResultType]::ParameterName, 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)')
            [CompletionResult]::new('--secrets', '--secrets', [CompletionResultType]::ParameterName, 'The secrets file (see secrets.example); never printed')
            [CompletionResult]::new('--age-identity', '--age-identity', [CompletionResultType]::ParameterName, 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where the journal, lock and run logs live')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Platform cluster (default: the lab file''s)')
            [CompletionResult]::new('--harvester-context', '--harvester-context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH')
            [CompletionResult]::new('--write-harvester-kubeconfig', '--write-harvester-kubeconfig', [CompletionResultType]::ParameterName, 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'genesis;reset' {
            [CompletionResult]::new('--lab', '--lab', [CompletionResultType]::ParameterName, 'The lab inventory: networks, endpoints, machines, VMs')
            [CompletionResult]::new('--phases', '--phases', [CompletionResultType]::ParameterName, 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)')
            [CompletionResult]::new('--secrets', '--secrets', [CompletionResultType]::ParameterName, 'The secrets file (see secrets.example); never printed')
            [CompletionResult]::new('--age-identity', '--age-identity', [CompletionResultType]::ParameterName, 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where the journal, lock and run logs live')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Platform cluster (default: the lab file''s)')
            [CompletionResult]::new('--harvester-context', '--harvester-context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH')
            [CompletionResult]::new('--write-harvester-kubeconfig', '--write-harvester-kubeconfig', [CompletionResultType]::ParameterName, 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'genesis;unlock' {
            [CompletionResult]::new('--lab', '--lab', [CompletionResultType]::ParameterName, 'The lab inventory: networks, endpoints, machines, VMs')
            [CompletionResult]::new('--phases', '--phases', [CompletionResultType]::ParameterName, 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)')
            [CompletionResult]::new('--secrets', '--secrets', [CompletionResultType]::ParameterName, 'The secrets file (see secrets.example); never printed')
            [CompletionResult]::new('--age-identity', '--age-identity', [CompletionResultType]::ParameterName, 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where the journal, lock and run logs live')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Platform cluster (default: the lab file''s)')
            [CompletionResult]::new('--harvester-context', '--harvester-context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH')
            [CompletionResult]::new('--write-harvester-kubeconfig', '--write-harvester-kubeconfig', [CompletionResultType]::ParameterName, 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'With `--state kubernetes`: release the Lease even though it has not expired (its holder may still be running: make sure it is gone). The state directory''s lock is never taken from a run alive on this host')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'genesis;secrets' {
            [CompletionResult]::new('--lab', '--lab', [CompletionResultType]::ParameterName, 'The lab inventory: networks, endpoints, machines, VMs')
            [CompletionResult]::new('--phases', '--phases', [CompletionResultType]::ParameterName, 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)')
            [CompletionResult]::new('--secrets', '--secrets', [CompletionResultType]::ParameterName, 'The secrets file (see secrets.example); never printed')
            [CompletionResult]::new('--age-identity', '--age-identity', [CompletionResultType]::ParameterName, 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where the journal, lock and run logs live')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Platform cluster (default: the lab file''s)')
            [CompletionResult]::new('--harvester-context', '--harvester-context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH')
            [CompletionResult]::new('--write-harvester-kubeconfig', '--write-harvester-kubeconfig', [CompletionResultType]::ParameterName, 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('encrypt', 'encrypt', [CompletionResultType]::ParameterValue, 'Encrypt a plaintext secrets file with age (secrets.yaml -> secrets.yaml.age)')
            [CompletionResult]::new('edit', 'edit', [CompletionResultType]::ParameterValue, 'Decrypt into a private temporary file, run $VISUAL or $EDITOR on it, check it, encrypt it again to the same recipients and wipe the temporary file')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Check that every secret the lab and phases reference is present and well formed (names only, never values); exit 2 on any problem')
            [CompletionResult]::new('keygen', 'keygen', [CompletionResultType]::ParameterValue, 'Create a new age identity (0600; default ~/.config/genesis/age.txt) and print its public key, the recipient to encrypt to')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'genesis;secrets;encrypt' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'The encrypted file to write (default: INPUT.age)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'The encrypted file to write (default: INPUT.age)')
            [CompletionResult]::new('--recipient', '--recipient', [CompletionResultType]::ParameterName, 'An age X25519 recipient (`age1…`); repeat for several')
            [CompletionResult]::new('--recipients-file', '--recipients-file', [CompletionResultType]::ParameterName, 'A file of recipients, one `age1…` a line (`#` comments); repeatable')
            [CompletionResult]::new('--lab', '--lab', [CompletionResultType]::ParameterName, 'The lab inventory: networks, endpoints, machines, VMs')
            [CompletionResult]::new('--phases', '--phases', [CompletionResultType]::ParameterName, 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)')
            [CompletionResult]::new('--secrets', '--secrets', [CompletionResultType]::ParameterName, 'The secrets file (see secrets.example); never printed')
            [CompletionResult]::new('--age-identity', '--age-identity', [CompletionResultType]::ParameterName, 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where the journal, lock and run logs live')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Platform cluster (default: the lab file''s)')
            [CompletionResult]::new('--harvester-context', '--harvester-context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH')
            [CompletionResult]::new('--write-harvester-kubeconfig', '--write-harvester-kubeconfig', [CompletionResultType]::ParameterName, 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'genesis;secrets;edit' {
            [CompletionResult]::new('--lab', '--lab', [CompletionResultType]::ParameterName, 'The lab inventory: networks, endpoints, machines, VMs')
            [CompletionResult]::new('--phases', '--phases', [CompletionResultType]::ParameterName, 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)')
            [CompletionResult]::new('--secrets', '--secrets', [CompletionResultType]::ParameterName, 'The secrets file (see secrets.example); never printed')
            [CompletionResult]::new('--age-identity', '--age-identity', [CompletionResultType]::ParameterName, 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where the journal, lock and run logs live')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Platform cluster (default: the lab file''s)')
            [CompletionResult]::new('--harvester-context', '--harvester-context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH')
            [CompletionResult]::new('--write-harvester-kubeconfig', '--write-harvester-kubeconfig', [CompletionResultType]::ParameterName, 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)')
            [CompletionResult]::new('--rekey', '--rekey', [CompletionResultType]::ParameterName, 'Do not start the editor: only encrypt again to the recipients file (after adding or removing someone)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'genesis;secrets;check' {
            [CompletionResult]::new('--lab', '--lab', [CompletionResultType]::ParameterName, 'The lab inventory: networks, endpoints, machines, VMs')
            [CompletionResult]::new('--phases', '--phases', [CompletionResultType]::ParameterName, 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)')
            [CompletionResult]::new('--secrets', '--secrets', [CompletionResultType]::ParameterName, 'The secrets file (see secrets.example); never printed')
            [CompletionResult]::new('--age-identity', '--age-identity', [CompletionResultType]::ParameterName, 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where the journal, lock and run logs live')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Platform cluster (default: the lab file''s)')
            [CompletionResult]::new('--harvester-context', '--harvester-context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH')
            [CompletionResult]::new('--write-harvester-kubeconfig', '--write-harvester-kubeconfig', [CompletionResultType]::ParameterName, 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'genesis;secrets;keygen' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Where to write the identity (default: --age-identity, GENESIS_AGE_IDENTITY or ~/.config/genesis/age.txt); an existing file is never overwritten')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Where to write the identity (default: --age-identity, GENESIS_AGE_IDENTITY or ~/.config/genesis/age.txt); an existing file is never overwritten')
            [CompletionResult]::new('--lab', '--lab', [CompletionResultType]::ParameterName, 'The lab inventory: networks, endpoints, machines, VMs')
            [CompletionResult]::new('--phases', '--phases', [CompletionResultType]::ParameterName, 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)')
            [CompletionResult]::new('--secrets', '--secrets', [CompletionResultType]::ParameterName, 'The secrets file (see secrets.example); never printed')
            [CompletionResult]::new('--age-identity', '--age-identity', [CompletionResultType]::ParameterName, 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where the journal, lock and run logs live')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Platform cluster (default: the lab file''s)')
            [CompletionResult]::new('--harvester-context', '--harvester-context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH')
            [CompletionResult]::new('--write-harvester-kubeconfig', '--write-harvester-kubeconfig', [CompletionResultType]::ParameterName, 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'genesis;secrets;help' {
            [CompletionResult]::new('encrypt', 'encrypt', [CompletionResultType]::ParameterValue, 'Encrypt a plaintext secrets file with age (secrets.yaml -> secrets.yaml.age)')
            [CompletionResult]::new('edit', 'edit', [CompletionResultType]::ParameterValue, 'Decrypt into a private temporary file, run $VISUAL or $EDITOR on it, check it, encrypt it again to the same recipients and wipe the temporary file')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Check that every secret the lab and phases reference is present and well formed (names only, never values); exit 2 on any problem')
            [CompletionResult]::new('keygen', 'keygen', [CompletionResultType]::ParameterValue, 'Create a new age identity (0600; default ~/.config/genesis/age.txt) and print its public key, the recipient to encrypt to')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'genesis;secrets;help;encrypt' {
            break
        }
        'genesis;secrets;help;edit' {
            break
        }
        'genesis;secrets;help;check' {
            break
        }
        'genesis;secrets;help;keygen' {
            break
        }
        'genesis;secrets;help;help' {
            break
        }
        'genesis;diagnose' {
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Directory to create the bundle in (default: `<state dir>/diagnose`)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Bound on reaching each cluster, each list and each SSH command')
            [CompletionResult]::new('--lab', '--lab', [CompletionResultType]::ParameterName, 'The lab inventory: networks, endpoints, machines, VMs')
            [CompletionResult]::new('--phases', '--phases', [CompletionResultType]::ParameterName, 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)')
            [CompletionResult]::new('--secrets', '--secrets', [CompletionResultType]::ParameterName, 'The secrets file (see secrets.example); never printed')
            [CompletionResult]::new('--age-identity', '--age-identity', [CompletionResultType]::ParameterName, 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where the journal, lock and run logs live')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Platform cluster (default: the lab file''s)')
            [CompletionResult]::new('--harvester-context', '--harvester-context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH')
            [CompletionResult]::new('--write-harvester-kubeconfig', '--write-harvester-kubeconfig', [CompletionResultType]::ParameterName, 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)')
            [CompletionResult]::new('--no-ssh', '--no-ssh', [CompletionResultType]::ParameterName, 'Do not log in to the Harvester node')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'genesis;health' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, '`text`: one line per check and what to do; `json`: the report (docs/health-json.md)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, '`text`: one line per check and what to do; `json`: the report (docs/health-json.md)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long the whole check may take: every cluster is read at once under this deadline')
            [CompletionResult]::new('--lab', '--lab', [CompletionResultType]::ParameterName, 'The lab inventory: networks, endpoints, machines, VMs')
            [CompletionResult]::new('--phases', '--phases', [CompletionResultType]::ParameterName, 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)')
            [CompletionResult]::new('--secrets', '--secrets', [CompletionResultType]::ParameterName, 'The secrets file (see secrets.example); never printed')
            [CompletionResult]::new('--age-identity', '--age-identity', [CompletionResultType]::ParameterName, 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where the journal, lock and run logs live')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Platform cluster (default: the lab file''s)')
            [CompletionResult]::new('--harvester-context', '--harvester-context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH')
            [CompletionResult]::new('--write-harvester-kubeconfig', '--write-harvester-kubeconfig', [CompletionResultType]::ParameterName, 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'genesis;describe' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, '`text`: a tree; `json`: the same as a document (docs/health-json.md, "describe")')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, '`text`: a tree; `json`: the same as a document (docs/health-json.md, "describe")')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long reading may take: every cluster is read at once under this deadline')
            [CompletionResult]::new('--lab', '--lab', [CompletionResultType]::ParameterName, 'The lab inventory: networks, endpoints, machines, VMs')
            [CompletionResult]::new('--phases', '--phases', [CompletionResultType]::ParameterName, 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)')
            [CompletionResult]::new('--secrets', '--secrets', [CompletionResultType]::ParameterName, 'The secrets file (see secrets.example); never printed')
            [CompletionResult]::new('--age-identity', '--age-identity', [CompletionResultType]::ParameterName, 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where the journal, lock and run logs live')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Platform cluster (default: the lab file''s)')
            [CompletionResult]::new('--harvester-context', '--harvester-context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH')
            [CompletionResult]::new('--write-harvester-kubeconfig', '--write-harvester-kubeconfig', [CompletionResultType]::ParameterName, 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'genesis;state' {
            [CompletionResult]::new('--lab', '--lab', [CompletionResultType]::ParameterName, 'The lab inventory: networks, endpoints, machines, VMs')
            [CompletionResult]::new('--phases', '--phases', [CompletionResultType]::ParameterName, 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)')
            [CompletionResult]::new('--secrets', '--secrets', [CompletionResultType]::ParameterName, 'The secrets file (see secrets.example); never printed')
            [CompletionResult]::new('--age-identity', '--age-identity', [CompletionResultType]::ParameterName, 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where the journal, lock and run logs live')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Platform cluster (default: the lab file''s)')
            [CompletionResult]::new('--harvester-context', '--harvester-context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH')
            [CompletionResult]::new('--write-harvester-kubeconfig', '--write-harvester-kubeconfig', [CompletionResultType]::ParameterName, 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('push', 'push', [CompletionResultType]::ParameterValue, 'Copy the local state directory''s journal into the Platform cluster')
            [CompletionResult]::new('pull', 'pull', [CompletionResultType]::ParameterValue, 'Copy the Platform cluster''s journal into the local state directory')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'genesis;state;push' {
            [CompletionResult]::new('--lab', '--lab', [CompletionResultType]::ParameterName, 'The lab inventory: networks, endpoints, machines, VMs')
            [CompletionResult]::new('--phases', '--phases', [CompletionResultType]::ParameterName, 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)')
            [CompletionResult]::new('--secrets', '--secrets', [CompletionResultType]::ParameterName, 'The secrets file (see secrets.example); never printed')
            [CompletionResult]::new('--age-identity', '--age-identity', [CompletionResultType]::ParameterName, 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where the journal, lock and run logs live')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Platform cluster (default: the lab file''s)')
            [CompletionResult]::new('--harvester-context', '--harvester-context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH')
            [CompletionResult]::new('--write-harvester-kubeconfig', '--write-harvester-kubeconfig', [CompletionResultType]::ParameterName, 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace a destination that already holds a journal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'genesis;state;pull' {
            [CompletionResult]::new('--lab', '--lab', [CompletionResultType]::ParameterName, 'The lab inventory: networks, endpoints, machines, VMs')
            [CompletionResult]::new('--phases', '--phases', [CompletionResultType]::ParameterName, 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)')
            [CompletionResult]::new('--secrets', '--secrets', [CompletionResultType]::ParameterName, 'The secrets file (see secrets.example); never printed')
            [CompletionResult]::new('--age-identity', '--age-identity', [CompletionResultType]::ParameterName, 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where the journal, lock and run logs live')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Platform cluster (default: the lab file''s)')
            [CompletionResult]::new('--harvester-context', '--harvester-context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH')
            [CompletionResult]::new('--write-harvester-kubeconfig', '--write-harvester-kubeconfig', [CompletionResultType]::ParameterName, 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace a destination that already holds a journal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'genesis;state;help' {
            [CompletionResult]::new('push', 'push', [CompletionResultType]::ParameterValue, 'Copy the local state directory''s journal into the Platform cluster')
            [CompletionResult]::new('pull', 'pull', [CompletionResultType]::ParameterValue, 'Copy the Platform cluster''s journal into the local state directory')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'genesis;state;help;push' {
            break
        }
        'genesis;state;help;pull' {
            break
        }
        'genesis;state;help;help' {
            break
        }
        'genesis;completions' {
            [CompletionResult]::new('--lab', '--lab', [CompletionResultType]::ParameterName, 'The lab inventory: networks, endpoints, machines, VMs')
            [CompletionResult]::new('--phases', '--phases', [CompletionResultType]::ParameterName, 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)')
            [CompletionResult]::new('--secrets', '--secrets', [CompletionResultType]::ParameterName, 'The secrets file (see secrets.example); never printed')
            [CompletionResult]::new('--age-identity', '--age-identity', [CompletionResultType]::ParameterName, 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where the journal, lock and run logs live')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Platform cluster (default: the lab file''s)')
            [CompletionResult]::new('--harvester-context', '--harvester-context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH')
            [CompletionResult]::new('--write-harvester-kubeconfig', '--write-harvester-kubeconfig', [CompletionResultType]::ParameterName, 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'genesis;man' {
            [CompletionResult]::new('--out-dir', '--out-dir', [CompletionResultType]::ParameterName, 'Write one page per command (genesis.1, genesis-up.1, …) into DIR instead of printing genesis.1')
            [CompletionResult]::new('--lab', '--lab', [CompletionResultType]::ParameterName, 'The lab inventory: networks, endpoints, machines, VMs')
            [CompletionResult]::new('--phases', '--phases', [CompletionResultType]::ParameterName, 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)')
            [CompletionResult]::new('--secrets', '--secrets', [CompletionResultType]::ParameterName, 'The secrets file (see secrets.example); never printed')
            [CompletionResult]::new('--age-identity', '--age-identity', [CompletionResultType]::ParameterName, 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where the journal, lock and run logs live')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Platform cluster (default: the lab file''s)')
            [CompletionResult]::new('--harvester-context', '--harvester-context', [CompletionResultType]::ParameterName, 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH')
            [CompletionResult]::new('--write-harvester-kubeconfig', '--write-harvester-kubeconfig', [CompletionResultType]::ParameterName, 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)')
            [CompletionResult]::new('--markdown', '--markdown', [CompletionResultType]::ParameterName, 'Print the Markdown command reference (docs/reference/cli.md) instead')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'genesis;help' {
            [CompletionResult]::new('validate', 'validate', [CompletionResultType]::ParameterValue, 'Check the lab, phase and secrets files offline; exit 2 naming file, line and field')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Show what `genesis up` would do, step by step, without changing anything')
            [CompletionResult]::new('graph', 'graph', [CompletionResultType]::ParameterValue, 'Print the step DAG as Graphviz dot or Mermaid')
            [CompletionResult]::new('up', 'up', [CompletionResultType]::ParameterValue, 'Run the phases to completion, continuing from the journal')
            [CompletionResult]::new('rehearse', 'rehearse', [CompletionResultType]::ParameterValue, 'Rehearse the whole bootstrap of your lab on this machine: a private world of real API servers, sshd and the lab simulator, your inputs with stand-in secrets, the same `up`')
            [CompletionResult]::new('down', 'down', [CompletionResultType]::ParameterValue, 'Delete what genesis made (reverse order, only objects with its label) and power the machines off; `up` makes it all again')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show the journal as a table: what is done, failed, pending or changed')
            [CompletionResult]::new('reset', 'reset', [CompletionResultType]::ParameterValue, 'Forget steps in the journal so that the next `genesis up` runs them again')
            [CompletionResult]::new('unlock', 'unlock', [CompletionResultType]::ParameterValue, 'Release the lock of a run that is gone (for a holder on another host)')
            [CompletionResult]::new('secrets', 'secrets', [CompletionResultType]::ParameterValue, 'The secrets file: encrypt it with age, edit the encrypted file, check every reference')
            [CompletionResult]::new('diagnose', 'diagnose', [CompletionResultType]::ParameterValue, 'Collect a bundle for a failed run: journal, logs, status, objects of both clusters and the first Harvester node''s service logs, secrets scrubbed (see docs/diagnose.md)')
            [CompletionResult]::new('health', 'health', [CompletionResultType]::ParameterValue, 'Check the lab as it stands: Platform nodes, Harvester quorum, the Argo CD Secret''s credentials, the VMs; read-only, seconds (exit 1 when a check is red)')
            [CompletionResult]::new('describe', 'describe', [CompletionResultType]::ParameterValue, 'Show the objects a step (or a machine''s branch) owns, read live, as a tree with their conditions')
            [CompletionResult]::new('state', 'state', [CompletionResultType]::ParameterValue, 'Move the journal between the state directory and the Platform cluster (push|pull)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script (bash, zsh, fish, elvish, powershell)')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (or write one per command with --out-dir, or the Markdown reference)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'genesis;help;validate' {
            break
        }
        'genesis;help;plan' {
            break
        }
        'genesis;help;graph' {
            break
        }
        'genesis;help;up' {
            break
        }
        'genesis;help;rehearse' {
            break
        }
        'genesis;help;down' {
            break
        }
        'genesis;help;status' {
            break
        }
        'genesis;help;reset' {
            break
        }
        'genesis;help;unlock' {
            break
        }
        'genesis;help;secrets' {
            [CompletionResult]::new('encrypt', 'encrypt', [CompletionResultType]::ParameterValue, 'Encrypt a plaintext secrets file with age (secrets.yaml -> secrets.yaml.age)')
            [CompletionResult]::new('edit', 'edit', [CompletionResultType]::ParameterValue, 'Decrypt into a private temporary file, run $VISUAL or $EDITOR on it, check it, encrypt it again to the same recipients and wipe the temporary file')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Check that every secret the lab and phases reference is present and well formed (names only, never values); exit 2 on any problem')
            [CompletionResult]::new('keygen', 'keygen', [CompletionResultType]::ParameterValue, 'Create a new age identity (0600; default ~/.config/genesis/age.txt) and print its public key, the recipient to encrypt to')
            break
        }
        'genesis;help;secrets;encrypt' {
            break
        }
        'genesis;help;secrets;edit' {
            break
        }
        'genesis;help;secrets;check' {
            break
        }
        'genesis;help;secrets;keygen' {
            break
        }
        'genesis;help;diagnose' {
            break
        }
        'genesis;help;health' {
            break
        }
        'genesis;help;describe' {
            break
        }
        'genesis;help;state' {
            [CompletionResult]::new('push', 'push', [CompletionResultType]::ParameterValue, 'Copy the local state directory''s journal into the Platform cluster')
            [CompletionResult]::new('pull', 'pull', [CompletionResultType]::ParameterValue, 'Copy the Platform cluster''s journal into the local state directory')
            break
        }
        'genesis;help;state;push' {
            break
        }
        'genesis;help;state;pull' {
            break
        }
        'genesis;help;completions' {
            break
        }
        'genesis;help;man' {
            break
        }
        'genesis;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
