//! What `--reinstall` and `down` select on the reference lab, offline.

use std::path::PathBuf;

use genesis_engine::Graph;

use super::down::{Down, Scope};
use super::reinstall::Reinstall;
use crate::inputs::InputPaths;

fn reference() -> Graph {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    crate::inputs::load_graph(&InputPaths {
        lab: root.join("hardware/lab.yaml"),
        phases: root.join("phases"),
        secrets: PathBuf::new(),
    })
    .expect("the reference lab loads")
}

fn ids(graph: &Graph, positions: impl Iterator<Item = usize>) -> Vec<String> {
    positions
        .map(|position| graph.step(position).id.to_string())
        .collect()
}

#[test]
fn a_machine_reinstall_forgets_its_install_and_what_follows_only() {
    let graph = reference();
    let reinstall = Reinstall::resolve(&graph, &["ms-02-2".to_owned()]).expect("resolves");
    let forgotten = ids(&graph, (0..graph.len()).filter(|&p| reinstall.resets(p)));
    assert!(forgotten.contains(&"join-cluster/ms-02-2".to_owned()));
    assert!(forgotten.contains(&"quorum".to_owned()));
    assert!(forgotten.contains(&"register-argocd".to_owned()));
    assert!(forgotten.contains(&"platform-join/cp-3".to_owned()));
    for kept in [
        "join-cluster/ms-02-3",
        "hardware/ms-02-2",
        "bmc/ms-02-2",
        "harvester-api",
    ] {
        assert!(
            !forgotten.contains(&kept.to_owned()),
            "{kept}: {forgotten:?}"
        );
    }
    let actions = reinstall.actions(&graph).join("\n");
    assert!(
        actions.contains("delete Harvester Node ms-02-2"),
        "{actions}"
    );
    assert!(
        actions.contains("label genesis.dev/machine=ms-02-2"),
        "{actions}"
    );
}

#[test]
fn a_vm_reinstall_forgets_its_vm_and_join_only() {
    let graph = reference();
    let reinstall = Reinstall::resolve(&graph, &["cp-3".to_owned()]).expect("resolves");
    let forgotten = ids(&graph, (0..graph.len()).filter(|&p| reinstall.resets(p)));
    assert_eq!(forgotten, ["vm/cp-3", "platform-join/cp-3"]);
    let actions = reinstall.actions(&graph).join("\n");
    assert!(
        actions.contains("delete VirtualMachine default/cp-3"),
        "{actions}"
    );
    assert!(actions.contains("delete Platform Node cp-3"), "{actions}");
}

#[test]
fn unknown_names_and_the_first_machine_are_refused_with_exit_2() {
    let graph = reference();
    let error = Reinstall::resolve(&graph, &["ms-2-2".to_owned()]).expect_err("unknown");
    assert_eq!(error.code(), 2);
    let error = Reinstall::resolve(&graph, &["ms-02-1".to_owned()]).expect_err("creates");
    assert_eq!(error.code(), 2);
    assert!(
        error
            .message()
            .is_some_and(|m| m.contains("created the Harvester cluster"))
    );
}

#[test]
fn down_goes_in_reverse_order_and_scopes_by_phase_and_machine() {
    let graph = reference();
    let all = Down::plan(&graph, &Scope::default()).expect("plans");
    let lines = all.lines(&graph);
    let at = |text: &str| {
        lines
            .iter()
            .position(|line| line.contains(text))
            .unwrap_or_else(|| panic!("{text}: {lines:#?}"))
    };
    assert!(at(" vm/cp-2:") < at(" vm-userdata/cp-2:"));
    assert!(at(" vm-image:") < at(" register-argocd:"));
    assert!(at(" join-cluster/ms-02-2:") < at(" hardware/ms-02-2:"));
    assert!(at(" hardware/ms-02-2:") < at(" bmc/ms-02-2:"));
    assert!(at(" bmc/ms-02-1:") < at(" install-template:"));
    assert!(
        lines
            .last()
            .is_some_and(|line| line.contains("nothing to delete for platform-api"))
    );

    let phase_4 = Down::plan(
        &graph,
        &Scope {
            phase: Some(4),
            machines: Vec::new(),
        },
    )
    .expect("plans")
    .lines(&graph)
    .join("\n");
    assert!(phase_4.contains("vm-network"), "{phase_4}");
    assert!(!phase_4.contains("register-argocd"), "{phase_4}");
    assert!(!phase_4.contains("ms-02"), "{phase_4}");

    let machine = Down::plan(
        &graph,
        &Scope {
            phase: None,
            machines: vec!["ms-02-3".to_owned()],
        },
    )
    .expect("plans")
    .lines(&graph)
    .join("\n");
    assert!(
        machine.contains("cordon and delete Harvester Node ms-02-3"),
        "{machine}"
    );
    assert!(machine.contains("bmc/ms-02-3"), "{machine}");
    assert!(!machine.contains("ms-02-2"), "{machine}");
    assert!(
        !machine.contains("register-argocd"),
        "the shared Secret stays: {machine}"
    );
    assert!(
        Down::plan(
            &graph,
            &Scope {
                phase: None,
                machines: vec!["ms-02-9".to_owned()],
            }
        )
        .is_err()
    );
}

#[test]
fn down_deletes_what_the_step_owns_and_writes_last_written_first_and_never_a_node() {
    let graph = reference();
    let lines = Down::plan(&graph, &Scope::default())
        .expect("plans")
        .lines(&graph);
    let line = |id: &str| {
        lines
            .iter()
            .find(|line| line.contains(&format!(" {id}:")))
            .unwrap_or_else(|| panic!("{id}: {lines:#?}"))
            .clone()
    };
    // rufio.machine lists the Secret, then the Machine that names it (the order it writes
    // them); down deletes genesis's power-off Jobs against the Machine, the Machine, then the
    // Secret.
    assert_eq!(
        line("bmc/ms-02-2"),
        "step 6/ms-02-2 bmc/ms-02-2: delete Platform Jobs in tink-system labelled genesis.dev/machine=ms-02-2; delete Platform Machine tink-system/ms-02-2; delete Platform Secret tink-system/bmc-ms-02-2"
    );
    // The install owns its Workflows and the Harvester Node it brings about: the Node is not
    // deleted (without --machine), the machine is powered off.
    assert_eq!(
        line("join-cluster/ms-02-2"),
        "step 10/ms-02-2 join-cluster/ms-02-2: power ms-02-2 off through its BMC (its disks are not erased); delete Platform Workflows in tink-system labelled genesis.dev/machine=ms-02-2"
    );
    // The join owns the Platform Node the VM becomes; genesis never writes it.
    assert!(
        line("platform-join/cp-3")
            .ends_with("only checks; forgotten, so that `genesis up` checks again"),
        "{lines:#?}"
    );
    assert!(
        !lines
            .iter()
            .any(|line| line.contains("delete Platform Node")
                || line.contains("delete Harvester Node")),
        "{lines:#?}"
    );
}
