"""Design principle 2: the pure packages import without Django (checked in a fresh interpreter)."""

import subprocess
import sys

import pytest

PURE = ["protocol", "instruments", "allocation", "stats", "design", "simulation", "reporting", "analysis",
        "datasets", "errors", "clock", "visits"]


@pytest.mark.parametrize("package", PURE)
def test_pure_package_imports_without_django(package):
    code = (
        "import importlib, pkgutil, sys\n"
        f"root = importlib.import_module('trialdesk.{package}')\n"
        "for info in pkgutil.walk_packages(getattr(root, '__path__', []), root.__name__ + '.'):\n"
        "    importlib.import_module(info.name)\n"
        "bad = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        "print(len(bad)); sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"trialdesk.{package} pulled in Django or failed: {result.stderr[-2000:]}"
