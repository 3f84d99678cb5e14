//! # ddlgate-layout — source layout checks, run as tests
//!
//! Reads a crate's `src/` with `syn` and answers three questions a reviewer would otherwise
//! answer by hand:
//! - [`Crate::cycles`]: do sibling modules import each other in a cycle? An edge `a → b` is
//!   any path from module `a` (or a module inside it) that reaches `b` (or inside it) through
//!   `crate::`, `super::` or `self::`, including `use` trees, and through the parent's
//!   `pub use` re-exports. A child using its parent's items is not an edge.
//! - [`Crate::long_functions`]: which production functions are longer than a limit?
//! - [`Crate::long_files`]: which files are longer than a limit?
//!
//! Code under `#[cfg(test)]` is left out of all three: tests may reach anywhere.

mod graph;
mod source;

pub use graph::Cycle;
pub use source::{Crate, LongFile, LongFunction};
