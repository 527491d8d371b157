//! The HTTP router shared by the local server and the Lambda function URLs.
