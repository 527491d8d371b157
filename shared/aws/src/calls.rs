//! Which AWS calls a process makes, as IAM sees them.
//!
//! [`Clients`] builds every SDK client a function uses from one [`SdkConfig`]; given a
//! [`CallRecorder`], each client carries an interceptor that records every call's IAM action
//! (`dynamodb:TransactWriteItems`, `sqs:SendMessage`, `secretsmanager:GetSecretValue`,
//! `ses:SendEmail`, `bedrock:InvokeModel` for a `Converse`) and, where a policy names one, its
//! resource (the queue URL, the secret id, the model id).
//!
//! The emulator does not enforce IAM. The end-to-end test builds each function's clients with its
//! own recorder, drives the pipeline, and compares what each function called with what its role
//! in `infra/template.yaml` grants — that comparison is what keeps the least-privilege policies
//! true. In production no recorder is given and the clients are the plain SDK clients.

use aws_config::SdkConfig;
use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};

/// One AWS call: the IAM action and, when the call names one, the resource it acts on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Call {
    /// `service:Operation` with IAM's service prefix, e.g. `sqs:SendMessage`.
    pub action: String,
    /// The queue URL or secret id the call named (`None` for table calls: one table per stack).
    pub resource: Option<String>,
}

/// Collects the distinct calls made through the clients it was given to.
#[derive(Debug, Clone, Default)]
pub struct CallRecorder {
    calls: Arc<Mutex<BTreeSet<Call>>>,
}

impl CallRecorder {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every distinct call recorded so far, sorted.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().iter().cloned().collect()
    }

    /// The distinct IAM actions recorded so far.
    pub fn actions(&self) -> BTreeSet<String> {
        self.lock().iter().map(|c| c.action.clone()).collect()
    }

    fn record(&self, call: Call) {
        self.lock().insert(call);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeSet<Call>> {
        self.calls.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// IAM's service prefix for an SDK service name.
pub fn iam_prefix(sdk_service: &str) -> String {
    match sdk_service {
        "SESv2" | "SES" => "ses".to_string(),
        "Bedrock Runtime" => "bedrock".to_string(),
        other => other.to_ascii_lowercase().replace(' ', ""),
    }
}

/// The interceptor: reads the operation's metadata before the request is serialised (once per
/// call, retries included).
#[derive(Debug)]
struct Recording(CallRecorder);

impl Intercept for Recording {
    fn name(&self) -> &'static str {
        "handoff::CallRecorder"
    }

    // Not `read_before_execution`: client interceptors see that hook before the operation's
    // configuration (which holds its Metadata) is applied.
    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(meta) = cfg.load::<Metadata>() {
            let prefix = iam_prefix(meta.service());
            for action in iam_actions(meta.name(), context) {
                for resource in resources(context) {
                    self.0.record(Call {
                        action: format!("{prefix}:{action}"),
                        resource,
                    });
                }
            }
        }
        Ok(())
    }
}

/// The IAM actions an operation is authorised as. Most are the operation itself; a DynamoDB
/// transaction is authorised per item (`PutItem`, `UpdateItem`, `DeleteItem`,
/// `ConditionCheckItem`; `GetItem` for reads), and an SQS batch as its single-message action.
fn iam_actions(
    operation: &str,
    context: &BeforeSerializationInterceptorContextRef<'_>,
) -> Vec<String> {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
    match operation {
        "TransactWriteItems" => {
            let mut actions: Vec<String> = Vec::new();
            if let Some(i) = context.input().downcast_ref::<TransactWriteItemsInput>() {
                for item in i.transact_items() {
                    let action = if item.put().is_some() {
                        "PutItem"
                    } else if item.update().is_some() {
                        "UpdateItem"
                    } else if item.delete().is_some() {
                        "DeleteItem"
                    } else {
                        "ConditionCheckItem"
                    };
                    if !actions.iter().any(|a| a == action) {
                        actions.push(action.to_string());
                    }
                }
            }
            actions
        }
        "TransactGetItems" => vec!["GetItem".to_string()],
        "SendMessageBatch" => vec!["SendMessage".to_string()],
        "DeleteMessageBatch" => vec!["DeleteMessage".to_string()],
        "ChangeMessageVisibilityBatch" => vec!["ChangeMessageVisibility".to_string()],
        // Bedrock authorises Converse as the model invocation it is.
        "Converse" => vec!["InvokeModel".to_string()],
        "ConverseStream" => vec!["InvokeModelWithResponseStream".to_string()],
        other => vec![other.to_string()],
    }
}

/// The resources a call names, as far as the least-privilege check needs them: the queue of an
/// SQS call, the secret(s) of a Secrets Manager read and the model of a Bedrock `Converse`.
/// `[None]` for everything else.
fn resources(context: &BeforeSerializationInterceptorContextRef<'_>) -> Vec<Option<String>> {
    use aws_sdk_bedrockruntime::operation::converse::ConverseInput;
    use aws_sdk_secretsmanager::operation::batch_get_secret_value::BatchGetSecretValueInput;
    use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueInput;
    use aws_sdk_sqs::operation::{
        change_message_visibility::ChangeMessageVisibilityInput,
        delete_message::DeleteMessageInput, get_queue_url::GetQueueUrlInput,
        receive_message::ReceiveMessageInput, send_message::SendMessageInput,
        send_message_batch::SendMessageBatchInput,
    };
    let input = context.input();
    let one = |r: Option<&str>| vec![r.map(str::to_string)];
    if let Some(i) = input.downcast_ref::<SendMessageInput>() {
        return one(i.queue_url());
    }
    if let Some(i) = input.downcast_ref::<SendMessageBatchInput>() {
        return one(i.queue_url());
    }
    if let Some(i) = input.downcast_ref::<ReceiveMessageInput>() {
        return one(i.queue_url());
    }
    if let Some(i) = input.downcast_ref::<DeleteMessageInput>() {
        return one(i.queue_url());
    }
    if let Some(i) = input.downcast_ref::<ChangeMessageVisibilityInput>() {
        return one(i.queue_url());
    }
    if let Some(i) = input.downcast_ref::<GetQueueUrlInput>() {
        return one(i.queue_name());
    }
    if let Some(i) = input.downcast_ref::<ConverseInput>() {
        return one(i.model_id());
    }
    if let Some(i) = input.downcast_ref::<GetSecretValueInput>() {
        return one(i.secret_id());
    }
    if let Some(i) = input.downcast_ref::<BatchGetSecretValueInput>() {
        let ids = i.secret_id_list();
        if !ids.is_empty() {
            return ids.iter().map(|id| Some(id.clone())).collect();
        }
    }
    vec![None]
}

/// The SDK clients of one process, recording their calls when a recorder is given.
#[derive(Debug, Clone)]
pub struct Clients {
    sdk: SdkConfig,
    recorder: Option<CallRecorder>,
}

impl Clients {
    /// Clients from `sdk`; with `recorder`, every call they make is recorded in it.
    pub fn new(sdk: SdkConfig, recorder: Option<CallRecorder>) -> Self {
        Self { sdk, recorder }
    }

    /// The shared SDK configuration.
    pub fn sdk(&self) -> &SdkConfig {
        &self.sdk
    }

    /// A DynamoDB client.
    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        let mut b = aws_sdk_dynamodb::config::Builder::from(&self.sdk);
        if let Some(r) = &self.recorder {
            b = b.interceptor(Recording(r.clone()));
        }
        aws_sdk_dynamodb::Client::from_conf(b.build())
    }

    /// An SQS client.
    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        let mut b = aws_sdk_sqs::config::Builder::from(&self.sdk);
        if let Some(r) = &self.recorder {
            b = b.interceptor(Recording(r.clone()));
        }
        aws_sdk_sqs::Client::from_conf(b.build())
    }

    /// A Secrets Manager client.
    pub fn secretsmanager(&self) -> aws_sdk_secretsmanager::Client {
        let mut b = aws_sdk_secretsmanager::config::Builder::from(&self.sdk);
        if let Some(r) = &self.recorder {
            b = b.interceptor(Recording(r.clone()));
        }
        aws_sdk_secretsmanager::Client::from_conf(b.build())
    }

    /// A Bedrock Runtime client (the judge): at most [`crate::judge::MAX_ATTEMPTS`] attempts
    /// per call; each call sets its own timeout from the rules.
    pub fn bedrockruntime(&self) -> aws_sdk_bedrockruntime::Client {
        let mut b = aws_sdk_bedrockruntime::config::Builder::from(&self.sdk).retry_config(
            aws_smithy_types::retry::RetryConfig::standard()
                .with_max_attempts(crate::judge::MAX_ATTEMPTS),
        );
        if let Some(r) = &self.recorder {
            b = b.interceptor(Recording(r.clone()));
        }
        aws_sdk_bedrockruntime::Client::from_conf(b.build())
    }

    /// An SES v2 client.
    pub fn sesv2(&self) -> aws_sdk_sesv2::Client {
        let mut b = aws_sdk_sesv2::config::Builder::from(&self.sdk);
        if let Some(r) = &self.recorder {
            b = b.interceptor(Recording(r.clone()));
        }
        aws_sdk_sesv2::Client::from_conf(b.build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_prefixes_of_the_services_handoff_calls() {
        assert_eq!(iam_prefix("DynamoDB"), "dynamodb");
        assert_eq!(iam_prefix("SQS"), "sqs");
        assert_eq!(iam_prefix("Secrets Manager"), "secretsmanager");
        assert_eq!(iam_prefix("SESv2"), "ses");
        assert_eq!(iam_prefix("Bedrock Runtime"), "bedrock");
    }
}

#[cfg(test)]
mod recording {
    use super::*;

    /// A call to a closed port: it fails, but was attempted and so is recorded.
    #[tokio::test]
    async fn a_call_is_recorded_with_its_action_and_queue() {
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url("http://127.0.0.1:9")
            .credentials_provider(aws_sdk_sqs::config::SharedCredentialsProvider::new(
                aws_sdk_sqs::config::Credentials::new("test", "test", None, None, "test"),
            ))
            .build();
        let recorder = CallRecorder::new();
        let clients = Clients::new(sdk, Some(recorder.clone()));
        let _ = clients
            .sqs()
            .send_message()
            .queue_url("http://127.0.0.1:9/123456789012/handoff-x-assign")
            .message_body("{}")
            .send()
            .await;
        let _ = clients.dynamodb().list_tables().send().await;
        // A transaction is authorised per item.
        use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
        let key = || AttributeValue::S("k".into());
        let _ = clients
            .dynamodb()
            .transact_write_items()
            .transact_items(
                TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name("t")
                            .item("PK", key())
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .transact_items(
                TransactWriteItem::builder()
                    .update(
                        Update::builder()
                            .table_name("t")
                            .key("PK", key())
                            .update_expression("SET n = :n")
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .send()
            .await;
        assert_eq!(
            recorder.actions().into_iter().collect::<Vec<_>>(),
            [
                "dynamodb:ListTables",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "sqs:SendMessage"
            ]
        );
        assert_eq!(
            recorder.calls()[..1],
            [Call {
                action: "dynamodb:ListTables".into(),
                resource: None
            }]
        );
        assert_eq!(recorder.calls().last().unwrap().clone(), {
            Call {
                action: "sqs:SendMessage".into(),
                resource: Some("http://127.0.0.1:9/123456789012/handoff-x-assign".into()),
            }
        });
    }
}
