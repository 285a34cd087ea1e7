"""``python -m migrator``: the same as the ``migrator`` command."""

import sys

from migrator.cli import main

sys.exit(main())
