"""`radphi review`: fill, back up and summarise the review store from the command line.

    radphi review import RUN_A.jsonl RUN_B.jsonl --set pilot [--taxonomy green] [--practice]
    radphi review --db NEW.db import backup.json --restore [--expect-head SEQ:HASH]
    radphi review export reviews.json [--set pilot]     # or .csv (+ .audit.csv beside it)
    radphi review verify [--expect-head SEQ:HASH]       # exit 0: untouched; 1: names what changed
    radphi review stats pilot [--unblind] [--csv table.csv] [--html report.html]
    radphi review sets | close SET | role USER admin|reviewer

The same commands run as `python -m radphi.review.cli ...`. `--db PATH` picks another
database than $RADPHI_HOME/reviews.db. Whoever runs these owns the database file, and is
its admin: `stats` may unblind, imports go in as an admin's. Sets imported here are
blinded studies (sign-in required to review) unless `--practice`. Every file written
holds report text and is owner-only (0600).
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import sys
from pathlib import Path

from radphi.errors import RadphiError
from radphi.review.model import ROLES, Taxonomy

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `review` subcommands, for `radphi review` and `python -m radphi.review.cli` alike."""
    parser.add_argument("--db", type=Path, help="review database (default: $RADPHI_HOME/reviews.db)")
    sub = parser.add_subparsers(dest="review_command", required=True)
    p = sub.add_parser("import", help="add `radphi run` outputs to a set (items only), or --restore an export")
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--set", dest="set_name", help="the review set for `radphi run` outputs (created if new)")
    p.add_argument("--taxonomy", choices=[t.value for t in Taxonomy], default=None,
                   help="a new set's error categories: paper (4, default) or green (6: + the two comparison errors)")
    p.add_argument("--practice", action="store_true",
                   help="make a new set a practice set: typed reviewer names, no sign-in (not a blinded study)")
    p.add_argument("--restore", action="store_true",
                   help="restore a whole-store JSON export into this (empty) database, its ledger kept")
    p.add_argument("--expect-head", metavar="SEQ:HASH", help="with --restore: refuse unless the export ends there")
    p = sub.add_parser("verify", help="recompute the tamper-evident ledger; exit 1 naming the first difference")
    p.add_argument("--expect-head", metavar="SEQ:HASH",
                   help="a head printed earlier by verify: refuse unless the ledger still contains it")
    p = sub.add_parser("export", help="write the store (or one set) to a .csv or .json file")
    p.add_argument("out", type=Path)
    p.add_argument("--set", dest="set_name")
    p = sub.add_parser("stats", help="the dashboard's tables for a set")
    p.add_argument("set_name", metavar="SET")
    p.add_argument("--unblind", action="store_true", help="show the model names of an open set")
    p.add_argument("--csv", type=Path, help="also write every table to this CSV")
    p.add_argument("--html", type=Path, help="also write the HTML report here")
    p.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples (default 1000)")
    sub.add_parser("sets", help="list the review sets")
    p = sub.add_parser("close", help="close a set: no more reviews; model names may be shown")
    p.add_argument("set_name", metavar="SET")
    p = sub.add_parser("role", help="make a signed-in user an admin or a reviewer")
    p.add_argument("user")
    p.add_argument("role", choices=list(ROLES))


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name in a bare container: still say where it came from
        return "cli"


def _is_export(path: Path) -> bool:
    if path.suffix.lower() == ".csv":
        return True
    if path.suffix.lower() != ".json":
        return False
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("format") == "radphi-reviews"


def cmd_import(store, args: argparse.Namespace) -> int:
    from radphi.review import exports as reviews_io

    exports = [f for f in args.files if _is_export(f)]
    runs = [f for f in args.files if f not in exports]
    if args.restore:
        if runs or len(exports) != 1:
            print("error: --restore takes exactly one whole-store JSON export", file=sys.stderr)
            return 2
        n = reviews_io.restore_file(store, exports[0], actor=_actor(), expect_head=args.expect_head)
        print(f"{exports[0]}: restored {n} rows with their ledger; {store.verify().summary()}", file=sys.stderr)
        return 0
    if exports:
        print(f"error: {exports[0]} is a review export, not `radphi run` output. An import adds outputs only; "
              f"to restore a backup into an empty database use: radphi review --db NEW.db import FILE --restore",
              file=sys.stderr)
        return 2
    if runs:
        if not args.set_name:
            print("error: `radphi run` outputs go into a set: add --set NAME", file=sys.stderr)
            return 2
        taxonomy = Taxonomy(args.taxonomy) if args.taxonomy else None
        summary = store.import_run_files(args.set_name, runs, actor=_actor(), taxonomy=taxonomy,
                                         study=not args.practice)
        print(f"set {args.set_name}: {summary}", file=sys.stderr)
        for problem in summary.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1 if summary.problems and not (summary.added or summary.unchanged) else 0
    return 0


def cmd_verify(store, args: argparse.Namespace) -> int:
    report = store.verify(args.expect_head)
    print(report.summary())
    for problem in report.problems[1:]:
        print(f"  also: {problem}")
    return 0 if report.ok else 1


def cmd_export(store, args: argparse.Namespace) -> int:
    from radphi.review import exports as reviews_io

    suffix = args.out.suffix.lower()
    if suffix not in (".csv", ".json"):
        print("error: export to a .csv or .json file", file=sys.stderr)
        return 2
    write = reviews_io.write_csv if suffix == ".csv" else reviews_io.write_json
    write(store, args.out, args.set_name, actor=_actor())
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def print_dashboard(d) -> None:
    import pandas as pd

    from radphi.review import checker as review_checker
    from radphi.review.report import summary_line

    with pd.option_context("display.max_columns", None, "display.width", 250, "display.max_colwidth", 120):
        print(f"# {d.review_set.name}: {summary_line(d)}")
        for note in d.notes:
            print(f"note: {note}")
        for title, frame in (("Errors per model and category", d.paper), ("Per reviewer", d.per_reviewer),
                             ("Agreement", d.agreement), ("Blinded A/B", d.ab),
                             ("Which output is better (preference)", d.preference),
                             ("Agreement on the preferred output", d.preference_agreement),
                             ("Automatic checker (radphi.verify) beside the reviewers", review_checker.display(d.checker))):
            print(f"\n## {title}")
            print(frame.to_string(index=False, float_format=lambda x: f"{x:.3f}") if len(frame) else "(none yet)")


def cmd_stats(store, args: argparse.Namespace) -> int:
    from radphi.files import write_private_text
    from radphi.review.report import write_report
    from radphi.review.stats import dashboard, dashboard_csv

    d = dashboard(store, args.set_name, unblind=args.unblind, n_resamples=max(0, args.resamples))
    if args.unblind:
        store.log_event("unblind", _actor(), False, set_id=d.review_set.id, detail={"via": "cli"})
    print_dashboard(d)
    if args.csv:
        write_private_text(args.csv, dashboard_csv(d))
        print(f"\nwrote {args.csv}", file=sys.stderr)
    if args.html:
        write_report(d, args.html)
        print(f"wrote {args.html}", file=sys.stderr)
    return 0


def cmd_sets(store, args: argparse.Namespace) -> int:
    for s in store.sets():
        cases = len(store.cases(s.id))
        reviews = len(store.latest(s.id))
        print(f"{s.name}\t{s.kind}\t{s.taxonomy.value}\t{s.task or '-'}\t{cases} cases\t{reviews} reviews\t"
              f"{'closed ' + s.closed_at if s.closed else 'open'}")
    return 0


def cmd_close(store, args: argparse.Namespace) -> int:
    s = store.close_set(args.set_name, actor=_actor())
    print(f"set {s.name} closed at {s.closed_at}", file=sys.stderr)
    return 0


def cmd_role(store, args: argparse.Namespace) -> int:
    store.set_role(args.user, args.role, actor=_actor())
    print(f"{args.user} is now {args.role}", file=sys.stderr)
    return 0


COMMANDS = {"import": cmd_import, "export": cmd_export, "verify": cmd_verify, "stats": cmd_stats, "sets": cmd_sets, "close": cmd_close,
            "role": cmd_role}


def main(args: argparse.Namespace) -> int:
    """Run one `review` subcommand; RadphiError becomes a one-line message and status 2."""
    from radphi.review import ReviewStore

    try:
        store = ReviewStore(args.db)
        return COMMANDS[args.review_command](store, args)
    except RadphiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    from radphi.entry import run_module

    sys.exit(run_module("python -m radphi.review.cli", __doc__, add_arguments, main, level=logging.WARNING))
