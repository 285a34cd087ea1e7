"""Migrate and validate Cassandra/ScyllaDB tables with Spark, resumably, range by range."""

__version__ = "0.1.0"
