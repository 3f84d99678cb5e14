//! Runs a session's two pumps and its stop signal in one task, polling only the ones whose
//! wake-ups fired.
//!
//! `tokio::select!` polls every branch each time the task wakes. A relayed transaction wakes
//! the session twice (client readable, server readable), so with `select!` the idle pump and the
//! stop signal were polled on every wake-up for nothing — measured with callgrind, that cost
//! more instructions than forwarding the bytes. Here each branch gets its own [`Waker`], which
//! marks the branch and wakes the task; a poll of the task polls the marked branches only.
//!
//! The client pump hands requests to the server pump ([`super::Ctl`]) inside the same task:
//! when it raised [`super::Shared::ctl_pending`], the server pump is polled in the same round,
//! so the request is served without a wake-up.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use futures_util::task::AtomicWaker;

/// Rounds of polling in one task poll before yielding to other sessions.
const ROUNDS_PER_POLL: usize = 32;

/// Which branch finished first.
#[derive(Debug)]
pub enum First<A, B> {
    /// The client pump, with its result.
    Client(A),
    /// The server pump, with its result.
    Server(B),
    /// The stop signal.
    Stop,
}

/// One branch's wake-up flag.
struct Branch {
    woken: AtomicBool,
    task: Arc<AtomicWaker>,
}

impl Wake for Branch {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake();
    }
}

struct Branches {
    task: Arc<AtomicWaker>,
    flags: [Arc<Branch>; 3],
    wakers: [Waker; 3],
}

impl Branches {
    fn new() -> Self {
        let task = Arc::new(AtomicWaker::new());
        let flags = std::array::from_fn(|_| {
            Arc::new(Branch {
                // Every branch is polled once at the start.
                woken: AtomicBool::new(true),
                task: task.clone(),
            })
        });
        let wakers = std::array::from_fn(|i: usize| Waker::from(Arc::clone(&flags[i])));
        Self {
            task,
            flags,
            wakers,
        }
    }

    fn take(&self, i: usize) -> bool {
        self.flags[i].woken.swap(false, Ordering::AcqRel)
    }
}

/// Polls `up`, `down` and `stop` until one completes, each only when its own wake-up fired
/// (or, for `down`, when `ctl_pending` is raised).
pub async fn first<U, D, S>(
    mut up: Pin<&mut U>,
    mut down: Pin<&mut D>,
    mut stop: Pin<&mut S>,
    ctl_pending: &AtomicBool,
) -> First<U::Output, D::Output>
where
    U: Future,
    D: Future,
    S: Future<Output = ()>,
{
    let b = Branches::new();
    std::future::poll_fn(move |cx| {
        b.task.register(cx.waker());
        for _ in 0..ROUNDS_PER_POLL {
            let mut polled = false;
            if b.take(0) {
                polled = true;
                if let Poll::Ready(v) = up.as_mut().poll(&mut Context::from_waker(&b.wakers[0])) {
                    return Poll::Ready(First::Client(v));
                }
            }
            if b.take(1) || ctl_pending.load(Ordering::Acquire) {
                polled = true;
                if let Poll::Ready(v) = down.as_mut().poll(&mut Context::from_waker(&b.wakers[1])) {
                    return Poll::Ready(First::Server(v));
                }
            }
            if b.take(2) {
                polled = true;
                if stop
                    .as_mut()
                    .poll(&mut Context::from_waker(&b.wakers[2]))
                    .is_ready()
                {
                    return Poll::Ready(First::Stop);
                }
            }
            if !polled {
                return Poll::Pending;
            }
        }
        // Still busy: let other sessions run, then continue.
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// A future that counts its polls and is ready once `open` is raised.
    struct Gate<'a> {
        polls: &'a AtomicUsize,
        open: &'a AtomicBool,
        waker: &'a std::sync::Mutex<Option<Waker>>,
    }

    impl Future for Gate<'_> {
        type Output = ();
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            self.polls.fetch_add(1, Ordering::Relaxed);
            if self.open.load(Ordering::Relaxed) {
                return Poll::Ready(());
            }
            *self.waker.lock().unwrap() = Some(cx.waker().clone());
            Poll::Pending
        }
    }

    #[tokio::test]
    async fn only_woken_branches_are_polled() {
        let (up_polls, down_polls, stop_polls) = (
            AtomicUsize::new(0),
            AtomicUsize::new(0),
            AtomicUsize::new(0),
        );
        let (up_open, down_open, stop_open) = (
            AtomicBool::new(false),
            AtomicBool::new(false),
            AtomicBool::new(false),
        );
        let (up_w, down_w, stop_w) = Default::default();
        let up = Gate {
            polls: &up_polls,
            open: &up_open,
            waker: &up_w,
        };
        let down = Gate {
            polls: &down_polls,
            open: &down_open,
            waker: &down_w,
        };
        let stop = Gate {
            polls: &stop_polls,
            open: &stop_open,
            waker: &stop_w,
        };
        tokio::pin!(up, down, stop);
        let pending = AtomicBool::new(false);
        let run = first(up, down, stop, &pending);
        tokio::pin!(run);
        // First poll: every branch once.
        assert!(futures_poll(run.as_mut()).is_pending());
        assert_eq!(
            [&up_polls, &down_polls, &stop_polls].map(|p| p.load(Ordering::Relaxed)),
            [1, 1, 1]
        );
        // Waking the server branch polls it alone.
        down_w.lock().unwrap().take().unwrap().wake();
        assert!(futures_poll(run.as_mut()).is_pending());
        assert_eq!(
            [&up_polls, &down_polls, &stop_polls].map(|p| p.load(Ordering::Relaxed)),
            [1, 2, 1]
        );
        // A raised ctl flag polls the server branch without a wake-up.
        pending.store(true, Ordering::Relaxed);
        down_open.store(true, Ordering::Relaxed);
        assert!(matches!(
            futures_poll(run.as_mut()),
            Poll::Ready(First::Server(()))
        ));
        assert_eq!(up_polls.load(Ordering::Relaxed), 1);
        let _ = (&up_open, &stop_open);
    }

    fn futures_poll<F: Future>(f: Pin<&mut F>) -> Poll<F::Output> {
        let waker = Waker::noop();
        f.poll(&mut Context::from_waker(waker))
    }
}
