# Joule: build, demo, test. `make help` lists the targets.

CARGO        ?= cargo
WASM_TARGET  := wasm32-wasip2
# Skills shipped with Joule, and the test-only skills (hostile ones, the benchmark probe): every
# crate under the workspace's `skills/*` and `tests/skills/*` members, each named after its folder.
crates_in    = $(patsubst $(1)/%/Cargo.toml,%,$(wildcard $(1)/*/Cargo.toml))
SKILLS       := $(call crates_in,skills)
TEST_SKILLS  := $(call crates_in,tests/skills)
# Honour CARGO_TARGET_DIR when CI points cargo at a shared build cache.
TARGET_DIR   := $(or $(CARGO_TARGET_DIR),target)
SKILL_DIR    := $(TARGET_DIR)/joule-skills
TEST_SKILL_DIR := $(TARGET_DIR)/test-skills
# The skills build in a target directory of their own, the one the host's build script builds
# them in to embed them (host/build.rs): the two share one cache.
WASM_DIR     := $(TARGET_DIR)/wasm
WASM_OUT     := $(WASM_DIR)/$(WASM_TARGET)/skill
JOULE        := $(TARGET_DIR)/release/joule

.PHONY: help setup setup-build build skills test-skills demo demo-policy deploy-check test bench-report bench-mcp eval-defense eval-attribution eval-offense eval-capture markdown-gfm lint bench bench-fleet bench-shards bench-symbols profiles offense-profiles history-profiles fuzz clean

help:
	@echo "make setup     the wasm32-wasip2 target, the dependencies, and (apt) what the tests need; make test runs it"
	@echo "make build     build the joule host (release) and the shipped skills"
	@echo "make demo      run every shipped skill on the bundled example, print the report"
	@echo "make demo-policy  the demo under policies/demo.toml, with an audit log and \`joule audit\`"
	@echo "make eval-defense  regression detection on labelled synthetic fleets, beside Apache Otava"
	@echo "make eval-attribution  commit attribution on real Python, Rust and Go histories with planted"
	@echo "               slowdowns, every deploy profiled (py-spy, perf, pprof); LANG=python|rust|go, SEEDS=1-8"
	@echo "make eval-offense  offense skills on the corpus of real programs: precision/recall, patch speed-ups"
	@echo "make eval-capture  the corpus's native programs captured with frame pointers (perf script,"
	@echo "               perf.data) and with DWARF: is the planted waste found from each"
	@echo "make test      build everything and run all tests (unit and end-to-end)"
	@echo "make markdown-gfm  the Markdown escaping's hostile strings, read by cmark-gfm (GitHub's parser)"
	@echo "make lint      rustfmt check and clippy, native and wasm"
	@echo "make deploy-check  validate deploy/kubernetes/ against Kubernetes' schemas (strict)"
	@echo "make bench     benchmarks: instantiation, host calls, profile reading and top, metric ingest"
	@echo "make bench-fleet  a generated fleet (SERIES=100000 POINTS=1000) read, then scanned by joule run"
	@echo "make bench-shards  a million-series Parquet fleet scanned by SHARDS=10 shards, then merged"
	@echo "make bench-report  the example's report made in each format (JSON, Markdown, SARIF, HTML)"
	@echo "make bench-mcp  joule mcp round trips from the Python MCP SDK: profile_top, a skill tool"
	@echo "make bench-symbols  the function index of SYMBOL_TREE (Go's 9,000-file sources), cold then cached"
	@echo "make profiles  re-capture the example's profiles (see example/README.md)"
	@echo "make offense-profiles  re-capture the offense corpus' profiles (see docs/offense.md)"
	@echo "make history-profiles  re-capture the profiles of the example's history (example/history)"
	@echo "make fuzz      run each fuzz target for FUZZ_SECONDS (60) seconds (needs cargo-fuzz): the"
	@echo "               profile readers, then the attack generator (host_calls, fuzz/host)"

# Prometheus and promtool (Debian package) for the tests that read series from a real server.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# What building needs: the wasm target (the skills, and the host's build script that embeds
# them). `make setup` adds what the tests need on top.
setup-build:
	rustup target add $(WASM_TARGET)

setup: setup-build
	$(CARGO) fetch
	command -v prometheus >/dev/null && command -v promtool >/dev/null || \
		{ $(SUDO) apt-get update -qq && \
		  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends prometheus; }
	command -v python3 >/dev/null && python3 -c 'import ensurepip, venv' 2>/dev/null && \
		command -v g++ >/dev/null && command -v go >/dev/null && command -v javac >/dev/null && \
		command -v npm >/dev/null && command -v chromium >/dev/null && command -v xz >/dev/null || \
		{ $(SUDO) apt-get update -qq && \
		  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends \
		  python3 python3-venv g++ golang-go default-jdk-headless npm chromium xz-utils; }

build: skills
	$(CARGO) build --release -p joule

# Skills are cdylib crates; on wasm32-wasip2 the linker emits a component directly.
# The same environment as the host's build script gives it (host/build.rs): the host's
# RUSTFLAGS are not the skills', and the two builds share <target>/wasm and give one digest.
skills: setup-build
	env -u RUSTFLAGS -u CARGO_BUILD_RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS $(CARGO) build --target $(WASM_TARGET) --profile skill --target-dir $(WASM_DIR) $(addprefix -p ,$(SKILLS))
	@mkdir -p $(SKILL_DIR)
	@for s in $(SKILLS); do cp $(WASM_OUT)/$$(echo $$s | tr - _).wasm $(SKILL_DIR)/$$s.wasm; done

test-skills: setup-build
	env -u RUSTFLAGS -u CARGO_BUILD_RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS $(CARGO) build --target $(WASM_TARGET) --profile skill --target-dir $(WASM_DIR) $(addprefix -p ,$(TEST_SKILLS))
	@mkdir -p $(TEST_SKILL_DIR)
	@for s in $(TEST_SKILLS); do cp $(WASM_OUT)/$$(echo $$s | tr - _).wasm $(TEST_SKILL_DIR)/$$s.wasm; done

# Offense on the example's profile and source; defense on its history (example/history): the
# git repository from the bundle, when each commit was deployed, and profiles taken over time,
# of which the service's own functions' cumulative shares are watched.
DEMO_HISTORY := $(TARGET_DIR)/demo/logscan
DEMO_RUN     := $(JOULE) run --profile example/profiles/logscan.pb.gz --source example=example/logscan \
	--history logscan=$(DEMO_HISTORY) --deploy-log logscan=example/history/deploys.csv \
	--profile-series example/history/profiles --param regression-detect.series=total:logscan:: \
	--skills $(SKILL_DIR)

demo: setup-build build
	@rm -rf $(DEMO_HISTORY)
	git -c init.defaultBranch=main clone -q example/history/logscan.bundle $(DEMO_HISTORY)
	$(DEMO_RUN) --patch $(TARGET_DIR)/demo.patch --format json -o $(TARGET_DIR)/demo.json \
		--html $(TARGET_DIR)/demo.html
	$(JOULE) merge $(TARGET_DIR)/demo.json
	$(JOULE) merge $(TARGET_DIR)/demo.json --format sarif -o $(TARGET_DIR)/demo.sarif
	@echo "(the suggested edits, as one patch: $(TARGET_DIR)/demo.patch; the report as JSON, SARIF and a page to open in a browser: $(TARGET_DIR)/demo.json, $(TARGET_DIR)/demo.sarif, $(TARGET_DIR)/demo.html)"

# Re-captures the history's profiles (example/history/capture): every commit built and profiled.
history-profiles:
	example/history/capture

# Detection quality and speed on labelled synthetic fleets (tests/eval/defense.py), with Apache
# Otava (PyPI apache-otava, in its own venv under the target directory) on the same series.
EVAL_VENV := $(TARGET_DIR)/eval-venv
EVAL_SCALE ?= 3

$(EVAL_VENV)/bin/python:
	python3 -m venv $(EVAL_VENV)
	$(EVAL_VENV)/bin/pip install --quiet apache-otava==0.8.0

eval-defense: build $(EVAL_VENV)/bin/python
	python3 tests/eval/defense.py $(JOULE) $(SKILL_DIR) --otava $(EVAL_VENV)/bin/python \
		--scale $(EVAL_SCALE) --out $(TARGET_DIR)/eval-defense
	@echo "The most any test finds of 0.4% steps at 0.001 false alarms a series:"
	$(CARGO) run --quiet --release --example bound -p regression-detect

# py-spy (PyPI, into a venv here) profiles the Python programs: the offense corpus, the real
# programs of eval-offense, the Python history of eval-attribution.
PYSPY_VENV := $(TARGET_DIR)/pyspy-venv
$(PYSPY_VENV)/bin/py-spy:
	python3 -m venv $(PYSPY_VENV)
	$(PYSPY_VENV)/bin/pip install --quiet py-spy==0.4.3

# Offense skills on tests/offense/: per-skill precision and recall over the corpus and the clean
# code, and for each Rust case the patch applied to a copy, its tests run, and the speed-up.
# Then on real programs from the registries (tests/eval/real.py; network to crates.io), every
# finding checked against the verdicts in tests/eval/real/judgements.toml.
eval-offense: build $(PYSPY_VENV)/bin/py-spy
	python3 tests/eval/offense.py $(JOULE) $(SKILL_DIR) --out $(TARGET_DIR)/eval-offense
	python3 tests/eval/real.py $(JOULE) $(SKILL_DIR) --out $(abspath $(TARGET_DIR))/eval-real \
		--py-spy $(abspath $(PYSPY_VENV))/bin/py-spy

# The demo under policies/demo.toml (pinned to the components just built), with an audit log,
# then the security review of the shipped skills against that policy.
demo-policy: build
	@mkdir -p $(TARGET_DIR)/policy
	cp policies/demo.toml $(TARGET_DIR)/policy/demo.toml
	$(JOULE) policy pin $(TARGET_DIR)/policy/demo.toml --skills $(SKILL_DIR)
	$(JOULE) audit $(SKILL_DIR) --policy $(TARGET_DIR)/policy/demo.toml
	$(JOULE) run --profile example/profiles/logscan.pb.gz --source example=example/logscan \
		--skills $(SKILL_DIR) --policy $(TARGET_DIR)/policy/demo.toml \
		--audit-log $(TARGET_DIR)/policy/audit.jsonl
	@echo "(one line per host call: $(TARGET_DIR)/policy/audit.jsonl)"

test: setup skills test-skills
	$(CARGO) test --workspace

# The hostile strings of host/src/untrusted/tests.rs, written in every Markdown place, read by
# cmark-gfm (PyPI cmarkgfm, in its own venv under the target directory): what GitHub shows.
GFM_VENV := $(TARGET_DIR)/gfm-venv

$(GFM_VENV)/bin/python:
	python3 -m venv $(GFM_VENV)
	$(GFM_VENV)/bin/pip install --quiet cmarkgfm==2025.10.22

markdown-gfm: $(GFM_VENV)/bin/python
	JOULE_MARKDOWN_CORPUS=$(abspath $(TARGET_DIR))/markdown-corpus.json \
		$(CARGO) test -p joule --lib untrusted::tests::markdown_corpus_for_other_readers -- --ignored
	$(GFM_VENV)/bin/python tests/eval/markdown_gfm.py $(TARGET_DIR)/markdown-corpus.json

# The Kubernetes manifests, against Kubernetes' own schemas (PyPI kubernetes-validate, in its
# own venv under the target directory); strict: an unknown field is an error.
KV_VENV := $(TARGET_DIR)/kv-venv

$(KV_VENV)/bin/kubernetes-validate:
	python3 -m venv $(KV_VENV)
	$(KV_VENV)/bin/pip install --quiet kubernetes-validate==1.37.0

deploy-check: $(KV_VENV)/bin/kubernetes-validate
	$(KV_VENV)/bin/kubernetes-validate --strict deploy/kubernetes/*.yaml

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings
	$(CARGO) clippy --target $(WASM_TARGET) $(addprefix -p ,$(SKILLS) $(TEST_SKILLS)) -- -D warnings

# The report in each format for the example (the demo's run, in release): how long making each
# one takes inside the process (`-v` logs it), and the whole conversion of the JSON report.
bench-report: build
	@rm -rf $(DEMO_HISTORY)
	@git -c init.defaultBranch=main clone -q example/history/logscan.bundle $(DEMO_HISTORY)
	@$(DEMO_RUN) --format json -o $(TARGET_DIR)/bench-report.json 2>/dev/null || [ $$? = 3 ]
	@for f in json markdown sarif html; do \
		$(DEMO_RUN) --format $$f -o /dev/null -v 2>&1 | grep 'the report:' | sed 's/.*the report:/joule run:/'; \
	done
	@for f in sarif html; do \
		start=$$(date +%s%N); \
		$(JOULE) merge $(TARGET_DIR)/bench-report.json --format $$f -o /dev/null; \
		echo "joule merge --format $$f: $$(( ($$(date +%s%N) - start) / 1000 )) µs, the whole process"; \
	done

bench: skills test-skills
	$(CARGO) bench -p joule -p joule-profile

# `joule mcp` driven by the official MCP Python SDK (PyPI mcp, in the venv the e2e test makes):
# the median round trip of `profile_top` on the example, and what the `hot-functions` tool costs
# beyond the skill's own run.
MCP_VENV := $(TARGET_DIR)/mcp-venv
$(MCP_VENV)/bin/python:
	python3 -m venv $(MCP_VENV)
	$(MCP_VENV)/bin/pip install --quiet mcp==2.3.0

bench-mcp: build test-skills $(MCP_VENV)/bin/python
	@mkdir -p $(TARGET_DIR)/bench-mcp
	$(MCP_VENV)/bin/python tests/e2e/mcp_client.py $(JOULE) $(SKILL_DIR) $(TEST_SKILL_DIR) \
		$(abspath $(TARGET_DIR))/bench-mcp --bench 1000

# A fleet of SERIES x POINTS (tests/examples/fleet.rs, seed 1, generated once), read alone
# (tests/examples/ingest.rs: time, bytes a point, peak memory), then scanned end to end by the
# release `joule` under /usr/bin/time (exit status 3, a failed skill run, still reports).
SERIES ?= 100000
POINTS ?= 1000
FLEET  := $(TARGET_DIR)/fleet/fleet-$(SERIES)x$(POINTS).csv

$(FLEET):
	@mkdir -p $(dir $@)
	$(CARGO) run --release -p joule-tests --example fleet -- --series $(SERIES) --points $(POINTS) \
		--seed 1 --out $@

bench-fleet: build $(FLEET)
	$(CARGO) build --release -p joule-tests --example ingest
	$(TARGET_DIR)/release/examples/ingest $(FLEET)
	/usr/bin/time -v $(JOULE) run --metrics $(FLEET) --skills $(SKILL_DIR) --format json \
		--output $(TARGET_DIR)/fleet/report.json 2> $(TARGET_DIR)/fleet/time.txt; \
		status=$$?; grep -E "Elapsed \(wall|Maximum resident" $(TARGET_DIR)/fleet/time.txt; \
		echo "joule exit status $$status; report: $(TARGET_DIR)/fleet/report.json"; [ $$status -le 3 ]

# The function index `tree.definitions` answers from, built over a real tree of 10,322 files
# in three languages, first with nothing cached, then again from the cache of its files'
# definitions, then checked: every file parsed whole gives the definitions the index found
# (Go's function bodies are blanked before indexing). The tree is copied together once from
# Go 1.19's own sources (Debian's golang-1.19-src, 9,081 files), Python 3.11's standard library
# (668) and tokio 1.54.1 from the cargo registry (573, fetched by `make setup`); SYMBOL_TREE=DIR
# indexes another tree instead.
SYMBOL_PARTS := /usr/share/go-1.19 /usr/lib/python3.11 \
	$(firstword $(wildcard $(HOME)/.cargo/registry/src/*/tokio-1.54.1))
SYMBOL_TREE ?= $(TARGET_DIR)/symbol-tree
$(TARGET_DIR)/symbol-tree:
	@test -n "$(filter %tokio-1.54.1,$(SYMBOL_PARTS))" || { echo "tokio 1.54.1 is not in the cargo registry: make setup"; exit 1; }
	@for d in $(SYMBOL_PARTS); do test -d $$d || { echo "$$d is missing (apt-get install golang-1.19-src python3.11; make setup), or give SYMBOL_TREE=DIR"; exit 1; }; done
	rm -rf $@.partial && mkdir -p $@.partial
	for d in $(SYMBOL_PARTS); do cp -r $$d $@.partial/$$(basename $$d); done
	mv $@.partial $@

bench-symbols: $(SYMBOL_TREE)
	$(CARGO) build --release -p joule-tests --example symbols
	rm -rf $(TARGET_DIR)/bench-symbols
	for run in cold cached; do \
		/usr/bin/time -v $(TARGET_DIR)/release/examples/symbols $(SYMBOL_TREE) \
			--cache $(TARGET_DIR)/bench-symbols Run main 2>&1 \
			| grep -E "files|lookup|Elapsed \(wall|Maximum resident" || exit 1; \
	done
	$(TARGET_DIR)/release/examples/symbols $(SYMBOL_TREE) --check | grep -E "^check|files"

# A fleet of SHARD_SERIES x POINTS in Parquet (12.9 GB at 1,000,000 x 1,000; generated once)
# scanned by SHARDS processes one after another, as an Indexed Job's pods would scan it, each
# timed by /usr/bin/time, then joined by `joule merge`.
SHARD_SERIES ?= 1000000
SHARDS ?= 10
SHARD_FLEET := $(TARGET_DIR)/fleet/fleet-$(SHARD_SERIES)x$(POINTS).parquet

$(SHARD_FLEET):
	@mkdir -p $(dir $@)
	$(CARGO) run --release -p joule-tests --example fleet -- --series $(SHARD_SERIES) \
		--points $(POINTS) --seed 1 --format parquet --out $@

bench-shards: build $(SHARD_FLEET)
	@for k in $$(seq 0 $$(($(SHARDS) - 1))); do \
		/usr/bin/time -v $(JOULE) run --shard $$k/$(SHARDS) --metrics $(SHARD_FLEET) \
			--skills $(SKILL_DIR) --format json --output $(TARGET_DIR)/fleet/shard-$$k.json \
			2> $(TARGET_DIR)/fleet/shard-$$k.time; status=$$?; \
		echo "shard $$k/$(SHARDS): exit $$status, $$(grep -E 'Elapsed \(wall' $(TARGET_DIR)/fleet/shard-$$k.time \
			| sed 's/.*: //') wall, $$(grep 'Maximum resident' $(TARGET_DIR)/fleet/shard-$$k.time \
			| sed 's/.*: //') KB peak"; [ $$status -le 3 ] || exit 1; \
	done
	/usr/bin/time -f "merge: %e s wall, %M KB peak" $(JOULE) merge \
		$$(seq -f "$(TARGET_DIR)/fleet/shard-%g.json" 0 $$(($(SHARDS) - 1))) --format json \
		-o $(TARGET_DIR)/fleet/merged.json

# Re-captures the example's profiles with pprof-rs sampling the real program in-process.
profiles:
	$(CARGO) run --profile profiling -p logscan --features capture -- --lines 50000 \
		--pprof example/profiles/logscan.pb.gz --folded example/profiles/logscan.folded

# Re-capture the offense corpus' profiles (pprof-rs in the program, see docs/offense.md): each
# case's workload, run long enough for a few hundred samples.
# Python programs are profiled with py-spy (PyPI, into a venv here), in speedscope format.
OFFENSE_CAPTURES := corpus/sortkeys:corpus-sortkeys:10 corpus/wordcount:corpus-wordcount:25 \
                    corpus/emails:corpus-emails:3 corpus/export:corpus-export:3 \
                    corpus/fraud:corpus-fraud:20 corpus/joinids:corpus-joinids:3 \
                    clean/joule-profiles:clean-joule-profiles:60

# Attribution on real histories (tests/eval/histories/: consecutive commits or released versions of
# open-source projects), slowdowns planted at random, every deploy profiled: Python-Markdown with
# py-spy, similar (Rust) with perf, go-diff (Go) with runtime/pprof. LANG picks one language.
ATTRIBUTION_PROJECTS_python := python-markdown
ATTRIBUTION_PROJECTS_rust   := similar
ATTRIBUTION_PROJECTS_go     := go-diff
LANG_SELECTED := $(filter python rust go,$(LANG))
ATTRIBUTION_PROJECTS := $(if $(LANG_SELECTED),$(ATTRIBUTION_PROJECTS_$(LANG_SELECTED)),python-markdown,similar,go-diff)
SEEDS ?= 1-8
eval-attribution: build $(PYSPY_VENV)/bin/py-spy
	python3 tests/eval/attribution_real.py $(JOULE) $(SKILL_DIR) --pyspy $(PYSPY_VENV)/bin/py-spy \
		--out $(TARGET_DIR)/eval-attribution --projects $(ATTRIBUTION_PROJECTS) --seeds $(SEEDS)

# The offense corpus's perf-profiled programs captured three ways (frame pointers read as perf
# script, frame pointers read as perf.data and symbolized by Joule, DWARF unwinding), the expected
# finding looked for in each (needs perf, gcc/g++).
eval-capture: build skills
	python3 tests/eval/capture.py $(JOULE) $(SKILL_DIR) --out $(abspath $(TARGET_DIR))/eval-capture

offense-profiles: $(PYSPY_VENV)/bin/py-spy
	@for c in $(OFFENSE_CAPTURES); do \
		dir=$${c%%:*}; rest=$${c#*:}; pkg=$${rest%%:*}; n=$${rest#*:}; \
		$(CARGO) build --profile profiling -p $$pkg --features capture && \
		$(TARGET_DIR)/profiling/$$pkg --iterations $$n --pprof tests/offense/$$dir/profile.pb.gz \
			|| exit 1; \
	done
	RUSTFLAGS="-C force-frame-pointers=yes" $(CARGO) build --release -p corpus-prices \
		--target-dir $(TARGET_DIR)/frame-pointers
	perf record -e cpu-clock -F 999 -g -o $(TARGET_DIR)/prices.perf.data \
		$(TARGET_DIR)/frame-pointers/release/corpus-prices --iterations 10
	perf script -i $(TARGET_DIR)/prices.perf.data | gzip > tests/offense/corpus/prices/profile.perf.txt.gz
	$(MAKE) -C tests/offense/corpus/cpp-buckets -f build.mk bench
	perf record -e cpu-clock -F 999 -g -o $(TARGET_DIR)/cpp-buckets.perf.data \
		tests/offense/corpus/cpp-buckets/bench --iterations 15
	perf script -i $(TARGET_DIR)/cpp-buckets.perf.data | gzip > tests/offense/corpus/cpp-buckets/profile.perf.txt.gz
	rm -f tests/offense/corpus/cpp-buckets/bench
	$(MAKE) -C tests/offense/corpus/cpp-cache -f build.mk bench
	perf record -e cpu-clock -F 999 -g -o $(TARGET_DIR)/cpp-cache.perf.data \
		tests/offense/corpus/cpp-cache/bench --iterations 3
	$(CARGO) run --release -q -p joule -- profile convert $(TARGET_DIR)/cpp-cache.perf.data \
		--to pprof -o tests/offense/corpus/cpp-cache/profile.pb.gz
	rm -f tests/offense/corpus/cpp-cache/bench
	$(MAKE) -C tests/offense/corpus/cpp-allowlist -f build.mk bench
	perf record -e cpu-clock -F 999 -g -o $(TARGET_DIR)/cpp-allowlist.perf.data \
		tests/offense/corpus/cpp-allowlist/bench --iterations 200
	$(CARGO) run --release -q -p joule -- profile convert $(TARGET_DIR)/cpp-allowlist.perf.data \
		--to pprof -o tests/offense/corpus/cpp-allowlist/profile.pb.gz
	rm -f tests/offense/corpus/cpp-allowlist/bench
	$(MAKE) -C tests/offense/corpus/c-stopwords -f build.mk bench
	perf record -e cpu-clock -F 999 -g -o $(TARGET_DIR)/c-stopwords.perf.data \
		tests/offense/corpus/c-stopwords/bench --iterations 5
	$(CARGO) run --release -q -p joule -- profile convert $(TARGET_DIR)/c-stopwords.perf.data \
		--to pprof -o tests/offense/corpus/c-stopwords/profile.pb.gz
	rm -f tests/offense/corpus/c-stopwords/bench
	@for c in heavy-hitters:30 blocklist:30 page-cache:3; do \
		dir=$${c%%:*}; n=$${c#*:}; \
		RUSTFLAGS="-C force-frame-pointers=yes" $(CARGO) build --profile profiling -p corpus-$$dir \
			--target-dir $(TARGET_DIR)/frame-pointers && \
		perf record -e cpu-clock -F 999 -g -o $(TARGET_DIR)/$$dir.perf.data \
			$(TARGET_DIR)/frame-pointers/profiling/corpus-$$dir --iterations $$n && \
		$(CARGO) run --release -q -p joule -- profile convert $(TARGET_DIR)/$$dir.perf.data \
			--to pprof -o tests/offense/corpus/$$dir/profile.pb.gz || exit 1; \
	done
	@for c in go-report:"--iterations 3 --cpuprofile profile.pb.gz" \
	          go-exposition:"--iterations 15 --cpuprofile cpu.pb.gz --allocprofile allocs.pb.gz" \
	          go-keywords:"--iterations 3 --cpuprofile profile.pb.gz" \
	          go-pages:"--iterations 3 --mutexprofile mutex.pb.gz" \
	          go-ranking:"--iterations 5 --cpuprofile profile.pb.gz" \
	          go-allowlist:"--iterations 40 --cpuprofile profile.pb.gz"; do \
		dir=$${c%%:*}; args=$${c#*:}; \
		(cd tests/offense/corpus/$$dir && go build -o bench-bin ./bench && \
			./bench-bin $$args && rm bench-bin) || exit 1; \
	done
	@for c in java-ledger:10 java-report:300 java-allowlist:40; do \
		dir=$${c%%:*}; n=$${c#*:}; \
		$(MAKE) -C tests/offense/corpus/$$dir -f build.mk bench && \
		(cd tests/offense/corpus/$$dir && perf record -e cpu-clock -F 999 -g \
			-o $(abspath $(TARGET_DIR))/$$dir.perf.data -- java -XX:+PreserveFramePointer \
			-XX:+UnlockDiagnosticVMOptions -XX:+DumpPerfMapAtExit -cp classes Bench --iterations $$n) && \
		$(CARGO) run --release -q -p joule -- profile convert $(TARGET_DIR)/$$dir.perf.data \
			--to pprof -o tests/offense/corpus/$$dir/profile.pb.gz && \
		rm -rf tests/offense/corpus/$$dir/classes || exit 1; \
	done
	$(MAKE) -C tests/offense/corpus/c-slugs -f build.mk bench
	perf record -e cpu-clock -F 999 --call-graph dwarf,16384 -o $(TARGET_DIR)/c-slugs.perf.data \
		tests/offense/corpus/c-slugs/bench --iterations 3
	perf script -i $(TARGET_DIR)/c-slugs.perf.data | gzip > tests/offense/corpus/c-slugs/profile.perf.txt.gz
	rm -f tests/offense/corpus/c-slugs/bench
	@for c in py-slugs:6 py-blocklist:1 py-overdue:10 py-frames:4 py-columns:8; do \
		dir=$${c%%:*}; n=$${c#*:}; \
		(cd tests/offense/corpus/$$dir && $(abspath $(PYSPY_VENV))/bin/py-spy record \
			--format speedscope -r 250 -o profile.speedscope.json -- \
			python3 bench.py --iterations $$n && gzip -f profile.speedscope.json) || exit 1; \
	done
	cd tests/offense/clean/eval-scripts && $(abspath $(PYSPY_VENV))/bin/py-spy record \
		--format speedscope -r 250 -o profile.speedscope.json -- python3 workload.py && \
		gzip -f profile.speedscope.json
	cd tests/offense/clean/py-once && $(abspath $(PYSPY_VENV))/bin/py-spy record \
		--format speedscope -r 250 -o profile.speedscope.json -- python3 workload.py 4 && \
		gzip -f profile.speedscope.json
	cd tests/offense/clean/py-text && $(abspath $(PYSPY_VENV))/bin/py-spy record \
		--format speedscope -r 250 -o profile.speedscope.json -- python3 workload.py 3 && \
		gzip -f profile.speedscope.json
	cd tests/offense/clean/py-eafp && $(abspath $(PYSPY_VENV))/bin/py-spy record \
		--format speedscope -r 250 -o profile.speedscope.json -- python3 workload.py 6 && \
		gzip -f profile.speedscope.json

# Coverage-guided fuzzing of every profile reader (fuzz/, its own workspace; cargo-fuzz 0.13),
# then of the host itself: the attack generator (fuzz/host, see docs/security.md).
# cargo fuzz needs nightly flags (sanitizers); RUSTC_BOOTSTRAP=1 lets the stable toolchain take
# them. New inputs go to fuzz/target/corpus/<target>, so the committed seeds in
# fuzz/corpus/<target> stay as they are; a crash stops the run with its input in fuzz/artifacts/.
# Inputs are capped at 64 KiB (256 KiB for pprof, whose seeds are binary profiles that size).
FUZZ_TARGETS := pprof perf perf_data folded speedscope chrome trace_event detect
FUZZ_SECONDS ?= 60
FUZZ_FLAGS   ?= -rss_limit_mb=2048 -timeout=30
# host_calls runs the `driver` test skill (so `make test-skills` first) in the real engine. It is
# built without a sanitizer and in 16 codegen units: Wasmtime, Cranelift, tree-sitter and libgit2
# under ASan in one unit would take most of CI's time to build, and the engine's own bounds are
# what it tests. Its new inputs go to fuzz/host/target/corpus/, crashes to fuzz/host/artifacts/.
FUZZ_HOST_FLAGS := --fuzz-dir fuzz/host --sanitizer none --codegen-units 16

fuzz: test-skills
	cd fuzz && RUSTC_BOOTSTRAP=1 $(CARGO) fuzz build
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p fuzz/target/corpus/$$t; \
		dict=$$(case $$t in perf) echo fuzz/dict/perf.dict;; folded) echo fuzz/dict/folded.dict;; \
			speedscope|chrome|trace_event) echo fuzz/dict/json.dict;; esac); \
		max_len=$$(case $$t in pprof) echo 262144;; *) echo 65536;; esac); \
		echo "== fuzz $$t for $(FUZZ_SECONDS)s"; \
		(cd fuzz && RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run $$t target/corpus/$$t corpus/$$t -- \
			-max_total_time=$(FUZZ_SECONDS) -max_len=$$max_len $${dict:+-dict=../$$dict} \
			$(FUZZ_FLAGS) -print_final_stats=1) || exit 1; \
	done
	@mkdir -p fuzz/host/target/corpus/host_calls
	@echo "== fuzz host_calls for $(FUZZ_SECONDS)s"
	RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run $(FUZZ_HOST_FLAGS) host_calls \
		fuzz/host/target/corpus/host_calls fuzz/corpus/host_calls -- \
		-max_total_time=$(FUZZ_SECONDS) -max_len=4096 $(FUZZ_FLAGS) -print_final_stats=1

clean:
	$(CARGO) clean
