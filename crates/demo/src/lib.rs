//! Deterministic demo dealer-group generator.
