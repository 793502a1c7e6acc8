
use builtin;
use str;

set edit:completion:arg-completer[genesis] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'genesis'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'genesis'= {
            cand --lab 'The lab inventory: networks, endpoints, machines, VMs'
            cand --phases 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)'
            cand --secrets 'The secrets file (see secrets.example); never printed'
            cand --age-identity 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)'
            cand --state-dir 'Where the journal, lock and run logs live'
            cand --state 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local'
            cand --kubeconfig 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)'
            cand --context 'Kubeconfig context of the Platform cluster (default: the lab file''s)'
            cand --harvester-context 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH'
            cand --write-harvester-kubeconfig 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)'
            cand --color 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand validate 'Check the lab, phase and secrets files offline; exit 2 naming file, line and field'
            cand plan 'Show what `genesis up` would do, step by step, without changing anything'
            cand graph 'Print the step DAG as Graphviz dot or Mermaid'
            cand up 'Run the phases to completion, continuing from the journal'
            cand rehearse 'Rehearse the whole bootstrap of your lab on this machine: a private world of real API servers, sshd and the lab simulator, your inputs with stand-in secrets, the same `up`'
            cand down 'Delete what genesis made (reverse order, only objects with its label) and power the machines off; `up` makes it all again'
            cand status 'Show the journal as a table: what is done, failed, pending or changed'
            cand reset 'Forget steps in the journal so that the next `genesis up` runs them again'
            cand unlock 'Release the lock of a run that is gone (for a holder on another host)'
            cand secrets 'The secrets file: encrypt it with age, edit the encrypted file, check every reference'
            cand diagnose 'Collect a bundle for a failed run: journal, logs, status, objects of both clusters and the first Harvester node''s service logs, secrets scrubbed (see docs/diagnose.md)'
            cand health 'Check the lab as it stands: Platform nodes, Harvester quorum, the Argo CD Secret''s credentials, the VMs; read-only, seconds (exit 1 when a check is red)'
            cand describe 'Show the objects a step (or a machine''s branch) owns, read live, as a tree with their conditions'
            cand state 'Move the journal between the state directory and the Platform cluster (push|pull)'
            cand completions 'Print a shell completion script (bash, zsh, fish, elvish, powershell)'
            cand man 'Print the man page (or write one per command with --out-dir, or the Markdown reference)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'genesis;validate'= {
            cand --lab 'The lab inventory: networks, endpoints, machines, VMs'
            cand --phases 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)'
            cand --secrets 'The secrets file (see secrets.example); never printed'
            cand --age-identity 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)'
            cand --state-dir 'Where the journal, lock and run logs live'
            cand --state 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local'
            cand --kubeconfig 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)'
            cand --context 'Kubeconfig context of the Platform cluster (default: the lab file''s)'
            cand --harvester-context 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH'
            cand --write-harvester-kubeconfig 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)'
            cand --color 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'genesis;plan'= {
            cand -o 'Output format: text for people, json for machines (see docs/plan-json.md)'
            cand --output 'Output format: text for people, json for machines (see docs/plan-json.md)'
            cand --observe-timeout 'Bound on reaching the Platform cluster and on each step''s observation; past it the plan falls back to offline (cluster) or says the step was not observed'
            cand --out 'Also save the plan to FILE (JSON, mode 0600) with fingerprints of its inputs and of what it observed; `genesis up --plan FILE` applies exactly it (docs/runbook.md)'
            cand --from 'Start at this step (id, number or glob): it and everything after it, run again even if done'
            cand --only 'Only this step (id, number, fan-out template or glob such as `vm/cp-*`); repeatable; run again even if done'
            cand --skip 'Never this step (id, number, template or glob); repeatable'
            cand --machine 'Only this machine''s or VM''s branch: every step fanned out for it and the steps that need them (not another machine''s); repeatable, combines with --only'
            cand --lab 'The lab inventory: networks, endpoints, machines, VMs'
            cand --phases 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)'
            cand --secrets 'The secrets file (see secrets.example); never printed'
            cand --age-identity 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)'
            cand --state-dir 'Where the journal, lock and run logs live'
            cand --state 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local'
            cand --kubeconfig 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)'
            cand --context 'Kubeconfig context of the Platform cluster (default: the lab file''s)'
            cand --harvester-context 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH'
            cand --write-harvester-kubeconfig 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)'
            cand --color 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)'
            cand --offline 'Contact nothing: plan from the inputs and the journal only'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'genesis;graph'= {
            cand -o 'Output format'
            cand --output 'Output format'
            cand --lab 'The lab inventory: networks, endpoints, machines, VMs'
            cand --phases 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)'
            cand --secrets 'The secrets file (see secrets.example); never printed'
            cand --age-identity 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)'
            cand --state-dir 'Where the journal, lock and run logs live'
            cand --state 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local'
            cand --kubeconfig 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)'
            cand --context 'Kubeconfig context of the Platform cluster (default: the lab file''s)'
            cand --harvester-context 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH'
            cand --write-harvester-kubeconfig 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)'
            cand --color 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'genesis;up'= {
            cand -j 'Steps running at once'
            cand --parallelism 'Steps running at once'
            cand --timeout 'Deadline for the whole run, e.g. `90m`; step timeouts sit inside it'
            cand -o '`text`: progress and a final table on stderr; `json`: one event per line on stdout'
            cand --output '`text`: progress and a final table on stderr; `json`: one event per line on stdout'
            cand --plan 'Apply a plan saved by `genesis plan --out FILE`: exactly its steps; refused (exit 2) if its inputs or what it observed changed since'
            cand --reinstall 'Redo this machine or VM first (repeatable): a machine is taken out of Harvester and installed again, a VM deleted and created again; then the run goes on as usual (docs/runbook.md, "Redo a machine or a VM")'
            cand --from 'Start at this step (id, number or glob): it and everything after it, run again even if done'
            cand --only 'Only this step (id, number, fan-out template or glob such as `vm/cp-*`); repeatable; run again even if done'
            cand --skip 'Never this step (id, number, template or glob); repeatable'
            cand --machine 'Only this machine''s or VM''s branch: every step fanned out for it and the steps that need them (not another machine''s); repeatable, combines with --only'
            cand --lab 'The lab inventory: networks, endpoints, machines, VMs'
            cand --phases 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)'
            cand --secrets 'The secrets file (see secrets.example); never printed'
            cand --age-identity 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)'
            cand --state-dir 'Where the journal, lock and run logs live'
            cand --state 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local'
            cand --kubeconfig 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)'
            cand --context 'Kubeconfig context of the Platform cluster (default: the lab file''s)'
            cand --harvester-context 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH'
            cand --write-harvester-kubeconfig 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)'
            cand --color 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)'
            cand --dry-run 'Show what would happen instead (same as `genesis plan`)'
            cand --verify 'Ask each done step whether its result still holds; drifted steps run again'
            cand -y 'Erase disks and power-cycle machines without asking (for scripts; GENESIS_YES=1 does the same; see docs/runbook.md)'
            cand --yes 'Erase disks and power-cycle machines without asking (for scripts; GENESIS_YES=1 does the same; see docs/runbook.md)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'genesis;rehearse'= {
            cand --scenario 'Scenario file: how long each thing takes in the real lab, and faults (default: the reference scenario; docs/rehearse.md)'
            cand --fault 'Inject a fault (repeatable): bmc-unreachable:MACHINE, workflow-fails-once:MACHINE, node-never-ready:MACHINE, vm-never-joins:VM, image-import-fails[:IMAGE], apiserver-restart:platform|harvester, sigkill:random'
            cand --speed 'Run this many times faster than the scenario''s pace (0.5: half as fast)'
            cand --dir 'The rehearsal directory (default: $TMPDIR/genesis-rehearsal-<uid>): everything a rehearsal writes is below it'
            cand --serve-world 'The world process itself (started by `genesis rehearse`)'
            cand --lab 'The lab inventory: networks, endpoints, machines, VMs'
            cand --phases 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)'
            cand --secrets 'The secrets file (see secrets.example); never printed'
            cand --age-identity 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)'
            cand --state-dir 'Where the journal, lock and run logs live'
            cand --state 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local'
            cand --kubeconfig 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)'
            cand --context 'Kubeconfig context of the Platform cluster (default: the lab file''s)'
            cand --harvester-context 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH'
            cand --write-harvester-kubeconfig 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)'
            cand --color 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)'
            cand --simulated-controllers 'Let the lab simulator play Tinkerbell and Rufio too, instead of running their real upstream controllers against Redfish BMC emulators (no Go build of the controllers, no Python; a faster start)'
            cand --keep 'Leave the world running afterwards, with the KUBECONFIG to explore it; `genesis rehearse --down` removes it'
            cand --resume 'Continue the kept rehearsal: lift its faults (the lab mended) and run `genesis up` again'
            cand --down 'Stop the kept rehearsal world and remove its directory'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'genesis;down'= {
            cand --phase 'Only this phase and the later ones (3: the machines and what follows; 4: the VMs)'
            cand --machine 'Only this machine''s or VM''s steps (repeatable); a machine is also taken out of Harvester (its Node cordoned and deleted)'
            cand --lab 'The lab inventory: networks, endpoints, machines, VMs'
            cand --phases 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)'
            cand --secrets 'The secrets file (see secrets.example); never printed'
            cand --age-identity 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)'
            cand --state-dir 'Where the journal, lock and run logs live'
            cand --state 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local'
            cand --kubeconfig 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)'
            cand --context 'Kubeconfig context of the Platform cluster (default: the lab file''s)'
            cand --harvester-context 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH'
            cand --write-harvester-kubeconfig 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)'
            cand --color 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)'
            cand -y 'Delete and power off without asking (for scripts; GENESIS_YES=1 does the same)'
            cand --yes 'Delete and power off without asking (for scripts; GENESIS_YES=1 does the same)'
            cand --dry-run 'Show what would be deleted and powered off, and stop'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'genesis;status'= {
            cand -o '`text`: a table on stdout; `json`: the same rows as a JSON document'
            cand --output '`text`: a table on stdout; `json`: the same rows as a JSON document'
            cand --from 'Start at this step (id, number or glob): it and everything after it, run again even if done'
            cand --only 'Only this step (id, number, fan-out template or glob such as `vm/cp-*`); repeatable; run again even if done'
            cand --skip 'Never this step (id, number, template or glob); repeatable'
            cand --machine 'Only this machine''s or VM''s branch: every step fanned out for it and the steps that need them (not another machine''s); repeatable, combines with --only'
            cand --lab 'The lab inventory: networks, endpoints, machines, VMs'
            cand --phases 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)'
            cand --secrets 'The secrets file (see secrets.example); never printed'
            cand --age-identity 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)'
            cand --state-dir 'Where the journal, lock and run logs live'
            cand --state 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local'
            cand --kubeconfig 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)'
            cand --context 'Kubeconfig context of the Platform cluster (default: the lab file''s)'
            cand --harvester-context 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH'
            cand --write-harvester-kubeconfig 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)'
            cand --color 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'genesis;reset'= {
            cand --lab 'The lab inventory: networks, endpoints, machines, VMs'
            cand --phases 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)'
            cand --secrets 'The secrets file (see secrets.example); never printed'
            cand --age-identity 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)'
            cand --state-dir 'Where the journal, lock and run logs live'
            cand --state 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local'
            cand --kubeconfig 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)'
            cand --context 'Kubeconfig context of the Platform cluster (default: the lab file''s)'
            cand --harvester-context 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH'
            cand --write-harvester-kubeconfig 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)'
            cand --color 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'genesis;unlock'= {
            cand --lab 'The lab inventory: networks, endpoints, machines, VMs'
            cand --phases 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)'
            cand --secrets 'The secrets file (see secrets.example); never printed'
            cand --age-identity 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)'
            cand --state-dir 'Where the journal, lock and run logs live'
            cand --state 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local'
            cand --kubeconfig 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)'
            cand --context 'Kubeconfig context of the Platform cluster (default: the lab file''s)'
            cand --harvester-context 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH'
            cand --write-harvester-kubeconfig 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)'
            cand --color 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)'
            cand --force 'With `--state kubernetes`: release the Lease even though it has not expired (its holder may still be running: make sure it is gone). The state directory''s lock is never taken from a run alive on this host'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'genesis;secrets'= {
            cand --lab 'The lab inventory: networks, endpoints, machines, VMs'
            cand --phases 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)'
            cand --secrets 'The secrets file (see secrets.example); never printed'
            cand --age-identity 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)'
            cand --state-dir 'Where the journal, lock and run logs live'
            cand --state 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local'
            cand --kubeconfig 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)'
            cand --context 'Kubeconfig context of the Platform cluster (default: the lab file''s)'
            cand --harvester-context 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH'
            cand --write-harvester-kubeconfig 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)'
            cand --color 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand encrypt 'Encrypt a plaintext secrets file with age (secrets.yaml -> secrets.yaml.age)'
            cand edit 'Decrypt into a private temporary file, run $VISUAL or $EDITOR on it, check it, encrypt it again to the same recipients and wipe the temporary file'
            cand check 'Check that every secret the lab and phases reference is present and well formed (names only, never values); exit 2 on any problem'
            cand keygen 'Create a new age identity (0600; default ~/.config/genesis/age.txt) and print its public key, the recipient to encrypt to'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'genesis;secrets;encrypt'= {
            cand -o 'The encrypted file to write (default: INPUT.age)'
            cand --output 'The encrypted file to write (default: INPUT.age)'
            cand --recipient 'An age X25519 recipient (`age1…`); repeat for several'
            cand --recipients-file 'A file of recipients, one `age1…` a line (`#` comments); repeatable'
            cand --lab 'The lab inventory: networks, endpoints, machines, VMs'
            cand --phases 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)'
            cand --secrets 'The secrets file (see secrets.example); never printed'
            cand --age-identity 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)'
            cand --state-dir 'Where the journal, lock and run logs live'
            cand --state 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local'
            cand --kubeconfig 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)'
            cand --context 'Kubeconfig context of the Platform cluster (default: the lab file''s)'
            cand --harvester-context 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH'
            cand --write-harvester-kubeconfig 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)'
            cand --color 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'genesis;secrets;edit'= {
            cand --lab 'The lab inventory: networks, endpoints, machines, VMs'
            cand --phases 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)'
            cand --secrets 'The secrets file (see secrets.example); never printed'
            cand --age-identity 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)'
            cand --state-dir 'Where the journal, lock and run logs live'
            cand --state 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local'
            cand --kubeconfig 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)'
            cand --context 'Kubeconfig context of the Platform cluster (default: the lab file''s)'
            cand --harvester-context 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH'
            cand --write-harvester-kubeconfig 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)'
            cand --color 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)'
            cand --rekey 'Do not start the editor: only encrypt again to the recipients file (after adding or removing someone)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'genesis;secrets;check'= {
            cand --lab 'The lab inventory: networks, endpoints, machines, VMs'
            cand --phases 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)'
            cand --secrets 'The secrets file (see secrets.example); never printed'
            cand --age-identity 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)'
            cand --state-dir 'Where the journal, lock and run logs live'
            cand --state 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local'
            cand --kubeconfig 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)'
            cand --context 'Kubeconfig context of the Platform cluster (default: the lab file''s)'
            cand --harvester-context 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH'
            cand --write-harvester-kubeconfig 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)'
            cand --color 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'genesis;secrets;keygen'= {
            cand -o 'Where to write the identity (default: --age-identity, GENESIS_AGE_IDENTITY or ~/.config/genesis/age.txt); an existing file is never overwritten'
            cand --output 'Where to write the identity (default: --age-identity, GENESIS_AGE_IDENTITY or ~/.config/genesis/age.txt); an existing file is never overwritten'
            cand --lab 'The lab inventory: networks, endpoints, machines, VMs'
            cand --phases 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)'
            cand --secrets 'The secrets file (see secrets.example); never printed'
            cand --age-identity 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)'
            cand --state-dir 'Where the journal, lock and run logs live'
            cand --state 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local'
            cand --kubeconfig 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)'
            cand --context 'Kubeconfig context of the Platform cluster (default: the lab file''s)'
            cand --harvester-context 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH'
            cand --write-harvester-kubeconfig 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)'
            cand --color 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'genesis;secrets;help'= {
            cand encrypt 'Encrypt a plaintext secrets file with age (secrets.yaml -> secrets.yaml.age)'
            cand edit 'Decrypt into a private temporary file, run $VISUAL or $EDITOR on it, check it, encrypt it again to the same recipients and wipe the temporary file'
            cand check 'Check that every secret the lab and phases reference is present and well formed (names only, never values); exit 2 on any problem'
            cand keygen 'Create a new age identity (0600; default ~/.config/genesis/age.txt) and print its public key, the recipient to encrypt to'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'genesis;secrets;help;encrypt'= {
        }
        &'genesis;secrets;help;edit'= {
        }
        &'genesis;secrets;help;check'= {
        }
        &'genesis;secrets;help;keygen'= {
        }
        &'genesis;secrets;help;help'= {
        }
        &'genesis;diagnose'= {
            cand --out 'Directory to create the bundle in (default: `<state dir>/diagnose`)'
            cand --timeout 'Bound on reaching each cluster, each list and each SSH command'
            cand --lab 'The lab inventory: networks, endpoints, machines, VMs'
            cand --phases 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)'
            cand --secrets 'The secrets file (see secrets.example); never printed'
            cand --age-identity 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)'
            cand --state-dir 'Where the journal, lock and run logs live'
            cand --state 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local'
            cand --kubeconfig 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)'
            cand --context 'Kubeconfig context of the Platform cluster (default: the lab file''s)'
            cand --harvester-context 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH'
            cand --write-harvester-kubeconfig 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)'
            cand --color 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)'
            cand --no-ssh 'Do not log in to the Harvester node'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'genesis;health'= {
            cand -o '`text`: one line per check and what to do; `json`: the report (docs/health-json.md)'
            cand --output '`text`: one line per check and what to do; `json`: the report (docs/health-json.md)'
            cand --timeout 'How long the whole check may take: every cluster is read at once under this deadline'
            cand --lab 'The lab inventory: networks, endpoints, machines, VMs'
            cand --phases 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)'
            cand --secrets 'The secrets file (see secrets.example); never printed'
            cand --age-identity 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)'
            cand --state-dir 'Where the journal, lock and run logs live'
            cand --state 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local'
            cand --kubeconfig 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)'
            cand --context 'Kubeconfig context of the Platform cluster (default: the lab file''s)'
            cand --harvester-context 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH'
            cand --write-harvester-kubeconfig 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)'
            cand --color 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'genesis;describe'= {
            cand -o '`text`: a tree; `json`: the same as a document (docs/health-json.md, "describe")'
            cand --output '`text`: a tree; `json`: the same as a document (docs/health-json.md, "describe")'
            cand --timeout 'How long reading may take: every cluster is read at once under this deadline'
            cand --lab 'The lab inventory: networks, endpoints, machines, VMs'
            cand --phases 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)'
            cand --secrets 'The secrets file (see secrets.example); never printed'
            cand --age-identity 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)'
            cand --state-dir 'Where the journal, lock and run logs live'
            cand --state 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local'
            cand --kubeconfig 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)'
            cand --context 'Kubeconfig context of the Platform cluster (default: the lab file''s)'
            cand --harvester-context 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH'
            cand --write-harvester-kubeconfig 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)'
            cand --color 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'genesis;state'= {
            cand --lab 'The lab inventory: networks, endpoints, machines, VMs'
            cand --phases 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)'
            cand --secrets 'The secrets file (see secrets.example); never printed'
            cand --age-identity 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)'
            cand --state-dir 'Where the journal, lock and run logs live'
            cand --state 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local'
            cand --kubeconfig 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)'
            cand --context 'Kubeconfig context of the Platform cluster (default: the lab file''s)'
            cand --harvester-context 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH'
            cand --write-harvester-kubeconfig 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)'
            cand --color 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand push 'Copy the local state directory''s journal into the Platform cluster'
            cand pull 'Copy the Platform cluster''s journal into the local state directory'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'genesis;state;push'= {
            cand --lab 'The lab inventory: networks, endpoints, machines, VMs'
            cand --phases 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)'
            cand --secrets 'The secrets file (see secrets.example); never printed'
            cand --age-identity 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)'
            cand --state-dir 'Where the journal, lock and run logs live'
            cand --state 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local'
            cand --kubeconfig 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)'
            cand --context 'Kubeconfig context of the Platform cluster (default: the lab file''s)'
            cand --harvester-context 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH'
            cand --write-harvester-kubeconfig 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)'
            cand --color 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)'
            cand --force 'Replace a destination that already holds a journal'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'genesis;state;pull'= {
            cand --lab 'The lab inventory: networks, endpoints, machines, VMs'
            cand --phases 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)'
            cand --secrets 'The secrets file (see secrets.example); never printed'
            cand --age-identity 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)'
            cand --state-dir 'Where the journal, lock and run logs live'
            cand --state 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local'
            cand --kubeconfig 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)'
            cand --context 'Kubeconfig context of the Platform cluster (default: the lab file''s)'
            cand --harvester-context 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH'
            cand --write-harvester-kubeconfig 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)'
            cand --color 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)'
            cand --force 'Replace a destination that already holds a journal'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'genesis;state;help'= {
            cand push 'Copy the local state directory''s journal into the Platform cluster'
            cand pull 'Copy the Platform cluster''s journal into the local state directory'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'genesis;state;help;push'= {
        }
        &'genesis;state;help;pull'= {
        }
        &'genesis;state;help;help'= {
        }
        &'genesis;completions'= {
            cand --lab 'The lab inventory: networks, endpoints, machines, VMs'
            cand --phases 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)'
            cand --secrets 'The secrets file (see secrets.example); never printed'
            cand --age-identity 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)'
            cand --state-dir 'Where the journal, lock and run logs live'
            cand --state 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local'
            cand --kubeconfig 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)'
            cand --context 'Kubeconfig context of the Platform cluster (default: the lab file''s)'
            cand --harvester-context 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH'
            cand --write-harvester-kubeconfig 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)'
            cand --color 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'genesis;man'= {
            cand --out-dir 'Write one page per command (genesis.1, genesis-up.1, …) into DIR instead of printing genesis.1'
            cand --lab 'The lab inventory: networks, endpoints, machines, VMs'
            cand --phases 'Directory of phase files (phase-2.yaml, phase-3.yaml, …)'
            cand --secrets 'The secrets file (see secrets.example); never printed'
            cand --age-identity 'The age identity that decrypts an encrypted secrets file (default: GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md)'
            cand --state-dir 'Where the journal, lock and run logs live'
            cand --state 'Where the journal and lock live: `local` (the state directory) or `kubernetes` (the Platform cluster; see docs/state.md). Default: the lab file''s `state:`, else local'
            cand --kubeconfig 'Kubeconfig for the Platform cluster (default: the lab file''s, else KUBECONFIG or ~/.kube/config)'
            cand --context 'Kubeconfig context of the Platform cluster (default: the lab file''s)'
            cand --harvester-context 'Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context; used instead of the kubeconfig step 9 fetches over SSH'
            cand --write-harvester-kubeconfig 'Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context `harvester-<lab name>`, mode 0600 (other entries of FILE are kept)'
            cand --color 'When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless NO_COLOR is set or TERM=dumb)'
            cand --markdown 'Print the Markdown command reference (docs/reference/cli.md) instead'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'genesis;help'= {
            cand validate 'Check the lab, phase and secrets files offline; exit 2 naming file, line and field'
            cand plan 'Show what `genesis up` would do, step by step, without changing anything'
            cand graph 'Print the step DAG as Graphviz dot or Mermaid'
            cand up 'Run the phases to completion, continuing from the journal'
            cand rehearse 'Rehearse the whole bootstrap of your lab on this machine: a private world of real API servers, sshd and the lab simulator, your inputs with stand-in secrets, the same `up`'
            cand down 'Delete what genesis made (reverse order, only objects with its label) and power the machines off; `up` makes it all again'
            cand status 'Show the journal as a table: what is done, failed, pending or changed'
            cand reset 'Forget steps in the journal so that the next `genesis up` runs them again'
            cand unlock 'Release the lock of a run that is gone (for a holder on another host)'
            cand secrets 'The secrets file: encrypt it with age, edit the encrypted file, check every reference'
            cand diagnose 'Collect a bundle for a failed run: journal, logs, status, objects of both clusters and the first Harvester node''s service logs, secrets scrubbed (see docs/diagnose.md)'
            cand health 'Check the lab as it stands: Platform nodes, Harvester quorum, the Argo CD Secret''s credentials, the VMs; read-only, seconds (exit 1 when a check is red)'
            cand describe 'Show the objects a step (or a machine''s branch) owns, read live, as a tree with their conditions'
            cand state 'Move the journal between the state directory and the Platform cluster (push|pull)'
            cand completions 'Print a shell completion script (bash, zsh, fish, elvish, powershell)'
            cand man 'Print the man page (or write one per command with --out-dir, or the Markdown reference)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'genesis;help;validate'= {
        }
        &'genesis;help;plan'= {
        }
        &'genesis;help;graph'= {
        }
        &'genesis;help;up'= {
        }
        &'genesis;help;rehearse'= {
        }
        &'genesis;help;down'= {
        }
        &'genesis;help;status'= {
        }
        &'genesis;help;reset'= {
        }
        &'genesis;help;unlock'= {
        }
        &'genesis;help;secrets'= {
            cand encrypt 'Encrypt a plaintext secrets file with age (secrets.yaml -> secrets.yaml.age)'
            cand edit 'Decrypt into a private temporary file, run $VISUAL or $EDITOR on it, check it, encrypt it again to the same recipients and wipe the temporary file'
            cand check 'Check that every secret the lab and phases reference is present and well formed (names only, never values); exit 2 on any problem'
            cand keygen 'Create a new age identity (0600; default ~/.config/genesis/age.txt) and print its public key, the recipient to encrypt to'
        }
        &'genesis;help;secrets;encrypt'= {
        }
        &'genesis;help;secrets;edit'= {
        }
        &'genesis;help;secrets;check'= {
        }
        &'genesis;help;secrets;keygen'= {
        }
        &'genesis;help;diagnose'= {
        }
        &'genesis;help;health'= {
        }
        &'genesis;help;describe'= {
        }
        &'genesis;help;state'= {
            cand push 'Copy the local state directory''s journal into the Platform cluster'
            cand pull 'Copy the Platform cluster''s journal into the local state directory'
        }
        &'genesis;help;state;push'= {
        }
        &'genesis;help;state;pull'= {
        }
        &'genesis;help;completions'= {
        }
        &'genesis;help;man'= {
        }
        &'genesis;help;help'= {
        }
    ]
    $completions[$command]
}
