//! Notifications of `handoff serve` link to the console: every notification's text ends with
//! the handoff's console page (`<public_url>/handoffs/<id>`), so a rep or operator opens the
//! whole record from the message. Only `handoff serve` wraps its notifier this way — its
//! public URL is the console's; a deployment's is the claim function's, which has no console.

use crate::runtime::LocalPipeline;
use async_trait::async_trait;
use handoff_api::App;
use handoff_domain::ids::HandoffId;
use handoff_domain::ports::{DeliveryError, Notification, Notifier};
use std::sync::Arc;

/// The console page of a handoff.
pub fn console_url(base: &str, id: &HandoffId) -> String {
    format!("{}/handoffs/{id}", base.trim_end_matches('/'))
}

/// A notifier that adds the console link to the text, then lets `inner` send it.
pub struct ConsoleLinks {
    inner: Arc<dyn Notifier>,
    base: String,
}

impl ConsoleLinks {
    pub fn new(inner: Arc<dyn Notifier>, base: impl Into<String>) -> Self {
        Self {
            inner,
            base: base.into(),
        }
    }
}

#[async_trait]
impl Notifier for ConsoleLinks {
    async fn notify(&self, notification: &Notification) -> Result<String, DeliveryError> {
        let mut linked = notification.clone();
        let link = console_url(&self.base, &notification.handoff_id);
        if !linked.body.ends_with('\n') && !linked.body.is_empty() {
            linked.body.push('\n');
        }
        linked
            .body
            .push_str(&format!("Open in the console: {link}\n"));
        self.inner.notify(&linked).await
    }
}

/// The pipeline with its notifier wrapped in [`ConsoleLinks`] (the services' public URL is the
/// server's own address); the HTTP routes' state follows.
pub fn link_notifications(mut pipeline: LocalPipeline) -> LocalPipeline {
    let mut services = (*pipeline.services).clone();
    services.notifier = Arc::new(ConsoleLinks::new(
        services.notifier.clone(),
        services.public_url.clone(),
    ));
    let services = Arc::new(services);
    pipeline.app = Arc::new(App {
        services: services.clone(),
        intake: pipeline.app.intake.clone(),
    });
    pipeline.services = services;
    pipeline
}

#[cfg(test)]
mod tests {
    use super::*;
    use handoff_testkit::fixtures;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<Notification>>);

    #[async_trait]
    impl Notifier for Recorder {
        async fn notify(&self, n: &Notification) -> Result<String, DeliveryError> {
            self.0.lock().unwrap().push(n.clone());
            Ok("receipt".into())
        }
    }

    #[tokio::test]
    async fn the_text_ends_with_the_console_page_of_the_handoff() {
        let recorder = Arc::new(Recorder::default());
        let links = ConsoleLinks::new(recorder.clone(), "http://127.0.0.1:8080/");
        let id = fixtures::handoff_id("linked");
        let n = fixtures::notification(&id, "slack:@lena", "local-crm:x");
        assert_eq!(links.notify(&n).await.unwrap(), "receipt");
        let sent = recorder.0.lock().unwrap();
        assert!(sent[0].body.starts_with(&n.body), "{}", sent[0].body);
        assert!(
            sent[0].body.ends_with(&format!(
                "Open in the console: http://127.0.0.1:8080/handoffs/{id}\n"
            )),
            "{}",
            sent[0].body
        );
    }
}
