//! In-memory indexes built from the store, consulted before touching disk.

pub mod known;
pub mod status;
