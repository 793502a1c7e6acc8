//! Kinds that act over plain HTTP(S): `http.artifacts`.

pub mod artifacts;
