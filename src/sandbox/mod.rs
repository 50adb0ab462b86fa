//! The Ermeo-compatible sandbox server (placeholder until it lands).
