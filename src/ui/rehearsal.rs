//! A rehearsal's run says so on every line (`genesis rehearse`, docs/rehearse.md): the marker
//! and the pace `genesis rehearse` hands the `genesis up` it runs.

/// The variable `genesis rehearse` sets for the `genesis up` it runs (docs/rehearse.md): every
/// line of that run then says it is a rehearsal. Its value is the rehearsal's pace (rehearsal
/// seconds per lab second), by which its phases' estimates were scaled: the report's projected
/// hardware clock divides by it.
pub const REHEARSAL_ENV: &str = "GENESIS_REHEARSAL";

/// The pace of this rehearsal ([`REHEARSAL_ENV`]), when this run is one and the value is a
/// positive number.
pub fn rehearsal_pace() -> Option<f64> {
    std::env::var(REHEARSAL_ENV)
        .ok()?
        .parse::<f64>()
        .ok()
        .filter(|pace| *pace > 0.0 && pace.is_finite())
}

/// Whether this run is a rehearsal's ([`REHEARSAL_ENV`] set and not empty).
pub fn is_rehearsal() -> bool {
    static REHEARSAL: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *REHEARSAL
        .get_or_init(|| std::env::var_os(REHEARSAL_ENV).is_some_and(|value| !value.is_empty()))
}

/// What starts every line of a rehearsal.
pub const REHEARSAL_MARK: &str = "rehearsal │ ";

/// `text` with every line marked as a rehearsal's when this run is one; else `text`.
pub fn mark(text: &str) -> std::borrow::Cow<'_, str> {
    if is_rehearsal() {
        mark_lines(text).into()
    } else {
        text.into()
    }
}

fn mark_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for line in text.split_inclusive('\n') {
        out.push_str(REHEARSAL_MARK);
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rehearsal_marks_every_line() {
        assert_eq!(
            mark_lines("one\ntwo\n"),
            format!("{REHEARSAL_MARK}one\n{REHEARSAL_MARK}two\n")
        );
        assert_eq!(mark_lines("one"), format!("{REHEARSAL_MARK}one"));
    }
}
