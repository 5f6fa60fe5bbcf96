"""The package schema: valid against Pulumi's own metaschema, and saying what the core does.

Pulumi's metaschema (``pkg/codegen/schema/pulumi.json`` in pulumi/pulumi) is not vendored:
set ``PULUMI_PACKAGE_METASCHEMA`` to a copy of it to validate against it here; under the real
CLI, ``tests/cli/test_native_cli.py`` has the CLI itself load the schema
(``pulumi package get-schema``).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pulumi_render_kv import catalog
from pulumi_render_kv.core._convert import COMPUTED_OUTPUTS, SECRET_OUTPUTS
from pulumi_render_kv.native import schema
from pulumi_render_kv.provider.resource import _PROPERTY_NAMES

SCHEMA = schema.package_schema()
KEY_VALUE = SCHEMA["resources"]["render-kv:index:KeyValue"]
METASCHEMA = os.environ.get("PULUMI_PACKAGE_METASCHEMA")


@pytest.mark.skipif(METASCHEMA is None, reason="PULUMI_PACKAGE_METASCHEMA names no metaschema")
def test_the_schema_is_valid_against_pulumis_metaschema() -> None:
    assert METASCHEMA is not None
    # Its patterns use Go's named groups, (?<name>…), which Python's re spells (?P<name>…).
    text = re.sub(r"\(\?<(?=[A-Za-z])", "(?P<", Path(METASCHEMA).read_text())
    metaschema = json.loads(text)
    validator = jsonschema.Draft202012Validator(metaschema)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(SCHEMA)]
    assert errors == []


def test_every_input_of_the_dynamic_resource_is_an_input_here() -> None:
    dynamic_inputs = {
        prop for attr, prop in _PROPERTY_NAMES.items() if prop not in COMPUTED_OUTPUTS
    } - {"pulumiProtect"}  # the dynamic resource's record of Pulumi's protect option
    assert set(KEY_VALUE["inputProperties"]) == dynamic_inputs | {"ownerId"}
    assert set(KEY_VALUE["properties"]) == dynamic_inputs | set(COMPUTED_OUTPUTS)


def _all_properties(node: Any) -> list[dict[str, Any]]:
    found = []
    if isinstance(node, dict):
        for key in ("properties", "inputProperties", "variables"):
            if isinstance(node.get(key), dict):
                found.extend(node[key].values())
        for value in node.values():
            found.extend(_all_properties(value))
    return found


def test_every_property_is_documented() -> None:
    for prop in _all_properties(SCHEMA):
        assert prop.get("description"), prop


def test_secrets_and_replacements_are_the_cores() -> None:
    outputs = KEY_VALUE["properties"]
    assert {k for k, v in outputs.items() if v.get("secret")} == set(SECRET_OUTPUTS)
    assert SCHEMA["types"]["render-kv:index:LogStream"]["properties"]["token"]["secret"]
    replacing = {k for k, v in KEY_VALUE["inputProperties"].items() if v.get("replaceOnChanges")}
    assert replacing == set(catalog.REPLACING_PROPERTIES) == {"region", "ownerId"}
    assert SCHEMA["config"]["variables"]["apiKey"]["secret"]
    envs = {k: v["defaultInfo"]["environment"] for k, v in SCHEMA["config"]["variables"].items()}
    assert envs == {
        "apiKey": ["RENDER_API_KEY"],
        "apiUrl": ["RENDER_API_URL"],
        "ownerId": ["RENDER_OWNER_ID"],
    }


def test_the_function_reads_by_id_or_name_and_returns_no_secret() -> None:
    function = SCHEMA["functions"]["render-kv:index:getKeyValue"]
    assert {"id", "name"} <= set(function["inputs"]["properties"])
    assert not any(p.get("secret") for p in function["outputs"]["properties"].values())


def test_the_enums_come_from_the_catalog() -> None:
    region = KEY_VALUE["inputProperties"]["region"]["description"]
    assert all(r.value in region for r in catalog.Region)
    assert "custom" not in KEY_VALUE["inputProperties"]["plan"]["description"]
