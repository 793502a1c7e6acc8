//! The generic engine of genesis.
//!
//! It runs a DAG of steps grouped in phases. It knows nothing of Kubernetes, SSH, HTTP or the
//! terminal: actions are registered by kind, and progress leaves as a stream of events.

pub mod action;
pub mod critical;
pub mod driver;
pub mod events;
pub mod fingerprint;
pub mod graph;
pub mod journal;
pub mod lock;
pub mod options;
pub mod plan;
pub mod record;
pub mod redact;
pub mod registry;
pub mod report;
pub mod run;
pub mod scheduler;
pub mod select;
pub mod state_dir;
pub mod step;
pub mod storage;

#[cfg(test)]
mod scheduler_tests;
#[cfg(test)]
mod scheduler_tests_control;

pub use action::{
    Action, ActionError, BoxFuture, Checked, ErrorClass, ErrorKind, Outputs, PlanContext,
    PlanOutcome, Planned, Ran, RunContext, error_chain,
};
pub use critical::Schedule;
pub use events::{Event, EventSender, SkipReason, Stats};
pub use graph::{Graph, GraphError, find_cycles};
pub use journal::{Journal, JournalError, JournalState, StepState};
pub use options::RunOptions;
pub use redact::{Scrubber, register_runtime_secrets};
pub use registry::Registry;
pub use report::{Report, RunOutcome, StepResult};
pub use run::{EngineError, RunSummary, run};
pub use select::{SelectError, Selection};
pub use step::{RetryPolicy, StepId, StepSpec};
pub use storage::{
    HeldLock, JournalStore, LocalState, LockGuard, LockLoss, LockStatus, StateBackend,
};
