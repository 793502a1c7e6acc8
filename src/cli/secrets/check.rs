//! `genesis secrets check`: every referenced secret present and well formed, by name only.

use std::collections::BTreeMap;

use crate::cli::common::Common;
use crate::cli::error::{CliError, CliResult, exit};
use crate::inputs;
use crate::secrets::SecretFormat;

/// One secret name's result in `check`.
#[derive(Debug, PartialEq, Eq)]
enum Status {
    Ok,
    Missing,
    Malformed(&'static str),
}

pub(crate) fn check(common: &Common) -> CliResult {
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
