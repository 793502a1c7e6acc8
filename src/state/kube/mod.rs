//! Shared state in the Platform cluster: the journal in chunk Secrets, the lock in a Lease.
//!
//! Layout, in a namespace of genesis's own (`genesis-system` unless `GENESIS_STATE_NAMESPACE`
//! says otherwise), created on first write:
//!
//! - `Secret journal-0000`, `journal-0001`, …: the journal's byte stream cut into segments of at
//!   most [`CHUNK_BYTES`] (data key `records`), far below the 1 MiB object limit. Only the last
//!   chunk grows; a full chunk is never written again. A record may straddle two chunks: the
//!   journal is their concatenation in index order.
//! - `Lease genesis-lock` (`coordination.k8s.io/v1`): the lock. `holderIdentity` names host, pid
//!   and start time (the annotation `genesis.dev/holder` carries the same as JSON, with the
//!   command); the holder renews it every third of `leaseDurationSeconds`; another run takes
//!   it only once `renewTime + leaseDurationSeconds` has passed; a clean exit clears it.
//!
//! Every write is a create (new object, deterministic name) or an update that carries the
//! `resourceVersion` last seen: if another writer got there first the server answers 409 and
//! the write fails instead of overwriting. A run whose Lease was taken over therefore cannot
//! append another record (and it also stops itself when a renewal finds the Lease gone).
//!
//! kube-rs is async; the engine's journal is synchronous. [`Worker`] owns one thread with a
//! current-thread tokio runtime that holds the client and the renewal task; synchronous callers

mod backend;
mod base;
mod chunks;
mod journal;
mod lease;

pub use backend::*;
pub use base::*;
pub use journal::*;
pub use lease::*;
