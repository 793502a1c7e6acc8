//! Step 4 (`http.artifacts`) through `genesis up`, against a real HTTP server on 127.0.0.1
//! (Python's `http.server`, which answers HEAD and GET with Content-Length) serving a temp dir.

use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const FILES: [(&str, &str); 4] = [
    ("iso", "harvester-v1.7.0-amd64.iso"),
    ("kernel", "harvester-v1.7.0-vmlinuz-amd64"),
    ("initrd", "harvester-v1.7.0-initrd-amd64"),
    ("rootfs", "harvester-v1.7.0-rootfs-amd64.squashfs"),
];

/// The HTTP server, stopped (by its own process id) when dropped.
struct Server {
    child: Child,
    base_url: String,
}

/// A server that refuses HEAD with 405, as some artifact servers do; GET works.
const NO_HEAD: &str = "\
import functools, http.server, sys
class Handler(http.server.SimpleHTTPRequestHandler):
    def do_HEAD(self):
        self.send_error(405)
handler = functools.partial(Handler, directory=sys.argv[2])
http.server.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), handler).serve_forever()
";

/// A port on 127.0.0.1 that nothing listens on (the moment it is returned).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("free port")
        .port()
}

impl Server {
    fn start(dir: &Path) -> Self {
        Self::start_with(dir, false)
    }

    fn start_with(dir: &Path, refuse_head: bool) -> Self {
        let port = free_port();
        let mut command = Command::new("python3");
        if refuse_head {
            command.args(["-c", NO_HEAD]).arg(port.to_string()).arg(dir);
        } else {
            command
                .args(["-m", "http.server", "--bind", "127.0.0.1"])
                .arg(port.to_string())
                .arg("--directory")
                .arg(dir);
        }
        Self::spawn(&mut command, port, "http")
    }

    /// Starts `command` (a python3 server told to listen on 127.0.0.1:`port`) and waits until
    /// the port takes connections.
    fn spawn(command: &mut Command, port: u16, scheme: &str) -> Self {
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("start the python3 {scheme} server: {error}"));
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the {scheme} server did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            base_url: format!("{scheme}://127.0.0.1:{port}/harvester/v1.7.0"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes the four artifacts below `root/harvester/v1.7.0`; returns (size, sha256) of each.
fn write_artifacts(root: &Path) -> Vec<(u64, String)> {
    let dir = root.join("harvester/v1.7.0");
    std::fs::create_dir_all(&dir).expect("artifact dir");
    FILES
        .iter()
        .enumerate()
        .map(|(index, (_, file))| {
            // Big enough to arrive in several chunks; different per file.
            let content: Vec<u8> = (0..300_000u32)
                .map(|i| {
                    u8::try_from((i * 7 + u32::try_from(index).expect("small")) % 251)
                        .expect("byte")
                })
                .collect();
            std::fs::File::create(dir.join(file))
                .and_then(|mut out| out.write_all(&content))
                .expect("write artifact");
            let digest = ring::digest::digest(&ring::digest::SHA256, &content);
            let sum: String = digest
                .as_ref()
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect();
            (content.len() as u64, sum)
        })
        .collect()
}

/// A copy of the shipped lab whose PXE endpoint is `base_url`, with sizes and checksums.
fn lab(dir: &Path, base_url: &str, expected: &[(u64, String)]) -> std::path::PathBuf {
    let manifest = env!("CARGO_MANIFEST_DIR");
    let mut text =
        std::fs::read_to_string(Path::new(manifest).join("hardware/lab.yaml")).expect("lab");
    let shipped = "base_url: http://10.10.10.10:8080/harvester/v1.7.0";
    assert!(text.contains(shipped), "the shipped lab's PXE base_url");
    text = text.replace(shipped, &format!("base_url: {base_url}"));
    for ((_, file), (size, sum)) in FILES.iter().zip(expected) {
        let line = format!("        file: {file}\n");
        assert!(text.contains(&line), "{file} in the shipped lab");
        text = text.replace(
            &line,
            &format!("{line}        size: {size}\n        sha256: {sum}\n"),
        );
    }
    let path = dir.join("lab.yaml");
    std::fs::write(&path, text).expect("write lab");
    path
}

/// A private (0600) copy of secrets.example in `dir`: genesis refuses a plaintext secrets file
/// that others may read, and git checks the example out 0644.
fn private_secrets(dir: &Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("secrets.yaml");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("secrets.example"),
        &path,
    )
    .expect("copy secrets.example");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
    path
}

fn genesis(state: &Path, lab: &Path) -> (Output, Duration) {
    let secrets_dir = tempfile::tempdir().expect("temp dir");
    let secrets = private_secrets(secrets_dir.path());
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_genesis"))
        .arg("--secrets")
        .arg(&secrets)
        .arg("--lab")
        .arg(lab)
        .arg("--state-dir")
        .arg(state)
        .args(["up", "--only", "pxe-artifacts"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .env_remove("KUBECONFIG")
        .output()
        .expect("run genesis");
    (output, started.elapsed())
}

#[test]
fn pxe_artifacts_are_checked_over_real_http() {
    let served = tempfile::tempdir().expect("served dir");
    let expected = write_artifacts(served.path());
    let server = Server::start(served.path());
    let work = tempfile::tempdir().expect("work dir");

    // All four present, with the right sizes and checksums.
    let good_lab = lab(work.path(), &server.base_url, &expected);
    let state = tempfile::tempdir().expect("state");
    let (output, _) = genesis(state.path(), &good_lab);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let journal = std::fs::read_to_string(state.path().join("journal.ndjson")).unwrap_or_default();
    assert!(
        journal.contains(&expected[0].1),
        "the computed checksum is journaled: {journal}"
    );

    // One artifact missing: a 404, permanent (not retried), naming the URL.
    let kernel = served.path().join("harvester/v1.7.0").join(FILES[1].1);
    let kept = std::fs::read(&kernel).expect("read kernel");
    std::fs::remove_file(&kernel).expect("remove kernel");
    let state = tempfile::tempdir().expect("state");
    let (output, took) = genesis(state.path(), &good_lab);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let url = format!("{}/{}", server.base_url, FILES[1].1);
    assert!(stderr.contains(&url), "names the URL: {stderr}");
    assert!(stderr.contains("404"), "{stderr}");
    assert!(
        took < Duration::from_secs(2),
        "a 404 is not retried (the step's backoff is 2 s): took {took:?}"
    );
    std::fs::write(&kernel, kept).expect("restore kernel");

    // A wrong checksum and a wrong size: both reported at once, naming the files.
    let mut wrong = expected.clone();
    wrong[0].1 = "0".repeat(64);
    wrong[3].0 += 1;
    let work = tempfile::tempdir().expect("work dir");
    let wrong_lab = lab(work.path(), &server.base_url, &wrong);
    let state = tempfile::tempdir().expect("state");
    let (output, _) = genesis(state.path(), &wrong_lab);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(FILES[0].1) && stderr.contains("SHA-256"),
        "names the file with the wrong checksum: {stderr}"
    );
    assert!(
        stderr.contains(FILES[3].1) && stderr.contains("bytes"),
        "names the file with the wrong size: {stderr}"
    );
    drop(server);

    // Nothing listening: a transient failure, named, after the step's retries.
    let work = tempfile::tempdir().expect("work dir");
    let port = free_port();
    let dead_lab = lab(
        work.path(),
        &format!("http://127.0.0.1:{port}/harvester/v1.7.0"),
        &expected,
    );
    let state = tempfile::tempdir().expect("state");
    let (output, _) = genesis(state.path(), &dead_lab);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("could not connect"), "{stderr}");
}

#[test]
fn a_server_that_refuses_head_is_asked_with_get() {
    let served = tempfile::tempdir().expect("served dir");
    let expected = write_artifacts(served.path());
    let server = Server::start_with(served.path(), true);
    let work = tempfile::tempdir().expect("work dir");
    let lab = lab(work.path(), &server.base_url, &expected);
    let state = tempfile::tempdir().expect("state");
    let (output, _) = genesis(state.path(), &lab);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
}

/// An HTTPS server (Python's `http.server` wrapped in its `ssl` module) with the given
/// certificate chain and key.
const TLS_SERVER: &str = "\
import functools, http.server, ssl, sys
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[2])
server = http.server.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[3], sys.argv[4])
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
";

/// A test CA and a server certificate it signed for 127.0.0.1 and localhost, as PEM files in
/// `dir`: (ca.pem, server.pem, server.key).
fn test_pki(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.distinguished_name
        .push(DnType::CommonName, "genesis test artifacts CA");
    let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::new(ca, ca_key);

    let server_key = KeyPair::generate().expect("server key");
    let mut server = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .expect("server params");
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server
        .distinguished_name
        .push(DnType::CommonName, "artifacts.test");
    let server_cert = server
        .signed_by(&server_key, &issuer)
        .expect("server certificate");

    let paths = (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    );
    std::fs::write(&paths.0, ca_cert.pem()).expect("write CA");
    std::fs::write(&paths.1, server_cert.pem()).expect("write certificate");
    std::fs::write(&paths.2, server_key.serialize_pem()).expect("write key");
    (paths.0, paths.1, paths.2)
}

impl Server {
    fn start_tls(dir: &Path, certificate: &Path, key: &Path) -> Self {
        let port = free_port();
        Self::spawn(
            Command::new("python3")
                .args(["-c", TLS_SERVER])
                .arg(port.to_string())
                .arg(dir)
                .arg(certificate)
                .arg(key),
            port,
            "https",
        )
    }
}

/// `lab` with `endpoints.pxe.ca_file` set.
fn lab_with_ca(
    dir: &Path,
    base_url: &str,
    expected: &[(u64, String)],
    ca_file: &Path,
) -> std::path::PathBuf {
    let path = lab(dir, base_url, expected);
    let text = std::fs::read_to_string(&path).expect("lab");
    let needle = format!("base_url: {base_url}");
    assert!(text.contains(&needle), "the PXE base_url line");
    let text: String = text
        .lines()
        .flat_map(|line| {
            let mut lines = vec![format!("{line}\n")];
            if line.trim_start().starts_with(&needle) {
                let indent = &line[..line.len() - line.trim_start().len()];
                lines.push(format!("{indent}ca_file: {}\n", ca_file.display()));
            }
            lines
        })
        .collect();
    std::fs::write(&path, text).expect("write lab");
    path
}

#[test]
fn https_artifacts_need_a_trusted_certificate() {
    let served = tempfile::tempdir().expect("served dir");
    let expected = write_artifacts(served.path());
    let pki = tempfile::tempdir().expect("pki dir");
    let (ca, certificate, key) = test_pki(pki.path());
    let server = Server::start_tls(served.path(), &certificate, &key);

    // The test CA is in no trust store: refused at once (not retried), saying how to trust it.
    let work = tempfile::tempdir().expect("work dir");
    let untrusted = lab(work.path(), &server.base_url, &expected);
    let state = tempfile::tempdir().expect("state");
    let (output, took) = genesis(state.path(), &untrusted);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("TLS certificate is not trusted") && stderr.contains("UnknownIssuer"),
        "{stderr}"
    );
    assert!(stderr.contains("endpoints.pxe.ca_file"), "{stderr}");
    assert!(
        took < Duration::from_secs(2),
        "an untrusted certificate is not retried (the step's backoff is 2 s): took {took:?}"
    );

    // endpoints.pxe.ca_file names the CA: trusted, and sizes and checksums are checked.
    let work = tempfile::tempdir().expect("work dir");
    let trusted = lab_with_ca(work.path(), &server.base_url, &expected, &ca);
    let state = tempfile::tempdir().expect("state");
    let (output, _) = genesis(state.path(), &trusted);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let journal = std::fs::read_to_string(state.path().join("journal.ndjson")).expect("journal");
    for (_, sum) in &expected {
        assert!(journal.contains(sum.as_str()), "each checksum is journaled");
    }
    let mut wrong = expected.clone();
    wrong[2].1 = "f".repeat(64);
    wrong[1].0 -= 1;
    let work = tempfile::tempdir().expect("work dir");
    let wrong_lab = lab_with_ca(work.path(), &server.base_url, &wrong, &ca);
    let state = tempfile::tempdir().expect("state");
    let (output, _) = genesis(state.path(), &wrong_lab);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(FILES[2].1) && stderr.contains("SHA-256"),
        "{stderr}"
    );
    assert!(
        stderr.contains(FILES[1].1) && stderr.contains("bytes"),
        "{stderr}"
    );

    // A ca_file that is not PEM: said plainly, naming the field.
    let work = tempfile::tempdir().expect("work dir");
    let bogus = work.path().join("not-a-ca.pem");
    std::fs::write(&bogus, "hello\n").expect("write");
    let bogus_lab = lab_with_ca(work.path(), &server.base_url, &expected, &bogus);
    let state = tempfile::tempdir().expect("state");
    let (output, _) = genesis(state.path(), &bogus_lab);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("endpoints.pxe.ca_file") && stderr.contains("no CERTIFICATE"),
        "{stderr}"
    );
}

#[test]
fn ssl_cert_file_replaces_the_system_trust_store() {
    let served = tempfile::tempdir().expect("served dir");
    let expected = write_artifacts(served.path());
    let pki = tempfile::tempdir().expect("pki dir");
    let (ca, certificate, key) = test_pki(pki.path());
    let server = Server::start_tls(served.path(), &certificate, &key);
    let work = tempfile::tempdir().expect("work dir");
    let plain = lab(work.path(), &server.base_url, &expected);
    let secrets_dir = tempfile::tempdir().expect("temp dir");
    let secrets = private_secrets(secrets_dir.path());
    let state = tempfile::tempdir().expect("state");
    let output = Command::new(env!("CARGO_BIN_EXE_genesis"))
        .arg("--secrets")
        .arg(&secrets)
        .arg("--lab")
        .arg(&plain)
        .arg("--state-dir")
        .arg(state.path())
        .args(["up", "--only", "pxe-artifacts"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .env("SSL_CERT_FILE", &ca)
        .env_remove("SSL_CERT_DIR")
        .env_remove("KUBECONFIG")
        .output()
        .expect("run genesis");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
}
