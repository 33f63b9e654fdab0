"""docs/customize_runtime.md and the recipe tests cannot drift apart:
every block of the doc is used by a test, every name a test asks for is
in the doc, and every block is valid Python."""
import re
from pathlib import Path

import pytest

from .recipe_utils import DOC, doc_blocks

HERE = Path(__file__).parent
_USE = re.compile(r"""(recipe|user_module)\(\s*['"]([\w.-]+)['"]""")


def used_names() -> set:
    names = set()
    for path in list(HERE.glob('test_recipes_*.py')) + [
            HERE / 'test_nan_guard.py']:
        for func, name in _USE.findall(path.read_text()):
            kind = 'recipe' if func == 'recipe' else 'module'
            names.add(f'{kind}:{name}')
    return names


def test_every_block_is_tested_and_every_tested_name_exists():
    blocks = set(doc_blocks())
    assert len(blocks) >= 25, f'{DOC} lost its recipe blocks'
    assert blocks - used_names() == set(), 'blocks without a test'
    assert used_names() - blocks == set(), 'tests of missing blocks'


@pytest.mark.parametrize('key', sorted(doc_blocks()))
def test_block_is_valid_python(key):
    compile(doc_blocks()[key], f'{DOC.name}[{key}]', 'exec')
