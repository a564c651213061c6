//! Runtime benchmarks: instantiating a pre-instantiated skill from the pool, and one host call
//! with a small answer (`profile.function(0)`), measured from inside a real skill.
//!
//! Needs the test skills: `make bench` builds them first (or `make test-skills`).
//! Reproduce: `make bench` or `cargo bench -p joule --bench runtime`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use joule::caps::bindings::joule::skill::types::{Invocation, Trigger};
use joule::engine::{ComponentCache, Runtime, RuntimeConfig};
use joule::inputs::{Inputs, NamedProfile};

fn target_dir() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

fn setup() -> (Runtime, Arc<joule::engine::LoadedSkill>, Arc<Inputs>) {
    let runtime = Runtime::new(RuntimeConfig {
        cache: Some(ComponentCache::new(target_dir().join("bench-cache"))),
        concurrency: 1,
        ..RuntimeConfig::default()
    })
    .expect("runtime");
    let probe = target_dir().join("test-skills/probe.wasm");
    let skill = runtime
        .load(&probe)
        .unwrap_or_else(|e| panic!("{e:#}\n(run `make test-skills` first)"));
    let fixture =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/pprof/sample.cpu.pb.gz");
    let profile = joule::ingest::load(&fixture).expect("fixture profile");
    let inputs = Arc::new(Inputs {
        profiles: vec![Arc::new(NamedProfile {
            name: "sample.cpu.pb.gz".into(),
            path: fixture,
            profile,
        })],
        trees: Vec::new(),
    });
    (runtime, skill, inputs)
}

fn bench(c: &mut Criterion) {
    let (runtime, skill, inputs) = setup();

    c.bench_function("instantiate (pooled, pre-instantiated)", |b| {
        b.iter(|| {
            let instance = runtime
                .instantiate(&skill, inputs.clone())
                .expect("instantiate");
            drop(instance);
        })
    });

    // One `run` making `iters` host calls: the time per iteration is the time per host call
    // (the single guest entry is amortised away).
    let mut instance = runtime
        .instantiate(&skill, inputs.clone())
        .expect("instantiate");
    c.bench_function("host call: profile.function(0)", |b| {
        b.iter_custom(|iters| {
            let invocation = Invocation {
                trigger: Trigger::Scan,
                parameters: vec![("calls".into(), iters.to_string())],
                input: None,
            };
            instance.store.set_epoch_deadline(u64::MAX / 2);
            let started = Instant::now();
            let found = instance
                .skill
                .call_run(&mut instance.store, &invocation)
                .expect("run")
                .expect("no skill error");
            let elapsed = started.elapsed();
            assert_eq!(found[0].evidence[0].value as u64, iters);
            elapsed
        })
    });
}

criterion_group! {
    name = runtime;
    config = Criterion::default().measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(runtime);
