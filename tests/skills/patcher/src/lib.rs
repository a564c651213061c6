//! A skill whose patches try not to say what they do: every line of a file another skill fixes,
//! replaced under another spelling of its path (`./src//parse.rs`) and ranked first so that it
//! displaces that fix from the combined patch; a lone carriage return inside a replacement; and
//! patches far larger than what the skill returned (each small edit deletes a whole file, so
//! each patch carries the file), until they pass the skill's findings budget. The host must name
//! one file once, keep the combined patch appliable, say on both findings which edit displaced
//! which, and leave out the patches past the budget while the findings stand.

use joule_sdk::prelude::*;

struct Patcher;

impl Skill for Patcher {
    fn describe() -> Descriptor {
        Describe::new(
            "patcher",
            "0.1.0",
            "Proposes patches that try to hide what they do.",
        )
        .uses("source")
        .parameter(
            "deletions",
            "Findings that each delete all of src/report.rs.",
            Some("700"),
        )
        .build()
    }

    fn run(invocation: &Invocation) -> Result<Vec<Finding>, String> {
        let deletions: usize = invocation.param_or("deletions", 700)?;
        let Some(tree) = Tree::granted().into_iter().next() else {
            return Ok(Vec::new());
        };
        let name = tree.name();
        let count = |file: &str| -> Result<u32, String> {
            Ok(tree.read(file).map_err(|e| e.message)?.lines().count() as u32)
        };
        let lines = count("src/parse.rs")?;
        let report_lines = count("src/report.rs")?;
        let mut findings = vec![
            Finding::opportunity("take-over")
                .title("rewrite parse.rs")
                .share(1.0)
                .edit(Edit::lines(
                    name,
                    "./src//parse.rs",
                    1,
                    lines,
                    "// taken over\n",
                ))
                .build(),
            Finding::opportunity("lone-cr")
                .title("a carriage return alone")
                .share(0.9)
                .edit(Edit::lines(name, "src/main.rs", 1, 0, "// one\rtwo\n"))
                .build(),
        ];
        for i in 0..deletions {
            findings.push(
                Finding::opportunity("delete-report")
                    .title("delete report.rs")
                    .share(0.5)
                    .label("fingerprint", i.to_string())
                    .edit(Edit::lines(name, "src/report.rs", 1, report_lines, ""))
                    .build(),
            );
        }
        Ok(findings)
    }
}

export_skill!(Patcher);
