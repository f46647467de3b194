//! Checks of a machine's rootless prerequisites (to be written).
