"""DynamoDB/Alternator backend against real DynamoDB-compatible servers (``scripts/services up``).

Two independent open-source implementations run locally: dynalite (LevelDB, strict request
validation, no TTL) and moto in server mode (TTL settings, consumed capacity of 1.0 per request).
Tests run against both where both implement what they exercise; a test that needs one says which
and why. Item placement in segments differs between servers: tests assert totals and contents,
never which segment holds an item.
"""
