//! Tests of the editor command line and the scratch-file wipe.

use std::os::unix::fs::PermissionsExt;

use super::edit::editor_command;

use super::edit::Scratch;
use super::files::write_private_new;

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
