"""The catalog is consistent: every category, capability and signal reference resolves."""

from __future__ import annotations

import re

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
