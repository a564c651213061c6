//! The operator's interrupt (SIGINT, SIGTERM, SIGHUP) for the commands that take long and leave
//! things behind (`joule run`, `joule pr`): once [`catch`] is called, the first signal sets
//! [`interrupted`] and runs every hook registered with [`on_interrupt`] (kill a running
//! command's process group, cancel a run), so the command can stop its work, clean up and say
//! what it did. A second signal exits at once with `cli::exit::INTERRUPTED` (130).
//!
//! `ctrlc` (with its `termination` feature) runs the handler on a thread of its own rather than
//! in signal context, so hooks may lock and call `kill(2)`, and it needs no tokio runtime
//! (`joule pr` has none).

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

type Hook = Box<dyn Fn() + Send>;

/// What the first signal runs.
static HOOKS: Mutex<Vec<Hook>> = Mutex::new(Vec::new());

/// From now on, SIGINT, SIGTERM and SIGHUP do not kill the process outright (see the module's
/// text). Calling it again is harmless.
pub fn catch() -> anyhow::Result<()> {
    static INSTALLED: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            ctrlc::set_handler(|| {
                if INTERRUPTED.swap(true, Ordering::SeqCst) {
                    std::process::exit(crate::cli::exit::INTERRUPTED.into());
                }
                for hook in HOOKS.lock().unwrap_or_else(|e| e.into_inner()).iter() {
                    hook();
                }
                // After the hooks, and never a panic: after SIGHUP the terminal may be gone.
                let _ = writeln!(
                    std::io::stderr(),
                    "joule: interrupted: stopping (interrupt again to exit at once)"
                );
            })
            .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(|e| anyhow::anyhow!("cannot catch SIGINT and SIGTERM: {e}"))
}

/// Whether SIGINT, SIGTERM or SIGHUP arrived since [`catch`].
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Runs `hook` at the first signal; at once, if it has already come.
pub fn on_interrupt(hook: impl Fn() + Send + 'static) {
    let mut hooks = HOOKS.lock().unwrap_or_else(|e| e.into_inner());
    // Under the lock the handler runs hooks with: the signal either finds the hook or is seen
    // here.
    if interrupted() {
        hook();
    }
    hooks.push(Box::new(hook));
}
