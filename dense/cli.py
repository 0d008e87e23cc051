"""``sprobe``: the suite's one command-line program; each sub-command lives in its own module."""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from safetensors import SafetensorError

# name -> module defining ``add_arguments(parser)`` and ``run(args) -> int``
COMMANDS = {
    'extract': 'dense.cli_extract',
    'viz': 'visualize.cli',
    'scenes': 'dense.scenes.cli',
    'seg-scenes': 'probes.experiments.seg_scenes',
    'geo-scenes': 'probes.experiments.geo_scenes',
    'train': 'probes.cli_train',
    'eval': 'probes.cli_eval',
    'predict': 'probes.cli_predict',
    'report': 'probes.cli_report',
    'evaluate': 'probes.cli_evaluate',
    'demo': 'probes.demo',
    'pretrain': 'dense.pretrain.cli',
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


# what bad input (files, names, shapes, config values) raises; SPROBE_DEBUG=1 shows the traceback instead
USER_ERRORS = (ValueError, OSError, KeyError, SyntaxError, TypeError, SafetensorError)


def main(argv: list[str] | None = None) -> int:
    """Run one sub-command; bad input ends with a one-line error (exit status 2), not a traceback."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._module.run(args) or 0)
    except USER_ERRORS as err:
        if os.environ.get('SPROBE_DEBUG'):
            raise
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        text = ' '.join(str(message).split())  # one line, whatever the library wrote
        parser.exit(2, f'sprobe {args.command}: error: {text} ({type(err).__name__}; SPROBE_DEBUG=1 for details)\n')


if __name__ == '__main__':
    sys.exit(main())
