"""Names every suite agrees on: the repository root and the keyspaces of the integration tables.

Source and target tables live in distinct keyspaces (``it_src`` / ``it_tgt``) so the suites also
work when both point at one cluster.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE_KS = "it_src"
TARGET_KS = "it_tgt"
