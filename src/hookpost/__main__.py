"""``python -m hookpost`` is the ``hookpost`` command."""

from hookpost.cli import main

main()
