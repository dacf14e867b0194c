"""BlobStore on S3 through aiobotocore."""
