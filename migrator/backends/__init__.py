"""One package per database the migrator reads or writes, behind the protocol in ``base``.

``base.backend_for(config)`` imports ``migrator.backends.<source.backend>`` on first use; nothing else
in the package imports a backend package, so a run loads only the drivers it needs.
"""
