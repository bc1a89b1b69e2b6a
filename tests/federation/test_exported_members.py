"""The package's public surface is exactly its `__all__`, and every name in it exists."""

from __future__ import annotations

import importlib
import pkgutil

import federation


def test_all_exports_exist() -> None:
    for name in federation.__all__:
        assert hasattr(federation, name), name


def test_all_is_sorted_and_unique() -> None:
    assert len(set(federation.__all__)) == len(federation.__all__)
    assert federation.__all__ == sorted(federation.__all__, key=lambda n: (not n.isupper(), n))


def test_every_public_name_imported_into_the_package_is_exported() -> None:
    public = {name for name in vars(federation) if not name.startswith("_")}
    modules = {info.name for info in pkgutil.iter_modules(federation.__path__)}
    assert public - modules == set(federation.__all__)


def test_every_module_declares_all_and_defines_it() -> None:
    for info in pkgutil.iter_modules(federation.__path__):
        module = importlib.import_module(f"federation.{info.name}")
        assert hasattr(module, "__all__"), info.name
        for name in module.__all__:
            assert hasattr(module, name), f"{info.name}.{name}"
