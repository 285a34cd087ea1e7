"""Planning: which parts of the source still have to be scanned.

Pure value objects and functions only (no I/O, no Spark): ``tokens`` splits a Cassandra/Scylla
token ring into ranges, and subtracts the ranges a savepoint says are already done.
"""

from __future__ import annotations
