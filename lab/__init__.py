"""Work that studies the product but is not part of it and is not installed: run it from
the repository root as `python -m lab.<name>.<module>` (see lab/demo/README.md)."""
