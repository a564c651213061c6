//! Writers: the canonical model out to other formats (folded stacks, pprof, speedscope), for
//! `joule profile convert` and for flame graphs.

pub mod folded;
pub mod pprof;
pub mod speedscope;
