"""DynamoDB exports to S3 (``type: dynamodb-s3-export``) loaded into DynamoDB or Alternator, one data file per task."""
