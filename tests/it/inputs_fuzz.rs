//! Property tests of the lab and phase parsers: arbitrary bytes, and structure-aware mutations
//! of the reference files, go through the whole load (parse, checks, expansion) and the
//! rendering of its diagnostics; none may panic. Bounded (24 cases per target;
//! `PROPTEST_CASES` raises it) so that they run in every `cargo test`.

use std::path::PathBuf;

use genesis::inputs::{InputPaths, load};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A copy of the reference inputs whose lab or phase-3 file a case overwrites.
struct World {
    dir: tempfile::TempDir,
    lab: String,
    phase: String,
}

impl World {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let phases = dir.path().join("phases");
        std::fs::create_dir_all(phases.join("templates")).expect("dirs");
        for name in ["phase-2.yaml", "phase-3.yaml", "phase-4.yaml"] {
            std::fs::copy(repo().join("phases").join(name), phases.join(name)).expect("copy");
        }
        std::fs::copy(
            repo().join("phases/templates/harvester-install.yaml"),
            phases.join("templates/harvester-install.yaml"),
        )
        .expect("copy template");
        std::fs::copy(
            repo().join("secrets.example"),
            dir.path().join("secrets.yaml"),
        )
        .expect("copy secrets");
        std::fs::set_permissions(
            dir.path().join("secrets.yaml"),
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .expect("chmod");
        let lab = std::fs::read_to_string(repo().join("hardware/lab.yaml")).expect("lab");
        let phase = std::fs::read_to_string(repo().join("phases/phase-3.yaml")).expect("phase");
        std::fs::write(dir.path().join("lab.yaml"), &lab).expect("write lab");
        Self { dir, lab, phase }
    }

    fn paths(&self) -> InputPaths {
        InputPaths {
            lab: self.dir.path().join("lab.yaml"),
            phases: self.dir.path().join("phases"),
            secrets: self.dir.path().join("secrets.yaml"),
        }
    }

    /// Loads with `lab` and `phase` as the lab and phase-3 files; renders any diagnostics.
    fn load(&self, lab: &[u8], phase: &[u8]) {
        let paths = self.paths();
        std::fs::write(&paths.lab, lab).expect("write lab");
        std::fs::write(paths.phases.join("phase-3.yaml"), phase).expect("write phase");
        if let Err(diagnostics) = load(&paths) {
            let rendered = diagnostics.render(false);
            assert!(rendered.contains("in the input; nothing was changed"));
            for item in &diagnostics.items {
                // Every diagnostic names a file of the inputs.
                assert!(item.file.starts_with(self.dir.path()), "{item}");
            }
        }
    }
}

fn config() -> Config {
    // A few seconds in every `cargo test`; PROPTEST_CASES=10000 for a longer hunt.
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(24);
    Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
        ..Config::default()
    }
}

/// One edit of a text: what structure-aware mutations do to a YAML file.
#[derive(Debug, Clone)]
enum Edit {
    /// Cut the text at a byte (an empty file, a file ending mid-line).
    Truncate(usize),
    /// Delete a line.
    DeleteLine(usize),
    /// Duplicate a line.
    DuplicateLine(usize),
    /// Replace the value after the first `:` of a line with a hostile one.
    ReplaceValue(usize, &'static str),
    /// Insert a hostile line.
    InsertLine(usize, &'static str),
    /// Change a line's indentation.
    Indent(usize, usize),
}

const VALUES: &[&str] = &[
    "",
    "~",
    "0",
    "-1",
    "18446744073709551615",
    "18446744073709551616s",
    "99999999999999999999Gi",
    "\"\"",
    "[]",
    "{}",
    "[1, 2]",
    "{secret: x}",
    "{file: ../secrets.yaml}",
    "{file: /dev/zero}",
    "${lab}",
    "${lab.machines.99.ip}",
    "${",
    "$${x}",
    "\"\\e[31m\"",
    "\"a\\nb\"",
    "Tink_System",
    "/dev/../etc/passwd",
    "00:00:00:00:00:00",
    "ff-ff-ff-ff-ff-ff",
    "10.10.10.0",
    "10.10.10.255",
    "*anchor",
    "&anchor x",
    "!!binary aGk=",
    "é\u{200b}",
    "'unterminated",
    "\"unterminated",
    ": :",
    "- - -",
    "#",
];

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        any::<usize>().prop_map(Edit::Truncate),
        any::<usize>().prop_map(Edit::DeleteLine),
        any::<usize>().prop_map(Edit::DuplicateLine),
        (any::<usize>(), proptest::sample::select(VALUES))
            .prop_map(|(l, v)| Edit::ReplaceValue(l, v)),
        (any::<usize>(), proptest::sample::select(VALUES))
            .prop_map(|(l, v)| Edit::InsertLine(l, v)),
        (any::<usize>(), 0usize..12).prop_map(|(l, n)| Edit::Indent(l, n)),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut truncate = None;
    for edit in edits {
        let count = lines.len().max(1);
        match edit {
            Edit::Truncate(at) => truncate = Some(*at),
            Edit::DeleteLine(line) => {
                if !lines.is_empty() {
                    lines.remove(line % count);
                }
            }
            Edit::DuplicateLine(line) => {
                if let Some(copy) = lines.get(line % count).cloned() {
                    lines.insert(line % count, copy);
                }
            }
            Edit::ReplaceValue(line, value) => {
                if let Some(target) = lines.get_mut(line % count)
                    && let Some(colon) = target.find(':')
                {
                    target.truncate(colon + 1);
                    target.push(' ');
                    target.push_str(value);
                }
            }
            Edit::InsertLine(line, value) => {
                lines.insert(line % (lines.len() + 1), (*value).to_owned())
            }
            Edit::Indent(line, spaces) => {
                if let Some(target) = lines.get_mut(line % count) {
                    *target = format!("{}{}", " ".repeat(*spaces), target.trim_start());
                }
            }
        }
    }
    let mut out = lines.join("\n");
    if let Some(at) = truncate {
        let mut cut = at % (out.len() + 1);
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    out
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_as_the_lab_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let world = World::new();
        world.load(&bytes, world.phase.clone().as_bytes());
    }

    #[test]
    fn arbitrary_bytes_as_a_phase_file_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let world = World::new();
        world.load(world.lab.clone().as_bytes(), &bytes);
    }

    #[test]
    fn arbitrary_text_as_the_lab_never_panics(text in "[ -~\\n\\t:#\\-\\[\\]{}]{0,300}") {
        let world = World::new();
        world.load(text.as_bytes(), world.phase.clone().as_bytes());
    }

    #[test]
    fn mutated_reference_labs_never_panic(edits in proptest::collection::vec(edit(), 1..6)) {
        let world = World::new();
        let lab = apply(&world.lab, &edits);
        world.load(lab.as_bytes(), world.phase.clone().as_bytes());
    }

    #[test]
    fn mutated_reference_phases_never_panic(edits in proptest::collection::vec(edit(), 1..6)) {
        let world = World::new();
        let phase = apply(&world.phase, &edits);
        world.load(world.lab.clone().as_bytes(), phase.as_bytes());
    }
}

#[test]
fn the_unmutated_reference_loads() {
    let world = World::new();
    let paths = world.paths();
    std::fs::write(&paths.lab, &world.lab).expect("write");
    if let Err(diagnostics) = load(&paths) {
        panic!("{}", diagnostics.render(false));
    }
}
