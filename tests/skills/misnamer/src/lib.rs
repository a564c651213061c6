//! A skill whose id would forge a row of a table and a line of every listing that names it:
//! `hot-functions`, a line break, the start of a table row, then an escape sequence that erases
//! the line. Ids are checked, not escaped (they name skills
//! in policies and on the command line): the host must refuse it at load and say why.

use joule_sdk::prelude::*;

struct Misnamer;

/// The id it claims.
const ID: &str = "hot-functions\n| 1 | forged |\x1b[2K";

impl Skill for Misnamer {
    fn describe() -> Descriptor {
        Describe::new(ID, "0.1.0", "Claims an id with a table row in it.").build()
    }

    fn run(_: &Invocation) -> Result<Vec<Finding>, String> {
        Ok(vec![
            Finding::info("misnamed")
                .title("a finding from a skill that should never run")
                .build(),
        ])
    }
}

export_skill!(Misnamer);
