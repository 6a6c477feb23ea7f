"""One way to run a module's command line (`python -m ...`): parser, logging, user errors.

Each module offers `add_arguments(parser)` and a `main(args) -> int`; `radphi/cli.py`
wires the same pair into the `radphi` command, and `run_module` into `python -m`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Callable

from radphi.errors import RadphiError


# HTTP clients log one INFO line per request (53,340 on the paper's test split against a
# server); their warnings and errors still show.
QUIET_LOGGERS = ("httpx", "httpcore", "openai._base_client", "urllib3")


def configure_logging(verbose: bool = False, level: int = logging.INFO, *, timestamps: bool = False) -> None:
    """The one logging set-up of every radphi entry point (`radphi`, `python -m ...`, app.py)."""
    fmt = ("%(asctime)s " if timestamps else "") + "%(levelname)s %(name)s: %(message)s"
    logging.basicConfig(level=logging.DEBUG if verbose else level, format=fmt)
    if not verbose:
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)


def run_module(prog: str, doc: str | None, add_arguments: Callable[[argparse.ArgumentParser], object],
               main: Callable[[argparse.Namespace], int], argv: list[str] | None = None,
               level: int = logging.INFO) -> int:
    parser = argparse.ArgumentParser(prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    if not any(a.dest == "verbose" for a in parser._actions):
        parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    configure_logging(args.verbose, level)
    try:
        return main(args)
    except (RadphiError, ValueError, FileNotFoundError) as exc:  # raised with messages meant for the user
        print(f"error: {exc}", file=sys.stderr)
        return 2
