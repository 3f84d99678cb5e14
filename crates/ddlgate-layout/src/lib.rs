//! # ddlgate-layout — source layout checks, run as tests
//!
//! Reads a crate's `src/` with `syn` and answers the questions a reviewer would otherwise
//! answer by hand:
//! - [`Crate::cycles`]: do sibling modules import each other in a cycle? An edge `a → b` is
//!   any path from module `a` (or a module inside it) that reaches `b` (or inside it) through
//!   `crate::`, `super::` or `self::`, including `use` trees, and through the parent's
//!   `pub use` re-exports, and paths written in macro arguments (`matches!(x, crate::a::B)`).
//!   A child using its parent's items is not an edge.
//! - [`Crate::edges`]: the sibling imports themselves, e.g. to check a declared layer order.
//! - [`Crate::long_functions`]: which production functions are longer than a limit?
//! - [`Crate::long_files`]: which files are longer than a limit?
//!
//! Code under `#[cfg(test)]` is left out of all of them: tests may reach anywhere.

mod graph;
mod source;

pub use graph::{Cycle, Edge};
pub use source::{Crate, LongFile, LongFunction};
