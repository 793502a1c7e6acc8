//! Step 4 (`http.artifacts`) through `genesis up`, against a real HTTP server on 127.0.0.1
//! (Python's `http.server`, which answers HEAD and GET with Content-Length) serving a temp dir.
//! It checks exactly what is downloaded later: the Harvester disk image the install Template
//! streams (the lab's `disk-image` artifact) and each VM image Harvester imports in phase 4.

use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The shipped lab's artifact server (its host part).
const SHIPPED_HOST: &str = "http://10.10.10.10:8080";
/// The shipped lab's `endpoints.pxe.base_url`.
const SHIPPED_BASE: &str = "http://10.10.10.10:8080/harvester/v1.7.0";

fn shipped_lab() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("hardware/lab.yaml"))
        .expect("lab")
}

/// What the shipped lab makes genesis download, as paths below the server's root: the
/// `disk-image` artifact first, then each VM image.
fn downloads() -> Vec<String> {
    let lab: serde_json::Value = serde_saphyr::from_str(&shipped_lab()).expect("lab YAML");
    let mut paths = Vec::new();
    let base = SHIPPED_BASE
        .trim_start_matches(SHIPPED_HOST)
        .trim_matches('/');
    for artifact in lab["endpoints"]["pxe"]["artifacts"]
        .as_array()
        .expect("artifacts")
    {
        assert_eq!(artifact["role"], "disk-image", "the only artifact role");
        paths.push(format!(
            "{base}/{}",
            artifact["file"].as_str().expect("file")
        ));
    }
    for image in lab["vm_images"].as_array().expect("vm_images") {
        let url = image["url"].as_str().expect("url");
        let path = url
            .strip_prefix(SHIPPED_HOST)
            .unwrap_or_else(|| panic!("the VM image {url} is served by {SHIPPED_HOST}"));
        paths.push(path.trim_start_matches('/').to_owned());
    }
    assert!(paths.len() >= 2, "a disk image and a VM image: {paths:?}");
    paths
}

/// The HTTP server, stopped (by its own process id) when dropped.
struct Server {
    child: Child,
    /// `scheme://127.0.0.1:port`, the stand-in for the shipped lab's artifact server.
    root: String,
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
        let root = format!("{scheme}://127.0.0.1:{port}");
        Self {
            child,
            base_url: format!("{root}{}", SHIPPED_BASE.trim_start_matches(SHIPPED_HOST)),
            root,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes every download below `root`; returns (size, sha256) of each, in `downloads` order.
fn write_artifacts(root: &Path) -> Vec<(u64, String)> {
    downloads()
        .iter()
        .enumerate()
        .map(|(index, path)| {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("artifact dir");
            // Big enough to arrive in several chunks; different per file.
            let content: Vec<u8> = (0..300_000u32)
                .map(|i| {
                    u8::try_from((i * 7 + u32::try_from(index).expect("small")) % 251)
                        .expect("byte")
                })
                .collect();
            std::fs::File::create(&path)
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

/// A copy of the shipped lab whose artifact server is `root` (the disk image below
/// `base_url`, the VM images at their paths), with the disk image's size and checksum.
fn lab(dir: &Path, base_url: &str, root: &str, expected: &[(u64, String)]) -> std::path::PathBuf {
    let mut text = shipped_lab();
    let shipped = format!("base_url: {SHIPPED_BASE}");
    assert!(text.contains(&shipped), "the shipped lab's PXE base_url");
    text = text.replace(&shipped, &format!("base_url: {base_url}"));
    let disk_image = downloads()[0].rsplit('/').next().expect("file").to_owned();
    let line = format!("        file: {disk_image}\n");
    assert!(text.contains(&line), "{disk_image} in the shipped lab");
    let (size, sum) = &expected[0];
    text = text.replace(
        &line,
        &format!("{line}        size: {size}\n        sha256: {sum}\n"),
    );
    let vm_url = format!("url: {SHIPPED_HOST}/");
    assert!(text.contains(&vm_url), "the shipped lab's VM image URL");
    text = text.replace(&vm_url, &format!("url: {root}/"));
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
    let urls: Vec<String> = downloads()
        .iter()
        .map(|path| format!("{}/{path}", server.root))
        .collect();

    // Everything present, with the right size and checksum.
    let good_lab = lab(work.path(), &server.base_url, &server.root, &expected);
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
    let disk_image = served.path().join(&downloads()[0]);
    let kept = std::fs::read(&disk_image).expect("read disk image");
    std::fs::remove_file(&disk_image).expect("remove disk image");
    let state = tempfile::tempdir().expect("state");
    let (output, took) = genesis(state.path(), &good_lab);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&urls[0]), "names the URL: {stderr}");
    assert!(stderr.contains("404"), "{stderr}");
    assert!(
        took < Duration::from_secs(2),
        "a 404 is not retried (the step's backoff is 2 s): took {took:?}"
    );
    std::fs::write(&disk_image, kept).expect("restore disk image");

    // A wrong checksum: reported, naming the file.
    let mut wrong = expected.clone();
    wrong[0].1 = "0".repeat(64);
    let work = tempfile::tempdir().expect("work dir");
    let wrong_lab = lab(work.path(), &server.base_url, &server.root, &wrong);
    let state = tempfile::tempdir().expect("state");
    let (output, _) = genesis(state.path(), &wrong_lab);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let file = downloads()[0].rsplit('/').next().expect("file").to_owned();
    assert!(
        stderr.contains(&file) && stderr.contains("SHA-256"),
        "names the file with the wrong checksum: {stderr}"
    );
    drop(server);

    // Nothing listening: a transient failure, named, after the step's retries.
    let work = tempfile::tempdir().expect("work dir");
    let port = free_port();
    let root = format!("http://127.0.0.1:{port}");
    let dead_lab = lab(
        work.path(),
        &format!("{root}/harvester/v1.7.0"),
        &root,
        &expected,
    );
    let state = tempfile::tempdir().expect("state");
    let (output, _) = genesis(state.path(), &dead_lab);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("could not connect"), "{stderr}");
}

/// Issue 11, defect 3: step 4 checks exactly what is downloaded later, the disk image that
/// the install Template streams and the VM images, not the ISO install's files.
#[test]
fn preflight_checks_exactly_the_disk_image_and_the_vm_images() {
    let served = tempfile::tempdir().expect("served dir");
    let expected = write_artifacts(served.path());
    let server = Server::start(served.path());
    let work = tempfile::tempdir().expect("work dir");
    let good_lab = lab(work.path(), &server.base_url, &server.root, &expected);
    let urls: Vec<String> = downloads()
        .iter()
        .map(|path| format!("{}/{path}", server.root))
        .collect();

    let state = tempfile::tempdir().expect("state");
    let (output, _) = genesis(state.path(), &good_lab);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let journal = std::fs::read_to_string(state.path().join("journal.ndjson")).expect("journal");
    let checked: std::collections::BTreeSet<String> = journal
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .flat_map(|record| {
            let mut found = Vec::new();
            collect_urls(&record, &server.root, &mut found);
            found
        })
        .collect();
    let wanted: std::collections::BTreeSet<String> = urls.iter().cloned().collect();
    assert_eq!(checked, wanted, "step 4 fetched exactly these: {journal}");

    // The VM image missing: step 4 fails before any machine is touched.
    std::fs::remove_file(served.path().join(&downloads()[1])).expect("remove VM image");
    let state = tempfile::tempdir().expect("state");
    let (output, _) = genesis(state.path(), &good_lab);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&urls[1]) && stderr.contains("404") && stderr.contains("vm_images"),
        "names the VM image's URL and where to fix it: {stderr}"
    );
}

/// Every string in `value` that is a URL on `root`.
fn collect_urls(value: &serde_json::Value, root: &str, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(text) if text.starts_with(root) => out.push(text.clone()),
        serde_json::Value::Array(items) => {
            items.iter().for_each(|item| collect_urls(item, root, out))
        }
        serde_json::Value::Object(map) => {
            map.values().for_each(|item| collect_urls(item, root, out))
        }
        _ => {}
    }
}

#[test]
fn a_server_that_refuses_head_is_asked_with_get() {
    let served = tempfile::tempdir().expect("served dir");
    let expected = write_artifacts(served.path());
    let server = Server::start_with(served.path(), true);
    let work = tempfile::tempdir().expect("work dir");
    let lab = lab(work.path(), &server.base_url, &server.root, &expected);
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
    server: &Server,
    expected: &[(u64, String)],
    ca_file: &Path,
) -> std::path::PathBuf {
    let base_url = server.base_url.as_str();
    let path = lab(dir, base_url, &server.root, expected);
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
    let untrusted = lab(work.path(), &server.base_url, &server.root, &expected);
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
    let trusted = lab_with_ca(work.path(), &server, &expected, &ca);
    let state = tempfile::tempdir().expect("state");
    let (output, _) = genesis(state.path(), &trusted);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let journal = std::fs::read_to_string(state.path().join("journal.ndjson")).expect("journal");
    assert!(
        journal.contains(expected[0].1.as_str()),
        "the disk image's checksum is journaled"
    );
    let mut wrong = expected.clone();
    wrong[0].0 -= 1;
    let work = tempfile::tempdir().expect("work dir");
    let wrong_lab = lab_with_ca(work.path(), &server, &wrong, &ca);
    let state = tempfile::tempdir().expect("state");
    let (output, _) = genesis(state.path(), &wrong_lab);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let file = downloads()[0].rsplit('/').next().expect("file").to_owned();
    assert!(
        stderr.contains(&file) && stderr.contains("bytes"),
        "{stderr}"
    );

    // A ca_file that is not PEM: said plainly, naming the field.
    let work = tempfile::tempdir().expect("work dir");
    let bogus = work.path().join("not-a-ca.pem");
    std::fs::write(&bogus, "hello\n").expect("write");
    let bogus_lab = lab_with_ca(work.path(), &server, &expected, &bogus);
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
    let plain = lab(work.path(), &server.base_url, &server.root, &expected);
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
