"""The ``hookpost`` command line."""

from hookpost.cli.main import main

__all__ = ["main"]
