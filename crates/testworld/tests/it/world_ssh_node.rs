//! Cluster test: the simulated Harvester node is a real OpenSSH sshd. The
//! product's command, `sudo cat /etc/rancher/rke2/rke2.yaml` as the node
//! user, returns the node's file; a wrong host key or client key fails.

use genesis_testworld::SshNode;

#[tokio::test]
async fn cluster_ssh_reads_the_rke2_kubeconfig_through_real_sshd() {
    let dir = tempfile::tempdir().unwrap();
    let node = SshNode::start(&dir.path().join("node")).await.unwrap();
    let contents = "apiVersion: v1\nkind: Config\nclusters: []\n";
    node.write_file("/etc/rancher/rke2/rke2.yaml", contents)
        .await
        .unwrap();

    let read = node
        .exec("sudo cat /etc/rancher/rke2/rke2.yaml")
        .await
        .unwrap();
    assert_eq!(read, contents);
    // A missing file is a failing command, not an empty answer.
    let missing = node.exec("sudo cat /etc/rancher/rke2/nothing.yaml").await;
    assert!(missing.is_err(), "{missing:?}");

    // A client key that is not authorized is refused by sshd.
    let stranger = dir.path().join("stranger");
    let keygen = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&stranger)
        .status()
        .unwrap();
    assert!(keygen.success());
    let mut impostor = node.endpoint.clone();
    impostor.private_key_path = stranger.clone();
    assert!(impostor.exec("true").await.is_err());

    // A host key that does not match known_hosts is refused by the client.
    let mut wrong_host = node.endpoint.clone();
    let other = std::fs::read_to_string(stranger.with_extension("pub")).unwrap();
    wrong_host.host_public_key = other.trim().to_string();
    assert!(wrong_host.exec("true").await.is_err());
    node.exec("true").await.unwrap();
}

#[tokio::test]
async fn cluster_two_ssh_nodes_start_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let (dir_a, dir_b) = (dir.path().join("a"), dir.path().join("b"));
    let (a, b) = tokio::join!(SshNode::start(&dir_a), SshNode::start(&dir_b));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_ne!(a.endpoint.port, b.endpoint.port);
    assert_ne!(a.endpoint.host_public_key, b.endpoint.host_public_key);
    a.write_file("/var/lib/rancher/which", "a\n").await.unwrap();
    b.write_file("/var/lib/rancher/which", "b\n").await.unwrap();
    assert_eq!(a.exec("cat /var/lib/rancher/which").await.unwrap(), "a\n");
    assert_eq!(b.exec("cat /var/lib/rancher/which").await.unwrap(), "b\n");
}
