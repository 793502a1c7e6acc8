//! `genesis secrets encrypt|edit|check`: the age-encrypted secrets file (docs/secrets.md).
//!
//! Values never reach the terminal: `check` prints names and what is wrong with them, `edit`
//! hands the plaintext only to the editor through a private temporary file that is wiped
//! afterwards, and every error names files, lines and public keys only.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use zeroize::Zeroizing;

use super::common::Common;
use super::error::{CliError, CliResult, exit};
use crate::inputs;
use crate::secrets::{
    self, AgeIdentity, IdentityLocation, SecretFormat, Secrets, SecretsError, age_path,
    choose_file, is_age_file, parse_recipient, parse_recipients, recipients_file,
};

#[derive(Debug, Args)]
pub struct SecretsArgs {
    #[command(subcommand)]
    pub command: SecretsCommand,
}

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Encrypt a plaintext secrets file with age (secrets.yaml -> secrets.yaml.age).
    Encrypt(EncryptArgs),
    /// Decrypt into a private temporary file, run $VISUAL or $EDITOR on it, check it,
    /// encrypt it again to the same recipients and wipe the temporary file.
    Edit(EditArgs),
    /// Check that every secret the lab and phases reference is present and well formed
    /// (names only, never values); exit 2 on any problem.
    Check(CheckArgs),
    /// Create a new age identity (0600; default ~/.config/genesis/age.txt) and print its
    /// public key, the recipient to encrypt to.
    Keygen(KeygenArgs),
}

#[derive(Debug, Args)]
pub struct EncryptArgs {
    /// The plaintext secrets file (default: the --secrets file, normally secrets.yaml).
    pub input: Option<PathBuf>,
    /// The encrypted file to write (default: INPUT.age).
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// An age X25519 recipient (`age1…`); repeat for several.
    #[arg(long = "recipient", value_name = "AGE1…")]
    pub recipients: Vec<String>,
    /// A file of recipients, one `age1…` a line (`#` comments); repeatable.
    #[arg(long = "recipients-file", value_name = "FILE")]
    pub recipients_files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct EditArgs {
    /// The encrypted secrets file (default: the --secrets file's `.age`, normally
    /// secrets.yaml.age).
    pub file: Option<PathBuf>,
    /// Do not start the editor: only encrypt again to the recipients file (after adding or
    /// removing someone).
    #[arg(long)]
    pub rekey: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Where to write the identity (default: --age-identity, GENESIS_AGE_IDENTITY or
    /// ~/.config/genesis/age.txt); an existing file is never overwritten.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub fn run(args: SecretsArgs, common: &Common) -> CliResult {
    let result = match args.command {
        SecretsCommand::Encrypt(args) => encrypt(&args, common),
        SecretsCommand::Edit(args) => edit(&args, common),
        SecretsCommand::Check(_) => return check(common),
        SecretsCommand::Keygen(args) => keygen(&args, common),
    };
    result.map_err(|error| CliError::input(error.to_string()).with_hint(error.help()))
}

/// A problem of `encrypt` or `edit`: a secrets-file error or one of the command's own.
#[derive(Debug, thiserror::Error)]
enum CommandError {
    #[error("{0}")]
    Secrets(#[from] SecretsError),
    #[error("{message}")]
    Usage { message: String, help: String },
}

impl CommandError {
    fn usage(message: impl Into<String>, help: impl Into<String>) -> Self {
        Self::Usage {
            message: message.into(),
            help: help.into(),
        }
    }

    fn help(&self) -> String {
        match self {
            Self::Secrets(error) => error.help(),
            Self::Usage { help, .. } => help.clone(),
        }
    }
}

fn encrypt(args: &EncryptArgs, common: &Common) -> Result<(), CommandError> {
    let input = args.input.clone().unwrap_or_else(|| common.secrets.clone());
    if is_age_file(&input) {
        return Err(CommandError::usage(
            format!("{} is already encrypted", input.display()),
            "pass the plaintext file, or use `genesis secrets edit` to change it",
        ));
    }
    let output = args.output.clone().unwrap_or_else(|| age_path(&input));
    let plaintext = read_plaintext(&input)?;
    // Encrypt only what genesis can read back.
    Secrets::parse(&input, &text_of(&input, &plaintext)?)?;
    let (recipients, source) = encrypt_recipients(args, &output, common)?;
    let ciphertext = secrets::encrypt(&output, &plaintext, &recipients)?;
    write_atomically(&output, &ciphertext, 0o600)?;
    write_recipients(&output, &recipients)?;
    crate::errln!(
        "Encrypted {} to {} for {} recipient{} ({source}); recipients listed in {}.",
        input.display(),
        output.display(),
        recipients.len(),
        if recipients.len() == 1 { "" } else { "s" },
        recipients_file(&output).display()
    );
    crate::errln!(
        "The plaintext {} is still there: genesis reads it before {} while it exists; delete it \
         once `genesis secrets check` passes.",
        input.display(),
        output.display()
    );
    Ok(())
}

/// The plaintext to encrypt. A file others may read is encrypted all the same (that is the
/// fix), with a warning.
fn read_plaintext(path: &Path) -> Result<Zeroizing<Vec<u8>>, CommandError> {
    match secrets::read_private(path) {
        Ok(bytes) => Ok(bytes),
        Err(SecretsError::Permissions { mode, .. }) => {
            crate::errln!(
                "warning: {} has mode {:04o} ({}); delete it once it is encrypted",
                path.display(),
                mode & 0o7777,
                secrets::too_open(mode).unwrap_or_default()
            );
            std::fs::read(path).map(Zeroizing::new).map_err(|source| {
                SecretsError::Read {
                    path: path.to_owned(),
                    source,
                }
                .into()
            })
        }
        Err(error) => Err(error.into()),
    }
}

fn text_of(path: &Path, bytes: &[u8]) -> Result<Zeroizing<String>, CommandError> {
    std::str::from_utf8(bytes)
        .map(|text| Zeroizing::new(text.to_owned()))
        .map_err(|_| {
            SecretsError::NotText {
                path: path.to_owned(),
            }
            .into()
        })
}

/// Recipients for `encrypt`: the flags; else the output's existing recipients file; else the
/// public keys of the identity genesis would decrypt with.
fn encrypt_recipients(
    args: &EncryptArgs,
    output: &Path,
    common: &Common,
) -> Result<(Vec<age::x25519::Recipient>, String), CommandError> {
    let mut recipients = Vec::new();
    for text in &args.recipients {
        recipients.push(parse_recipient(text).ok_or_else(|| {
            CommandError::usage(
                format!("--recipient `{text}` is not an age X25519 recipient"),
                "a recipient is a public key `age1…` (age-keygen -y IDENTITY prints it)",
            )
        })?);
    }
    for file in &args.recipients_files {
        recipients.extend(read_recipients(file)?);
    }
    if !recipients.is_empty() {
        return Ok((recipients, "given".to_owned()));
    }
    let existing = recipients_file(output);
    if existing.exists() {
        return Ok((
            read_recipients(&existing)?,
            format!("from {}", existing.display()),
        ));
    }
    let identity = identity(common, output).map_err(|error| match error {
        CommandError::Secrets(SecretsError::IdentityRead { path, .. }) => CommandError::usage(
            format!(
                "no recipients: none given, no {} and no identity at {}",
                existing.display(),
                path.display()
            ),
            "pass --recipient age1… or --recipients-file FILE, or create your identity with \
             `genesis secrets keygen` and encrypt to it",
        ),
        other => other,
    })?;
    Ok((
        identity.recipients(),
        format!("the public key of {}", identity.file().display()),
    ))
}

fn read_recipients(path: &Path) -> Result<Vec<age::x25519::Recipient>, CommandError> {
    let text = std::fs::read_to_string(path).map_err(|source| SecretsError::Read {
        path: path.to_owned(),
        source,
    })?;
    let recipients = parse_recipients(path, &text)?;
    if recipients.is_empty() {
        return Err(CommandError::usage(
            format!("{} lists no recipient", path.display()),
            "add `age1…` public keys, one a line",
        ));
    }
    Ok(recipients)
}

/// The identity genesis decrypts with (flag, variable, default file).
fn identity(common: &Common, secrets_file: &Path) -> Result<AgeIdentity, CommandError> {
    let location = IdentityLocation::find(common.age_identity.as_deref()).ok_or_else(|| {
        SecretsError::NoIdentity {
            secrets: secrets_file.to_owned(),
        }
    })?;
    Ok(AgeIdentity::load(&location, secrets_file)?)
}

/// Writes the recipients beside the encrypted file, so that `edit` keeps them.
fn write_recipients(
    encrypted: &Path,
    recipients: &[age::x25519::Recipient],
) -> Result<(), CommandError> {
    let mut text = format!(
        "# age recipients of {}: `genesis secrets edit` and `genesis secrets encrypt` encrypt \
         to these.\n# Public keys only; add one a line to give someone access.\n",
        encrypted.file_name().unwrap_or_default().to_string_lossy()
    );
    for recipient in recipients {
        text.push_str(&recipient.to_string());
        text.push('\n');
    }
    write_atomically(&recipients_file(encrypted), text.as_bytes(), 0o644)
}

/// Writes through a new file in the same directory and renames it over the target.
fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> Result<(), CommandError> {
    let failed = |source| SecretsError::Read {
        path: path.to_owned(),
        source,
    };
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut file = tempfile::Builder::new()
        .prefix(".genesis-")
        .permissions(std::fs::Permissions::from_mode(mode))
        .tempfile_in(dir)
        .map_err(failed)?;
    file.write_all(bytes).map_err(failed)?;
    file.as_file().sync_all().map_err(failed)?;
    file.persist(path).map_err(|error| failed(error.error))?;
    Ok(())
}

fn keygen(args: &KeygenArgs, common: &Common) -> Result<(), CommandError> {
    use age::secrecy::ExposeSecret;

    let path = match &args.output {
        Some(path) => path.clone(),
        None => {
            IdentityLocation::find(common.age_identity.as_deref())
                .ok_or_else(|| {
                    CommandError::usage(
                        "no place for the identity: HOME is not set",
                        "pass -o FILE",
                    )
                })?
                .path
        }
    };
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(|source| SecretsError::Read {
                path: parent.to_owned(),
                source,
            })?;
    }
    let key = age::x25519::Identity::generate();
    let public = key.to_public().to_string();
    let text = Zeroizing::new(format!(
        "# age identity for genesis; public key: {public}\n{}\n",
        key.to_string().expose_secret()
    ));
    write_private_new(&path, text.as_bytes()).map_err(|error| match error {
        CommandError::Secrets(SecretsError::Read { source, .. })
            if source.kind() == std::io::ErrorKind::AlreadyExists =>
        {
            CommandError::usage(
                format!(
                    "{} exists; genesis never overwrites an identity",
                    path.display()
                ),
                "pass -o FILE for a new one",
            )
        }
        other => other,
    })?;
    crate::errln!(
        "Wrote a new age identity to {} (mode 0600). Its public key, the recipient to encrypt \
         to:",
        path.display()
    );
    crate::outln!("{public}");
    Ok(())
}

fn edit(args: &EditArgs, common: &Common) -> Result<(), CommandError> {
    let file = match &args.file {
        Some(file) => file.clone(),
        None => {
            let chosen = choose_file(&common.secrets, Path::exists);
            if is_age_file(&chosen) {
                chosen
            } else {
                age_path(&common.secrets)
            }
        }
    };
    if !is_age_file(&file) {
        return Err(CommandError::usage(
            format!("{} is not an age file (`.age`)", file.display()),
            "edit a plaintext file with your editor; encrypt it with `genesis secrets encrypt`",
        ));
    }
    let (plaintext, identity) = secrets::decrypt_file(&file, common.age_identity.as_deref())?;
    let listed = recipients_file(&file);
    let recipients = if listed.exists() {
        read_recipients(&listed)?
    } else {
        crate::errln!(
            "note: {} does not exist; encrypting to the public key of {} only",
            listed.display(),
            identity.file().display()
        );
        identity.recipients()
    };
    let mine: Vec<String> = identity.public_keys();
    if !recipients
        .iter()
        .any(|recipient| mine.contains(&recipient.to_string()))
    {
        crate::errln!(
            "warning: your identity {} is not among the recipients in {}; you will not be able \
             to decrypt the result",
            identity.file().display(),
            listed.display()
        );
    }

    if args.rekey {
        let ciphertext = secrets::encrypt(&file, &plaintext, &recipients)?;
        write_atomically(&file, &ciphertext, 0o600)?;
        crate::errln!(
            "Encrypted {} again for {} recipient{}.",
            file.display(),
            recipients.len(),
            if recipients.len() == 1 { "" } else { "s" }
        );
        return Ok(());
    }
    let scratch = Scratch::new()?;
    let temp = scratch.dir.path().join(
        file.file_stem()
            .map_or_else(|| PathBuf::from("secrets.yaml"), PathBuf::from),
    );
    write_private_new(&temp, &plaintext)?;
    loop {
        run_editor(&temp)?;
        let edited = Zeroizing::new(std::fs::read(&temp).map_err(|source| SecretsError::Read {
            path: temp.clone(),
            source,
        })?);
        if *edited == *plaintext {
            crate::errln!("No change; {} is left as it was.", file.display());
            return Ok(());
        }
        // Errors name the encrypted file and the line, as `validate` would.
        let parsed = text_of(&file, &edited).and_then(|text| {
            Secrets::parse(&file, &text)
                .map(drop)
                .map_err(CommandError::from)
        });
        match parsed {
            Ok(()) => {
                let ciphertext = secrets::encrypt(&file, &edited, &recipients)?;
                write_atomically(&file, &ciphertext, 0o600)?;
                crate::errln!(
                    "Encrypted the edited secrets to {} for {} recipient{}.",
                    file.display(),
                    recipients.len(),
                    if recipients.len() == 1 { "" } else { "s" }
                );
                return Ok(());
            }
            Err(error) if ask_again(&error) => {}
            Err(error) => return Err(error),
        }
    }
}

/// On a terminal, offers to edit again after a parse error; elsewhere the error stands.
fn ask_again(error: &CommandError) -> bool {
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return false;
    }
    crate::errln!("error: {error}");
    crate::errout!("Edit again? [Y/n] ");
    let mut answer = String::new();
    if std::io::stdin().read_line(&mut answer).is_err() {
        return false;
    }
    !answer.trim().eq_ignore_ascii_case("n")
}

/// `$VISUAL`, else `$EDITOR`, else `vi`, split into words as a shell would (quotes and
/// backslashes, no expansion), with the file as the last argument.
pub fn editor_command(visual: Option<&str>, editor: Option<&str>) -> Option<Vec<String>> {
    let line = [visual, editor]
        .into_iter()
        .flatten()
        .find(|value| !value.trim().is_empty())
        .unwrap_or("vi");
    shlex::split(line).filter(|words| !words.is_empty())
}

fn run_editor(file: &Path) -> Result<(), CommandError> {
    let visual = std::env::var("VISUAL").ok();
    let editor = std::env::var("EDITOR").ok();
    let words = editor_command(visual.as_deref(), editor.as_deref()).ok_or_else(|| {
        CommandError::usage(
            "$VISUAL or $EDITOR is not a valid word list (an unclosed quote?)",
            "set EDITOR to a command such as `vi` or `code --wait`",
        )
    })?;
    let mut command = std::process::Command::new(&words[0]);
    command.args(&words[1..]).arg(file);
    // SAFETY: between fork and exec, only signal(2), which is async-signal-safe, restores the
    // default disposition that `IgnoreInterrupts` changed in genesis.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            libc::signal(libc::SIGQUIT, libc::SIG_DFL);
            Ok(())
        });
    }
    let ignoring = IgnoreInterrupts::new();
    let status = command.status();
    drop(ignoring);
    let status = status.map_err(|error| {
        CommandError::usage(
            format!("cannot start the editor `{}`: {error}", words[0]),
            "set VISUAL or EDITOR to an editor that is installed",
        )
    })?;
    if !status.success() {
        return Err(CommandError::usage(
            format!(
                "the editor `{}` exited with {status}; nothing was changed",
                words[0]
            ),
            "run `genesis secrets edit` again",
        ));
    }
    Ok(())
}

/// While the editor runs, Ctrl-C and Ctrl-\\ (sent to the terminal's whole foreground group)
/// are for the editor: genesis ignores them, so that it always lives to wipe the temporary
/// file. The previous dispositions come back on drop.
struct IgnoreInterrupts {
    interrupt: libc::sighandler_t,
    quit: libc::sighandler_t,
}

impl IgnoreInterrupts {
    fn new() -> Self {
        // SAFETY: signal(2) with SIG_IGN installs no handler code; the old dispositions are
        // kept to be restored.
        unsafe {
            Self {
                interrupt: libc::signal(libc::SIGINT, libc::SIG_IGN),
                quit: libc::signal(libc::SIGQUIT, libc::SIG_IGN),
            }
        }
    }
}

impl Drop for IgnoreInterrupts {
    fn drop(&mut self) {
        // SAFETY: restores the dispositions signal(2) returned in `new`.
        unsafe {
            libc::signal(libc::SIGINT, self.interrupt);
            libc::signal(libc::SIGQUIT, self.quit);
        }
    }
}

/// Creates a new file readable by its owner only.
fn write_private_new(path: &Path, bytes: &[u8]) -> Result<(), CommandError> {
    let failed = |source| SecretsError::Read {
        path: path.to_owned(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(failed)?;
    file.write_all(bytes).map_err(failed)?;
    file.sync_all().map_err(failed)?;
    Ok(())
}

/// A private (0700) temporary directory whose files are overwritten with zeros and removed
/// when it is dropped, on success, error or panic alike. Every file in it is wiped, so that
/// an editor's backup and swap files go too.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Result<Self, CommandError> {
        let dir = tempfile::Builder::new()
            .prefix("genesis-secrets-")
            .permissions(std::fs::Permissions::from_mode(0o700))
            .tempdir()
            .map_err(|source| SecretsError::Read {
                path: std::env::temp_dir(),
                source,
            })?;
        Ok(Self { dir })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        wipe_below(self.dir.path());
    }
}

/// Overwrites every regular file below `dir` with zeros, syncs and removes it.
pub fn wipe_below(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => wipe_below(&path),
            Ok(kind) if kind.is_file() => wipe_file(&path),
            _ => {}
        }
        let _ = std::fs::remove_file(&path);
    }
}

fn wipe_file(path: &Path) {
    let Ok(mut file) = std::fs::OpenOptions::new().write(true).open(path) else {
        return;
    };
    let length = file.metadata().map_or(0, |metadata| metadata.len());
    let zeros = [0_u8; 8192];
    let mut left = length;
    while left > 0 {
        let chunk = usize::try_from(left.min(zeros.len() as u64)).unwrap_or(zeros.len());
        if file.write_all(&zeros[..chunk]).is_err() {
            break;
        }
        left -= chunk as u64;
    }
    let _ = file.sync_all();
}

/// One secret name's result in `check`.
#[derive(Debug, PartialEq, Eq)]
enum Status {
    Ok,
    Missing,
    Malformed(&'static str),
}

fn check(common: &Common) -> CliResult {
    let report = inputs::check_secrets(&common.input_paths(), &common.load_options());
    let color = common.stderr_color();
    let Some(secrets) = &report.secrets else {
        crate::ui::term::write_err(report.problems.render(color).as_bytes(), false);
        return Err(CliError::reported(exit::BAD_INPUT));
    };
    // Name -> (formats wanted, steps using it).
    let mut names: BTreeMap<&str, (Vec<SecretFormat>, Vec<String>)> = BTreeMap::new();
    for use_ in &report.uses {
        let entry = names.entry(use_.name.as_str()).or_default();
        if !entry.0.contains(&use_.format) {
            entry.0.push(use_.format);
        }
        let user = format!("{} {}", use_.step, use_.param);
        if !entry.1.contains(&user) {
            entry.1.push(user);
        }
    }
    let file = secrets.file().unwrap_or(&common.secrets);
    crate::outln!(
        "{}: {} secret{} referenced by the lab and phases",
        file.display(),
        names.len(),
        if names.len() == 1 { "" } else { "s" }
    );
    let width = names
        .keys()
        .map(|name| name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    crate::outln!("  {:width$}  {:9}  USED BY", "NAME", "STATUS");
    let mut bad = 0;
    for (name, (formats, users)) in &names {
        let status = match secrets.get(name) {
            None => Status::Missing,
            Some(value) => formats
                .iter()
                .find_map(|format| format.check(value).err())
                .map_or(Status::Ok, Status::Malformed),
        };
        let (label, why) = match status {
            Status::Ok => ("OK", String::new()),
            Status::Missing => ("missing", format!(" (add it to {})", file.display())),
            Status::Malformed(reason) => (
                "malformed",
                format!(
                    " ({reason}; expected {})",
                    formats
                        .iter()
                        .map(|format| format.name())
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
            ),
        };
        if status != Status::Ok {
            bad += 1;
        }
        let shown = if users.len() > 2 {
            format!("{}, {} and {} more", users[0], users[1], users.len() - 2)
        } else {
            users.join(", ")
        };
        crate::outln!("  {name:width$}  {label:9}  {shown}{why}");
    }
    let unused: Vec<&str> = secrets
        .names()
        .filter(|name| !names.contains_key(name))
        .collect();
    if !unused.is_empty() {
        crate::outln!("  not referenced by any step: {}", unused.join(", "));
    }
    if bad == 0 && report.problems.is_empty() {
        crate::outln!(
            "All {} referenced secrets are present and well formed.",
            names.len()
        );
        return Ok(());
    }
    if bad > 0 {
        crate::outln!("{bad} of {} secrets missing or malformed.", names.len());
    }
    if !report.problems.is_empty() {
        crate::ui::term::write_err(report.problems.render(color).as_bytes(), false);
    }
    Err(CliError::reported(exit::BAD_INPUT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editor_is_visual_then_editor_then_vi_split_like_a_shell() {
        assert_eq!(
            editor_command(Some("code --wait"), Some("nano")),
            Some(vec!["code".to_owned(), "--wait".to_owned()])
        );
        assert_eq!(
            editor_command(None, Some("'/opt/my editor/bin/ed' -s")),
            Some(vec!["/opt/my editor/bin/ed".to_owned(), "-s".to_owned()])
        );
        assert_eq!(
            editor_command(Some("  "), None),
            Some(vec!["vi".to_owned()])
        );
        assert_eq!(editor_command(Some("vim 'unclosed"), None), None);
    }

    #[test]
    fn scratch_files_are_zeroed_and_removed() {
        let scratch = Scratch::new().expect("scratch dir");
        let dir = scratch.dir.path().to_owned();
        assert_eq!(
            std::fs::metadata(&dir).expect("dir").permissions().mode() & 0o777,
            0o700
        );
        let file = dir.join("secrets.yaml");
        write_private_new(&file, b"token: hunter2\n").expect("write");
        assert_eq!(
            std::fs::metadata(&file).expect("file").permissions().mode() & 0o777,
            0o600
        );
        std::fs::create_dir(dir.join("backup")).expect("mkdir");
        std::fs::write(dir.join("backup/secrets.yaml~"), b"token: hunter2\n").expect("write");
        // A second link to the file's inode shows what the wipe left in it.
        let witness = tempfile::tempdir().expect("witness dir");
        std::fs::hard_link(&file, witness.path().join("link")).expect("hard link");
        drop(scratch);
        assert!(!dir.exists());
        let left = std::fs::read(witness.path().join("link")).expect("read link");
        assert_eq!(left.len(), 15);
        assert!(left.iter().all(|byte| *byte == 0), "zeroed before removal");
    }
}
