"""``python -m gankit.cli`` (the same as ``python -m gankit``)."""

from gankit.cli import main

main()
