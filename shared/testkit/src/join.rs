//! Concurrency inside one test, without `'static` futures.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

/// A future and, once it completed, its output.
type Slot<F> = (Pin<Box<F>>, Option<<F as Future>::Output>);

/// Polls every future concurrently in the current task and returns their outputs in order.
///
/// Unlike `tokio::spawn`, the futures may borrow (e.g. `&dyn HandoffStore`); adapters that hand
/// work to threads (`spawn_blocking`, SDK connections) still run it in parallel.
pub async fn join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut slots: Vec<Slot<F>> = futures.into_iter().map(|f| (Box::pin(f), None)).collect();
    std::future::poll_fn(move |cx| {
        let mut pending = false;
        for (future, output) in slots.iter_mut() {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(
                slots
                    .iter_mut()
                    .map(|(_, output)| output.take().expect("every future completed"))
                    .collect(),
            )
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn outputs_keep_input_order_and_run_concurrently() {
        let started = std::time::Instant::now();
        let out = join_all((0..10u64).map(|i| async move {
            tokio::time::sleep(Duration::from_millis(100 - i * 10)).await;
            i
        }))
        .await;
        assert_eq!(out, (0..10).collect::<Vec<_>>());
        assert!(started.elapsed() < Duration::from_millis(500));
    }

    #[tokio::test]
    async fn empty_input_is_ready() {
        let out: Vec<()> = join_all(Vec::<std::future::Ready<()>>::new()).await;
        assert!(out.is_empty());
    }
}
