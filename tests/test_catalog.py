"""The catalog is consistent: every category, capability and signal reference resolves."""

from __future__ import annotations

import json
import re
import runpy
from datetime import date

import yaml

from auditor import catalog


def test_tool_categories_are_declared_and_packages_unique():
    tax = catalog.taxonomy()
    for tool in tax.tools.values():
        assert set(tool.categories) <= set(tax.categories), tool.name
    assert len(tax.by_package) == sum(len(t.packages) for t in tax.tools.values())


def test_capability_categories_exist_for_tool_matchers():
    tax = catalog.taxonomy()
    for cap in catalog.capabilities().values():
        for m in cap.matchers():
            assert re.fullmatch(r"[a-z0-9_*]+(\.[a-z0-9_*]+)*", m.signal), m.signal
            if m.signal.startswith("tool."):
                assert m.signal.split(".", 1)[1] in tax.categories, (cap.id, m.signal)


def test_import_lookup_prefers_the_longest_module_prefix():
    tax = catalog.taxonomy()
    assert tax.tool_for_import("ray.serve.deployment").name == "ray-serve"
    assert tax.tool_for_import("ray.data").name == "ray"
    assert tax.tool_for_import("nothing_known") is None


def _cache_over(tmp_path, text="a: 1\n"):
    (tmp_path / "cat").mkdir(parents=True)
    (tmp_path / "cat" / "a.yaml").write_text(text)
    return catalog.ParsedCache(tmp_path / "cat", tmp_path / "cat" / "__pycache__" / "catalog.json")


def test_the_parsed_catalog_is_served_from_its_cache_while_the_yaml_is_unchanged(tmp_path):
    first = _cache_over(tmp_path)
    first.warm()
    assert first.data("a.yaml") == {"a": 1}
    # what a later run reads: the cached data, not a new parse (shown by changing the data)
    entries = json.loads(first.file.read_text())
    entries["a.yaml"]["data"] = {"a": "from the cache"}
    first.file.write_text(json.dumps(entries))
    assert catalog.ParsedCache(first.root, first.file).data("a.yaml") == {"a": "from the cache"}
    (first.root / "a.yaml").write_text("a: 2\n")  # edited: parsed again
    assert catalog.ParsedCache(first.root, first.file).data("a.yaml") == {"a": 2}


def test_the_parsed_catalog_cache_is_written_as_bytecode_is(tmp_path, monkeypatch):
    cache = _cache_over(tmp_path)
    monkeypatch.setattr("sys.dont_write_bytecode", True)
    assert cache.data("a.yaml") == {"a": 1} and not cache.file.exists()
    monkeypatch.setattr("sys.dont_write_bytecode", False)
    assert _cache_over(tmp_path / "w").data("a.yaml") == {"a": 1}
    assert (tmp_path / "w" / "cat" / "__pycache__" / "catalog.json").is_file()


def test_a_broken_or_unwritable_catalog_cache_only_costs_a_parse(tmp_path):
    cache = _cache_over(tmp_path)
    cache.file.parent.mkdir()
    cache.file.write_text("{not json")
    assert cache.data("a.yaml", write=True) == {"a": 1}
    assert json.loads(cache.file.read_text())["a.yaml"]["data"] == {"a": 1}  # rewritten
    unwritable = _cache_over(tmp_path / "ro")
    unwritable.file.parent.write_text("a file where the cache folder would go")
    assert unwritable.data("a.yaml", write=True) == {"a": 1}
    assert set(unwritable.root.iterdir()) == {unwritable.root / "a.yaml", unwritable.file.parent}


def test_catalog_data_json_would_change_is_parsed_every_time(tmp_path):
    cache = _cache_over(tmp_path, "day: 2027-01-31\n1: one\n")  # a date, a number as a key
    cache.warm()
    assert cache.data("a.yaml") == {"day": date(2027, 1, 31), 1: "one"}
    assert not cache.file.exists()


def test_python_m_auditor_catalog_writes_the_cache_of_every_catalog_file(tmp_path, monkeypatch):
    cache = catalog.ParsedCache(catalog.CATALOG_DIR, tmp_path / "catalog.json")
    monkeypatch.setattr(catalog, "_PARSED", cache)
    runpy.run_module("auditor.catalog", run_name="__main__")
    names = set(json.loads(cache.file.read_text()))
    assert {"capabilities.yaml", "tools.yaml", "frameworks/seven_stages.yaml"} <= names
    assert catalog.load_data("tools.yaml") == yaml.safe_load(
        (catalog.CATALOG_DIR / "tools.yaml").read_text())
