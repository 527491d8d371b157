//! How a suite gets at the adapter its constructor built.
//!
//! A constructor may return the adapter itself, or anything that dereferences to it: `Arc<A>`,
//! `Box<A>`, `Arc<dyn Port>`, or a [`Guarded`] adapter that keeps something alive beside it
//! (a temporary directory, an emulator handle). The `AsXxx` traits are implemented for every
//! adapter and for the port's trait object, so method-call auto-deref finds them through any
//! number of smart pointers.

use handoff_connectors::once::OnceTokens;
use handoff_domain::ports::{Crm, HandoffStore, Notifier, StageQueue, ThreadIndex};
use std::any::Any;
use std::fmt;
use std::ops::Deref;

/// An adapter plus a value that must outlive it (dropped after the adapter).
///
/// ```text
/// let dir = tempfile::tempdir()?;
/// let store = SqliteStore::open(dir.path().join("handoff.db"))?;
/// Guarded::new(store, dir)
/// ```
pub struct Guarded<T> {
    // Field order is drop order: the adapter closes before the guard (e.g. a temp dir) goes.
    inner: T,
    guard: Box<dyn Any + Send + Sync>,
}

impl<T> Guarded<T> {
    /// Wraps `inner`, keeping `guard` alive until the wrapper is dropped.
    pub fn new(inner: T, guard: impl Any + Send + Sync) -> Self {
        Self {
            inner,
            guard: Box::new(guard),
        }
    }

    /// The guard, if it has type `G` (e.g. `tempfile::TempDir` to find the directory).
    pub fn guard<G: Any>(&self) -> Option<&G> {
        self.guard.downcast_ref()
    }
}

impl<T> Deref for Guarded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: fmt::Debug> fmt::Debug for Guarded<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guarded")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

macro_rules! as_port {
    ($(#[$meta:meta])* $name:ident, $method:ident, $port:ident) => {
        $(#[$meta])*
        pub trait $name {
            /// The adapter as the port's trait object.
            fn $method(&self) -> &dyn $port;
        }
        impl<T: $port> $name for T {
            fn $method(&self) -> &dyn $port {
                self
            }
        }
        impl $name for dyn $port {
            fn $method(&self) -> &dyn $port {
                self
            }
        }
    };
}

as_port!(
    /// Views a suite subject as a [`HandoffStore`].
    AsStore,
    as_store,
    HandoffStore
);
as_port!(
    /// Views a suite subject as a [`StageQueue`].
    AsQueue,
    as_queue,
    StageQueue
);
as_port!(
    /// Views a suite subject as a [`Crm`].
    AsCrm,
    as_crm,
    Crm
);
as_port!(
    /// Views a suite subject as a [`Notifier`].
    AsNotifier,
    as_notifier,
    Notifier
);
as_port!(
    /// Views a suite subject as a [`ThreadIndex`].
    AsThreadIndex,
    as_thread_index,
    ThreadIndex
);
as_port!(
    /// Views a suite subject as [`OnceTokens`].
    AsOnceTokens,
    as_once_tokens,
    OnceTokens
);
