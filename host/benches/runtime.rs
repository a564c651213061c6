//! Runtime benchmarks: instantiating a pre-instantiated skill from the pool, and one host call
//! with a small answer (`profile.function(0)`), measured from inside a real skill.
//!
//! Needs the test skills: `make bench` builds them first (or `make test-skills`).
//! Reproduce: `make bench` or `cargo bench -p joule --bench runtime`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use joule::audit::{Op, Target};
use joule::caps::bindings::joule::skill::types::{Invocation, Trigger};
use joule::engine::{ComponentCache, Runtime, RuntimeConfig, block_on};
use joule::inputs::{Inputs, NamedProfile};
use joule_policy::SkillGrants;

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
    let profile = joule_profile::ingest::load(&fixture).expect("fixture profile");
    let inputs = Arc::new(Inputs {
        profiles: vec![Arc::new(NamedProfile {
            name: "sample.cpu.pb.gz".into(),
            path: fixture,
            profile,
        })],
        ..Inputs::default()
    });
    (runtime, skill, inputs)
}

fn bench(c: &mut Criterion) {
    let (runtime, skill, inputs) = setup();
    // A benchmark makes more calls in one run than any limit lets a skill make.
    let mut limits = runtime.limits().clone();
    limits.host_calls = u64::MAX;
    limits.host_call_bytes = u64::MAX;
    let grants = Arc::new(SkillGrants::open("probe", limits));

    c.bench_function("instantiate (pooled, pre-instantiated)", |b| {
        b.iter(|| {
            let instance = runtime
                .instantiate(&skill, inputs.clone(), grants.clone(), false)
                .expect("instantiate");
            drop(instance);
        })
    });

    // A whole invocation as a run makes it: a store, instantiation, the call (with its deadline
    // armed), the findings back. The probe returns at once with zero calls.
    let returns_at_once = Invocation {
        trigger: Trigger::Scan,
        parameters: vec![("calls".into(), "0".into())],
        input: None,
    };
    c.bench_function("invoke: instantiate, run, return", |b| {
        b.iter(|| {
            let outcome = runtime.invoke(
                &skill,
                inputs.clone(),
                grants.clone(),
                &returns_at_once,
                None,
                &Default::default(),
            );
            assert!(outcome.result.is_ok());
        })
    });

    // One `run` making `iters` host calls: the time per iteration is the time per host call
    // (the single guest entry is amortised away). Policy accounting (call count, data volume)
    // always runs; the second variant also records every call for the audit log (the records
    // are dropped here, where the end of a run would write them).
    for (name, audit) in [
        ("host call: profile.function(0)", false),
        ("host call: profile.function(0), audit log on", true),
    ] {
        let mut instance = runtime
            .instantiate(&skill, inputs.clone(), grants.clone(), audit)
            .expect("instantiate");
        c.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let invocation = Invocation {
                    trigger: Trigger::Scan,
                    parameters: vec![("calls".into(), iters.to_string())],
                    input: None,
                };
                instance.store.set_epoch_deadline(u64::MAX / 2);
                // One instance serves every sample: reset what one invocation would count.
                let state = instance.store.data_mut();
                state.calls = 0;
                state.host_bytes = 0;
                let started = Instant::now();
                let found = block_on(instance.skill.call_run(&mut instance.store, &invocation))
                    .expect("run")
                    .expect("no skill error");
                let elapsed = started.elapsed();
                assert_eq!(found[0].evidence[0].value as u64, iters);
                if let Some(audit) = &mut instance.store.data_mut().audit {
                    audit.records.clear();
                }
                elapsed
            })
        });
    }
}

/// The bookkeeping the policy adds to every host call (count, data volume, limits) and the
/// audit record, measured alone on a store's state: compare with the host-call time above.
fn bookkeeping(c: &mut Criterion) {
    let (runtime, skill, inputs) = setup();
    let mut limits = runtime.limits().clone();
    limits.host_calls = u64::MAX;
    limits.host_call_bytes = u64::MAX;
    let grants = Arc::new(SkillGrants::open("probe", limits));

    for (label, audit) in [
        ("policy bookkeeping per host call", false),
        ("policy bookkeeping + audit record per host call", true),
    ] {
        let mut instance = runtime
            .instantiate(&skill, inputs.clone(), grants.clone(), audit)
            .expect("instantiate");
        let state = instance.store.data_mut();
        c.bench_function(label, |b| {
            b.iter(|| {
                let started = state.begin(Op::Function).expect("within limits");
                state
                    .end(started, Op::Function, || Target::Name(0), 48, None)
                    .expect("within limits");
                if let Some(audit) = &mut state.audit
                    && audit.records.len() > 1 << 16
                {
                    audit.records.clear();
                }
            })
        });
    }
}

criterion_group! {
    name = runtime;
    config = Criterion::default().measurement_time(Duration::from_secs(5));
    targets = bench, bookkeeping
}
criterion_main!(runtime);
