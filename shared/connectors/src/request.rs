//! The request as a provider sent it: method, the URL it called, headers and the raw body bytes.
//!
//! Signatures are checked over these exact bytes (a function URL body is base64-decoded first by
//! the HTTP layer); nothing is parsed or re-serialised before verification.

/// One incoming webhook request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRequest {
    /// `POST`, upper case.
    pub method: String,
    /// The full URL as the provider called it (`https://host/forms/hubspot?x=1`); HubSpot signs it.
    pub url: String,
    /// Header names in lower case, values as received; repeated headers keep every value.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
}

impl RawRequest {
    /// A POST of `body` to `url` with these headers (names are lower-cased).
    pub fn post(
        url: impl Into<String>,
        headers: &[(&str, &str)],
        body: impl Into<Vec<u8>>,
    ) -> Self {
        Self {
            method: "POST".into(),
            url: url.into(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), (*v).to_string()))
                .collect(),
            body: body.into(),
        }
    }

    /// The first value of a header (name matched case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Sets a header, replacing any value it had.
    pub fn set_header(&mut self, name: &str, value: impl Into<String>) {
        let name = name.to_ascii_lowercase();
        self.headers.retain(|(k, _)| *k != name);
        self.headers.push((name, value.into()));
    }

    /// The media type without parameters, lower case (`application/json`), or "" when absent.
    pub fn media_type(&self) -> String {
        self.header("content-type")
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    }

    /// A parameter of the content type (`boundary`), unquoted.
    pub fn content_type_param(&self, name: &str) -> Option<String> {
        let ct = self.header("content-type")?;
        ct.split(';').skip(1).find_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().trim_matches('"').to_string())
        })
    }

    /// The path of the URL (`/forms/typeform`), without the query.
    pub fn path(&self) -> &str {
        let after_scheme = self
            .url
            .split_once("://")
            .map_or(self.url.as_str(), |(_, r)| r);
        let path = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
        path.split('?').next().unwrap_or(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_media_type_and_params() {
        let r = RawRequest::post(
            "https://abc.lambda-url.us-east-1.on.aws/email/sendgrid?k=1",
            &[("Content-Type", "multipart/form-data; boundary=\"xYzZY\"")],
            b"".to_vec(),
        );
        assert_eq!(
            r.header("CONTENT-TYPE").unwrap(),
            "multipart/form-data; boundary=\"xYzZY\""
        );
        assert_eq!(r.media_type(), "multipart/form-data");
        assert_eq!(r.content_type_param("boundary").unwrap(), "xYzZY");
        assert_eq!(r.path(), "/email/sendgrid");
    }
}
