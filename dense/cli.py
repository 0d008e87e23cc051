"""``sprobe``: the suite's one command-line program; each sub-command lives in its own module.

Run ``sprobe <command> --help`` for a command's options and examples; SPROBE_DEBUG=1 shows tracebacks.
"""
from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import os
import sys
from pathlib import Path

# name -> module defining ``add_arguments(parser)`` and ``run(args) -> int``
COMMANDS = {
    'extract': 'dense.cli_extract',
    'viz': 'visualize.cli',
    'scenes': 'dense.scenes.cli',
    'seg-scenes': 'probes.experiments.seg_scenes',
    'geo-scenes': 'probes.experiments.geo_scenes',
    'det-scenes': 'probes.experiments.det_scenes',
    'ref-scenes': 'probes.experiments.ref_scenes',
    'train': 'probes.cli_train',
    'cache': 'probes.cli_cache',
    'eval': 'probes.cli_eval',
    'predict': 'probes.cli_predict',
    'report': 'probes.cli_report',
    'evaluate': 'probes.cli_evaluate',
    'knn': 'probes.cli_knn',
    'correspond': 'probes.cli_correspond',
    'zeroshot': 'probes.cli_zeroshot',
    'demo': 'probes.demo',
    'pretrain': 'dense.pretrain.cli',
    'rank': 'probes.experiments.ranking',
}


def module_docstring(module_path: str) -> str:
    """A command module's docstring read from its source (``ast``), without importing it or its packages: the
    help lists every command while only the chosen one pays for its imports (torch, mmengine, ...)."""
    top, *rest = module_path.split('.')
    spec = importlib.util.find_spec(top)  # a top-level package: found on sys.path, not executed
    if spec is None or not spec.submodule_search_locations:
        return ''
    base = Path(next(iter(spec.submodule_search_locations))).joinpath(*rest)
    source = base.with_suffix('.py') if base.with_suffix('.py').is_file() else base / '__init__.py'
    try:
        return ast.get_docstring(ast.parse(source.read_text())) or ''
    except (OSError, SyntaxError):
        return ''


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``sprobe`` parser; only ``command``'s module (if any) is imported to add its options."""
    parser = argparse.ArgumentParser(prog='sprobe', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='command', required=True, metavar='<command>')
    for name, module_path in COMMANDS.items():
        doc = module_docstring(module_path)
        sub_parser = sub.add_parser(name, help=(doc.strip().splitlines() or [''])[0], description=doc,
                                    formatter_class=argparse.RawDescriptionHelpFormatter)
        if name == command:
            module = importlib.import_module(module_path)
            module.add_arguments(sub_parser)
            sub_parser.set_defaults(_module=module)
    return parser


def _command(argv: list[str]) -> str | None:
    """The sub-command named in ``argv`` (its first word that is not an option), or None."""
    word = next((word for word in argv if not word.startswith('-')), None)
    return word if word in COMMANDS else None


def _user_errors() -> tuple[type, ...]:
    """What bad input (files, names, shapes, config values) raises; SPROBE_DEBUG=1 shows the traceback instead."""
    from safetensors import SafetensorError
    return ValueError, OSError, KeyError, SyntaxError, TypeError, SafetensorError


def main(argv: list[str] | None = None) -> int:
    """Run one sub-command; bad input ends with a one-line error (exit status 2), not a traceback."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_command(argv))
    args = parser.parse_args(argv)
    try:
        return int(args._module.run(args) or 0)
    except _user_errors() as err:
        if os.environ.get('SPROBE_DEBUG'):
            raise
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        text = ' '.join(str(message).split())  # one line, whatever the library wrote
        parser.exit(2, f'sprobe {args.command}: error: {text} ({type(err).__name__}; SPROBE_DEBUG=1 for details)\n')


if __name__ == '__main__':
    sys.exit(main())
