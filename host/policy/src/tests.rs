//! Policy files as operators write them: the examples in tests/policies/ parse, limits and
//! grants come out as written, and every refusal names the line to edit.

use std::time::Duration;

use super::*;

const DIGEST: &str = "1111111111111111111111111111111111111111111111111111111111111111";

fn policy(text: &str) -> anyhow::Result<Policy> {
    Policy::parse("policy.toml", text, Limits::default())
}

#[test]
fn grants_and_limits_come_out_as_written() {
    let p = policy(&format!(
        r#"version = 1

[limits]
timeout_seconds = 5
memory_mib = 64

[[skill]]
id = "hot"
digest = "sha256:{DIGEST}"
profiles = ["*.pb.gz", "label:thread=main"]
sources = ["app"]
deny = ["config/prod/**"]

[skill.limits]
memory_mib = 128
findings = 10
"#
    ))
    .unwrap();
    let g = p.grants_for("hot", DIGEST).unwrap();
    assert_eq!(g.limits.deadline, Duration::from_secs(5));
    assert_eq!(g.limits.memory_bytes, 128 << 20);
    assert_eq!(g.limits.max_findings, 10);
    assert_eq!(
        g.sources.as_ref().unwrap().iter().collect::<Vec<_>>(),
        ["app"]
    );
    assert_eq!(g.profiles.as_ref().unwrap().len(), 2);
    assert_eq!(p.max_memory(), 128 << 20);
    let e = g
        .deny
        .check("config/prod/db.toml", None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("(policy.toml:12)"), "{e}");
    let e = g.deny.check(".env", None).unwrap_err().to_string();
    assert!(
        e.contains("add \".env\" to allow in [[skill]] \"hot\" (policy.toml:7)"),
        "{e}"
    );
}

#[test]
fn refusals_name_the_place_to_edit() {
    let p = policy(&format!(
        "version = 1\n\n[[skill]]\nid = \"hot\"\ndigest = \"sha256:{DIGEST}\"\n"
    ))
    .unwrap();
    let other = "2".repeat(64);
    let e = p.grants_for("hot", &other).unwrap_err().to_string();
    assert!(
        e.contains(&format!("sha256:{other}")) && e.contains(&format!("sha256:{DIGEST}")),
        "{e}"
    );
    assert!(e.contains("policy.toml:5"), "{e}");
    let e = p.grants_for("cold", DIGEST).unwrap_err().to_string();
    assert!(
        e.contains("no [[skill]] entry") && e.contains("id = \"cold\""),
        "{e}"
    );
    // Deny by default: an entry without grants sees no profile and no tree.
    let g = p.grants_for("hot", DIGEST).unwrap();
    assert!(g.profiles.as_ref().unwrap().is_empty());
    assert!(g.sources.as_ref().unwrap().is_empty());

    let e = policy("version = 1\n[[skill]]\nid = \"x\"\ndigest = \"sha256:abc\"\n").unwrap_err();
    assert!(e.to_string().starts_with("policy.toml:4:"), "{e}");
    let e = policy("version = 1\n[[skill]]\nid = \"x\"\ndigets = 1\n").unwrap_err();
    assert!(e.to_string().contains("policy.toml:4"), "{e}");
    let e = policy(&format!(
        "version = 1\n[[skill]]\nid = \"x\"\ndigest = \"sha256:{DIGEST}\"\nwasi = [\"gpu\"]\n"
    ))
    .unwrap_err();
    assert!(
        e.to_string().contains("policy.toml:5") && e.to_string().contains("gpu"),
        "{e}"
    );
}

#[test]
fn pin_fills_digests_and_keeps_comments() {
    let text = "version = 1\n# who may read what\n[[skill]]\nid = \"hot\" # the hot one\ndigest = \"sha256:PIN\"\n\n[[skill]]\nid = \"cold\"\ndigest = \"sha256:PIN\"\n";
    let (pinned, updated) = pin(text, &[("hot".into(), DIGEST.into())]).unwrap();
    assert_eq!(updated, ["hot"]);
    assert!(pinned.contains("# who may read what") && pinned.contains("# the hot one"));
    assert!(pinned.contains(&format!("digest = \"sha256:{DIGEST}\"")));
    assert!(pinned.contains("id = \"cold\"\ndigest = \"sha256:PIN\""));
}

#[test]
fn the_example_policies_parse() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = root.join("tests/policies");
    let shipped = root.join("policies");
    let mut seen = 0;
    let entries = std::fs::read_dir(&dir)
        .into_iter()
        .chain(std::fs::read_dir(&shipped))
        .flatten()
        .flatten();
    for entry in entries {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "toml") {
            // The examples keep a placeholder digest; pinning makes them loadable.
            let text = std::fs::read_to_string(&path)
                .unwrap()
                .replace("sha256:PIN", &format!("sha256:{DIGEST}"));
            Policy::parse(&path.display().to_string(), &text, Limits::default())
                .unwrap_or_else(|e| panic!("{e:#}"));
            seen += 1;
        }
    }
    assert!(seen >= 1, "no example policies in {}", dir.display());
}

#[test]
fn every_import_says_what_it_reaches() {
    assert!(reach("wasi:cli/environment@0.2.6").starts_with("empty"));
    assert!(reach("wasi:sockets/tcp@0.2.12").contains("switched off"));
    assert!(reach("wasi:filesystem/preopens@0.2.0").contains("no preopened directory"));
    assert!(reach("wasi:http/outgoing-handler@0.2.0").contains("refused at load"));
    assert!(reach("acme:spy/exfiltrate@1.0.0").contains("refused at load"));
    assert!(reach("joule:skill/source@0.1.3").contains("no path leaves a tree"));
}

#[test]
fn limits_that_are_not_numbers_are_refused() {
    let text = format!(
        "version = 1\n[limits]\ntimeout_seconds = nan\n[[skill]]\nid = \"a\"\ndigest = \"sha256:{DIGEST}\"\n"
    );
    let e = policy(&text).unwrap_err().to_string();
    assert!(e.contains("timeout_seconds = NaN"), "{e}");
    let text = format!(
        "version = 1\n[[skill]]\nid = \"a\"\ndigest = \"sha256:{DIGEST}\"\n[skill.limits]\ntimeout_seconds = -1.0\n"
    );
    let e = policy(&text).unwrap_err().to_string();
    assert!(e.contains("[skill.limits] of `a`"), "{e}");
}

#[test]
fn allow_is_anchored_and_deny_globs_keep_commas_and_directories() {
    let rules = DenyRules::new(
        "s",
        &["data/keys,old.json".into(), "private/**".into()],
        &[".env".into()],
        None,
        None,
    )
    .unwrap();
    assert!(rules.check(".env", None).is_ok());
    assert!(
        rules.check("sub/.env", None).is_err(),
        "allow names one path, not a pattern at any depth"
    );
    assert!(rules.check("data/keys,old.json", None).is_err());
    assert!(
        rules.check("private", None).is_err(),
        "the denied directory itself"
    );
    assert!(rules.check(".git", None).is_err());
    // A denial through a symlink does not say where the link leads.
    let e = rules
        .check("notes.txt", Some("private/plan.txt"))
        .unwrap_err()
        .to_string();
    assert!(!e.contains("plan.txt"), "{e}");
}

/// A component as the host would describe it to the policy.
fn component<'a>(id: &'a str, imports: &'a [String], declares: &'a [String]) -> Component<'a> {
    Component {
        id,
        digest: DIGEST,
        imports,
        declares: declares.iter().map(String::as_str).collect(),
    }
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_risky_import_is_admitted_only_when_granted_and_the_refusal_names_the_line() {
    let p = policy(&format!(
        "version = 1\n\n[[skill]]\nid = \"net\"\ndigest = \"sha256:{DIGEST}\"\n\n[[skill]]\nid = \"granted\"\ndigest = \"sha256:{DIGEST}\"\nwasi = [\"sockets\"]\n"
    ))
    .unwrap();
    let imports = strings(&["joule:skill/log@0.1.3", "wasi:sockets/tcp@0.2.6"]);
    let denial = p.admit(&component("net", &imports, &[])).unwrap_err();
    assert!(denial.reason.contains("wasi:sockets/tcp@0.2.6"), "{denial}");
    assert_eq!(
        denial.remedy,
        "to allow it (with no preopens or sockets it still reaches nothing), add wasi = [\"sockets\"] to [[skill]] \"net\" (policy.toml:3)"
    );
    let grants = p.admit(&component("granted", &imports, &[])).unwrap();
    assert_eq!(
        grants.risky_import("wasi:sockets/udp@0.2.6"),
        Some(("sockets", true))
    );
    assert_eq!(grants.risky_import("wasi:cli/stdout@0.2.6"), None);
    // Without a policy nothing risky is granted either.
    let open = Policy::open(Limits::default());
    assert!(open.admit(&component("net", &imports, &[])).is_err());
    assert!(open.admit(&component("net", &imports[..1], &[])).is_ok());
}

#[test]
fn the_review_finds_gaps_between_imports_declarations_and_grants_both_ways() {
    let p = policy(&format!(
        "version = 1\n[[skill]]\nid = \"hot\"\ndigest = \"sha256:{DIGEST}\"\nprofiles = [\"*\"]\nhistory = [\"app\"]\nwasi = [\"http\"]\n"
    ))
    .unwrap();
    let imports = strings(&["joule:skill/profiles@0.1.3", "joule:skill/source@0.1.3"]);
    let declares = strings(&["profiles", "metrics"]);
    let review = p.review(&component("hot", &imports, &declares));
    assert_eq!(
        review.gaps,
        [
            "imports joule:skill/source but does not declare \"source\"",
            "declares \"metrics\" but never imports joule:skill/metrics",
            "imports joule:skill/source but is granted no source tree",
            "is granted repositories but never imports joule:skill/history",
            "is granted wasi \"http\" but never imports it",
        ]
    );
    assert!(review.verdict.loads());
    let grants = review.grants.unwrap();
    assert_eq!(grants.profiles, "*");
    assert_eq!(grants.sources, "none");
    assert_eq!(grants.history, "app");
    // Without a policy, everything granted to everyone is not a gap of one skill's.
    let open = Policy::open(Limits::default()).review(&component("hot", &imports, &declares));
    assert!(
        open.gaps.iter().all(|g| !g.starts_with("is granted")),
        "{:?}",
        open.gaps
    );
    assert_eq!(open.grants.unwrap().sources, "every tree given");
}

#[test]
fn a_refused_component_is_reviewed_with_the_reason_and_no_grants() {
    let p = policy("version = 1\n").unwrap();
    let imports = strings(&["joule:skill/profiles@0.1.3", "wasi:filesystem/types@0.2.6"]);
    let review = p.review(&component("stranger", &imports, &[]));
    assert!(review.grants.is_none());
    assert!(
        review.gaps.contains(
            &"risky import wasi:filesystem/types@0.2.6 (not granted: refused at load)".to_string()
        ),
        "{:?}",
        review.gaps
    );
    let verdict = serde_json_string(&review.verdict);
    assert!(
        verdict.starts_with("\"refused: skill `stranger` has no [[skill]] entry"),
        "{verdict}"
    );
    assert_eq!(serde_json_string(&Verdict::Loads), "\"loads\"");
}

#[test]
fn nothing_runs_before_its_digest_is_pinned_and_the_refusal_says_what_to_add() {
    let p = policy(&format!(
        "version = 1\n\n[[skill]]\nid = \"hot\"\ndigest = \"sha256:{DIGEST}\"\n"
    ))
    .unwrap();
    let imports = strings(&["joule:skill/profiles@0.1.3"]);
    let unrun = |name, digest| Unrun {
        name,
        digest,
        imports: &imports,
    };
    assert_eq!(p.admit_unrun(&unrun("anything", DIGEST)), Ok(()));
    assert_eq!(p.pinned_as(DIGEST), ["hot"]);
    // Unpinned and named (by its claim or file name) as no entry: what to add.
    let other = "2".repeat(64);
    let denial = p.admit_unrun(&unrun("cold", &other)).unwrap_err();
    assert!(
        denial.reason.ends_with(
            "has no [[skill]] entry in the policy policy.toml; none of its code was run"
        ),
        "{denial}"
    );
    assert!(
        denial
            .remedy
            .contains(&format!("id = \"cold\"\n  digest = \"sha256:{other}\""))
    );
    // Unpinned and named as a pinned skill: an impostor, or a changed build; both digests.
    let denial = p.admit_unrun(&unrun("hot", &other)).unwrap_err();
    assert!(
        denial.reason.contains(&other) && denial.reason.contains(DIGEST),
        "{denial}"
    );
    let review = p.review_unrun(&unrun("hot", &other), denial);
    assert!(!review.verdict.loads() && review.grants.is_none());
    // Pinned, but describing itself with another id than its entry's.
    let denial = p.admit(&component("cold", &imports, &[])).unwrap_err();
    assert!(
        denial
            .reason
            .contains("describes itself as `cold`, but the policy pins it as `hot`"),
        "{denial}"
    );
    // Without a policy everything may run, but a risky import is refused before it does.
    let open = Policy::open(Limits::default());
    assert!(open.pinned_as(DIGEST).is_empty());
    assert_eq!(open.admit_unrun(&unrun("x", &other)), Ok(()));
    let risky = strings(&["wasi:sockets/tcp@0.2.6"]);
    let denial = open
        .admit_unrun(&Unrun {
            name: "x",
            digest: &other,
            imports: &risky,
        })
        .unwrap_err();
    assert!(denial.reason.contains("wasi:sockets/tcp@0.2.6"), "{denial}");
}

#[test]
fn the_component_named_after_an_id_keeps_it_else_the_first_given() {
    // `aaa.wasm` sorts first and gives `hot`; `hot.wasm` keeps it all the same.
    assert_eq!(
        id_keepers(&[("hot", "aaa"), ("hot", "hot"), ("cold", "cold")]),
        [1, 1, 2]
    );
    assert_eq!(id_keepers(&[("hot", "hot"), ("hot", "aaa")]), [0, 0]);
    // Among equals, the first given.
    assert_eq!(id_keepers(&[("hot", "hot"), ("hot", "hot")]), [0, 0]);
    assert_eq!(id_keepers(&[("hot", "aaa"), ("hot", "bbb")]), [0, 0]);
}

#[test]
fn describe_runs_within_fixed_limits_far_below_a_runs() {
    let limits = Limits::for_describe(1 << 30);
    assert_eq!(limits.deadline, DESCRIBE_DEADLINE);
    assert_eq!(limits.memory_bytes, DESCRIBE_MEMORY);
    assert!(limits.deadline < Limits::default().deadline);
    assert_eq!(limits.max_findings, 0);
    // Never more memory than the runtime's slots hold.
    assert_eq!(Limits::for_describe(16 << 20).memory_bytes, 16 << 20);
}

/// The JSON a serialisable value is written as (the audit's `--format json`).
fn serde_json_string(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap()
}

#[test]
fn profiles_are_granted_by_the_first_selector_that_lets_them_through() {
    let p = policy(&format!(
        "version = 1\n[[skill]]\nid = \"t\"\ndigest = \"sha256:{DIGEST}\"\nprofiles = [\"label:thread=main\", \"cpu-*.pb.gz\"]\n"
    ))
    .unwrap();
    let g = p.grants_for("t", DIGEST).unwrap();
    // The label comes first: a profile with samples on the main thread is seen through it.
    assert_eq!(
        g.profile("cpu-1.pb.gz", |k, v| k == "thread" && v == "main"),
        Some(ProfileGrant::Label {
            key: "thread",
            value: "main"
        })
    );
    // Without such samples the name glob grants it whole; with neither it is withheld.
    assert_eq!(
        g.profile("cpu-1.pb.gz", |_, _| false),
        Some(ProfileGrant::Whole)
    );
    assert_eq!(g.profile("heap.pb.gz", |_, _| false), None);
    let open = SkillGrants::open("t", Limits::default());
    assert_eq!(
        open.profile("anything", |_, _| false),
        Some(ProfileGrant::Whole)
    );
}

#[test]
fn withheld_inputs_are_denied_with_the_grant_that_would_allow_them() {
    let p = policy(&format!(
        "version = 1\n\n[[skill]]\nid = \"t\"\ndigest = \"sha256:{DIGEST}\"\nmetrics = [\"cpu-*\"]\n"
    ))
    .unwrap();
    let g = p.grants_for("t", DIGEST).unwrap();
    assert!(g.allows(Capability::Metrics, "cpu-hosts.csv"));
    assert!(!g.allows(Capability::Metrics, "mem.csv"));
    assert!(!g.allows(Capability::Source, "app"));
    assert!(!g.grants_any(Capability::Source));
    assert!(g.grants_any(Capability::Log));
    let denial = g.withheld(Capability::Source, &["app".to_string()]);
    assert_eq!(
        denial.to_string(),
        "source trees [\"app\"] are not granted to this skill; add sources = [\"NAME\"] to [[skill]] \"t\" (policy.toml:3)"
    );
    let denial = g.withheld(Capability::History, &["app".to_string(), "lib".to_string()]);
    assert_eq!(
        denial.reason,
        "2 repositories given to the run are not granted to this skill"
    );
    let open = SkillGrants::open("t", Limits::default());
    assert!(
        open.withheld(Capability::Profiles, &["a".to_string()])
            .remedy
            .starts_with("run with a policy that grants profiles")
    );
}

#[test]
fn an_agent_reads_what_the_agent_table_grants_and_nothing_without_one() {
    // No policy file: every input, secrets still denied.
    let open = Policy::open(Limits::default()).agent_grants().unwrap();
    assert!(open.allows(Capability::Source, "app"));
    assert!(open.deny.check(".env", None).is_err());

    // A policy without [agent]: nothing, and the refusal gives the lines to add.
    let p = policy("version = 1\n").unwrap();
    let denial = p.agent_grants().unwrap_err().to_string();
    assert!(
        denial.contains("no [agent] table") && denial.contains("[agent]\n  sources"),
        "{denial}"
    );

    // An [agent] table: what it names, with its own deny rules on top of the secret patterns.
    let p = policy(
        r#"version = 1

[agent]
sources = ["app"]
profiles = ["*.pb.gz"]
history = ["app"]
deny = ["config/**"]
"#,
    )
    .unwrap();
    let g = p.agent_grants().unwrap();
    assert_eq!(g.skill, AGENT);
    assert!(g.allows(Capability::Source, "app"));
    assert!(!g.allows(Capability::Source, "other"));
    assert!(g.allows(Capability::Profiles, "cpu.pb.gz"));
    assert!(!g.allows(Capability::Profiles, "cpu.perf"));
    assert!(g.allows(Capability::History, "app"));
    assert!(!g.allows(Capability::Metrics, "fleet.csv"));
    let refused = g
        .deny
        .check("config/prod.toml", None)
        .unwrap_err()
        .to_string();
    assert!(refused.contains("policy.toml:"), "{refused}");
    assert!(g.deny.check(".env", None).is_err());
    assert!(g.deny.check("src/main.rs", None).is_ok());

    // Keys a skill entry has and the agent does not are refused, naming the line.
    let bad = policy("version = 1\n\n[agent]\ndigest = \"sha256:00\"\n").unwrap_err();
    assert!(format!("{bad:#}").contains("policy.toml:"), "{bad:#}");
}
