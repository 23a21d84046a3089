//! A load run on several threads (`--threads`): each runs its share of the iterations on a
//! current-thread runtime of its own, and sends what each iteration gives to the one result
//! loop, on the calling thread, so metrics, thresholds and reports see one run.
//!
//! In order: one runtime per thread is built → each thread starts its stream (its share of the
//! iterations, arrivals or virtual users) and sends every item as it comes → the calling thread
//! takes them in the order they finish → when it wants no more, every thread stops, dropping
//! the iterations it is running, as a single-threaded run drops its stream.

use std::sync::mpsc::RecvTimeoutError;
use std::time::Instant;

use futures_util::StreamExt as _;
use futures_util::stream::Stream;

use super::files::Shard;

/// Returns the share of a run that thread `thread` (from 0) of `threads` takes, within the
/// process's own share `shard`: thread t of T takes the positions that shard would take, one in
/// T of them from the t-th, so the threads together take exactly the shard's, each once. The
/// result is a shard of N·T, which the iterations, data rows and arrivals already know how to
/// follow.
pub fn share(shard: Option<Shard>, thread: usize, threads: usize) -> Option<Shard> {
    if threads <= 1 {
        return shard;
    }
    let (index, count) = shard.map_or((1, 1), |s| (s.index, s.count));
    Some(Shard {
        index: index + count * thread,
        count: count * threads,
    })
}

/// Returns the virtual users of thread `thread` of `threads`: `concurrency` split as evenly as
/// it goes, the first threads taking one more.
pub fn users(concurrency: usize, thread: usize, threads: usize) -> usize {
    concurrency / threads + usize::from(thread < concurrency % threads)
}

/// What the result loop wants after an iteration ended, or after the time it asked to be woken
/// at came.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Stop every thread.
    Stop,
    /// Go on, and be woken at that time if no iteration ends before it.
    Wake(Option<Instant>),
}

/// Runs `work(thread)` on each of `threads` threads, each on a current-thread runtime of its
/// own, and hands each item their streams yield to `take` on the calling thread as it comes, or
/// `None` when the time `take` last asked to be woken at (first `wake`) comes first; when it
/// says [`Flow::Stop`], every thread stops and drops what it was running.
///
/// The calling thread blocks meanwhile: whatever must go on beside the run (Ctrl-C) runs on
/// another thread.
pub fn run<W, S, T>(
    threads: usize,
    work: W,
    wake: Option<Instant>,
    mut take: impl FnMut(Option<T>) -> Flow,
) -> std::io::Result<()>
where
    W: Fn(usize) -> S + Sync,
    S: Stream<Item = T>,
    T: Send,
{
    let runtimes = (0..threads)
        .map(|_| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
        })
        .collect::<std::io::Result<Vec<_>>>()?;
    let (items, received) = std::sync::mpsc::channel();
    // Dropped when the calling thread wants no more: every thread's `changed()` then ends.
    let (stop, stopped) = tokio::sync::watch::channel(());
    std::thread::scope(|scope| {
        for (thread, runtime) in runtimes.into_iter().enumerate() {
            let items = items.clone();
            let mut stopped = stopped.clone();
            let work = &work;
            scope.spawn(move || {
                runtime.block_on(async {
                    let mut stream = std::pin::pin!(work(thread));
                    loop {
                        tokio::select! {
                            item = stream.next() => {
                                let Some(item) = item else { break };
                                if items.send(item).is_err() {
                                    break;
                                }
                            }
                            _ = stopped.changed() => break,
                        }
                    }
                });
            });
        }
        drop(items);
        let mut wake = wake;
        loop {
            let ended = match wake {
                None => match received.recv() {
                    Ok(item) => Some(item),
                    Err(_) => break,
                },
                // Due already: the time comes before whatever ended meanwhile, as when
                // iterations end faster than they can be taken.
                Some(at) if at <= Instant::now() => None,
                Some(at) => {
                    match received.recv_timeout(at.saturating_duration_since(Instant::now())) {
                        Ok(item) => Some(item),
                        Err(RecvTimeoutError::Timeout) => None,
                        Err(RecvTimeoutError::Disconnected) => break,
                    }
                }
            };
            match take(ended) {
                Flow::Stop => break,
                Flow::Wake(at) => wake = at,
            }
        }
        drop(stop);
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_threads_share_a_shard_exactly() {
        for shard in [None, Some(Shard { index: 2, count: 3 })] {
            let own: Vec<usize> = (0..100)
                .filter(|k| shard.is_none_or(|s| s.takes(*k)))
                .collect();
            for threads in 1..=4 {
                let mut taken: Vec<usize> = (0..threads)
                    .flat_map(|thread| {
                        let share = share(shard, thread, threads);
                        (0..100).filter(move |k| share.is_none_or(|s| s.takes(*k)))
                    })
                    .collect();
                taken.sort_unstable();
                assert_eq!(taken, own, "{shard:?} on {threads} threads");
            }
        }
        assert_eq!(
            share(Some(Shard { index: 2, count: 3 }), 1, 2),
            Some(Shard { index: 5, count: 6 })
        );
    }

    #[test]
    fn users_are_split_evenly() {
        assert_eq!(
            (0..3).map(|t| users(16, t, 3)).collect::<Vec<_>>(),
            [6, 5, 5]
        );
        assert_eq!((0..2).map(|t| users(1000, t, 2)).sum::<usize>(), 1000);
    }

    #[test]
    fn every_item_of_every_thread_reaches_the_result_loop_and_stopping_ends_them() {
        let mut seen = Vec::new();
        run(
            3,
            |thread| futures_util::stream::iter((0..10).map(move |k| k * 3 + thread)),
            None,
            |item| {
                seen.extend(item);
                Flow::Wake(None)
            },
        )
        .unwrap();
        seen.sort_unstable();
        assert_eq!(seen, (0..30).collect::<Vec<_>>());
        // Endless streams stop when the loop wants no more.
        let mut taken = 0;
        run(
            2,
            |_| futures_util::stream::repeat(1),
            None,
            |_| {
                taken += 1;
                if taken < 50 {
                    Flow::Wake(None)
                } else {
                    Flow::Stop
                }
            },
        )
        .unwrap();
        assert_eq!(taken, 50);
    }

    #[test]
    fn the_loop_is_woken_when_nothing_ends_before_the_time_it_asked_for() {
        let mut calls = Vec::new();
        run(
            1,
            |_| futures_util::stream::pending::<()>(),
            Some(Instant::now()),
            |item| {
                calls.push(item.is_some());
                if calls.len() < 2 {
                    Flow::Wake(Some(Instant::now()))
                } else {
                    Flow::Stop
                }
            },
        )
        .unwrap();
        assert_eq!(calls, [false, false]);
    }
}
