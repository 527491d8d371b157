//! HTTP Basic credentials for the email providers that cannot sign (Postmark, SendGrid Inbound
//! Parse): the webhook URL is configured as `https://user:password@host/email/<provider>`, the
//! provider sends `Authorization: Basic base64(user:password)`, and the configured secret is
//! `user:password` (several, comma-separated, during a rotation; so a password cannot hold a
//! comma).
//!
//! The comparison is constant-time: both sides are HMAC'd under a fixed key and compared with
//! the `hmac` crate's `verify_slice` (through [`crate::signature::verify_hmac_sha256`]), so
//! neither the content nor the length of the configured credentials leaks through timing.

use crate::provider::{any_secret, AuthError, Secrets, Verified};
use crate::request::RawRequest;
use crate::signature::{decode_base64, encode_base64, hmac_sha256, verify_hmac_sha256};

/// The header carrying the credentials.
pub const HEADER: &str = "authorization";

/// The fixed key both sides are HMAC'd under before the constant-time comparison.
const COMPARE_KEY: &[u8] = b"handoff basic-auth comparison";

/// Checks `Authorization: Basic …` against every configured `user:password`.
pub fn verify(request: &RawRequest, secrets: &Secrets) -> Result<Verified, AuthError> {
    let header = request
        .header(HEADER)
        .ok_or(AuthError::MissingHeader("Authorization"))?;
    let malformed = |detail: &str| AuthError::Malformed {
        what: "Authorization header",
        detail: detail.to_string(),
    };
    let (scheme, encoded) = header
        .trim()
        .split_once(' ')
        .ok_or_else(|| malformed("expected `Basic <base64 user:password>`"))?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(malformed("expected the Basic scheme"));
    }
    let received =
        decode_base64(encoded).ok_or_else(|| malformed("the credentials are not base64"))?;
    if !received.contains(&b':') {
        return Err(malformed("expected user:password"));
    }
    let received_mac = hmac_sha256(COMPARE_KEY, &[&received]);
    if any_secret(secrets, |s| {
        verify_hmac_sha256(COMPARE_KEY, &[s], &received_mac)
    }) {
        Ok(Verified::default())
    } else {
        Err(AuthError::BadSignature("Authorization header"))
    }
}

/// The header value a provider sends for `secret` (`user:password`).
pub fn header_value(secret: &str) -> String {
    format!("Basic {}", encode_base64(secret.as_bytes()))
}

/// Sets the `Authorization` header as the provider would.
pub fn sign(request: &mut RawRequest, secret: &str) {
    request.set_header(HEADER, header_value(secret));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: Option<&str>) -> RawRequest {
        let mut r = RawRequest::post("https://x/email/postmark", &[], b"{}".to_vec());
        if let Some(v) = value {
            r.set_header("Authorization", v);
        }
        r
    }

    #[test]
    fn accepts_the_credentials_and_a_rotation() {
        let secrets = Secrets::parse("new:pw2, old:pw1").unwrap();
        let mut r = with(None);
        sign(&mut r, "old:pw1");
        assert!(verify(&r, &secrets).is_ok());
        sign(&mut r, "new:pw2");
        assert!(verify(&r, &secrets).is_ok());
        assert!(verify(&with(Some("basic bmV3OnB3Mg==")), &secrets).is_ok());
    }

    #[test]
    fn refusals_name_the_problem() {
        let secrets = Secrets::parse("user:pw").unwrap();
        assert_eq!(
            verify(&with(None), &secrets),
            Err(AuthError::MissingHeader("Authorization"))
        );
        for bad in ["Bearer abc", "Basic", "Basic !!!", "Basic dXNlcnB3"] {
            assert!(
                matches!(
                    verify(&with(Some(bad)), &secrets),
                    Err(AuthError::Malformed { .. })
                ),
                "{bad}"
            );
        }
        for wrong in ["user:pw2", "user:p", "use:pw", "user:pw "] {
            assert_eq!(
                verify(&with(Some(&header_value(wrong))), &secrets),
                Err(AuthError::BadSignature("Authorization header")),
                "{wrong}"
            );
        }
    }
}
