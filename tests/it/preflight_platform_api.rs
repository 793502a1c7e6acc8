//! Cluster test: step 1 (`kube.reachable`) against the test world's real Platform API server,
//! through `genesis up` as an operator runs it.

use std::path::Path;
use std::process::{Command, Output};

use genesis_testworld::{World, WorldOptions};

/// A private (0600) copy of secrets.example in `dir`: genesis refuses a plaintext secrets file
/// that others may read, and git checks the example out 0644.
fn private_secrets(dir: &std::path::Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("secrets.yaml");
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("secrets.example"),
        &path,
    )
    .expect("copy secrets.example");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
    path
}

fn genesis(state: &Path, args: &[&str]) -> Output {
    let secrets = tempfile::tempdir().expect("temp dir");
    Command::new(env!("CARGO_BIN_EXE_genesis"))
        .arg("--secrets")
        .arg(private_secrets(secrets.path()))
        .arg("--state-dir")
        .arg(state)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .env_remove("KUBECONFIG")
        .output()
        .expect("run genesis")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platform_api_step_checks_the_real_api_server() {
    let world = World::start_with(WorldOptions {
        ssh: false,
        ..WorldOptions::default()
    })
    .await
    .expect("test world starts");
    let kubeconfig = world
        .platform
        .kubeconfig_path()
        .to_str()
        .expect("utf-8 path")
        .to_owned();

    // The real server, the context the kubeconfig names.
    let state = tempfile::tempdir().expect("state dir");
    let output = genesis(
        state.path(),
        &[
            "up",
            "--only",
            "platform-api",
            "--kubeconfig",
            &kubeconfig,
            "--context",
            "default",
        ],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let journal = std::fs::read_to_string(state.path().join("journal.ndjson")).unwrap_or_default();
    assert!(
        journal.contains("server_version"),
        "the version is journaled as an output"
    );

    // A context that does not exist: a clear, permanent failure.
    let state = tempfile::tempdir().expect("state dir");
    let output = genesis(
        state.path(),
        &[
            "up",
            "--only",
            "platform-api",
            "--kubeconfig",
            &kubeconfig,
            "--context",
            "lab-typo",
        ],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("context `lab-typo`"), "{stderr}");

    // A server that does not answer: named, after the retries.
    let dead = tempfile::tempdir().expect("dir");
    let text = std::fs::read_to_string(&kubeconfig).expect("kubeconfig");
    let url = world.platform.url().to_owned();
    let dead_config = dead.path().join("dead.kubeconfig");
    std::fs::write(&dead_config, text.replace(&url, "https://127.0.0.1:9")).expect("write");
    let output = genesis(
        state.path(),
        &[
            "up",
            "--only",
            "platform-api",
            "--kubeconfig",
            dead_config.to_str().expect("utf-8"),
            "--context",
            "default",
        ],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    // The message names the server, the context and the file, says the cause once, and says
    // what to check.
    let expected = format!(
        "the platform API server at https://127.0.0.1:9 (context `default` of {}) did not answer as a Kubernetes API server: client error (Connect): tcp connect error: Connection refused (os error 111); is the cluster up, and is that its address?",
        dead_config.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(!stderr.contains("ServiceError"), "{stderr}");
    // Nothing got anywhere (no step succeeded, now or before): no `diagnose` hint.
    assert!(!stderr.contains("genesis diagnose"), "{stderr}");

    // Something that answers HTTP but is not a Kubernetes API server is called that, without
    // its page.
    let foreign = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = foreign.local_addr().expect("address");
    let page = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        while let Ok((mut stream, _)) = foreign.accept().await {
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request).await;
            let body = "<!DOCTYPE HTML>\n<html><body><h1>Error response</h1><p>File not found</p></body></html>\n";
            let _ = stream
                .write_all(
                    format!(
                        "HTTP/1.1 404 File not found\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                )
                .await;
        }
    });
    let foreign_config = dead.path().join("foreign.kubeconfig");
    std::fs::write(
        &foreign_config,
        text.replace(&url, &format!("http://{address}")),
    )
    .expect("write");
    let foreign_state = tempfile::tempdir().expect("state");
    let output = tokio::task::spawn_blocking({
        let (state, config) = (foreign_state.path().to_owned(), foreign_config.clone());
        move || {
            genesis(
                &state,
                &[
                    "up",
                    "--only",
                    "platform-api",
                    "--kubeconfig",
                    config.to_str().expect("utf-8"),
                    "--context",
                    "default",
                ],
            )
        }
    })
    .await
    .expect("genesis");
    page.abort();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "the platform API server at http://{address} (context `default` of {}) did not answer as a Kubernetes API server: HTTP 404 from something that is not a Kubernetes API server (its answer begins `<!DOCTYPE HTML>`); check the server address",
            foreign_config.display()
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("File not found"), "{stderr}");

    world.shutdown().await;
}
