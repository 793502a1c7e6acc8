//! The generic engine of genesis.
//!
//! It runs a DAG of steps grouped in phases. It knows nothing of Kubernetes, SSH, HTTP or the
//! terminal: actions are registered by kind, and progress leaves as a stream of events.

pub mod graph;
pub mod step;

pub use graph::{Graph, GraphError, find_cycles};
pub use step::{RetryPolicy, StepId, StepSpec};
