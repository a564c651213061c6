//! Builds the shipped skills (every crate under `skills/*`) for `wasm32-wasip2` and embeds them
//! in the `joule` binary, so it runs them when no `--skills` is given (`src/builtin.rs`).
//!
//! With the `builtin-skills` feature (on by default) this runs a nested `cargo build
//! --target wasm32-wasip2 --profile skill` of those crates into `<target>/wasm`, the directory
//! `make skills` builds them in too, so the two share one cache; then it writes
//! `$OUT_DIR/builtin_skills.rs`: a table of (id, bytes) in order of id. Without the feature the
//! table is empty and nothing is built.

use std::path::{Path, PathBuf};
use std::process::Command;

const WASM_TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir = PathBuf::from(env("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let workspace = manifest_dir
        .parent()
        .expect("the host crate sits in the workspace")
        .to_path_buf();
    let out_dir = PathBuf::from(env("OUT_DIR").expect("cargo sets it"));
    let out = out_dir.join("builtin_skills.rs");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CARGO_FEATURE_BUILTIN_SKILLS");
    if env("CARGO_FEATURE_BUILTIN_SKILLS").is_none() {
        write(&out, table(&[]));
        return;
    }
    for watched in ["skills", "sdk", "wit", "Cargo.lock", "Cargo.toml"] {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");
    println!("cargo:rerun-if-env-changed=CARGO");
    println!("cargo:rerun-if-env-changed=RUSTC");
    let target_dir = match env("CARGO_TARGET_DIR").map(PathBuf::from) {
        Some(dir) if dir.is_absolute() => dir,
        // Relative to where cargo was started: the workspace (the Makefile and CI run it there).
        Some(dir) => workspace.join(dir),
        None => workspace.join("target"),
    }
    .join("wasm");
    let skills = shipped_skills(&workspace.join("skills"));
    check_target();
    build(&workspace, &target_dir, &skills);
    let built: Vec<(String, PathBuf)> = skills
        .iter()
        .map(|name| {
            let file = target_dir
                .join(WASM_TARGET)
                .join("skill")
                .join(format!("{}.wasm", name.replace('-', "_")));
            let bytes = std::fs::read(&file).unwrap_or_else(|e| {
                panic!(
                    "{}: cannot read skill `{name}` after building it: {e}",
                    file.display()
                )
            });
            // Embedded from a copy of its own: what cargo builds in <target>/wasm may be removed
            // or rebuilt by `make skills` without this build knowing.
            let copy = out_dir.join(format!("{name}.wasm"));
            write(&copy, &bytes);
            (name.clone(), copy)
        })
        .collect();
    write(&out, table(&built));
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The crates under `dir` (each folder holding a Cargo.toml), by name, sorted: each is named
/// after its folder, and its skill id is that name (a test checks the ids the components claim).
fn shipped_skills(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: cannot list the skills: {e}", dir.display()))
        .filter_map(Result::ok)
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Fails, saying how to fix it, when the toolchain has no standard library for the skills'
/// target.
fn check_target() {
    let rustc = env("RUSTC").unwrap_or_else(|| "rustc".into());
    let libdir = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", WASM_TARGET])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if !libdir.is_some_and(|dir| dir.is_dir()) {
        panic!(
            "\n\njoule embeds its shipped skills, built for {WASM_TARGET}, and this toolchain \
             has no {WASM_TARGET} target: run `rustup target add {WASM_TARGET}` (or `make \
             setup`), or build without them: `--no-default-features`.\n\n"
        );
    }
}

/// `cargo build` of `skills` for the Wasm target, in `target_dir`, with an environment of its
/// own: what cargo set for this build script describes the host's build, not this one.
fn build(workspace: &Path, target_dir: &Path, skills: &[String]) {
    let cargo = env("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace)
        .arg("build")
        .arg("--manifest-path")
        .arg(workspace.join("Cargo.toml"))
        .args(["--target", WASM_TARGET, "--profile", "skill"])
        .arg("--target-dir")
        .arg(target_dir);
    for skill in skills {
        command.args(["-p", skill]);
    }
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        let set_for_build_scripts = name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_FEATURE_")
            || name.starts_with("CARGO_CFG_")
            || name.starts_with("CARGO_MANIFEST_")
            || matches!(
                &*name,
                "CARGO_ENCODED_RUSTFLAGS"
                    | "CARGO_PRIMARY_PACKAGE"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_RUSTC_CURRENT_DIR"
                    | "OUT_DIR"
                    | "TARGET"
                    | "HOST"
                    | "NUM_JOBS"
                    | "OPT_LEVEL"
                    | "DEBUG"
                    | "PROFILE"
                    | "RUSTC_LINKER"
                    | "RUSTDOC"
            );
        // Flags and targets meant for the host's build, not the skills'.
        let for_the_host = matches!(
            &*name,
            "RUSTFLAGS"
                | "CARGO_BUILD_RUSTFLAGS"
                | "CARGO_TARGET_DIR"
                | "CARGO_BUILD_TARGET"
                | "CARGO_BUILD_TARGET_DIR"
                | "RUSTC_WORKSPACE_WRAPPER"
        );
        if set_for_build_scripts || for_the_host {
            command.env_remove(&*name);
        }
    }
    // Under `cargo clippy` the skills are still built, by rustc (`make lint` lints them itself).
    if env("RUSTC_WRAPPER").is_some_and(|w| w.contains("clippy")) {
        command.env_remove("RUSTC_WRAPPER");
    }
    // Cargo reads this script's standard output for its `cargo:` lines: the nested build's
    // goes to standard error, with the rest of its output.
    command.stdout(std::io::stderr());
    let status = command.status().unwrap_or_else(|e| {
        panic!("cannot run cargo to build the shipped skills: {e}");
    });
    if !status.success() {
        panic!(
            "building the shipped skills for {WASM_TARGET} failed ({status}); see cargo's output \
             above. `make skills` builds them alone."
        );
    }
}

/// The table `src/builtin.rs` includes.
fn table(skills: &[(String, PathBuf)]) -> String {
    let mut out = String::from(
        "/// The shipped skills built into this binary, by id (generated by build.rs).\n\
         pub static BUILT_IN: &[BuiltIn] = &[\n",
    );
    for (id, file) in skills {
        out.push_str(&format!(
            "    BuiltIn {{ id: {id:?}, bytes: include_bytes!({:?}) }},\n",
            file.display().to_string()
        ));
    }
    out.push_str("];\n");
    out
}

/// Writes `bytes` to `path` unless it already holds them (so a no-op build changes nothing).
fn write(path: &Path, bytes: impl AsRef<[u8]>) {
    let bytes = bytes.as_ref();
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return;
    }
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}
