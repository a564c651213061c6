//! `joule mcp` driven end to end by the official MCP Python SDK (PyPI `mcp` 2.x), as an agent
//! drives it: the example's offense and defense findings through skill tools, the host's own
//! tools, denied reads, bad arguments, an unknown tool, a trapping skill, a cancelled call,
//! malformed JSON-RPC, and the policy's `[agent]` table (`tests/e2e/mcp_client.py` holds the
//! checks; this test makes its virtual environment under the target directory).
//!
//! Needs `python3` with `venv` and PyPI (`make setup` installs python3).

use std::process::Command;

use joule_tests::*;

/// The SDK version the checks were written against.
const MCP: &str = "mcp==2.3.0";

#[test]
fn an_agent_drives_joule_through_the_python_mcp_sdk() {
    let python = python_venv("mcp-venv", MCP, "mcp.client.stdio");
    let scratch = scratch_dir("mcp");
    // A policy that pins hot-functions and grants it the example's profile and tree, with no
    // [agent] table: the host's own tools may read nothing (the script adds one to a copy).
    let hot = skill("hot-functions");
    let policy = scratch.join("policy.toml");
    std::fs::write(
        &policy,
        format!(
            "version = 1\n\n[[skill]]\nid = \"hot-functions\"\ndigest = \"sha256:{}\"\n\
             profiles = [\"*.pb.gz\"]\nsources = [\"example\"]\n",
            digest_of(&hot)
        ),
    )
    .unwrap();
    let test_skills = test_skill("panicker")
        .parent()
        .expect("a component is in a directory")
        .to_path_buf();
    let out = Command::new(&python)
        .arg(root().join("tests/e2e/mcp_client.py"))
        .arg(joule_bin())
        .arg(skills_dir())
        .arg(&test_skills)
        .arg(&scratch)
        .arg("--policy")
        .arg(&policy)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the MCP client's checks failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every check printed its line; the last is the malformed-input one.
    assert!(
        stdout.contains("ok: after malformed lines the server still answers initialize"),
        "{stdout}"
    );
}
