//! The second shard's thread: one helper for a whole training run, kept awake
//! between batches.
//!
//! A batch of the fused engine is about half a millisecond of work per shard. Handing
//! the second shard to rayon from the training thread (which is not one of rayon's
//! workers) cost about 0.1 ms per batch in thread wake-ups on the project's 2-vCPU VM
//! (measured by running both shards inline instead), a sixth of the epoch. The helper
//! here is a scoped thread that, between two jobs, polls for the next one for up to
//! [`AWAKE`], yielding the CPU between polls so that other runnable threads go first,
//! and only then sleeps until it is woken; the training thread waits for the result
//! the same way.
//!
//! Jobs and results travel by value (the buffers go back and forth, so nothing is
//! reallocated); the parameters are copied into the job, 4 bytes per weight, and a
//! training batch's rows travel as indices, which the helper gathers itself.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// How long a waiting thread polls before it sleeps.
const AWAKE: Duration = Duration::from_millis(2);
/// Polls between two reads of the clock.
const POLLS_PER_CLOCK: u32 = 64;

/// One shard of one batch, with the buffers its result comes back in.
#[derive(Default, Debug)]
pub(super) struct Job {
    /// The model's parameters.
    pub params: Vec<f32>,
    /// Row indices into the training data: when not empty, the helper gathers
    /// `theta` and `x` from them itself.
    pub rows: Vec<usize>,
    /// The shard's rows: `theta: [n, d_θ]`, `x: [n, d_x]`, `eps: [n, d_z]`.
    pub theta: Vec<f32>,
    pub x: Vec<f32>,
    pub eps: Vec<f32>,
    pub kl_weight: f32,
    pub grad_scale: Option<f32>,
    /// Out: per-pair losses `[n]` (its length gives `n`).
    pub loss: Vec<f64>,
    /// Out: the shard's parameter gradients (when `grad_scale` is given).
    pub grads: Vec<f32>,
}

const IDLE: u8 = 0;
const POSTED: u8 = 1;
const DONE: u8 = 2;
const STOP: u8 = 3;

/// What the training thread and the helper share.
#[derive(Debug)]
pub(super) struct Exchange {
    state: AtomicU8,
    job: Mutex<Option<Job>>,
}

impl Exchange {
    /// An idle exchange.
    pub fn new() -> Self {
        Exchange { state: AtomicU8::new(IDLE), job: Mutex::new(None) }
    }

    fn put(&self, job: Job) {
        *self.job.lock().unwrap_or_else(|e| e.into_inner()) = Some(job);
    }

    fn take(&self) -> Option<Job> {
        self.job.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// Polls until the state is one of `wanted`, then sleeps (woken by `unpark`).
    fn wait_for(&self, wanted: [u8; 2]) -> u8 {
        let start = Instant::now();
        let (mut polls, mut asleep) = (0u32, false);
        loop {
            let s = self.state.load(Ordering::Acquire);
            if wanted.contains(&s) {
                return s;
            }
            if asleep {
                std::thread::park_timeout(AWAKE);
            } else {
                polls += 1;
                asleep = polls.is_multiple_of(POLLS_PER_CLOCK) && start.elapsed() >= AWAKE;
                std::thread::yield_now();
            }
        }
    }

    /// The helper's loop: runs `work` on every posted job until [`Helper`] is dropped.
    /// `main` is the thread to wake when a result is ready.
    pub fn serve(&self, main: Thread, mut work: impl FnMut(&mut Job)) {
        // If `work` panics, tell the training thread instead of leaving it waiting.
        struct Stop<'a>(&'a Exchange, Thread);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    self.0.state.store(STOP, Ordering::Release);
                    self.1.unpark();
                }
            }
        }
        let _stop = Stop(self, main.clone());
        while self.wait_for([POSTED, STOP]) == POSTED {
            let mut job = self.take().expect("a posted job");
            work(&mut job);
            self.put(job);
            // Fails only if the training thread has stopped the helper meanwhile.
            if self.state.compare_exchange(POSTED, DONE, Ordering::AcqRel, Ordering::Acquire).is_err() {
                return;
            }
            main.unpark();
        }
    }
}

/// The training thread's side: posts jobs to the helper thread serving `exchange`
/// and collects their results. Dropping it stops the helper.
#[derive(Debug)]
pub(super) struct Helper<'a> {
    exchange: &'a Exchange,
    thread: Thread,
}

impl<'a> Helper<'a> {
    /// The handle of `thread`, which runs [`Exchange::serve`] on `exchange`.
    pub fn new(exchange: &'a Exchange, thread: Thread) -> Self {
        Helper { exchange, thread }
    }

    /// Hands `job` to the helper.
    pub fn post(&self, job: Job) {
        self.exchange.put(job);
        self.exchange.state.store(POSTED, Ordering::Release);
        self.thread.unpark();
    }

    /// Waits for the posted job's result; `None` if the helper died (its panic is
    /// then re-raised when its scope ends).
    pub fn wait(&self) -> Option<Job> {
        match self.exchange.wait_for([DONE, STOP]) {
            DONE => {
                self.exchange.state.store(IDLE, Ordering::Release);
                self.exchange.take()
            }
            _ => None,
        }
    }
}

impl Drop for Helper<'_> {
    fn drop(&mut self) {
        self.exchange.state.store(STOP, Ordering::Release);
        self.thread.unpark();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_round_trip_and_the_helper_stops_when_dropped() {
        let exchange = Exchange::new();
        let main = std::thread::current();
        std::thread::scope(|s| {
            let t = s.spawn(|| {
                exchange.serve(main, |job| job.loss = job.theta.iter().map(|v| 2.0 * *v as f64).collect())
            });
            let helper = Helper::new(&exchange, t.thread().clone());
            for i in 0..100 {
                helper.post(Job { theta: vec![i as f32, 1.0], ..Job::default() });
                let job = helper.wait().expect("a result");
                assert_eq!(job.loss, vec![2.0 * i as f64, 2.0]);
            }
            drop(helper);
            t.join().expect("the helper returns");
        });
    }

    #[test]
    fn a_panicking_helper_does_not_leave_the_caller_waiting() {
        let exchange = Exchange::new();
        let main = std::thread::current();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            std::thread::scope(|s| {
                let t = s.spawn(|| exchange.serve(main, |_| panic!("boom")));
                let helper = Helper::new(&exchange, t.thread().clone());
                helper.post(Job::default());
                assert!(helper.wait().is_none());
            })
        }));
        assert!(result.is_err(), "the helper's panic comes back when its scope ends");
    }
}
