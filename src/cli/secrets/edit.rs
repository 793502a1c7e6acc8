//! `genesis secrets edit`: decrypt into a private scratch file, run the editor, check, encrypt
//! again to the same recipients, wipe the scratch file.

use std::io::{IsTerminal, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::cli::common::Common;
use crate::inputs::secret_values;
use crate::secrets::{
    self, Secrets, SecretsError, age_path, choose_file, is_age_file, recipients_file,
};

use super::args::EditArgs;
use super::encrypt::read_recipients;
use super::error::CommandError;

use super::files::{text_of, write_atomically, write_private_new};

pub(crate) fn edit(args: &EditArgs, common: &Common) -> Result<(), CommandError> {
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
                warn_about_values(&file, common);
                return Ok(());
            }
            Err(error) if ask_again(&error) => {}
            Err(error) => return Err(error),
        }
    }
}

/// After saving: the check of the values `genesis validate` runs (src/inputs/secret_values.rs),
/// as warnings, since the file is saved and the operator may be half-way through a change.
fn warn_about_values(file: &Path, common: &Common) {
    let mut paths = common.input_paths();
    paths.secrets = file.to_owned();
    let report = crate::inputs::check_secrets(&paths, &common.load_options());
    let Some(secrets) = &report.secrets else {
        return;
    };
    let verdicts = secret_values::judge(secrets, &report.uses);
    let problems = secret_values::problems(secrets, &verdicts, file);
    let missing: Vec<&str> = verdicts
        .iter()
        .filter(|verdict| verdict.status == secret_values::SecretStatus::Missing)
        .map(|verdict| verdict.name.as_str())
        .collect();
    for (_, problem) in &problems {
        crate::errln!("warning: {problem}");
    }
    if !missing.is_empty() {
        crate::errln!(
            "warning: {}: referenced by the phases but absent: {}",
            file.display(),
            missing.join(", ")
        );
    }
    if !problems.is_empty() || !missing.is_empty() {
        crate::errln!(
            "warning: `genesis validate` and `genesis up` refuse these secrets until they are fixed (`genesis secrets edit` again)"
        );
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
    pub(crate) fn new() -> Self {
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

/// A private (0700) temporary directory whose files are overwritten with zeros and removed
/// when it is dropped, on success, error or panic alike. Every file in it is wiped, so that
/// an editor's backup and swap files go too.
pub(crate) struct Scratch {
    pub(crate) dir: tempfile::TempDir,
}

impl Scratch {
    pub(crate) fn new() -> Result<Self, CommandError> {
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
