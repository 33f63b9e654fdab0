"""Importing posekit is cheap and never reaches mmcv.ops or pkg_resources."""
import subprocess
import sys

PROBE = """
import sys
import posekit
print('after-import', 'torch' in sys.modules, 'mmengine' in sys.modules)
posekit.register_all_modules()
bad = sorted(m for m in sys.modules
             if m.startswith('mmcv.ops') or m == 'pkg_resources')
print('forbidden', bad)
"""


def test_import_is_light_and_registration_avoids_forbidden_modules():
    out = subprocess.run([sys.executable, '-c', PROBE], capture_output=True,
                         text=True, check=True).stdout.splitlines()
    assert 'after-import False False' in out
    assert 'forbidden []' in out
