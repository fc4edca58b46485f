"""The public surface: everything exported is documented, the version matches the crate,
classes are immutable where they are values."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

import mycel

from conftest import ROOT


def test_version_is_the_crates() -> None:
    cargo = (ROOT / "Cargo.toml").read_text()
    m = re.search(r'^version = "([^"]+)"', cargo, re.M)
    assert m is not None and mycel.__version__ == m.group(1)


@pytest.mark.parametrize("name", [n for n in mycel.__all__ if n != "__version__"])
def test_every_export_and_its_methods_are_documented(name: str) -> None:
    obj = getattr(mycel, name)
    assert (obj.__doc__ or "").strip(), name
    if inspect.isclass(obj):
        for attr, member in vars(obj).items():
            if attr.startswith("_"):
                continue
            assert (getattr(member, "__doc__", None) or "").strip(), f"{name}.{attr}"


def test_value_classes_are_immutable() -> None:
    t = mycel.TaskSpec("matmul-q8_0", m=1, n=1, k=32)
    with pytest.raises(AttributeError):
        t.epoch = 3  # type: ignore[misc]
    kp = mycel.Keypair.from_seed(bytes(32))
    with pytest.raises((AttributeError, TypeError)):
        kp.hotkey = b""  # type: ignore[misc]


def test_package_ships_types() -> None:
    pkg = Path(mycel.__file__).parent
    assert (pkg / "py.typed").exists() and (pkg / "_mycel.pyi").exists()
