//! Customer-database mining. Architecture invariant: this crate does no IO.
