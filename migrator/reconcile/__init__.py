"""Reconciling two diverged tables: dev (the config's source) into production (its target).

``diff`` finds what differs, strategies and ``resolve-conflicts`` decide conflicts, the pack shows
every change before it is made, and ``apply`` makes them with checkpoints. Everything here speaks
through the backend protocol; what a change looks like in a given database lives in its backend.
"""
