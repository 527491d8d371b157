//! DynamoDB and SQS adapters and Lambda glue.
