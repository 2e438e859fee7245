//! Growth without a clock: the work berrys does per service must not grow with the size of
//! the platform. Work is counted as heap allocations (calls and bytes) made by compile,
//! lint and render, which machines' noise cannot change: a per-service scan of all services
//! or a repeated transitive closure shows up as a ratio far above the ratio of sizes.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use berrys::source::SourceFile;
use berrys::{Envs, check};

#[path = "../benches/support/synthetic.rs"]
mod synthetic;

struct Counting;

static CALLS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        CALLS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: same layout contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        CALLS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const ALERTING: &str = r#"
[alerting.receivers.oncall]
pagerduty = { routing_key_secret = "alertmanager-pagerduty/routing-key" }

[alerting.routes]
page = "oncall"
ticket = "oncall"
"#;

/// (allocation calls, bytes allocated, bytes of output) of lint and render for `n` services.
fn work(n: usize) -> (u64, u64, u64) {
    // With alert routing: its inhibitions follow the transitive hard dependents of every
    // service, which must not cost a walk of the graph per service.
    let text = synthetic::platform(n, 1) + ALERTING;
    let source = SourceFile::new("platform.toml", text);
    let (calls, bytes) = (CALLS.load(Ordering::Relaxed), BYTES.load(Ordering::Relaxed));
    let linted = check(&source, Envs::All, "2026-01-01").expect("compiles");
    assert!(
        linted.findings.is_empty(),
        "the synthetic platform lints clean"
    );
    let files = berrys::render::render(&linted.compiled[0]).expect("renders");
    let output: u64 = files.iter().map(|f| f.contents.len() as u64).sum();
    (
        CALLS.load(Ordering::Relaxed) - calls,
        BYTES.load(Ordering::Relaxed) - bytes,
        output,
    )
}

/// One test only: the counters are global, a second test running beside it would count too.
#[test]
fn work_per_service_does_not_grow_with_the_platform() {
    let (small, large) = (100, 800);
    let a = work(small);
    let b = work(large);
    let size = large as f64 / small as f64;
    for (what, x, y) in [
        ("allocations", a.0, b.0),
        ("bytes allocated", a.1, b.1),
        ("bytes of output", a.2, b.2),
    ] {
        let ratio = y as f64 / x as f64;
        println!("{what}: {x} at {small} services, {y} at {large}: ×{ratio:.2} for ×{size}");
        assert!(
            ratio <= size * 1.25,
            "{what} grew ×{ratio:.2} for ×{size} services: some work is not linear"
        );
    }
}
