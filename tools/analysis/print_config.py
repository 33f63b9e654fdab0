"""Print a config with its ``_base_`` files merged and overrides applied.

    python tools/analysis/print_config.py CONFIG [--cfg-options KEY=VALUE ...]

The output is the config as the Runner will see it (before the runner's
own additions such as the model check's ``in_channels='auto'``
resolution), as Python source: redirect it to a file to get a
self-contained config.
"""
import argparse
import os
import sys
from typing import Optional, Sequence

if __name__ == '__main__':  # run from a checkout without installing
    sys.path.insert(0, os.path.abspath(
        os.path.join(os.path.dirname(__file__), '..', '..')))


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Print the fully merged config')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
        help='override config keys, e.g. train_cfg.max_epochs=5 '
        '(list items by index: a.0.b=1)')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> str:
    """Print the merged config; returns its text.

    Raises:
        SystemExit: the config file does not exist or an override is not
            KEY=VALUE (the message says which).
    """
    from posekit.apis.training import load_config
    args = parse_args(argv)
    try:
        cfg = load_config(args.config, args.cfg_options)
    except (FileNotFoundError, ValueError) as err:
        sys.exit(f'print_config: {err}')
    text = cfg.pretty_text
    print(text)
    return text


if __name__ == '__main__':
    main()
