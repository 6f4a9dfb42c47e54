"""The JSON Schema of a scenario file, generated from the pydantic model (keys by alias: `for`, `finally`).

Published as `kdbgtest schema` and as `schema/scenario.schema.json` in the repository, so editors validate
scenario files with `# yaml-language-server: $schema=../schema/scenario.schema.json`.
"""

from __future__ import annotations

import json
from typing import Any

from kdbgtest.scenario import model

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "urn:kdbgtest:schema:scenario:1"


def json_schema() -> dict[str, Any]:
    """The scenario file's JSON Schema (draft 2020-12) as a dict."""
    generated = model.Scenario.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": SCHEMA_ID,
        "title": "kdbgtest scenario",
        **{k: v for k, v in generated.items() if k != "title"},
        "description": (
            "One kubectl debug workflow: deploy a broken workload (fixtures), debug it (steps), "
            "check what the session shows, and always clean up (finally). Strings may use ${variables}."
        ),
    }


def json_schema_text() -> str:
    """The schema as written to `schema/scenario.schema.json` (stable key order, trailing newline)."""
    return json.dumps(json_schema(), indent=2, sort_keys=False) + "\n"
