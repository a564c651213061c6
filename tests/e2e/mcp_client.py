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
from mcp.client.stdio import get_default_environment, stdio_client
from mcp.shared.exceptions import MCPError

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# Each check names the skills it counts on: the skills built into joule stay out.
NO_BUILTIN = {"JOULE_NO_BUILTIN_SKILLS": "1"}


def server_env():
    """The environment the MCP SDK gives a server it starts, and NO_BUILTIN."""
    return {**get_default_environment(), **NO_BUILTIN}


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
    params = StdioServerParameters(command=joule, args=["mcp", *args], env=server_env())
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as s:
            init = await s.initialize()
            await body(s, init)


async def profile_and_syntax_queries(a):
    """The host's call-graph, diff and syntax tools on the example's inputs: values checked
    against what the example is known to hold, and refused outside the policy's [agent] grants."""
    ex = os.path.join(ROOT, "example")
    before = os.path.join(ex, "history", "profiles", "logscan-001.pb.gz")
    after = os.path.join(ex, "history", "profiles", "logscan-080.pb.gz")
    args = ["--profile", os.path.join(ex, "profiles", "logscan.pb.gz"), "--profile", before,
            "--profile", after, "--source", "example=" + os.path.join(ex, "logscan"),
            "--skills", os.path.join(a.skills, "hot-functions.wasm")]
    regex_new = '((call_expression function: (scoped_identifier) @f) (#eq? @f "Regex::new"))'

    async def queries(s, init):
        tools = {t.name: t for t in (await s.list_tools()).tools}
        for name in ["profile_callers", "profile_callees", "profile_diff", "syntax_query"]:
            check(name in tools and tools[name].input_schema.get("additionalProperties") is False,
                  f"core tool {name} is listed, its schema closed")

        # logscan.pb.gz: parse_line is 73% of the scan, all of it called from report::scan.
        r = await s.call_tool("profile_callers", {"function": "logscan::parse::parse_line"})
        got = r.structured_content
        check(not r.is_error and 0.70 < got["function"]["cum_share"] < 0.77,
              f"profile_callers gives parse_line's cumulative share: {got['function']}")
        check([c["function"] for c in got["callers"]] == ["logscan::report::scan"]
              and got["callers"][0]["calls_share"] == 1.0 and got["callers"][0]["cum_share"] == 1.0,
              f"parse_line's one caller is report::scan, all of its time: {got['callers']}")
        check("logscan::report::scan" in text_of(r) and "calls%" in text_of(r),
              "profile_callers' text is a pprof -peek table")
        r = await s.call_tool("profile_callees", {"function": "is_bot", "n": 1})
        got = r.structured_content
        check(not r.is_error and got["function"]["function"] == "logscan::parse::is_bot",
              "a part of one function's name finds it")
        check(got["callees"][0]["function"] == "regex::regex::string::Regex::new"
              and got["callees"][0]["calls_share"] > 0.9,
              f"is_bot's time is compiling its regex: {got['callees']}")
        check(got["found"] > 1 and len(got["callees"]) == 1 and "more callees" in text_of(r),
              "profile_callees says how many callees `n` left out")
        r = await s.call_tool("profile_callers", {"function": "parse_line"})
        check(r.is_error and "logscan::parse::parse_line," in text_of(r)
              and "parse_line::{{closure}}" in text_of(r),
              f"an ambiguous name is refused with the candidates: {text_of(r)}")
        r = await s.call_tool("profile_callers", {"function": "regex"})
        check(r.is_error and re.search(r"\(and \d+ more\)", text_of(r)),
              "the candidates listed are capped, and the rest counted")
        r = await s.call_tool("profile_callees", {"function": "no_such_function"})
        check(r.is_error and "no function" in text_of(r), "an unknown function is named")
        r = await s.call_tool("profile_callers", {"function": "main", "direction": "up"})
        check(r.is_error and "no argument `direction`" in text_of(r),
              "profile_callers names an unknown argument")

        # Commit 4 of the history builds parse_line's regex on every call: from about 1% of the
        # scan to about 70%, and is_bot's share falls.
        r = await s.call_tool("profile_diff", {"base": "logscan-001.pb.gz",
                                               "profile": "logscan-080.pb.gz",
                                               "cum": True, "normalize": True, "n": 5})
        got = r.structured_content
        rows = {f["function"]: f for f in got["functions"]}
        parse = rows.get("logscan::parse::parse_line")
        check(not r.is_error and parse and parse["cum_delta"] > 0
              and parse["base_cum_share"] < 0.05 and parse["new_cum_share"] > 0.6,
              f"profile_diff finds parse_line's rise: {parse}")
        check(rows.get("logscan::parse::is_bot", {}).get("cum_delta", 0) < 0,
              "and is_bot's share falling")
        check(len(got["functions"]) == 5 and got["changed"] > 5
              and f"{got['changed'] - 5} more functions changed" in text_of(r),
              "profile_diff says how many changes `n` left out")
        r = await s.call_tool("profile_diff", {"base": "logscan-001.pb.gz",
                                               "profile": "missing.pb.gz"})
        check(r.is_error and "logscan-080.pb.gz" in text_of(r),
              "profile_diff refuses a profile it does not have, naming those it may read")

        # The example's two per-call regexes, as regex-in-hot-path finds them.
        r = await s.call_tool("syntax_query", {"language": "rust", "query": regex_new})
        got = r.structured_content
        check(not r.is_error and got["found"] == 2 and got["complete"]
              and [(m["path"], m["line"], m["function"]) for m in got["matches"]]
              == [("src/parse.rs", 20, "parse_line"), ("src/parse.rs", 38, "is_bot")],
              f"syntax_query finds Regex::new in parse_line and is_bot: {text_of(r)}")
        r = await s.call_tool("syntax_query", {"language": "rust", "limit": 3, "under": "src",
                                               "query": "(function_item name: (identifier) @name)"})
        got = r.structured_content
        check(not r.is_error and got["shown"] == 3 and got["found"] > 3
              and got["dropped"] == got["found"] - 3
              and f"{got['dropped']} more matches left out" in text_of(r),
              "syntax_query says how many matches `limit` left out")
        r = await s.call_tool("syntax_query", {"language": "rust", "query": "(no_such_node) @x"})
        check(r.is_error and "no_such_node" in text_of(r), "a query that does not compile says where")
        r = await s.call_tool("syntax_query", {"language": "cobol", "query": "(x)"})
        check(r.is_error and "rust" in text_of(r), "an unknown language lists those there are")
        r = await s.call_tool("syntax_query", {"language": "rust", "query": regex_new,
                                               "under": "../.."})
        check(r.is_error and "`..`" in text_of(r), "syntax_query refuses a path out of the tree")

    await session(a.joule, args, queries)
    if not a.policy:
        return

    # Within the [agent] grants: the history's profiles but not logscan.pb.gz, the tree but not
    # src/synth.rs.
    with open(a.policy) as f:
        text = f.read()
    granted = os.path.join(a.scratch, "agent-queries.toml")
    with open(granted, "w") as f:
        f.write(text + '\n[agent]\nsources = ["example"]\nprofiles = ["logscan-0*.pb.gz"]\n'
                'deny = ["src/synth.rs"]\n')
    audit = os.path.join(a.scratch, "queries-audit.jsonl")

    async def within_grants(s, init):
        r = await s.call_tool("profile_callers", {"function": "logscan::parse::parse_line"})
        check(not r.is_error and r.structured_content["profile"] == "logscan-001.pb.gz",
              "profile_callers reads the first profile the agent may read")
        r = await s.call_tool("profile_callees", {"profile": "logscan.pb.gz", "function": "is_bot"})
        check(r.is_error and "no profile `logscan.pb.gz` that this agent may read" in text_of(r)
              and "logscan-080.pb.gz" in text_of(r),
              f"a profile outside [agent] is refused, naming those it may read: {text_of(r)}")
        r = await s.call_tool("profile_diff", {"base": "logscan.pb.gz",
                                               "profile": "logscan-080.pb.gz"})
        check(r.is_error and "may read" in text_of(r), "profile_diff needs both profiles granted")
        r = await s.call_tool("profile_diff", {"base": "logscan-001.pb.gz",
                                               "profile": "logscan-080.pb.gz", "n": 1})
        check(not r.is_error and len(r.structured_content["functions"]) == 1,
              "profile_diff of two granted profiles answers")
        r = await s.call_tool("syntax_query", {"language": "rust", "query": "(identifier) @i",
                                               "globs": ["src/synth.rs"]})
        check(not r.is_error and r.structured_content["found"] == 0,
              "syntax_query leaves out a file the [agent] deny rule names")
        r = await s.call_tool("syntax_query", {"language": "rust", "query": "(identifier) @i",
                                               "under": "src/synth.rs"})
        check(r.is_error and "synth.rs" in text_of(r), "and refuses it as `under`")
        r = await s.call_tool("syntax_query", {"language": "rust", "query": regex_new})
        check(not r.is_error and r.structured_content["found"] == 2,
              "syntax_query reads the rest of the tree")
        r = await s.call_tool("syntax_query", {"tree": "other", "language": "rust",
                                               "query": regex_new})
        check(r.is_error and "may read: example" in text_of(r),
              "a tree outside [agent] is refused, naming those it may read")

    await session(a.joule, args + ["--policy", granted, "--audit-log", audit], within_grants)
    calls = [json.loads(line) for line in open(audit)]
    check(any(c["interface"] == "mcp" and c["op"] == "profile_callees" and c["decision"] == "deny"
              for c in calls), "the audit log records the refused profile_callees")

    async def no_agent(s, init):
        r = await s.call_tool("syntax_query", {"language": "rust", "query": regex_new})
        check(r.is_error and "[agent]" in text_of(r),
              "under a policy without [agent], syntax_query is denied with the lines to add")
    await session(a.joule, args + ["--policy", a.policy], no_agent)


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
    await profile_and_syntax_queries(a)

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
        # Cancelled by the client: the call ends, the invocation stops (a skill waiting in a
        # host call and one spinning in its own code), and the server answers the next call.
        for skill, how in [("sleeper", {"how": "sleep"}), ("spinner", {})]:
            cancelled_at = time.monotonic()
            with anyio.move_on_after(1.5):
                await s.call_tool(skill, how)
                check(False, f"{skill} returned before being cancelled")
            started = time.monotonic()
            r = await s.call_tool("profile_top", {"n": 1})
            check(not r.is_error and time.monotonic() - started < 5,
                  f"after a cancelled {skill} call the server answers at once")
            stopped = None
            while stopped is None and time.monotonic() - cancelled_at < 10:
                for line in open(trap_audit):
                    c = json.loads(line)
                    if c["interface"] == "run" and c["skill"] == skill:
                        stopped = c
                await anyio.sleep(0.05)
            check(stopped is not None and "cancelled" in (stopped["reason"] or ""),
                  f"the cancelled {skill} invocation stopped (audited: {stopped and stopped['reason']})")
            check(time.monotonic() - cancelled_at < 10,
                  f"the cancelled {skill} stopped long before its 30 s deadline")
        # Progress: a run reports its invocations as they finish.
        seen = []

        async def progressed(progress, total, message):
            seen.append((progress, total, message))
        r = await s.call_tool("panicker", {}, progress_callback=progressed)
        # The server sends progress before the result (when the invocation starts and when it
        # ends), but the SDK runs progress callbacks in tasks of their own and forgets a call's
        # callback once its result is in: the last notice may come too late to be heard.
        waited = time.monotonic()
        while not seen and time.monotonic() - waited < 5:
            await anyio.sleep(0.05)
        done = [p for p, _, _ in seen]
        check(seen and all(t == 1 for _, t, _ in seen) and done == sorted(done)
              and all("panicker" in (m or "") for p, _, m in seen if p == 1),
              f"a skill tool sends progress notifications ({seen})")

    panicker = os.path.join(a.test_skills, "panicker.wasm")
    sleeper = os.path.join(a.test_skills, "sleeper.wasm")
    spinner = os.path.join(a.test_skills, "spinner.wasm")
    trap_audit = os.path.join(a.scratch, "trap-audit.jsonl")
    if os.path.exists(trap_audit):
        os.remove(trap_audit)
    await session(a.joule, example_args(history, False) + ["--skills", panicker, "--skills", sleeper,
                                                           "--skills", spinner,
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
    await http_transport(a, history)
    await tool_list_changes(a, history)

    # Malformed JSON-RPC: an error answer, and the server stays up for the next request.
    proc = subprocess.Popen([a.joule, "mcp", *example_args(history, False), "--skills",
                             os.path.join(a.skills, "hot-functions.wasm")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env={**os.environ, **NO_BUILTIN})
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

    # A client that disconnects mid-run leaves no work running: the spinning invocation stops
    # and the server exits, long before the skill's 60 s deadline (rmcp gives handlers 5 s to
    # finish after end of input, then cancels them).
    gone_audit = os.path.join(a.scratch, "gone-audit.jsonl")
    if os.path.exists(gone_audit):
        os.remove(gone_audit)
    proc = subprocess.Popen([a.joule, "mcp", *example_args(history, False), "--skills",
                             os.path.join(a.test_skills, "spinner.wasm"), "--timeout", "60",
                             "--audit-log", gone_audit],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env={**os.environ, **NO_BUILTIN})
    proc.stdin.write(json.dumps(init) + "\n")
    proc.stdin.flush()
    proc.stdout.readline()
    proc.stdin.write(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}) + "\n")
    proc.stdin.write(json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                                 "params": {"name": "spinner", "arguments": {}}}) + "\n")
    proc.stdin.flush()
    time.sleep(1.5)
    check(proc.poll() is None, "the spinner runs while the client is connected")
    gone = time.monotonic()
    proc.stdin.close()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    waited = time.monotonic() - gone
    runs = [json.loads(line) for line in open(gone_audit)]
    runs = [c for c in runs if c["interface"] == "run" and c["skill"] == "spinner"]
    check(waited < 10 and runs and "cancelled" in (runs[-1]["reason"] or ""),
          f"a client that disconnects mid-run stops it: the server exited {waited:.1f} s after "
          f"(audited: {runs and runs[-1]['reason']})")


async def http_transport(a, history):
    """`joule mcp --http`: the same server over Streamable HTTP, driven by the SDK's HTTP
    client, and a request with a foreign Host header (DNS rebinding) refused."""
    import urllib.error
    import urllib.request
    from mcp.client.streamable_http import streamable_http_client

    audit = os.path.join(a.scratch, "http-audit.jsonl")
    if os.path.exists(audit):
        os.remove(audit)
    proc = subprocess.Popen([a.joule, "mcp", "--http", "127.0.0.1:0", *example_args(history, False),
                             "--skills", a.skills, "--audit-log", audit],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **NO_BUILTIN})
    try:
        url = None
        for line in proc.stderr:
            found = re.search(r"serving MCP at (http://\S+)", line)
            if found:
                url = found.group(1)
                break
        check(url is not None and url.startswith("http://127.0.0.1:") and url.endswith("/mcp"),
              f"--http 127.0.0.1:0 says where it serves ({url})")
        async with streamable_http_client(url) as (read, write, *_):
            async with ClientSession(read, write) as s:
                init = await s.initialize()
                check(init.server_info.name == "joule", "initialize over Streamable HTTP")
                names = {t.name for t in (await s.list_tools()).tools}
                check({"profile_top", "regex-in-hot-path", "run_skill"} <= names,
                      "the tool list over HTTP has the core and the skills' tools")
                r = await s.call_tool("profile_top", {"n": 3})
                check(not r.is_error and r.structured_content["functions"][0]["function"]
                      == "core::ptr::write", "profile_top over HTTP")
                r = await s.call_tool("regex-in-hot-path", {})
                found = r.structured_content["findings"]
                check(not r.is_error and len(found) == 2 and all(f["patch"] for f in found),
                      "the regex skill's two findings with patches over HTTP")
                r = await s.call_tool("read_source", {"path": ".env"})
                check(r.is_error, "a denied read over HTTP is a tool error")
        # A page on another origin that rebinds its name to 127.0.0.1 sends its own Host.
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                           "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                                      "clientInfo": {"name": "page", "version": "0"}}}).encode()
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Host": "attacker.example", "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream"})
        try:
            status = urllib.request.urlopen(request, timeout=10).status
        except urllib.error.HTTPError as e:
            status = e.code
        check(status == 403, f"a request with a foreign Host header is refused ({status})")
        try:
            urllib.request.urlopen(url.replace("/mcp", "/other"), timeout=10)
            status = 200
        except urllib.error.HTTPError as e:
            status = e.code
        check(status == 404, "paths other than /mcp are not found")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    calls = [json.loads(line) for line in open(audit)]
    check(any(c["interface"] == "mcp" and c["op"] == "regex-in-hot-path" for c in calls)
          and any(c["interface"] == "mcp" and c["op"] == "read_source" and c["decision"] == "deny"
                  for c in calls),
          "tool calls over HTTP are audited as over stdio")


async def tool_list_changes(a, history):
    """A component added to or removed from the skills directory changes the tool list, and
    the client is told (`notifications/tools/list_changed`)."""
    import shutil
    watched = os.path.join(a.scratch, "watched-skills")
    shutil.rmtree(watched, ignore_errors=True)
    os.makedirs(watched)
    shutil.copy(os.path.join(a.skills, "hot-functions.wasm"), watched)
    notices = []

    async def handler(message):
        root = getattr(message, "root", message)
        if "ToolListChanged" in type(root).__name__:
            notices.append(time.monotonic())

    async def told(count, within=15):
        started = time.monotonic()
        while len(notices) < count and time.monotonic() - started < within:
            await anyio.sleep(0.1)
        return len(notices) >= count

    params = StdioServerParameters(command=a.joule, args=[
        "mcp", *example_args(history, False), "--skills", watched], env=server_env())
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write, message_handler=handler) as s:
            init = await s.initialize()
            check(init.capabilities.tools.list_changed is True,
                  "the server says its tool list can change")
            names = {t.name for t in (await s.list_tools()).tools}
            check("hot-functions" in names and "panicker" not in names, "one skill's tool at first")
            shutil.copy(os.path.join(a.test_skills, "panicker.wasm"), watched)
            check(await told(1), "adding a component sends tools/list_changed")
            names = {t.name for t in (await s.list_tools()).tools}
            check("panicker" in names and "hot-functions" in names, "the added skill has its tool")
            r = await s.call_tool("panicker", {})
            check(r.is_error and "panic" in text_of(r).lower(), "and the tool runs the new skill")
            os.remove(os.path.join(watched, "panicker.wasm"))
            check(await told(2), "removing a component sends tools/list_changed")
            names = {t.name for t in (await s.list_tools()).tools}
            check("panicker" not in names and "hot-functions" in names,
                  "the removed skill's tool is gone")
            try:
                await s.call_tool("panicker", {})
                refused = None
            except MCPError as e:
                refused = e
            check(refused is not None and "unknown tool" in str(refused),
                  "calling the removed skill's tool is an unknown tool")
            # A file that is not a component: reported at load, the loaded skills stay.
            with open(os.path.join(watched, "broken.wasm"), "wb") as f:
                f.write(b"not wasm")
            await anyio.sleep(3)
            r = await s.call_tool("profile_top", {"n": 1})
            check(not r.is_error, "a broken component in the directory does not stop the server")
            names = {t.name for t in (await s.list_tools()).tools}
            check("hot-functions" in names, "and the loaded skills stay")


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
