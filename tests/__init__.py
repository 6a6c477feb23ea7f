"""The radphi test suite (a package, so `tests.*` imports never resolve to a third-party
top-level `tests` package, such as the one the radgraph wheel installs)."""
