//! Journal tests: records, loading, torn tails, replay of states.

use super::*;
use crate::step::ErrorClass;

fn step(id: &str, phase: u32, needs: &[&str], params: serde_json::Value) -> StepSpec {
    StepSpec {
        params,
        ..StepSpec::for_test(id, phase, needs)
    }
}

fn succeeded(step: &StepSpec) -> RecordKind {
    RecordKind::StepSucceeded {
        step: step.id.clone(),
        attempts: 1,
        fingerprint: fingerprint::of(step),
        duration_ms: 5,
        outputs: Outputs::new(),
        secrets: fingerprint::secret_tags(step),
    }
}

fn sample_journal(steps: &[StepSpec]) -> Vec<u8> {
    let mut lines = Vec::new();
    let mut records = vec![RecordKind::RunStarted {
        run: "r1".into(),
        host: "h".into(),
        pid: 1,
        version: "0".into(),
        steps: steps.len(),
    }];
    for step in steps {
        records.push(RecordKind::StepAttempt {
            step: step.id.clone(),
            attempt: 1,
            fingerprint: fingerprint::of(step),
            outcome_unknown: false,
        });
        records.push(succeeded(step));
    }
    records.push(RecordKind::RunFinished {
        run: "r1".into(),
        outcome: RunOutcome::Succeeded,
    });
    for (index, kind) in records.into_iter().enumerate() {
        let record = Record {
            at: index as u64,
            kind,
        };
        lines.extend(serde_json::to_vec(&record).expect("encodes"));
        lines.push(b'\n');
    }
    lines
}

#[test]
fn a_torn_last_line_at_every_byte_is_tolerated() {
    let steps = vec![
        step("a", 2, &[], serde_json::json!({"x": "ü"})),
        step("b", 2, &["a"], serde_json::json!({})),
    ];
    let bytes = sample_journal(&steps);
    let full = parse(&bytes, Path::new("j")).expect("loads");
    assert_eq!(full.records(), 6);
    let newlines: Vec<usize> = bytes
        .iter()
        .enumerate()
        .filter_map(|(index, &byte)| (byte == b'\n').then_some(index))
        .collect();
    for cut in 0..=bytes.len() {
        let state = parse(&bytes[..cut], Path::new("j")).expect("never fails");
        let complete = newlines.iter().filter(|&&end| end < cut).count();
        // A cut right before a newline leaves a complete, unterminated record.
        let whole = newlines.contains(&cut);
        assert_eq!(
            state.records(),
            complete + usize::from(whole),
            "cut at {cut}"
        );
        assert_eq!(
            state.torn_tail(),
            cut > 0 && !whole && !newlines.contains(&(cut - 1))
        );
    }
}

#[test]
fn damage_before_the_last_line_is_reported() {
    let mut bytes = b"{not json}\n".to_vec();
    bytes.extend(sample_journal(&[step("a", 2, &[], serde_json::json!({}))]));
    let error = parse(&bytes, Path::new("j")).expect_err("corrupt");
    assert!(
        matches!(error, JournalError::Corrupt { line: 1, .. }),
        "{error}"
    );
}

#[test]
fn a_record_of_an_unknown_kind_is_refused_never_cut() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state_dir = dir.path().join("state");
    std::fs::create_dir(&state_dir).expect("mkdir");
    let mut bytes = sample_journal(&[step("a", 2, &[], serde_json::json!({}))]);
    let newer = b"{\"at\":9,\"record\":\"step_paused\",\"step\":\"a\"}";
    for terminated in [true, false] {
        let mut journal_bytes = bytes.clone();
        journal_bytes.extend_from_slice(newer);
        if terminated {
            journal_bytes.push(b'\n');
        }
        std::fs::write(state_dir.join(FILE_NAME), &journal_bytes).expect("write");
        let error = load(&state_dir).expect_err("refused");
        assert!(
            matches!(&error, JournalError::Newer { kind, line: 5, .. } if kind == "step_paused"),
            "{error}"
        );
        assert!(error.is_refusal());
        assert!(error.to_string().contains("written by a newer genesis"));
        let error = Journal::open(&state_dir, Arc::new(Scrubber::empty())).expect_err("refused");
        assert!(matches!(error, JournalError::Newer { .. }), "{error}");
        assert_eq!(
            std::fs::read(state_dir.join(FILE_NAME)).expect("read"),
            journal_bytes,
            "nothing was cut"
        );
    }
    // In the middle too.
    let mut middle = newer.to_vec();
    middle.push(b'\n');
    middle.append(&mut bytes);
    assert!(matches!(
        parse(&middle, Path::new("j")),
        Err(JournalError::Newer { line: 1, .. })
    ));
}

#[test]
fn a_terminated_damaged_last_line_is_corruption_not_a_tear() {
    let mut bytes = sample_journal(&[step("a", 2, &[], serde_json::json!({}))]);
    bytes.extend_from_slice(b"{\"at\":9,\"rec\n");
    assert!(matches!(
        parse(&bytes, Path::new("j")),
        Err(JournalError::Corrupt { line: 5, .. })
    ));
    // A known kind with a field of the wrong type is damage, not a newer version.
    let mut bytes = sample_journal(&[]);
    bytes.extend_from_slice(b"{\"at\":9,\"record\":\"step_reset\",\"step\":7}");
    assert!(matches!(
        parse(&bytes, Path::new("j")),
        Err(JournalError::Corrupt { .. })
    ));
}

#[test]
fn opening_cuts_a_torn_tail_and_appends_on_a_fresh_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state_dir = dir.path().join("state");
    let steps = vec![step("a", 2, &[], serde_json::json!({}))];
    std::fs::create_dir(&state_dir).expect("mkdir");
    let mut bytes = sample_journal(&steps);
    bytes.extend_from_slice(b"{\"at\":9,\"record\":\"step_att");
    std::fs::write(state_dir.join(FILE_NAME), &bytes).expect("write");
    let (mut journal, state) =
        Journal::open(&state_dir, Arc::new(Scrubber::empty())).expect("opens");
    assert!(state.torn_tail());
    assert_eq!(state.status_of(&steps[0]), StepState::Done);
    journal
        .append(RecordKind::StepReset {
            step: StepId::from("a"),
        })
        .expect("appends");
    let reloaded = load(&state_dir).expect("loads");
    assert!(!reloaded.torn_tail());
    assert_eq!(reloaded.status_of(&steps[0]), StepState::Pending);
}

#[test]
fn secrets_never_reach_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let scrubber = Arc::new(Scrubber::new(["s3cr3t"]));
    let (mut journal, _) = Journal::open(dir.path(), scrubber).expect("opens");
    journal
        .append(RecordKind::StepFailed {
            step: StepId::from("a"),
            attempts: 1,
            error: "token s3cr3t rejected".into(),
            class: ErrorClass::Permanent,
            duration_ms: 1,
        })
        .expect("appends");
    let text = std::fs::read_to_string(dir.path().join(FILE_NAME)).expect("reads");
    assert!(!text.contains("s3cr3t"));
    assert!(text.contains("[redacted]"));
}

//   a ──> b          (phase 2)
//   c                (phase 2, independent)
//   d                (phase 3, behind the barrier)
#[test]
fn changed_inputs_carry_downstream_and_across_the_barrier() {
    let original = vec![
        step("a", 2, &[], serde_json::json!({"v": 1})),
        step("b", 2, &["a"], serde_json::json!({})),
        step("c", 2, &[], serde_json::json!({})),
        step("d", 3, &[], serde_json::json!({})),
    ];
    let bytes = sample_journal(&original);
    let state = parse(&bytes, Path::new("j")).expect("loads");
    let graph = Graph::build(original.clone()).expect("graph");
    assert!(state.states(&graph).iter().all(|s| *s == StepState::Done));

    let mut changed = original;
    changed[0].params = serde_json::json!({"v": 2});
    let graph = Graph::build(changed).expect("graph");
    let states = state.states(&graph);
    let by_id = |id: &str| states[graph.position(&StepId::from(id)).expect("exists")].clone();
    assert_eq!(by_id("a"), StepState::ChangedInputs { upstream: None });
    assert_eq!(
        by_id("b"),
        StepState::ChangedInputs {
            upstream: Some(StepId::from("a"))
        }
    );
    assert_eq!(by_id("c"), StepState::Done);
    assert_eq!(
        by_id("d"),
        StepState::ChangedInputs {
            upstream: Some(StepId::from("a"))
        }
    );
}

#[test]
fn outcome_unknown_and_failure_are_told_apart() {
    let a = step("a", 2, &[], serde_json::json!({}));
    let mut journal = JournalState::default();
    journal.apply(Record {
        at: 1,
        kind: RecordKind::StepAttempt {
            step: a.id.clone(),
            attempt: 1,
            fingerprint: fingerprint::of(&a),
            outcome_unknown: false,
        },
    });
    assert_eq!(journal.status_of(&a), StepState::OutcomeUnknown);
    journal.apply(Record {
        at: 2,
        kind: RecordKind::StepFailed {
            step: a.id.clone(),
            attempts: 1,
            error: "boom".into(),
            class: ErrorClass::Permanent,
            duration_ms: 1,
        },
    });
    assert_eq!(journal.status_of(&a), StepState::Failed);
    journal.apply(Record {
        at: 3,
        kind: RecordKind::StepSkipped {
            step: a.id.clone(),
            reason: SkipReason::Interrupted,
        },
    });
    assert_eq!(journal.status_of(&a), StepState::Pending);
}

mod property {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        // Crash after any number of records, at any byte of the next: load never fails
        // and sees exactly the complete records.
        // Any bytes at all: the reader returns or refuses, it never panics.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(&bytes, Path::new("j"));
        }

        // Lines that look like records, with arbitrary kinds and fields.
        #[test]
        fn record_shaped_lines_never_panic(
            lines in proptest::collection::vec(
                (
                    "[a-z_]{0,16}",
                    any::<i64>(),
                    "[ -~]{0,24}",
                    any::<bool>(),
                ),
                0..8,
            ),
        ) {
            let mut bytes = Vec::new();
            for (kind, at, text, newline) in lines {
                let line = serde_json::json!({"at": at, "record": kind, "step": text, "run": text});
                bytes.extend(serde_json::to_vec(&line).expect("encodes"));
                if newline {
                    bytes.push(b'\n');
                }
            }
            let _ = parse(&bytes, Path::new("j"));
        }

        #[test]
        fn crash_anywhere_replays_the_complete_prefix(
            count in 1usize..12,
            cut_fraction in 0.0f64..1.0,
        ) {
            let steps: Vec<StepSpec> = (0..count)
                .map(|index| step(&format!("s{index}"), 2, &[], serde_json::json!({"i": index})))
                .collect();
            let bytes = sample_journal(&steps);
            let cut = ((bytes.len() as f64) * cut_fraction) as usize;
            let state = parse(&bytes[..cut], Path::new("j")).expect("never fails");
            let complete = bytes[..cut].iter().filter(|&&byte| byte == b'\n').count();
            prop_assert!(state.records() >= complete);
            prop_assert!(state.records() <= complete + 1);
            // Every step the prefix says succeeded is done with its inputs.
            for step in &steps {
                let status = state.status_of(step);
                prop_assert!(matches!(
                    status,
                    StepState::Done | StepState::Pending | StepState::OutcomeUnknown
                ));
            }
        }
    }
}

/// A rotated secret value re-plans the step that uses it and what depends on it, and the
/// state names the secret; a step without secrets keeps the fingerprint it had before secret
/// digests existed, so its old record stays done.
#[test]
fn a_changed_secret_digest_re_plans_its_step_and_names_the_secret() {
    use crate::fingerprint::SecretDigest;
    let mut a = step("a", 2, &[], serde_json::json!({"key": {"secret": "k"}}));
    a.secret_digests
        .insert("k".into(), SecretDigest::new("hmac-sha256:01"));
    let b = step("b", 2, &["a"], serde_json::json!({}));
    let c = step("c", 2, &[], serde_json::json!({"n": 1}));
    let original = vec![a.clone(), b.clone(), c.clone()];
    let bytes = sample_journal(&original);
    let state = parse(&bytes, Path::new("j")).expect("loads");
    let graph = Graph::build(original).expect("graph");
    assert!(state.states(&graph).iter().all(|s| *s == StepState::Done));
    assert!(state.changed_secrets(&a).is_empty());
    // The journal holds tags, not the digest.
    assert!(!String::from_utf8_lossy(&bytes).contains("hmac-sha256:01"));

    let mut rotated = a.clone();
    rotated
        .secret_digests
        .insert("k".into(), SecretDigest::new("hmac-sha256:02"));
    let graph = Graph::build(vec![rotated.clone(), b, c]).expect("graph");
    let states = state.states(&graph);
    let by_id = |id: &str| states[graph.position(&StepId::from(id)).expect("exists")].clone();
    assert_eq!(by_id("a"), StepState::ChangedInputs { upstream: None });
    assert_eq!(
        by_id("b"),
        StepState::ChangedInputs {
            upstream: Some(StepId::from("a"))
        }
    );
    assert_eq!(by_id("c"), StepState::Done);
    assert_eq!(state.changed_secrets(&rotated), vec!["k".to_owned()]);
    assert_eq!(
        state.describe(&rotated, &by_id("a")),
        "changed inputs (secret `k` changed)"
    );
}
