//! Kubernetes clients from kubeconfig files and contexts, the way kubectl finds them.
//!
//! Where the kubeconfig comes from, in kubectl's order: one file named by `--kubeconfig` (or
//! the lab file's `endpoints.platform.kubeconfig`), which must exist; else `KUBECONFIG`, a
//! list of files (`:`-separated on Unix, `;` on Windows) merged in order; else
//! `~/.kube/config`. The merge is kubectl's (client-go's): the first file to name a cluster,
//! user or context wins it whole, `current-context` comes from the first file that sets one,
//! files that do not exist are skipped, and relative paths inside a file (certificates, keys,
//! token files, exec commands) are resolved against that file's directory.
//!
//! kube-rs gives the per-file half (`Kubeconfig::read_from` resolves the relative paths) and
//! the first-wins merge (`Kubeconfig::merge`); its `Kubeconfig::from_env` fails on a missing
//! file where kubectl skips it, so the list is walked here.
//!
//! The other direction: [`with_named_context`] adds a fetched kubeconfig to an operator's file
//! as one named context, as `genesis up --write-harvester-kubeconfig FILE` does for the
//! Harvester cluster. What steps do with a client lives beside it: [`classify`] for its
//! errors, [`apply`] for every write (server-side apply, dry runs, the plan/run preamble).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use genesis_engine::{ActionError, ErrorKind};
use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};
use thiserror::Error;
use tokio::sync::OnceCell;

pub mod apply;
mod errors;
mod named_context;

pub use errors::{CallError, classify, kind_of};
pub use named_context::{NamedContextError, with_named_context};

/// The environment variable kubectl reads: a list of kubeconfig files.
pub const KUBECONFIG_ENV: &str = "KUBECONFIG";

/// Which cluster, through which kubeconfig and context.
#[derive(Debug, Clone)]
pub struct KubeTarget {
    /// The cluster's role in the lab, for messages: `platform` or `harvester`.
    pub cluster: String,
    /// A kubeconfig file; `None` means `KUBECONFIG` (a list of files, merged) or
    /// `~/.kube/config`, as kubectl does.
    pub kubeconfig: Option<PathBuf>,
    /// The context to use; `None` means the kubeconfig's current context.
    pub context: Option<String>,
}

#[derive(Debug, Error)]
pub enum KubeClientError {
    /// The kubeconfig's own error is told by [`safe_kubeconfig_error`]: a parser's message can
    /// quote the line it stopped at, which may hold a bearer token or a client key.
    #[error("cannot read the kubeconfig for the {cluster} cluster ({where_}): {detail}")]
    Kubeconfig {
        cluster: String,
        where_: String,
        detail: String,
    },
    #[error(
        "no kubeconfig for the {cluster} cluster: none of the files in {where_} exists; pass --kubeconfig FILE or fix KUBECONFIG"
    )]
    NoFile { cluster: String, where_: String },
    #[error(
        "no kubeconfig for the {cluster} cluster: KUBECONFIG is not set and the home directory is unknown; pass --kubeconfig FILE"
    )]
    NoHome { cluster: String },
    #[error(
        "cannot use context `{context}` of the kubeconfig for the {cluster} cluster ({where_}): {detail}"
    )]
    Context {
        cluster: String,
        context: String,
        where_: String,
        detail: String,
    },
    /// Building the client runs the kubeconfig's exec credential plugin, if any; its output
    /// (where tokens live) is never quoted (see [`safe_client_error`]).
    #[error("cannot build a client for the {cluster} cluster: {detail}")]
    Client { cluster: String, detail: String },
}

/// A kubeconfig error told without quoting the file: a YAML error names its line and column
/// only, because the parser's message quotes the text it stopped at (a `token:` or
/// `client-key-data:` line).
pub fn safe_kubeconfig_error(error: &KubeconfigError) -> String {
    match error {
        KubeconfigError::Parse(parse) => match parse.location() {
            Some(location) => format!(
                "it is not valid YAML: the parser stopped at line {}, column {} (its message is not shown: it can quote a credential)",
                location.line(),
                location.column()
            ),
            None => "it is not a valid kubeconfig YAML document (the parser's message is not shown: it can quote a credential)".to_owned(),
        },
        KubeconfigError::LoadClientCertificate(_) | KubeconfigError::LoadClientKey(_) => {
            first_line(&error.to_string()).to_owned()
        }
        other => crate::errors::error_chain(other),
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// A client-building error told without quoting what an exec credential plugin printed (its
/// stdout is where the token lives, and kube's messages include it).
pub fn safe_client_error(error: &kube::Error) -> String {
    use kube::client::AuthError;
    match error {
        kube::Error::Auth(auth) => match auth {
            AuthError::AuthExecRun { out, .. } => format!(
                "the kubeconfig's exec credential plugin failed ({}); what it printed is not shown: it can hold credentials. Run the plugin by hand to see why",
                out.status
            ),
            AuthError::AuthExecParse(_) => "the kubeconfig's exec credential plugin printed something that is not an ExecCredential; it is not shown: it can hold credentials. Run the plugin by hand to see it".to_owned(),
            AuthError::AuthExecStart(start) => {
                format!("cannot start the kubeconfig's exec credential plugin: {start}")
            }
            AuthError::AuthExec(_) => "the kubeconfig's exec credential plugin did not give a usable credential (details not shown: they can quote its output)".to_owned(),
            other => first_line(&other.to_string()).to_owned(),
        },
        other => crate::errors::error_chain(other),
    }
}

/// Where a kubeconfig comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KubeconfigSource {
    /// One file, named explicitly: it must exist.
    File(PathBuf),
    /// `KUBECONFIG`: these files, merged in order; missing ones are skipped.
    Env { list: String, files: Vec<PathBuf> },
    /// `~/.kube/config`.
    Home(PathBuf),
}

impl KubeconfigSource {
    /// kubectl's choice: the explicit file, else a non-empty `KUBECONFIG`, else
    /// `~/.kube/config`. `None` when none applies (no home directory).
    pub fn choose(
        explicit: Option<&Path>,
        kubeconfig_env: Option<&OsStr>,
        home: Option<&Path>,
    ) -> Option<Self> {
        if let Some(path) = explicit {
            return Some(Self::File(path.to_owned()));
        }
        if let Some(value) = kubeconfig_env {
            let files: Vec<PathBuf> = std::env::split_paths(value)
                .filter(|path| !path.as_os_str().is_empty())
                .collect();
            if !files.is_empty() {
                return Some(Self::Env {
                    list: value.to_string_lossy().into_owned(),
                    files,
                });
            }
        }
        home.map(|home| Self::Home(home.join(".kube").join("config")))
    }

    /// The choice for this process (its `KUBECONFIG` and home directory).
    pub fn from_process(explicit: Option<&Path>) -> Option<Self> {
        Self::choose(
            explicit,
            std::env::var_os(KUBECONFIG_ENV).as_deref(),
            std::env::home_dir().as_deref(),
        )
    }

    /// For messages: the file, or `KUBECONFIG=a:b`.
    pub fn describe(&self) -> String {
        match self {
            Self::File(path) | Self::Home(path) => path.display().to_string(),
            Self::Env { list, .. } => format!("{KUBECONFIG_ENV}={list}"),
        }
    }

    /// Reads and merges the files. `Ok(None)` when `KUBECONFIG` names only missing files.
    pub fn load(&self) -> Result<Option<Kubeconfig>, KubeconfigError> {
        match self {
            Self::File(path) | Self::Home(path) => {
                regular_kubeconfig(path)?;
                Kubeconfig::read_from(path).map(Some)
            }
            Self::Env { files, .. } => {
                let mut found = Vec::new();
                for file in files {
                    match regular_kubeconfig(file).and_then(|()| Kubeconfig::read_from(file)) {
                        Ok(kubeconfig) => found.push(kubeconfig),
                        Err(KubeconfigError::ReadConfig(error, _))
                            if error.kind() == std::io::ErrorKind::NotFound => {}
                        Err(error) => return Err(error),
                    }
                }
                if found.is_empty() {
                    return Ok(None);
                }
                merge_in_order(found).map(Some)
            }
        }
    }
}

/// A kubeconfig is read by kube with a plain blocking read: a FIFO or a device in its place
/// would block a runtime thread for good (and no deadline could end it). It is opened here
/// first without blocking and must be a regular file; a missing file passes (the caller says
/// so, or skips it as kubectl does).
fn regular_kubeconfig(path: &Path) -> Result<(), KubeconfigError> {
    use std::os::unix::fs::OpenOptionsExt;
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path);
    match opened.and_then(|file| file.metadata()) {
        Ok(metadata) if metadata.is_file() => Ok(()),
        Ok(_) => Err(KubeconfigError::ReadConfig(
            std::io::Error::other("not a regular file (a FIFO, a device or a directory)"),
            path.to_owned(),
        )),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(KubeconfigError::ReadConfig(error, path.to_owned())),
    }
}

/// kubectl's merge of several kubeconfigs, first to last: the first to name a cluster, user or
/// context keeps it whole, and `current-context` comes from the first that sets it.
pub fn merge_in_order(
    kubeconfigs: impl IntoIterator<Item = Kubeconfig>,
) -> Result<Kubeconfig, KubeconfigError> {
    kubeconfigs
        .into_iter()
        .try_fold(Kubeconfig::default(), |merged, next| {
            // kubectl sets `current-context: ""` in files it empties: not a choice.
            let mut next = next;
            if next.current_context.as_deref() == Some("") {
                next.current_context = None;
            }
            merged.merge(next)
        })
}

impl KubeTarget {
    fn source(&self) -> Result<KubeconfigSource, KubeClientError> {
        KubeconfigSource::from_process(self.kubeconfig.as_deref()).ok_or_else(|| {
            KubeClientError::NoHome {
                cluster: self.cluster.clone(),
            }
        })
    }

    /// For messages: `context `x` of <where the kubeconfig comes from>`.
    pub fn describe(&self) -> String {
        let context = match &self.context {
            Some(context) => format!("context `{context}`"),
            None => "the current context".to_owned(),
        };
        match self.source() {
            Ok(source) => format!("{context} of {}", source.describe()),
            Err(_) => context,
        }
    }

    /// For messages: `https://host:6443 (context `x` of <file>)`, the server of the context's
    /// cluster when the kubeconfig names one.
    pub fn describe_server(&self) -> String {
        match self.server() {
            Some(server) => format!("{server} ({})", self.describe()),
            None => self.describe(),
        }
    }

    /// The server address of the context's cluster, as the kubeconfig states it.
    pub fn server(&self) -> Option<String> {
        let kubeconfig = self.kubeconfig().ok()?;
        let context = self
            .context
            .clone()
            .or_else(|| kubeconfig.current_context.clone())?;
        let cluster = kubeconfig
            .contexts
            .iter()
            .find(|named| named.name == context)?
            .context
            .as_ref()?
            .cluster
            .clone();
        kubeconfig
            .clusters
            .iter()
            .find(|named| named.name == cluster)?
            .cluster
            .as_ref()?
            .server
            .clone()
    }

    /// The merged kubeconfig this target reads.
    pub fn kubeconfig(&self) -> Result<Kubeconfig, KubeClientError> {
        let source = self.source()?;
        match source.load() {
            Ok(Some(kubeconfig)) => Ok(kubeconfig),
            Ok(None) => Err(KubeClientError::NoFile {
                cluster: self.cluster.clone(),
                where_: source.describe(),
            }),
            Err(error) => Err(KubeClientError::Kubeconfig {
                cluster: self.cluster.clone(),
                where_: source.describe(),
                detail: safe_kubeconfig_error(&error),
            }),
        }
    }

    /// Reads the kubeconfig and builds a client. Nothing is contacted yet.
    pub async fn connect(&self) -> Result<kube::Client, KubeClientError> {
        let kubeconfig = self.kubeconfig()?;
        let options = KubeConfigOptions {
            context: self.context.clone(),
            cluster: None,
            user: None,
        };
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|source| KubeClientError::Context {
                cluster: self.cluster.clone(),
                context: self
                    .context
                    .clone()
                    .unwrap_or_else(|| "(current)".to_owned()),
                where_: self
                    .source()
                    .map(|source| source.describe())
                    .unwrap_or_default(),
                detail: safe_kubeconfig_error(&source),
            })?;
        // Building the client runs the kubeconfig's exec credential plugin, synchronously,
        // when there is one. On the blocking pool, the await below is where a step's deadline,
        // `--timeout` or `plan --observe-timeout` cuts a plugin that never returns; on a
        // worker thread it would block the runtime, timers included. (kube starts the plugin
        // with std's `Command::output`, so a plugin cut off this way is not killed: it is left
        // to finish or to be stopped by the operator; see docs/troubleshooting.md.)
        let built = tokio::task::spawn_blocking(move || kube::Client::try_from(config)).await;
        match built {
            Ok(result) => result.map_err(|source| KubeClientError::Client {
                cluster: self.cluster.clone(),
                detail: safe_client_error(&source),
            }),
            Err(join) => Err(KubeClientError::Client {
                cluster: self.cluster.clone(),
                detail: format!("building the client stopped: {join}"),
            }),
        }
    }
}

/// A client made on first use and shared by every step of the run.
pub struct LazyClient {
    target: KubeTarget,
    client: OnceCell<kube::Client>,
}

impl std::fmt::Debug for LazyClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyClient")
            .field("target", &self.target)
            .field("connected", &self.client.initialized())
            .finish()
    }
}

impl LazyClient {
    pub fn new(target: KubeTarget) -> Self {
        Self {
            target,
            client: OnceCell::new(),
        }
    }

    pub fn target(&self) -> &KubeTarget {
        &self.target
    }

    pub async fn get(&self) -> Result<kube::Client, KubeClientError> {
        self.client
            .get_or_try_init(|| self.target.connect())
            .await
            .cloned()
    }

    /// The client for a step, or a step error that names the cluster and the context to check.
    pub async fn for_step(&self) -> Result<kube::Client, ActionError> {
        let target = &self.target;
        self.get().await.map_err(|error| {
            ActionError::with_source(
                ErrorKind::NotFound,
                format!(
                    "no usable kubeconfig for the {} cluster; check --kubeconfig/KUBECONFIG and that context `{}` exists (`kubectl config get-contexts`)",
                    target.cluster,
                    target.context.as_deref().unwrap_or("(current)")
                ),
                error,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(yaml: &str) -> Kubeconfig {
        Kubeconfig::from_yaml(yaml).expect("kubeconfig")
    }

    fn names<T>(items: &[T], name: impl Fn(&T) -> &str) -> Vec<String> {
        items.iter().map(|item| name(item).to_owned()).collect()
    }

    const FIRST: &str = "
apiVersion: v1
kind: Config
clusters:
- name: shared
  cluster: {server: 'https://first:6443'}
- name: only-first
  cluster: {server: 'https://one:6443'}
users:
- name: admin
  user: {token: first-token}
contexts:
- name: shared
  context: {cluster: shared, user: admin}
";

    const SECOND: &str = "
apiVersion: v1
kind: Config
current-context: platform
clusters:
- name: shared
  cluster: {server: 'https://second:6443', insecure-skip-tls-verify: true}
- name: platform
  cluster: {server: 'https://platform:6443'}
users:
- name: admin
  user: {token: second-token, username: ignored}
contexts:
- name: shared
  context: {cluster: platform, user: admin}
- name: platform
  context: {cluster: platform, user: admin, namespace: tink-system}
";

    const THIRD: &str = "
current-context: shared
contexts:
- name: third
  context: {cluster: shared, user: admin}
";

    #[test]
    fn the_first_file_to_name_an_entry_keeps_it_whole() {
        let merged =
            merge_in_order([config(FIRST), config(SECOND), config(THIRD)]).expect("merged");
        assert_eq!(
            names(&merged.clusters, |c| &c.name),
            ["shared", "only-first", "platform"]
        );
        let shared = merged.clusters[0].cluster.as_ref().expect("cluster");
        assert_eq!(shared.server.as_deref(), Some("https://first:6443"));
        // Not merged field by field: the second file's extra field is dropped too.
        assert_eq!(shared.insecure_skip_tls_verify, None);
        assert_eq!(names(&merged.auth_infos, |u| &u.name), ["admin"]);
        let admin = merged.auth_infos[0].auth_info.as_ref().expect("user");
        assert_eq!(admin.username, None);
        assert_eq!(
            names(&merged.contexts, |c| &c.name),
            ["shared", "platform", "third"]
        );
        let context = merged.contexts[0].context.as_ref().expect("context");
        assert_eq!(context.cluster, "shared");
        // The first file sets no current-context: the second's wins over the third's.
        assert_eq!(merged.current_context.as_deref(), Some("platform"));
    }

    #[test]
    fn an_empty_current_context_is_not_a_choice() {
        let merged = merge_in_order([
            config("current-context: \"\"\n"),
            config("current-context: later\n"),
        ])
        .expect("merged");
        assert_eq!(merged.current_context.as_deref(), Some("later"));
    }

    #[test]
    fn the_source_is_chosen_as_kubectl_does() {
        let home = Path::new("/home/op");
        let explicit = Path::new("/tmp/k.yaml");
        assert_eq!(
            KubeconfigSource::choose(Some(explicit), Some(OsStr::new("/a:/b")), Some(home)),
            Some(KubeconfigSource::File(explicit.to_owned()))
        );
        assert_eq!(
            KubeconfigSource::choose(None, Some(OsStr::new("/a::/b:")), Some(home)),
            Some(KubeconfigSource::Env {
                list: "/a::/b:".to_owned(),
                files: vec![PathBuf::from("/a"), PathBuf::from("/b")],
            })
        );
        for empty in ["", ":"] {
            assert_eq!(
                KubeconfigSource::choose(None, Some(OsStr::new(empty)), Some(home)),
                Some(KubeconfigSource::Home(home.join(".kube/config")))
            );
        }
        assert_eq!(KubeconfigSource::choose(None, None, None), None);
    }

    #[test]
    fn kubeconfig_skips_missing_files_and_resolves_relative_paths_per_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).expect("sub dir");
        let first = dir.path().join("first.yaml");
        std::fs::write(
            &first,
            "clusters:\n- name: a\n  cluster: {server: 'https://a:6443', certificate-authority: ca.crt}\n",
        )
        .expect("write");
        let second = sub.join("second.yaml");
        std::fs::write(
            &second,
            "current-context: b\ncontexts:\n- name: b\n  context: {cluster: a, user: u}\nusers:\n- name: u\n  user: {client-certificate: certs/u.crt, client-key: /abs/u.key}\n",
        )
        .expect("write");
        let missing = dir.path().join("missing.yaml");
        let list = std::env::join_paths([&missing, &first, &second]).expect("join");
        let source = KubeconfigSource::choose(None, Some(&list), None).expect("source");
        let merged = source.load().expect("readable").expect("some file exists");
        let cluster = merged.clusters[0].cluster.as_ref().expect("cluster");
        assert_eq!(
            cluster.certificate_authority.as_deref(),
            Some(dir.path().join("ca.crt").to_str().expect("utf-8"))
        );
        let user = merged.auth_infos[0].auth_info.as_ref().expect("user");
        assert_eq!(
            user.client_certificate.as_deref(),
            Some(sub.join("certs/u.crt").to_str().expect("utf-8"))
        );
        assert_eq!(user.client_key.as_deref(), Some("/abs/u.key"));
        assert_eq!(merged.current_context.as_deref(), Some("b"));

        // Only missing files: nothing, which the target reports by name.
        let only_missing = std::env::join_paths([&missing]).expect("join");
        let source = KubeconfigSource::choose(None, Some(&only_missing), None).expect("source");
        assert!(source.load().expect("no error").is_none());
        // An explicit file must exist.
        assert!(KubeconfigSource::File(missing).load().is_err());
        // A file that is there but broken is an error, not skipped.
        let broken = dir.path().join("broken.yaml");
        std::fs::write(&broken, "clusters: {not: [a list").expect("write");
        let list = std::env::join_paths([&broken, &first]).expect("join");
        let source = KubeconfigSource::choose(None, Some(&list), None).expect("source");
        assert!(source.load().is_err());
    }
}
