//! `genesis secrets check`: every referenced secret present and well formed, by name only.

use crate::cli::common::Common;
use crate::cli::error::{CliError, CliResult, exit};
use crate::inputs;
use crate::inputs::secret_values::{self, SecretStatus};

pub(crate) fn check(common: &Common) -> CliResult {
    let report = inputs::check_secrets(&common.input_paths(), &common.load_options());
    let color = common.stderr_color();
    let Some(secrets) = &report.secrets else {
        crate::ui::term::write_err(report.problems.render(color).as_bytes(), false);
        return Err(CliError::reported(exit::BAD_INPUT));
    };
    // The same verdicts `genesis validate` reports as diagnostics.
    let verdicts = secret_values::judge(secrets, &report.uses);
    let file = secrets.file().unwrap_or(&common.secrets);
    crate::outln!(
        "{}: {} secret{} referenced by the lab and phases",
        file.display(),
        verdicts.len(),
        if verdicts.len() == 1 { "" } else { "s" }
    );
    let width = verdicts
        .iter()
        .map(|verdict| verdict.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    crate::outln!("  {:width$}  {:9}  USED BY", "NAME", "STATUS");
    let mut bad = 0;
    for verdict in &verdicts {
        let (label, why) = match verdict.status {
            SecretStatus::Ok => ("OK", String::new()),
            SecretStatus::Missing => ("missing", format!(" (add it to {})", file.display())),
            SecretStatus::Malformed { reason, .. } => {
                let at = match secrets.position(&verdict.name) {
                    (0, _) => String::new(),
                    (line, _) => format!(" at {}:{line}", file.display()),
                };
                (
                    "malformed",
                    format!(
                        " ({reason}; expected {}){at}",
                        verdict
                            .formats
                            .iter()
                            .map(|format| format.name())
                            .collect::<Vec<_>>()
                            .join(" and ")
                    ),
                )
            }
        };
        if verdict.status != SecretStatus::Ok {
            bad += 1;
        }
        let users = &verdict.users;
        let shown = if users.len() > 2 {
            format!("{}, {} and {} more", users[0], users[1], users.len() - 2)
        } else {
            users.join(", ")
        };
        crate::outln!("  {:width$}  {label:9}  {shown}{why}", verdict.name);
    }
    let names: std::collections::BTreeSet<&str> = verdicts
        .iter()
        .map(|verdict| verdict.name.as_str())
        .collect();
    let unused: Vec<&str> = secrets
        .names()
        .filter(|name| !names.contains(name))
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
