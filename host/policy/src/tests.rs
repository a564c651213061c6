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
