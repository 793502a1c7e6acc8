//! Input errors that point at a file, a line and a field, and say what to do.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};

/// One problem in the operator's input.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// 1-based; 0 when the problem concerns the whole file.
    pub line: u64,
    pub column: u64,
    /// Dotted path of the field, e.g. `machines[1].pxe_mac`.
    pub field: String,
    pub message: String,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(
        file: &Path,
        (line, column): (u64, u64),
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            file: file.to_owned(),
            line,
            column,
            field: field.into(),
            message: message.into(),
            help: None,
        }
    }

    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// `file:line:column`, or just the file for whole-file problems.
    pub fn position(&self) -> String {
        if self.line == 0 {
            self.file.display().to_string()
        } else {
            format!("{}:{}:{}", self.file.display(), self.line, self.column)
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.position())?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)
    }
}

/// Every problem found in one load, in file order.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics {
    pub items: Vec<Diagnostic>,
    /// Source texts by file, for snippets. Never holds the secrets file.
    sources: Vec<(PathBuf, Arc<String>)>,
}

impl Diagnostics {
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
        for (path, text) in other.sources {
            self.add_source(&path, text);
        }
    }

    /// Registers a file's text so that its diagnostics can show the offending line.
    pub fn add_source(&mut self, path: &Path, text: Arc<String>) {
        if !self.sources.iter().any(|(known, _)| known == path) {
            self.sources.push((path.to_owned(), text));
        }
    }

    pub fn sort(&mut self) {
        self.items.sort_by(|a, b| {
            (&a.file, a.line, a.column, &a.field).cmp(&(&b.file, b.line, b.column, &b.field))
        });
        self.items.dedup_by(|a, b| a.to_string() == b.to_string());
    }

    /// Renders every diagnostic: a one-line summary (stable, greppable) followed by the source
    /// line with a marker and the help text.
    pub fn render(&self, color: bool) -> String {
        let theme = if color {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        let handler = GraphicalReportHandler::new_themed(theme)
            .with_links(false)
            .with_width(400)
            .with_context_lines(1);
        let mut out = String::new();
        for item in &self.items {
            let report = Snippet::new(item, self.source_of(&item.file));
            let mut rendered = String::new();
            if handler.render_report(&mut rendered, &report).is_err() {
                rendered = format!("  × {item}\n");
            }
            out.push_str(&rendered);
        }
        let count = self.items.len();
        out.push_str(&format!(
            "{count} problem{} in the input; nothing was changed.\n",
            if count == 1 { "" } else { "s" }
        ));
        out
    }

    /// The text registered for `path` by [`Diagnostics::add_source`].
    pub fn source_of(&self, path: &Path) -> Option<Arc<String>> {
        self.sources
            .iter()
            .find(|(known, _)| known == path)
            .map(|(_, text)| text.clone())
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for item in &self.items {
            writeln!(f, "{item}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// A diagnostic prepared for miette's renderer.
#[derive(Debug)]
struct Snippet {
    summary: String,
    help: Option<String>,
    source: Option<NamedSource<String>>,
    span: Option<SourceSpan>,
}

impl Snippet {
    fn new(item: &Diagnostic, text: Option<Arc<String>>) -> Self {
        let located = text.filter(|_| item.line > 0).and_then(|text| {
            let (offset, length) = span_at(&text, item.line, item.column)?;
            Some((
                NamedSource::new(item.file.display().to_string(), text.as_str().to_owned()),
                SourceSpan::new(offset.into(), length),
            ))
        });
        let (source, span) = match located {
            Some((source, span)) => (Some(source), Some(span)),
            None => (None, None),
        };
        Self {
            summary: item.to_string(),
            help: item.help.clone(),
            source,
            span,
        }
    }
}

impl fmt::Display for Snippet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary)
    }
}

impl std::error::Error for Snippet {}

impl miette::Diagnostic for Snippet {
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source
            .as_ref()
            .map(|source| source as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.span.map(|span| {
            Box::new(std::iter::once(LabeledSpan::new_with_span(None, span)))
                as Box<dyn Iterator<Item = LabeledSpan>>
        })
    }
}

/// The span to mark for a 1-based (line, column) position: from there to the end of the value
/// on that line (before a comment), at least one character. `None` when the position is not
/// inside the text (an empty file, a position past the end, a line that does not exist): the
/// diagnostic is then shown without a snippet.
fn span_at(text: &str, line: u64, column: u64) -> Option<(usize, usize)> {
    let offset = byte_offset(text, line, column)?;
    let rest = text.get(offset..)?;
    let to_end = rest.find(['\n', '#']).unwrap_or(rest.len());
    let value = rest.get(..to_end)?.trim_end();
    let length = if value.is_empty() {
        // A position at a line's end or on a comment: mark the one character there, if any.
        rest.chars().next().map_or(0, char::len_utf8)
    } else {
        value.len()
    };
    (length > 0).then_some((offset, length))
}

/// Byte offset of a 1-based (line, character column) position; `None` past the text's end.
fn byte_offset(text: &str, line: u64, column: u64) -> Option<usize> {
    let line_index = usize::try_from(line.checked_sub(1)?).ok()?;
    let mut lines = text.split_inclusive('\n');
    let mut start = 0usize;
    for _ in 0..line_index {
        start += lines.next()?.len();
    }
    let line_text = text.get(start..)?.split('\n').next()?;
    let column_index = usize::try_from(column.saturating_sub(1)).ok()?;
    let within = line_text
        .char_indices()
        .nth(column_index)
        .map_or(line_text.len(), |(at, _)| at);
    Some(start + within)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_summary_snippet_and_help() {
        let text = Arc::new("a: 1\nmachines:\n  - ip: 10.0.0.1\n".to_owned());
        let mut diagnostics = Diagnostics::default();
        diagnostics.add_source(Path::new("lab.yaml"), text);
        diagnostics.push(
            Diagnostic::new(Path::new("lab.yaml"), (3, 11), "machines[0].ip", "outside")
                .help("fix it"),
        );
        let rendered = diagnostics.render(false);
        assert!(
            rendered.contains("lab.yaml:3:11: machines[0].ip: outside"),
            "{rendered}"
        );
        assert!(rendered.contains("- ip: 10.0.0.1"), "{rendered}");
        assert!(rendered.contains("fix it"), "{rendered}");
        assert!(rendered.contains("1 problem in the input"), "{rendered}");
    }

    #[test]
    fn positions_outside_the_text_render_without_a_snippet() {
        for text in ["", "# only a comment\n", "a: 1", "a: 1\n\n", "é"] {
            let text = Arc::new(text.to_owned());
            for (line, column) in [(1, 1), (1, 40), (2, 1), (3, 7), (u64::MAX, u64::MAX)] {
                let mut diagnostics = Diagnostics::default();
                diagnostics.add_source(Path::new("lab.yaml"), text.clone());
                diagnostics.push(Diagnostic::new(
                    Path::new("lab.yaml"),
                    (line, column),
                    "",
                    "broken",
                ));
                let rendered = diagnostics.render(false);
                assert!(
                    rendered.contains("broken"),
                    "{text:?} {line}:{column}: {rendered}"
                );
            }
        }
        assert_eq!(span_at("", 1, 1), None);
        assert_eq!(span_at("a: 1\n", 2, 1), None);
        assert_eq!(span_at("a: 1 # c\n", 1, 4), Some((3, 1)));
    }

    #[test]
    fn byte_offsets_count_characters() {
        assert_eq!(byte_offset("ab\ncd", 2, 2), Some(4));
        assert_eq!(byte_offset("é: x", 1, 4), Some(4));
    }
}
