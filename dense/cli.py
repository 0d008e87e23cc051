"""``sprobe``: the suite's one command-line program; each sub-command lives in its own module."""
from __future__ import annotations

import argparse
import importlib
import sys

# name -> module defining ``add_arguments(parser)`` and ``run(args) -> int``
COMMANDS = {
    'extract': 'dense.cli_extract',
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='sprobe', description=__doc__)
    sub = parser.add_subparsers(dest='command', required=True)
    for name, module_path in COMMANDS.items():
        module = importlib.import_module(module_path)
        command = sub.add_parser(name, help=(module.__doc__ or '').strip().splitlines()[0],
                                 description=module.__doc__)
        module.add_arguments(command)
        command.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args._module.run(args) or 0)


if __name__ == '__main__':
    sys.exit(main())
