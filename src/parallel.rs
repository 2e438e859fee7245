//! The scheduler: how work is spread over the machine's cores. Everything that starts
//! threads goes through these helpers, so the phases say what is computed and never how
//! it is shared out.

/// The cores this process may use, asked once: the standard library reads the cgroup's
/// CPU quota from files on every call, and a run asks a dozen times.
pub fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// `f` over `items` on as many threads as the machine has cores, results in input order.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = cores().min(items.len());
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// The results of scoped threads, in order; a thread's panic is the caller's.
pub fn join_all<R>(handles: Vec<std::thread::ScopedJoinHandle<'_, R>>) -> Vec<R> {
    handles
        .into_iter()
        .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
        .collect()
}

/// `f` over `items`, each on a thread of its own, results in input order: for a few large,
/// equal jobs (the environments), where sharing the cores evenly finishes them sooner than
/// taking them in turns on fewer threads (three on two cores: 1.5 jobs' time, not 2).
pub fn each<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    if items.len() <= 1 || cores() <= 1 {
        return items.iter().map(f).collect();
    }
    std::thread::scope(|scope| {
        let f = &f;
        join_all(
            items
                .iter()
                .map(|item| scope.spawn(move || f(item)))
                .collect(),
        )
    })
}

/// `f(0)`, `f(1)`, … `f(n - 1)` on as many threads as the machine has cores, each thread
/// taking the next index when it is free, so indices finish roughly in order. Stops at the
/// first error and returns it.
pub fn for_each_index<E: Send>(
    n: usize,
    f: impl Fn(usize) -> Result<(), E> + Sync,
) -> Result<(), E> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let threads = cores().min(n);
    if threads <= 1 {
        return (0..n).try_for_each(f);
    }
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let work = || -> Result<(), E> {
        while !failed.load(Ordering::Relaxed) {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= n {
                break;
            }
            if let Err(e) = f(i) {
                failed.store(true, Ordering::Relaxed);
                return Err(e);
            }
        }
        Ok(())
    };
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads).map(|_| scope.spawn(work)).collect();
        let mut result = Ok(());
        for h in handles {
            let r = h.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            if result.is_ok() {
                result = r;
            }
        }
        result
    })
}

/// `elsewhere` on a thread of its own while `here` runs on this one; both results, once
/// both are done. A panic of either is the caller's.
pub fn beside<A: Send, B>(
    elsewhere: impl FnOnce() -> A + Send,
    here: impl FnOnce() -> B,
) -> (A, B) {
    std::thread::scope(|scope| {
        let other = scope.spawn(elsewhere);
        let mine = here();
        let theirs = other
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        (theirs, mine)
    })
}

/// [`each`], with `meanwhile` run on this thread once the jobs have started (to free what
/// they no longer need while they work).
pub fn each_meanwhile<T: Sync, R: Send>(
    items: &[T],
    f: impl Fn(&T) -> R + Sync,
    meanwhile: impl FnOnce(),
) -> Vec<R> {
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = items
            .iter()
            .map(|item| scope.spawn(move || f(item)))
            .collect();
        meanwhile();
        join_all(handles)
    })
}
