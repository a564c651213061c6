//! Compiled components on disk, keyed by the component's sha256 digest and the engine's
//! compatibility hash, so each skill is compiled once per machine and engine configuration.
//!
//! Loading a cached artifact maps native code into the process, so the cache directory is
//! trusted like the `joule` binary itself: it is created private to the user, files are named by
//! the digest of the component they were compiled from, written to a temporary name and renamed
//! into place, and anything that fails to load is recompiled and replaced.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use anyhow::Context;
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

#[derive(Clone, Debug)]
pub struct ComponentCache {
    dir: PathBuf,
}

/// Whether a component came from the cache or was compiled now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Cached,
    Compiled,
}

/// Feeds `Hash` output into sha256, for a digest that is stable across processes (unlike
/// `DefaultHasher`, which is seeded per build of std).
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        let d = self.0.clone().finalize();
        u64::from_le_bytes(d[..8].try_into().unwrap_or_default())
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// The sha256 of a component, as lower-case hex. This is the digest policies pin.
pub fn digest(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl ComponentCache {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ComponentCache { dir: dir.into() }
    }

    /// `$JOULE_CACHE_DIR`, else the user's cache directory (`~/.cache/joule` on Linux).
    pub fn default_location() -> Option<Self> {
        if let Some(dir) = std::env::var_os("JOULE_CACHE_DIR") {
            return Some(Self::new(dir));
        }
        dirs::cache_dir().map(|d| Self::new(d.join("joule").join("components")))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path_for(&self, engine: &Engine, digest: &str) -> PathBuf {
        let mut h = ShaHasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut h);
        env!("CARGO_PKG_VERSION").hash(&mut h);
        self.dir.join(format!("{digest}-{:016x}.cwasm", h.finish()))
    }

    /// The compiled component for `bytes` (whose digest is `digest`), from the cache when it is
    /// there and loads, else compiled now and stored.
    pub fn load(
        &self,
        engine: &Engine,
        bytes: &[u8],
        digest: &str,
    ) -> anyhow::Result<(Component, Origin)> {
        let path = self.path_for(engine, digest);
        // Read into memory rather than map the file: a file truncated under a mapping would
        // bring the process down with SIGBUS.
        if let Ok(artifact) = std::fs::read(&path) {
            // SAFETY: the file was written by `store` below from a component with this digest,
            // compiled by an engine with this compatibility hash; Wasmtime checks the header
            // again and refuses artifacts from another configuration or version.
            match unsafe { Component::deserialize(engine, &artifact) } {
                Ok(component) => return Ok((component, Origin::Cached)),
                Err(e) => tracing::warn!(
                    path = %path.display(),
                    "cached component does not load, recompiling: {e}"
                ),
            }
        }
        let compiled = engine
            .precompile_component(bytes)
            .map_err(anyhow::Error::from)?;
        if let Err(e) = self.store(&path, &compiled) {
            tracing::warn!(path = %path.display(), "cannot cache the compiled component: {e:#}");
        }
        // SAFETY: these bytes were produced by `precompile_component` on this engine just now.
        let component =
            unsafe { Component::deserialize(engine, &compiled) }.map_err(anyhow::Error::from)?;
        Ok((component, Origin::Compiled))
    }

    fn store(&self, path: &Path, compiled: &[u8]) -> anyhow::Result<()> {
        create_private_dir(&self.dir)?;
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, compiled).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
        Ok(())
    }
}

fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .with_context(|| format!("creating cache directory {}", dir.display()))
}
