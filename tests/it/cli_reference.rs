//! The command reference checked in under docs/reference/ (shell completions, man pages,
//! cli.md) is what genesis's clap definitions generate, so that it never drifts from the
//! code; and `genesis completions` / `genesis man` print exactly that.

use std::path::{Path, PathBuf};

use genesis::cli::{completions, man};

const REGEN: &str = "run `bash docs/reference/regen.sh` (it runs `genesis completions SHELL`, \
                     `genesis man --out-dir docs/reference/man` and `genesis man --markdown`) \
                     and commit docs/reference/";

fn reference() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/reference")
}

/// Compares one checked-in file with what the code generates; collects the differences.
fn compare(path: &Path, generated: &[u8], stale: &mut Vec<String>) {
    match std::fs::read(path) {
        Ok(checked_in) if checked_in == generated => {}
        Ok(checked_in) => {
            let checked_in = String::from_utf8_lossy(&checked_in);
            let generated = String::from_utf8_lossy(generated);
            let first = checked_in
                .lines()
                .zip(generated.lines())
                .position(|(a, b)| a != b)
                .unwrap_or_else(|| checked_in.lines().count().min(generated.lines().count()));
            stale.push(format!(
                "{} differs from the generated text from line {}:\n  checked in: {:?}\n  generated:  {:?}",
                path.display(),
                first + 1,
                checked_in.lines().nth(first).unwrap_or("(end of file)"),
                generated.lines().nth(first).unwrap_or("(end of file)"),
            ));
        }
        Err(error) => stale.push(format!("{} cannot be read: {error}", path.display())),
    }
}

fn verdict(stale: &[String]) {
    assert!(
        stale.is_empty(),
        "the command reference is out of date:\n{}\n\nTo update it, {REGEN}.",
        stale.join("\n")
    );
}

#[test]
fn completions_are_current() {
    let mut stale = Vec::new();
    for shell in completions::SHELLS {
        let script = completions::script(shell);
        let text = String::from_utf8_lossy(&script);
        // Generated from the real definitions: the subcommands and flags are in it.
        for word in ["plan", "unlock", "harvester-context", "completions"] {
            assert!(text.contains(word), "{shell}: `{word}` not in the script");
        }
        compare(
            &reference()
                .join("completions")
                .join(completions::file_name(shell)),
            &script,
            &mut stale,
        );
    }
    verdict(&stale);
}

#[test]
fn man_pages_are_current_one_per_command() {
    let pages = man::pages();
    let names: Vec<&str> = pages.iter().map(|(name, _)| name.as_str()).collect();
    for wanted in [
        "genesis.1",
        "genesis-up.1",
        "genesis-plan.1",
        "genesis-man.1",
    ] {
        assert!(names.contains(&wanted), "{wanted} not among {names:?}");
    }
    let mut stale = Vec::new();
    let dir = reference().join("man");
    for (name, text) in &pages {
        compare(&dir.join(name), text, &mut stale);
    }
    // A page for a command that no longer exists is stale too.
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".1") && !names.contains(&name.as_str()) {
            stale.push(format!(
                "{} is for no current command",
                entry.path().display()
            ));
        }
    }
    verdict(&stale);
}

#[test]
fn the_markdown_reference_is_current() {
    let markdown = man::markdown();
    for wanted in [
        "## Global options",
        "## Exit codes",
        "| 3 |",
        "`GENESIS_LAB`",
        "### `genesis up`",
        "`--harvester-context <CONTEXT>`",
    ] {
        assert!(markdown.contains(wanted), "`{wanted}` not in cli.md");
    }
    let mut stale = Vec::new();
    compare(&reference().join("cli.md"), markdown.as_bytes(), &mut stale);
    verdict(&stale);
}

#[test]
fn the_binary_prints_the_generated_text() {
    let run = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_genesis"))
            .args(args)
            .output()
            .expect("run genesis");
        assert!(output.status.success(), "genesis {args:?}: {output:?}");
        output.stdout
    };
    assert_eq!(
        run(&["completions", "zsh"]),
        completions::script(clap_complete::Shell::Zsh)
    );
    assert_eq!(run(&["man"]), man::pages().remove(0).1);
    assert_eq!(run(&["man", "--markdown"]), man::markdown().into_bytes());
    let dir = tempfile::tempdir().expect("temp dir");
    run(&["man", "--out-dir", dir.path().to_str().expect("utf-8")]);
    for (name, text) in man::pages() {
        assert_eq!(std::fs::read(dir.path().join(&name)).expect(&name), text);
    }
}
