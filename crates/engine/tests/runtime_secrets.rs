//! Values registered at run time are scrubbed by every scrubber of the process, including
//! those made before. (Its own test binary: the registry is process-wide.)

use genesis_engine::{Scrubber, redact::REDACTED, register_runtime_secrets};

#[test]
fn values_registered_at_run_time_are_scrubbed_by_existing_scrubbers() {
    let scrubber = Scrubber::new(["hunter2"]);
    let clone = scrubber.clone();
    assert_eq!(
        scrubber.scrub("key MIIEfresh-run-time"),
        "key MIIEfresh-run-time"
    );
    assert!(Scrubber::empty().is_empty());
    register_runtime_secrets(["MIIEfresh-run-time", ""]);
    assert!(!Scrubber::empty().is_empty());
    assert_eq!(scrubber.scrub("key MIIEfresh-run-time"), "key [redacted]");
    assert_eq!(
        clone.scrub("hunter2 MIIEfresh-run-time"),
        "[redacted] [redacted]"
    );
    let mut value = serde_json::json!({"k": "MIIEfresh-run-time"});
    Scrubber::empty().scrub_json(&mut value);
    assert_eq!(value, serde_json::json!({"k": REDACTED}));
}
