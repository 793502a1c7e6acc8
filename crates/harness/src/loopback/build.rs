//! What [`super::LoopbackLab::build`] writes and starts: the lab moved onto loopback, the
//! secrets, the phases, the PXE artifact server and the SSH relay (moved from loopback.rs).

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;
use tokio::task::JoinHandle;

use super::{ARTIFACT_PATH, ARTIFACTS, FIRST_NODE_IP, SHIPPED_HOST, repo, vm_image_paths};

/// The reference lab's BMCs moved onto loopback, with the credentials of `secrets.example`:
/// what `WorldOptions::with_real_tinkerbell` needs for the loopback lab.
pub fn reference_bmcs() -> Vec<genesis_testworld::BmcSpec> {
    let lab: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(repo().join("hardware/lab.yaml")).expect("lab"),
    )
    .expect("lab YAML");
    let secrets: Value = serde_saphyr::from_str(&example_secrets()).expect("secrets YAML");
    lab["machines"]
        .as_array()
        .expect("machines")
        .iter()
        .map(|machine| {
            let name = machine["hostname"].as_str().expect("hostname");
            let address = machine["bmc"]["address"].as_str().expect("bmc address");
            let host = address.replace("10.10.10.", "127.0.0.");
            genesis_testworld::BmcSpec {
                machine: name.to_owned(),
                host: host.parse().expect("loopback address"),
                username: secrets["bmc"][name]["username"]
                    .as_str()
                    .expect("username")
                    .to_owned(),
                password: secrets["bmc"][name]["password"]
                    .as_str()
                    .expect("password")
                    .to_owned(),
            }
        })
        .collect()
}

pub(super) fn example_secrets() -> String {
    std::fs::read_to_string(repo().join("secrets.example")).expect("secrets.example")
}

/// The reference lab on loopback.
pub(super) fn loopback_lab(
    api_port: u16,
    ssh_port: u16,
    pxe_base_url: &str,
    artifacts: &[(&str, Vec<u8>)],
) -> String {
    let mut text = std::fs::read_to_string(repo().join("hardware/lab.yaml")).expect("lab");
    let shipped = "base_url: http://10.10.10.10:8080/harvester/v1.7.0";
    assert!(text.contains(shipped), "the shipped lab's PXE base_url");
    text = text.replace(shipped, &format!("base_url: {pxe_base_url}"));
    let root = pxe_base_url.trim_end_matches(ARTIFACT_PATH);
    text = text.replace(&format!("url: {SHIPPED_HOST}/"), &format!("url: {root}/"));
    for (file, content) in artifacts {
        let line = format!("        file: {file}\n");
        assert!(text.contains(&line), "{file} in the shipped lab");
        text = text.replace(
            &line,
            &format!(
                "{line}        size: {}\n        sha256: {}\n",
                content.len(),
                sha256(content)
            ),
        );
    }
    let replaced = text
        .replace("subnet: 10.10.10.0/24", "subnet: 127.0.0.0/8")
        // The VIP is 127.0.0.1 (the test Harvester API server's address), so the gateway moves
        // away from it: validate refuses a VIP that is the network's gateway.
        .replace("gateway: 10.10.10.1\n", "gateway: 127.0.0.254\n")
        .replace("vip: 10.10.10.20", "vip: 127.0.0.1")
        .replace("10.10.10.", "127.0.0.")
        .replace("hostname: harvester.lab.local", "hostname: localhost")
        .replace(
            "api_port: 6443",
            &format!("api_port: {api_port}\n    ssh_port: {ssh_port}"),
        );
    assert!(replaced.contains("vip: 127.0.0.1") && replaced.contains("ssh_port:"));
    assert!(replaced.contains(&format!("ip: {FIRST_NODE_IP} ")));
    replaced
}

/// secrets.example with `key` as `ssh.private_key`.
pub(super) fn secrets_with_key(key: &str) -> String {
    let text = example_secrets();
    let begin = text
        .find("    -----BEGIN OPENSSH PRIVATE KEY-----")
        .expect("fake key in secrets.example");
    let end_marker = "-----END OPENSSH PRIVATE KEY-----\n";
    let end =
        text[begin..].find(end_marker).expect("end of the fake key") + begin + end_marker.len();
    let indented: String = key.lines().map(|line| format!("    {line}\n")).collect();
    format!("{}{indented}{}", &text[..begin], &text[end..])
}

pub(super) fn copy_phases(to: &Path, numbers: &[u32]) {
    let from = repo().join("phases");
    std::fs::create_dir_all(to.join("templates")).expect("phases dir");
    for number in numbers {
        let name = format!("phase-{number}.yaml");
        std::fs::copy(from.join(&name), to.join(&name)).expect("copy phase file");
    }
    for entry in std::fs::read_dir(from.join("templates")).expect("templates") {
        let path = entry.expect("entry").path();
        std::fs::copy(
            &path,
            to.join("templates").join(path.file_name().expect("name")),
        )
        .expect("copy template");
    }
}

pub(super) fn sha256(content: &[u8]) -> String {
    genesis_rehearse::serve::sha256_hex(content)
}

/// The artifacts: different, deterministic contents of a few hundred KiB.
pub(super) fn artifacts() -> Vec<(&'static str, Vec<u8>)> {
    ARTIFACTS
        .iter()
        .zip(0u32..)
        .map(|(file, index)| (*file, genesis_rehearse::serve::stand_in_content(index)))
        .collect()
}

/// The artifacts and the VM images served on 127.0.0.1 ([`genesis_rehearse::serve::serve_files`]);
/// returns the artifacts' base URL.
pub(super) async fn serve_artifacts(artifacts: &[(&str, Vec<u8>)]) -> (String, JoinHandle<()>) {
    let files: HashMap<String, Vec<u8>> = artifacts
        .iter()
        .map(|(file, content)| (format!("{ARTIFACT_PATH}/{file}"), content.clone()))
        .chain(
            vm_image_paths()
                .into_iter()
                .map(|path| (path, b"a VM image\n".to_vec())),
        )
        .collect();
    let (root, task) = genesis_rehearse::serve::serve_files(files)
        .await
        .expect("bind the artifact server");
    (format!("{root}{ARTIFACT_PATH}"), task)
}

/// Forwards [`FIRST_NODE_IP`]:<free port> to the world's sshd.
pub(super) async fn ssh_relay(target: u16) -> (u16, JoinHandle<()>) {
    genesis_rehearse::serve::relay(
        FIRST_NODE_IP.parse().expect("an address"),
        (std::net::Ipv4Addr::LOCALHOST, target).into(),
    )
    .await
    .expect("bind the first node's address")
}
