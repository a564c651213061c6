//! The command line's contract, which needs no skill: the documented exit codes, the help that
//! lists them, and usage errors that say what is wrong.
//!
//! (Being an integration test of the host package, this also makes `cargo test --workspace`
//! build the `joule` binary in the same build as everything else, which the end-to-end tests in
//! `tests/e2e/` then run.)

use std::process::{Command, Output};

fn joule(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_joule"))
        .args(args)
        .env_remove("JOULE_SKILLS")
        .env("JOULE_NO_BUILTIN_SKILLS", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("joule runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn help_lists_every_command_and_the_exit_codes() {
    let out = joule(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    for command in [
        "run",
        "skills",
        "profile",
        "audit",
        "policy",
        "flamegraph",
        "query",
    ] {
        assert!(
            help.contains(&format!("\n  {command} ")),
            "{command}:\n{help}"
        );
    }
    for code in ["0  success", "1  error", "2  usage", "3  partial"] {
        assert!(help.contains(code), "{code}:\n{help}");
    }
    let out = joule(&["--version"]);
    assert_eq!(
        text(&out.stdout).trim(),
        concat!("joule ", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn a_wrong_command_line_exits_2_and_says_what_is_wrong() {
    let out = joule(&["run", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--no-such-flag"),
        "{}",
        text(&out.stderr)
    );
    let out = joule(&["profile", "convert", "cpu.pb.gz", "--to", "png"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("possible values"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn nothing_to_run_exits_1_and_says_how_to_give_skills() {
    for args in [&["run"][..], &["skills"], &["audit"], &["policy", "init"]] {
        let out = joule(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("no skills given: pass --skills PATH"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn an_unreadable_profile_names_the_file_and_exits_1() {
    let out = joule(&["profile", "top", "no/such/cpu.pb.gz"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("no/such/cpu.pb.gz") && stderr.contains("no such file"),
        "{stderr}"
    );
}
