"""`python -m app.cli …`: the same entry as the `countersign` console script."""

from app.cli.main import main

main()
