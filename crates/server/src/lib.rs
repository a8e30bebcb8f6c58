//! The article's server.
