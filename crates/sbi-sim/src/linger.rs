//! A helper thread kept awake between batched simulations.
//!
//! A 10,000-row two_moons call takes 30–75 µs on one core (depending on the VM), not
//! much more than waking a sleeping rayon worker costs on a small VM, so
//! [`crate::Simulator::simulate`] used to leave the second core idle at that size (a
//! helper woken for each call made the mean call no faster). After a call from
//! outside rayon's pools that used helpers, one job per helper now stays on the
//! helper pool ([`pool`]) for [`LINGER`]: it runs whatever work that pool receives
//! (through [`rayon::yield_now`], so nothing waits behind it) and otherwise yields the
//! CPU between polls, as OpenMP's threads (torch's) spin after a parallel region. While
//! such a job is waiting, the next call hands out its chunks at once, and the waiting
//! job picks them up without a wake-up. The cost: after such a call one core polls
//! (yielding) for up to 2 ms.
//!
//! Safe code only: the jobs own nothing; they keep a worker busy, and the worker does
//! the borrowing work itself as ordinary scoped rayon jobs. Neither the lingering nor
//! its absence changes any output.

use rayon::{ThreadPool, ThreadPoolBuilder};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long a lingering job of [`Simulator::simulate`](crate::Simulator::simulate)
/// waits for work before it ends (2 ms).
pub const LINGER: Duration = Duration::from_millis(2);

/// Polls between two reads of the clock.
const POLLS_PER_CLOCK: u32 = 32;

/// The lingering jobs of [`Simulator::simulate`](crate::Simulator::simulate), over every pool.
pub(crate) static SIMULATE: Lingerers = Lingerers::new(LINGER);

/// The pool of the helpers of [`Simulator::simulate`](crate::Simulator::simulate) calls
/// made from outside rayon's pools: one thread fewer than rayon's global pool when first
/// used (so the caller and the helpers together fill its threads; `RAYON_NUM_THREADS`
/// is obeyed), `None` when the global pool has one thread (or the threads could not be
/// started).
///
/// Why a pool of its own: a job injected into the global pool wakes one of its sleeping
/// workers even when a lingering job is about to take it (rayon wakes a sleeper for
/// injected work unless an idle worker is looking for some, and a lingering job is not
/// idle but running). With a 2-thread global pool every call then paid a futex wake and
/// had a third thread competing for two cores (149,000 context switches and 11 % of the
/// CPU time in the kernel in 3 s of 10,000-row two_moons calls). This pool's threads are
/// all lingering or all asleep, so a warm call wakes nobody.
pub(crate) fn pool() -> Option<&'static ThreadPool> {
    static POOL: OnceLock<Option<ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        let threads = rayon::current_num_threads().saturating_sub(1);
        if threads == 0 {
            return None;
        }
        ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("sbi-sim-helper-{i}"))
            .build()
            .ok()
    })
    .as_ref()
}

/// A set of lingering jobs and how long each waits for work.
#[derive(Debug)]
pub(crate) struct Lingerers {
    linger: Duration,
    /// Jobs that have started on a worker and not ended.
    running: AtomicUsize,
    /// Jobs spawned and not ended (some may not have started yet).
    alive: AtomicUsize,
}

impl Lingerers {
    pub(crate) const fn new(linger: Duration) -> Self {
        Lingerers { linger, running: AtomicUsize::new(0), alive: AtomicUsize::new(0) }
    }

    /// Whether one of these jobs is on a worker now (waiting for work, or running some).
    pub(crate) fn running(&self) -> bool {
        self.running.load(Ordering::Acquire) > 0
    }

    /// Keeps up to `workers` workers of `pool` awake (counting the jobs of this set
    /// already alive); returns at once.
    pub(crate) fn linger(&'static self, pool: &ThreadPool, workers: usize) {
        let mut now = self.alive.load(Ordering::Acquire);
        while now < workers {
            match self.alive.compare_exchange_weak(now, now + 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    pool.spawn(|| self.wait_for_work());
                    now += 1;
                }
                Err(seen) => now = seen,
            }
        }
    }

    /// The lingering job: runs the pool's pending work until none has come for `linger`.
    fn wait_for_work(&self) {
        // Counted out however it ends.
        struct Out<'a>(&'a Lingerers);
        impl Drop for Out<'_> {
            fn drop(&mut self) {
                self.0.running.fetch_sub(1, Ordering::AcqRel);
                self.0.alive.fetch_sub(1, Ordering::AcqRel);
            }
        }
        self.running.fetch_add(1, Ordering::AcqRel);
        let _out = Out(self);
        let (mut last, mut polls) = (Instant::now(), 0u32);
        loop {
            match rayon::yield_now() {
                Some(rayon::Yield::Executed) => (last, polls) = (Instant::now(), 0),
                Some(rayon::Yield::Idle) => {
                    polls += 1;
                    if polls.is_multiple_of(POLLS_PER_CLOCK) && last.elapsed() >= self.linger {
                        return;
                    }
                    std::thread::yield_now();
                }
                // Not on a pool's thread (cannot happen for a job spawned on one).
                None => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A lingering job keeps the only worker of a pool busy, yet work posted to the
    /// pool meanwhile runs (on that worker, while the job is alive); `linger` starts no
    /// more jobs than asked for, and the job ends by itself.
    #[test]
    fn a_lingering_job_runs_posted_work_and_ends() {
        static SET: Lingerers = Lingerers::new(Duration::from_secs(2));
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        SET.linger(&pool, 1);
        SET.linger(&pool, 1);
        assert_eq!(SET.alive.load(Ordering::Acquire), 1, "one job asked for");
        let start = Instant::now();
        while !SET.running() {
            assert!(start.elapsed() < Duration::from_secs(10), "the lingering job did not start");
            std::thread::yield_now();
        }
        for _ in 0..20 {
            // The pool's only thread is inside the lingering job, which must run this.
            let alive = pool.install(|| SET.alive.load(Ordering::Acquire));
            assert_eq!(alive, 1, "posted work ran after the lingering job ended, not inside it");
        }
        while SET.alive.load(Ordering::Acquire) > 0 {
            assert!(start.elapsed() < Duration::from_secs(30), "the lingering job did not end");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(!SET.running());
    }
}
