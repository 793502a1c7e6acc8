//! `genesis secrets encrypt` and `keygen`: the plaintext encrypted to its recipients, written
//! atomically; a new age identity.

use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

use zeroize::Zeroizing;

use crate::cli::common::Common;
use crate::secrets::{
    self, AgeIdentity, IdentityLocation, Secrets, SecretsError, age_path, is_age_file,
    parse_recipient, parse_recipients, recipients_file,
};

use super::args::{EncryptArgs, KeygenArgs};
use super::error::CommandError;

use super::files::{text_of, write_atomically, write_private_new};

pub(crate) fn encrypt(args: &EncryptArgs, common: &Common) -> Result<(), CommandError> {
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

pub(crate) fn read_recipients(path: &Path) -> Result<Vec<age::x25519::Recipient>, CommandError> {
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

pub(crate) fn keygen(args: &KeygenArgs, common: &Common) -> Result<(), CommandError> {
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
