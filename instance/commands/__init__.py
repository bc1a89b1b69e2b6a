"""Command-line subcommands by area, added to the ``oce`` parser by :mod:`instance.cli`."""
