"""Refresh the option lists of docs/cli.md from the commands' own ``--help``.

Every fenced ``text`` block of docs/cli.md that starts with ``Usage: steadyrig [CMD [SUBCMD]]`` is
replaced by the current ``steadyrig [CMD [SUBCMD]] --help`` output at 80 columns; the prose around
them is left alone. ``tests/test_docs.py`` checks that the file is current.

    .venv/bin/python docs/cli_help.py           # rewrite docs/cli.md
    .venv/bin/python docs/cli_help.py --check   # exit 1 when it is out of date
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

CLI_MD = Path(__file__).resolve().parent / "cli.md"
_BLOCK = re.compile(r"```text\n(Usage: steadyrig(?: (?P<cmd>[a-z]+(?: [a-z]+)?))? .*?)\n```",
                    re.DOTALL)


def help_text(command: str | None) -> str:
    """``steadyrig [command] --help`` as printed at 80 columns (``command`` may be a group and
    one of its commands, ``"lens search"``)."""
    from click.testing import CliRunner

    from cli import main

    args = (command.split() if command else []) + ["--help"]
    result = CliRunner().invoke(main, args, env={"COLUMNS": "80"}, prog_name="steadyrig")
    if result.exit_code != 0:
        raise RuntimeError(f"steadyrig {' '.join(args)} failed: {result.output}")
    return result.output.rstrip()


def refreshed(text: str) -> str:
    """``text`` with every help block replaced by the current help."""
    return _BLOCK.sub(lambda m: f"```text\n{help_text(m.group('cmd'))}\n```", text)


def main(argv: list[str]) -> int:
    current = CLI_MD.read_text()
    fresh = refreshed(current)
    if "--check" in argv:
        if fresh != current:
            print(f"{CLI_MD}: out of date; run python docs/cli_help.py", file=sys.stderr)
            return 1
        return 0
    if fresh != current:
        CLI_MD.write_text(fresh)
        print(f"{CLI_MD}: updated")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(CLI_MD.parent.parent))
    sys.exit(main(sys.argv[1:]))
