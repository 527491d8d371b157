//! [`ReportBucket`]: where the weekly audit function keeps its reports, one S3 bucket of the
//! stack, under `audits/<yyyy-mm-dd>/report.html` and `…/report.json` (the day the audited
//! period ends, UTC), and a presigned link to the page for the Slack summary.
//!
//! The link is presigned because the bucket is private (public access blocked): whoever holds
//! the link can read that one object until it expires, without an AWS login — and no longer. It
//! asks for [`LINK_LIFETIME`] (12 hours), but a URL signed with temporary credentials (a Lambda
//! role's) stops working when those credentials expire, which can be sooner; afterwards the
//! report is in the bucket for anyone with AWS access ([`console_url`]). Reading through the
//! link is authorised as the signer, so the audit role holds `s3:GetObject` on `audits/*` next
//! to `s3:PutObject`, and nothing else in S3.
//!
//! Given an [`S3Calls`] log, the client records each call as IAM authorises it (an
//! interceptor, like [`crate::calls`]), and [`ReportBucket::link`] records the `s3:GetObject`
//! the link will be used for: the end-to-end test checks them against the template's grants.

use crate::calls::Call;
use aws_config::SdkConfig;
use aws_sdk_s3::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::error::{BoxError, DisplayErrorContext};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use chrono::{DateTime, Utc};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use thiserror::Error;

/// How long the presigned link to a report is asked to live.
pub const LINK_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);

/// A failed report write or link.
#[derive(Debug, Error)]
pub enum ReportBucketError {
    #[error("cannot write s3://{bucket}/{key}: {message}")]
    Put {
        bucket: String,
        key: String,
        message: String,
    },
    #[error("cannot sign a link to s3://{bucket}/{key}: {message}")]
    Link {
        bucket: String,
        key: String,
        message: String,
    },
}

/// The S3 calls a client made, as IAM authorises them (`s3:PutObject` on
/// `arn:aws:s3:::<bucket>/<key>`).
#[derive(Debug, Clone, Default)]
pub struct S3Calls(Arc<Mutex<BTreeSet<Call>>>);

impl S3Calls {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every distinct call so far, sorted.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().iter().cloned().collect()
    }

    fn record(&self, action: &str, bucket: &str, key: &str) {
        self.lock().insert(Call {
            action: format!("s3:{action}"),
            resource: Some(object_arn(bucket, key)),
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeSet<Call>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The ARN of an object.
pub fn object_arn(bucket: &str, key: &str) -> String {
    format!("arn:aws:s3:::{bucket}/{key}")
}

#[derive(Debug)]
struct Recording(S3Calls);

impl Intercept for Recording {
    fn name(&self) -> &'static str {
        "handoff::S3Calls"
    }

    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        use aws_sdk_s3::operation::get_object::GetObjectInput;
        use aws_sdk_s3::operation::put_object::PutObjectInput;
        if let Some(meta) = cfg.load::<Metadata>() {
            let input = context.input();
            let (bucket, key) = if let Some(i) = input.downcast_ref::<PutObjectInput>() {
                (i.bucket(), i.key())
            } else if let Some(i) = input.downcast_ref::<GetObjectInput>() {
                (i.bucket(), i.key())
            } else {
                (None, None)
            };
            let (bucket, key) = (bucket.unwrap_or_default(), key.unwrap_or_default());
            self.0.record(meta.name(), bucket, key);
        }
        Ok(())
    }
}

/// An S3 client on `sdk`; path-style addressing when an endpoint is set (the emulator has no
/// `<bucket>.<host>` names). With `calls`, every call is recorded there.
pub fn s3_client(sdk: &SdkConfig, calls: Option<S3Calls>) -> aws_sdk_s3::Client {
    let mut b =
        aws_sdk_s3::config::Builder::from(sdk).force_path_style(sdk.endpoint_url().is_some());
    if let Some(c) = calls {
        b = b.interceptor(Recording(c));
    }
    aws_sdk_s3::Client::from_conf(b.build())
}

/// The key of a report file: `audits/<yyyy-mm-dd>/<file>`, the day `period_end` falls on (UTC).
pub fn report_key(period_end: DateTime<Utc>, file: &str) -> String {
    format!("audits/{}/{file}", period_end.format("%Y-%m-%d"))
}

/// The S3 console page of an object (needs an AWS login with read access to the bucket).
pub fn console_url(region: &str, bucket: &str, key: &str) -> String {
    format!(
        "https://{region}.console.aws.amazon.com/s3/object/{bucket}?region={region}&prefix={key}"
    )
}

/// The bucket the audit writes to.
#[derive(Debug, Clone)]
pub struct ReportBucket {
    client: aws_sdk_s3::Client,
    bucket: String,
    calls: Option<S3Calls>,
}

impl ReportBucket {
    /// The bucket `bucket` through `client`; `calls` (the same log the client records into)
    /// also gets the reads the links are for.
    pub fn new(client: aws_sdk_s3::Client, bucket: &str, calls: Option<S3Calls>) -> Self {
        Self {
            client,
            bucket: bucket.to_string(),
            calls,
        }
    }

    /// The bucket's name.
    pub fn name(&self) -> &str {
        &self.bucket
    }

    /// Writes `body` at `key` (replacing what is there: a re-run of the same week writes the
    /// same report again).
    pub async fn put(
        &self,
        key: &str,
        body: String,
        content_type: &str,
    ) -> Result<(), ReportBucketError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .cache_control("no-cache")
            .body(ByteStream::from(body.into_bytes()))
            .send()
            .await
            .map_err(|e| ReportBucketError::Put {
                bucket: self.bucket.clone(),
                key: key.to_string(),
                message: DisplayErrorContext(&e).to_string(),
            })?;
        Ok(())
    }

    /// A presigned `GET` link to `key`, asked to live [`LINK_LIFETIME`] (no call is made).
    pub async fn link(&self, key: &str) -> Result<String, ReportBucketError> {
        let error = |message: String| ReportBucketError::Link {
            bucket: self.bucket.clone(),
            key: key.to_string(),
            message,
        };
        let config =
            PresigningConfig::expires_in(LINK_LIFETIME).map_err(|e| error(e.to_string()))?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(|e| error(DisplayErrorContext(&e).to_string()))?;
        if let Some(calls) = &self.calls {
            calls.record("GetObject", &self.bucket, key);
        }
        Ok(request.uri().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_per_day_under_audits() {
        let end: DateTime<Utc> = "2026-11-23T07:00:00Z".parse().unwrap();
        assert_eq!(
            report_key(end, "report.html"),
            "audits/2026-11-23/report.html"
        );
        assert_eq!(
            console_url("eu-central-1", "b", "audits/2026-11-23/report.html"),
            "https://eu-central-1.console.aws.amazon.com/s3/object/b?region=eu-central-1&prefix=audits/2026-11-23/report.html"
        );
    }
}
