"""`python -m lab.demo.synthetic`: see lab/demo/synthetic/cli.py."""

from __future__ import annotations

from lab.demo.synthetic.cli import main

raise SystemExit(main())
