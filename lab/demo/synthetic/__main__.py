"""`python -m training.synthetic`: see training/synthetic/cli.py."""

from __future__ import annotations

from training.synthetic.cli import main

raise SystemExit(main())
