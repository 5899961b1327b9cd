"""The names each method family exports at package level resolve, and lazily."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

PACKAGES = ["shopml.attribution", "shopml.conversion", "shopml.uplift", "shopml.value"]


@pytest.mark.parametrize("package", PACKAGES)
def test_every_exported_name_resolves(package):
    module = importlib.import_module(package)
    assert module.__all__
    for name in module.__all__:
        assert getattr(module, name) is not None, name
    with pytest.raises(AttributeError, match=f"module '{package}' has no attribute 'nope'"):
        module.nope  # noqa: B018


def test_importing_the_packages_or_the_command_does_not_load_torch():
    code = f"import sys; import shopml.cli, {', '.join(PACKAGES)}; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
