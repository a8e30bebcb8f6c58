//! (stub, to be written).
