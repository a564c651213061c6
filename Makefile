# Joule: build, demo, test. `make help` lists the targets.

CARGO        ?= cargo
WASM_TARGET  := wasm32-wasip2
# Skills shipped with Joule, and the test-only skills (hostile ones, the benchmark probe).
SKILLS       := hot-functions regex-in-hot-path
TEST_SKILLS  := panicker spinner hog escaper probe follower explorer
# Honour CARGO_TARGET_DIR when CI points cargo at a shared build cache.
TARGET_DIR   := $(or $(CARGO_TARGET_DIR),target)
SKILL_DIR    := $(TARGET_DIR)/joule-skills
TEST_SKILL_DIR := $(TARGET_DIR)/test-skills
WASM_OUT     := $(TARGET_DIR)/$(WASM_TARGET)/skill
JOULE        := $(TARGET_DIR)/release/joule

.PHONY: help setup build skills test-skills demo test lint bench profiles clean

help:
	@echo "make setup     install the wasm32-wasip2 target and fetch dependencies (once)"
	@echo "make build     build the joule host (release) and the shipped skills"
	@echo "make demo      run every shipped skill on the bundled example, print the report"
	@echo "make test      build everything and run all tests (unit and end-to-end)"
	@echo "make lint      rustfmt check and clippy, native and wasm"
	@echo "make bench     benchmarks: instantiation, host calls, profile top"
	@echo "make profiles  re-capture the example's profiles (see example/README.md)"

setup:
	rustup target add $(WASM_TARGET)
	$(CARGO) fetch

build: skills
	$(CARGO) build --release -p joule

# Skills are cdylib crates; on wasm32-wasip2 the linker emits a component directly.
skills:
	$(CARGO) build --target $(WASM_TARGET) --profile skill $(addprefix -p ,$(SKILLS))
	@mkdir -p $(SKILL_DIR)
	@for s in $(SKILLS); do cp $(WASM_OUT)/$$(echo $$s | tr - _).wasm $(SKILL_DIR)/$$s.wasm; done

test-skills:
	$(CARGO) build --target $(WASM_TARGET) --profile skill $(addprefix -p ,$(TEST_SKILLS))
	@mkdir -p $(TEST_SKILL_DIR)
	@for s in $(TEST_SKILLS); do cp $(WASM_OUT)/$$(echo $$s | tr - _).wasm $(TEST_SKILL_DIR)/$$s.wasm; done

demo: build
	$(JOULE) run --profile example/profiles/logscan.pb.gz --source example=example/logscan \
		--skills $(SKILL_DIR) --patch $(TARGET_DIR)/demo.patch
	@echo "(the suggested edits, as one patch: $(TARGET_DIR)/demo.patch)"

test: skills test-skills
	$(CARGO) test --workspace

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings
	$(CARGO) clippy --target $(WASM_TARGET) $(addprefix -p ,$(SKILLS) $(TEST_SKILLS)) -- -D warnings

bench: skills test-skills
	$(CARGO) bench -p joule

# Re-captures the example's profiles with pprof-rs sampling the real program in-process.
profiles:
	$(CARGO) run --profile profiling -p logscan --features capture -- --lines 50000 \
		--pprof example/profiles/logscan.pb.gz --folded example/profiles/logscan.folded

clean:
	$(CARGO) clean
