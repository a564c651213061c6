"""Drives `joule mcp` with the official MCP Python SDK (PyPI `mcp`), as an agent would.

Run by tests/e2e/mcp.rs in a virtual environment it makes; by hand:

    python3 tests/e2e/mcp_client.py JOULE SKILLS TEST_SKILLS SCRATCH [--policy FILE] [--bench N]

Each check prints one line; the first that fails raises, and the exit status is not 0.
`--bench N` instead times N round trips of `profile_top` and of the `hot-functions` skill tool
and prints the medians (the recipe behind the figures in docs/agents.md).
"""

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import time

import anyio
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


def example_args(history, detect=True):
    ex = os.path.join(ROOT, "example")
    return [
        "--profile", os.path.join(ex, "profiles", "logscan.pb.gz"),
        "--source", "example=" + os.path.join(ex, "logscan"),
        "--history", "logscan=" + history,
        "--deploy-log", "logscan=" + os.path.join(ex, "history", "deploys.csv"),
        "--profile-series", os.path.join(ex, "history", "profiles"),
    ] + (["--param", "regression-detect.series=total:logscan::"] if detect else [])


def check(condition, what):
    if not condition:
        raise AssertionError(what)
    print("ok:", what.split("\n")[0])


def text_of(result):
    return "".join(c.text for c in result.content if getattr(c, "type", "") == "text")


async def session(joule, args, body):
    params = StdioServerParameters(command=joule, args=["mcp", *args])
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as s:
            init = await s.initialize()
            await body(s, init)


async def main_checks(a):
    history = os.path.join(a.scratch, "logscan")
    audit = os.path.join(a.scratch, "audit.jsonl")
    args = example_args(history) + ["--skills", a.skills, "--audit-log", audit]

    async def offense_and_defense(s, init):
        check(init.server_info.name == "joule", "the server names itself joule")
        tools = {t.name: t for t in (await s.list_tools()).tools}
        for core in ["inputs", "profile_top", "read_source", "list_series", "read_series",
                     "list_commits", "findings", "explain_finding", "run_skill"]:
            check(core in tools, f"core tool {core} is listed")
        check("regex-in-hot-path" in tools and "regression-detect" in tools,
              "each scanning skill has a tool of its own")
        check("prepare_pull_request" not in tools,
              "without --pr-repo there is no prepare_pull_request tool")
        check("regression-attribute" not in tools,
              "a skill that only runs on findings has no tool (its upstream's tool runs it)")
        check(all(NAME.match(n) for n in tools), "every tool name follows MCP's naming rule")
        check(tools["regression-detect"].input_schema.get("properties", {}).get("series")
              is not None, "a skill tool's schema lists its parameters")

        r = await s.call_tool("inputs", {})
        check(not r.is_error and "logscan.pb.gz" in text_of(r), "inputs lists the profile")

        r = await s.call_tool("profile_top", {"n": 5})
        functions = r.structured_content["functions"]
        check(not r.is_error and len(functions) == 5, "profile_top gives 5 functions")

        r = await s.call_tool("regex-in-hot-path", {})
        found = r.structured_content["findings"]
        check(not r.is_error and len(found) == 2
              and {f["rule"] for f in found} == {"regex-compiled-per-call"},
              "regex-in-hot-path finds the two per-call regexes")
        check(any("parse_line" in json.dumps(f) for f in found)
              and any("is_bot" in json.dumps(f) for f in found),
              "the findings are on parse_line and is_bot")
        check(all(f.get("patch") for f in found), "each carries its patch")
        check("compiles a regex" in text_of(r), "the tool's text is the Markdown report")

        r = await s.call_tool("regression-detect", {})
        kinds = [f["kind"] for f in r.structured_content["findings"]]
        check("regression" in kinds and "root-cause" in kinds and "mitigation" in kinds,
              "regression-detect's tool runs the defense chain: regression, root cause, mitigation")
        mitigation = next(f for f in r.structured_content["findings"] if f["kind"] == "mitigation")

        r = await s.call_tool("findings", {})
        ids = [f["id"] for f in r.structured_content["findings"]]
        check(mitigation["id"] in ids and len(ids) >= 5, "findings lists what the runs made")
        r = await s.call_tool("explain_finding", {"id": mitigation["id"]})
        check(not r.is_error and "diff --git" in text_of(r),
              "explain_finding shows the mitigation's revert")

        r = await s.call_tool("read_source", {"path": "src/parse.rs", "start": 1, "end": 3})
        check(not r.is_error and len(text_of(r).splitlines()) == 3, "read_source reads a line range")
        r = await s.call_tool("list_series", {"contains": "parse_line", "limit": 2})
        series = r.structured_content["series"]
        check(len(series) == 2 and r.structured_content["matched"] >= 2, "list_series filters")
        r = await s.call_tool("read_series", {"series": series[0]["series"], "limit": 10})
        check(len(r.structured_content["points"]) == 10, "read_series gives the last points")
        r = await s.call_tool("list_commits", {"limit": 3})
        check(len(r.structured_content["commits"]) == 3, "list_commits gives commits")

        for path, why in [(".env", "secret pattern"), ("../Cargo.toml", "`..`"),
                          ("src/../../../etc/passwd", "`..`")]:
            r = await s.call_tool("read_source", {"path": path})
            check(r.is_error and why in text_of(r), f"read_source refuses {path}: {text_of(r)}")

        r = await s.call_tool("profile_top", {"n": 0})
        check(r.is_error, "a bad argument is a tool error")
        r = await s.call_tool("profile_top", {"bogus": 1})
        check(r.is_error and "no argument `bogus`" in text_of(r), "an unknown argument is named")
        r = await s.call_tool("regex-in-hot-path", {"nope": "1"})
        check(r.is_error and "no parameter `nope`" in text_of(r), "an unknown parameter is named")
        try:
            await s.call_tool("no-such-tool", {})
            check(False, "an unknown tool is a protocol error")
        except MCPError as e:
            check("unknown tool" in str(e), "an unknown tool is a protocol error")
        r = await s.call_tool("run_skill", {"skill": "hot-functions"})
        check(not r.is_error and r.structured_content["findings"], "run_skill runs a skill by id")
        r = await s.call_tool("run_skill", {"skill": "regression-attribute"})
        check(r.is_error and "does not scan" in text_of(r),
              "run_skill on a finding-triggered skill says what runs it")

    await session(a.joule, args, offense_and_defense)

    lines = [json.loads(line) for line in open(audit)]
    calls = [line for line in lines if line["interface"] == "mcp"]
    check(any(c["op"] == "read_source" and c["decision"] == "deny" and c["resource"] == "example:.env"
              for c in calls), "the audit log records the denied read")
    check(any(c["op"] == "regex-in-hot-path" and c["decision"] == "allow" for c in calls),
          "the audit log records the skill tool call")
    check(all("text" not in c and c["bytes"] >= 0 for c in calls),
          "audit lines carry sizes, not contents")
    check(any(line["interface"] == "source" and line["skill"] == "regex-in-hot-path" for line in lines),
          "the skill's own host calls are audited under its id")

    # A trapping skill: a tool error naming the trap, and the server goes on.
    async def trap(s, init):
        r = await s.call_tool("panicker", {})
        check(r.is_error and "panic" in text_of(r).lower(), "a trapping skill is a tool error")
        r = await s.call_tool("profile_top", {"n": 1})
        check(not r.is_error, "the server answers after a trap")
        # Cancelled by the client: the call ends, the server answers the next one.
        with anyio.move_on_after(1.5):
            await s.call_tool("sleeper", {"how": "sleep"})
            check(False, "sleeper returned before being cancelled")
        started = time.monotonic()
        r = await s.call_tool("profile_top", {"n": 1})
        check(not r.is_error and time.monotonic() - started < 5,
              "after a cancelled call the server answers at once")

    panicker = os.path.join(a.test_skills, "panicker.wasm")
    sleeper = os.path.join(a.test_skills, "sleeper.wasm")
    trap_audit = os.path.join(a.scratch, "trap-audit.jsonl")
    await session(a.joule, example_args(history, False) + ["--skills", panicker, "--skills", sleeper,
                                                           "--timeout", "30", "--audit-log",
                                                           trap_audit], trap)
    calls = [json.loads(line) for line in open(trap_audit)]
    check(any(c["interface"] == "mcp" and c["op"] == "sleeper" and "cancelled" in (c["reason"] or "")
              for c in calls), "the server saw the cancellation and audited the call as cancelled")

    # Under a policy with no [agent] table the host's tools read nothing; with one, what it names.
    if a.policy:
        async def no_agent(s, init):
            r = await s.call_tool("read_source", {"path": "src/parse.rs"})
            check(r.is_error and "[agent]" in text_of(r),
                  "under a policy without [agent], read_source is denied with the lines to add")
            r = await s.call_tool("hot-functions", {})
            check(not r.is_error, "skills keep their own grants")
        await session(a.joule, example_args(history, False) + ["--skills", a.skills, "--policy", a.policy],
                      no_agent)
        with open(a.policy) as f:
            text = f.read()
        granted = os.path.join(a.scratch, "agent.toml")
        with open(granted, "w") as f:
            f.write(text + '\n[agent]\nsources = ["example"]\ndeny = ["src/synth.rs"]\n')

        async def agent(s, init):
            r = await s.call_tool("read_source", {"path": "src/parse.rs", "start": 1, "end": 1})
            check(not r.is_error, "[agent] sources = [\"example\"] lets read_source read the tree")
            r = await s.call_tool("read_source", {"path": "src/synth.rs"})
            check(r.is_error and "synth.rs" in text_of(r), "the [agent] deny rule holds")
            r = await s.call_tool("profile_top", {})
            check(r.is_error, "a profile the [agent] table does not name is denied")
        await session(a.joule, example_args(history, False) + ["--skills", a.skills, "--policy", granted],
                      agent)

    # A pull request prepared by the agent: on a clone of the example's history, with the
    # operator's verify command (the agent names only the finding).
    pr_repo = os.path.join(a.scratch, "pr-logscan")
    subprocess.run(["git", "-c", "init.defaultBranch=main", "clone", "-q",
                    os.path.join(ROOT, "example", "history", "logscan.bundle"), pr_repo], check=True)
    pr_args = ["--profile", os.path.join(ROOT, "example", "profiles", "logscan.pb.gz"),
               "--source", "logscan=" + pr_repo, "--skills", a.skills,
               "--pr-repo", pr_repo, "--pr-out", os.path.join(a.scratch, "pr-out"),
               "--verify", "grep -q LazyLock src/parse.rs"]

    async def pull_request(s, init):
        tools = {t.name for t in (await s.list_tools()).tools}
        check("prepare_pull_request" in tools, "prepare_pull_request is listed when --pr-repo is given")
        r = await s.call_tool("regex-in-hot-path", {})
        hoist = next(f for f in r.structured_content["findings"] if "parse_line" in f["title"])
        r = await s.call_tool("prepare_pull_request", {"finding": hoist["id"]})
        entry = r.structured_content
        check(not r.is_error and entry["status"] == "proposed"
              and entry["branch"].startswith("joule/regex-compiled-per-call/"),
              f"prepare_pull_request proposes a verified branch: {text_of(r)[:200]}")
        check("## Verification" in text_of(r), "its text is the pull request's description")
        branches = subprocess.run(["git", "-C", pr_repo, "branch"], capture_output=True,
                                  text=True, check=True).stdout
        check(entry["branch"] in branches, "the branch is in the repository")
        r = await s.call_tool("prepare_pull_request", {"finding": "0000"})
        check(r.is_error and "no finding" in text_of(r), "an unknown finding is a tool error")

    await session(a.joule, pr_args, pull_request)

    # Malformed JSON-RPC: an error answer, and the server stays up for the next request.
    proc = subprocess.Popen([a.joule, "mcp", *example_args(history, False), "--skills",
                             os.path.join(a.skills, "hot-functions.wasm")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                       "clientInfo": {"name": "raw", "version": "0"}}}
    proc.stdin.write("this is not json\n")
    proc.stdin.write('{"jsonrpc": "2.0", "id": 7, "method": 12}\n')
    proc.stdin.write(json.dumps(init) + "\n")
    proc.stdin.flush()
    answered = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        message = json.loads(line)
        if message.get("id") == 1:
            answered = message
            break
    proc.stdin.close()
    proc.wait(timeout=30)
    check(answered is not None and answered.get("result", {}).get("serverInfo", {}).get("name") == "joule",
          "after malformed lines the server still answers initialize")


async def bench(a, n):
    history = os.path.join(a.scratch, "logscan")
    args = example_args(history, False) + ["--skills", os.path.join(a.skills, "hot-functions.wasm")]

    async def body(s, init):
        for _ in range(20):
            await s.call_tool("profile_top", {"n": 10})
        trips = []
        for _ in range(n):
            started = time.perf_counter()
            await s.call_tool("profile_top", {"n": 10})
            trips.append((time.perf_counter() - started) * 1e3)
        over = []
        for _ in range(max(n // 10, 5)):
            started = time.perf_counter()
            r = await s.call_tool("hot-functions", {})
            total = (time.perf_counter() - started) * 1e3
            own = sum(run["duration_ms"] for run in r.structured_content["runs"])
            over.append(total - own)
        q = statistics.quantiles(trips, n=20)
        print(f"profile_top round trip over stdio: median {statistics.median(trips):.2f} ms, "
              f"p95 {q[18]:.2f} ms ({n} calls)")
        print(f"hot-functions tool beyond the skill's own run: median {statistics.median(over):.2f} ms "
              f"({len(over)} calls)")
    await session(a.joule, args, body)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("joule")
    p.add_argument("skills")
    p.add_argument("test_skills")
    p.add_argument("scratch")
    p.add_argument("--policy")
    p.add_argument("--bench", type=int)
    a = p.parse_args()
    history = os.path.join(a.scratch, "logscan")
    if not os.path.isdir(history):
        subprocess.run(["git", "-c", "init.defaultBranch=main", "clone", "-q",
                        os.path.join(ROOT, "example", "history", "logscan.bundle"), history],
                       check=True)
    if a.bench:
        anyio.run(bench, a, a.bench)
    else:
        anyio.run(main_checks, a)


if __name__ == "__main__":
    main()
