//! The arguments of `genesis secrets encrypt|edit|check|keygen`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

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
