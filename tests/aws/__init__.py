"""Tests of the AWS side (S3 savepoints, ``migrator emr``) against a moto server in server mode.

Each test module starts its own moto server on loopback (in a thread or a subprocess) and points
boto3 at it with fake credentials, so these tests need no Cassandra, no Spark cluster and no AWS
account; nothing here reaches the real AWS.
"""
