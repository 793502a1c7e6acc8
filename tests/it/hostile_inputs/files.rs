//! Hostile-input cases: empty and comment-only files, overflowing durations, unsafe input files.

use super::*;

pub(super) fn cases() -> Vec<Case> {
    vec![
        // ---- Panics: empty and comment-only files (snippets sliced past the end).
        Case {
            name: "empty lab file",
            setup: write(LAB, ""),
            args: VALIDATE,
            code: 2,
            expect: &[
                "hardware/lab.yaml: the file is empty (nothing but blank lines and comments)",
            ],
        },
        Case {
            name: "comment-only lab file",
            setup: write(LAB, "# nothing here yet\n"),
            args: VALIDATE,
            code: 2,
            expect: &[
                "hardware/lab.yaml: the file is empty (nothing but blank lines and comments)",
            ],
        },
        Case {
            name: "whitespace-only lab file",
            setup: write(LAB, "\n\n   \n"),
            args: VALIDATE,
            code: 2,
            expect: &[
                "hardware/lab.yaml: the file is empty (nothing but blank lines and comments)",
            ],
        },
        Case {
            name: "document marker only",
            setup: write(LAB, "---\n"),
            args: VALIDATE,
            code: 2,
            expect: &["hardware/lab.yaml"],
        },
        Case {
            name: "lab file is a list",
            setup: write(LAB, "[]\n"),
            args: VALIDATE,
            code: 2,
            expect: &["hardware/lab.yaml"],
        },
        Case {
            name: "lab file is a scalar",
            setup: write(LAB, "schema"),
            args: VALIDATE,
            code: 2,
            expect: &["hardware/lab.yaml"],
        },
        Case {
            name: "empty phase file",
            setup: write(PHASE2, ""),
            args: VALIDATE,
            code: 2,
            expect: &[
                "phases/phase-2.yaml: the file is empty (nothing but blank lines and comments)",
            ],
        },
        Case {
            name: "comment-only phase file",
            setup: write(PHASE3, "# to do\n# later\n"),
            args: VALIDATE,
            code: 2,
            expect: &[
                "phases/phase-3.yaml: the file is empty (nothing but blank lines and comments)",
            ],
        },
        Case {
            name: "comment-only phase file in plan",
            setup: write(PHASE4, "#\n"),
            args: PLAN,
            code: 2,
            expect: &[
                "phases/phase-4.yaml: the file is empty (nothing but blank lines and comments)",
            ],
        },
        Case {
            name: "error on the last line without a newline",
            setup: write(LAB, "schema: 1\nname: x\nnetworks: {"),
            args: VALIDATE,
            code: 2,
            expect: &["hardware/lab.yaml"],
        },
        // ---- Panics: durations that overflow the clock.
        Case {
            name: "step timeout u64::MAX seconds",
            setup: replace(
                PHASE3,
                "    timeout: 30m\n",
                "    timeout: 18446744073709551615s\n",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "phases/phase-3.yaml:",
                "steps[6].timeout: `18446744073709551615s` is longer than the maximum of 7days",
            ],
        },
        Case {
            name: "step timeout u64::MAX seconds in plan",
            setup: replace(
                PHASE3,
                "    timeout: 30m\n",
                "    timeout: 18446744073709551615s\n",
            ),
            args: PLAN,
            code: 2,
            expect: &["steps[6].timeout: `18446744073709551615s` is longer than the maximum"],
        },
        Case {
            name: "step timeout of eight days",
            setup: replace(PHASE3, "    timeout: 30m\n", "    timeout: 8d\n"),
            args: VALIDATE,
            code: 2,
            expect: &["steps[6].timeout: `8d` is longer than the maximum of 7days"],
        },
        Case {
            name: "step timeout beyond what humantime counts",
            setup: replace(
                PHASE3,
                "    timeout: 30m\n",
                "    timeout: 99999999999999999999999h\n",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["steps[6].timeout: `99999999999999999999999h` is not a duration"],
        },
        Case {
            name: "negative timeout",
            setup: replace(PHASE3, "    timeout: 30m\n", "    timeout: -5s\n"),
            args: VALIDATE,
            code: 2,
            expect: &["steps[6].timeout: `-5s` is not a duration"],
        },
        Case {
            name: "estimate longer than the step's timeout",
            setup: replace(PHASE3, "    estimate: 12m\n", "    estimate: 31m\n"),
            args: VALIDATE,
            code: 2,
            expect: &[
                "steps[6].estimate: the estimate `31m` is longer than the step's timeout `30m`",
            ],
        },
        Case {
            name: "estimate that is not a duration",
            setup: replace(PHASE3, "    estimate: 12m\n", "    estimate: soon\n"),
            args: VALIDATE,
            code: 2,
            expect: &["steps[6].estimate: `soon` is not a duration"],
        },
        Case {
            name: "retry backoff of two hours",
            setup: replace(
                PHASE3,
                "retry: {attempts: 2, backoff: 30s, max_backoff: 2m}\n\n  - id: harvester-api",
                "retry: {attempts: 2, backoff: 2h, max_backoff: 2m}\n\n  - id: harvester-api",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["steps[3].retry.backoff: `2h` is longer than the maximum of 1h"],
        },
        Case {
            name: "retry max_backoff u64::MAX seconds",
            setup: replace(
                PHASE3,
                "retry: {attempts: 2, backoff: 30s, max_backoff: 2m}\n\n  - id: harvester-api",
                "retry: {attempts: 2, backoff: 30s, max_backoff: 18446744073709551615s}\n\n  - id: harvester-api",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "steps[3].retry.max_backoff: `18446744073709551615s` is longer than the maximum of 1h",
            ],
        },
        Case {
            name: "retry attempts u32::MAX",
            setup: replace(
                PHASE3,
                "retry: {attempts: 2, backoff: 30s, max_backoff: 2m}\n\n  - id: harvester-api",
                "retry: {attempts: 4294967295, backoff: 30s, max_backoff: 2m}\n\n  - id: harvester-api",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "steps[3].retry.attempts: 4294967295 attempts is more than the maximum of 100",
            ],
        },
        Case {
            name: "retry attempts beyond u32",
            setup: replace(
                PHASE3,
                "retry: {attempts: 2, backoff: 30s, max_backoff: 2m}\n\n  - id: harvester-api",
                "retry: {attempts: 4294967296, backoff: 30s, max_backoff: 2m}\n\n  - id: harvester-api",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["phases/phase-3.yaml:"],
        },
    ]
}
