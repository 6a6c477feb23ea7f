"""The radphi workbench (Gradio). Same as `radphi serve`.

    python app.py                                   # the embedded demo model, on 127.0.0.1:7860
    python app.py --model path/to/model.gguf        # any SPEC; repeat --model for more
    python app.py --models models.toml --host 0.0.0.0 --auth users.txt

Options: python app.py --help. The app lives in radphi/ui/ (one module per tab).
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    from radphi.entry import configure_logging
    from radphi.ui import server

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    server.add_arguments(parser)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    configure_logging(args.verbose, timestamps=True)
    return server.main(args)


if __name__ == "__main__":
    sys.exit(main())
