//! Terraform's request to stop: `StopProvider`, which Terraform sends when the user interrupts a
//! run (Ctrl-C, SIGINT). Every wait and retry of the provider ends at its next pause instead of
//! running out its timeout, so Terraform can save the state and exit. Nothing in flight is
//! abandoned at a pause: pauses come between calls. A snapshot export, which may take minutes, is
//! the one call given up while it runs (as when its deadline passes: it is not repeated).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

/// Shared by the provider and every client it configures; cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Stop(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    requested: AtomicBool,
    notify: Notify,
}

/// A pause that ended because a stop was requested.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stopped;

impl Stop {
    /// Asks every wait to end.
    pub fn request(&self) {
        self.0.requested.store(true, Ordering::SeqCst);
        self.0.notify.notify_waiters();
    }

    pub fn is_requested(&self) -> bool {
        self.0.requested.load(Ordering::SeqCst)
    }

    /// Resolves once a stop is requested (at once if it was).
    pub async fn requested(&self) {
        loop {
            let notified = self.0.notify.notified();
            if self.is_requested() {
                return;
            }
            notified.await;
        }
    }

    /// Sleeps for `d`, or until a stop is requested: then (or when it was already) `Err(Stopped)`.
    pub async fn pause(&self, d: Duration) -> Result<(), Stopped> {
        if self.is_requested() {
            return Err(Stopped);
        }
        tokio::select! {
            () = tokio::time::sleep(d) => Ok(()),
            () = self.requested() => Err(Stopped),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_pause_ends_when_a_stop_is_requested() {
        let stop = Stop::default();
        assert_eq!(stop.pause(Duration::from_millis(1)).await, Ok(()));
        let waiter = tokio::spawn({
            let stop = stop.clone();
            async move { stop.pause(Duration::from_secs(3600)).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        stop.request();
        let ended = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("the pause ended")
            .unwrap();
        assert_eq!(ended, Err(Stopped));
        // Once requested, every pause ends at once.
        assert_eq!(stop.pause(Duration::from_secs(3600)).await, Err(Stopped));
        stop.requested().await;
    }
}
