"""``python -m gankit``."""

from gankit.cli import main

main()
