"""The JSON Schema of a scenario file, generated from the pydantic model (keys by alias: `for`, `finally`).

Published as `kdbgtest schema` and as `schema/scenario.schema.json` in the repository, so editors validate
scenario files with `# yaml-language-server: $schema=../schema/scenario.schema.json`. Every property has a
description and an example (kdbgtest.scenario.schema_docs fills what the model leaves out).

`$id` is the schema's stable name, `https://kdbgtest.dev/schema/scenario/v1.json`: an identifier (nothing is
fetched from it), kept while scenario files stay compatible; `v2` would name an incompatible language.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from kdbgtest.scenario import model, schema_docs

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "https://kdbgtest.dev/schema/scenario/v1.json"


def json_schema() -> dict[str, Any]:
    """The scenario file's JSON Schema (draft 2020-12) as a dict."""
    generated = model.Scenario.model_json_schema(by_alias=True, mode="validation")
    head = {
        "$schema": SCHEMA_DIALECT,
        "$id": SCHEMA_ID,
        "title": "kdbgtest scenario",
        "description": (
            "One kubectl debug workflow: deploy a broken workload (fixtures), debug it (steps), "
            "check what the session shows, and always clean up (finally). Strings may use ${variables}."
        ),
    }
    body = {k: v for k, v in generated.items() if k not in head and k != "$defs"}
    definitions = generated.get("$defs", {})
    _document("Scenario", body)
    for name, definition in definitions.items():
        _document(name, definition)
    return {**head, **body, "$defs": definitions}


def _document(name: str, definition: dict[str, Any]) -> None:
    """Add the description (where the model has none) and the example of each of the definition's properties."""
    for prop, spec in definition.get("properties", {}).items():
        found, description = schema_docs.lookup(schema_docs.DESCRIPTIONS, name, prop)
        if found and "description" not in spec:
            spec["description"] = description
        found, example = schema_docs.lookup(schema_docs.EXAMPLES, name, prop)
        if found:
            spec["examples"] = [example]


def json_schema_text() -> str:
    """The schema as written to `schema/scenario.schema.json` (stable key order, trailing newline)."""
    return json.dumps(json_schema(), indent=2, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """`python -m kdbgtest.scenario.schema [FILE]`: print the schema, or (re)write FILE with it."""
    args = sys.argv[1:] if argv is None else argv
    if not args:
        sys.stdout.write(json_schema_text())
        return 0
    Path(args[0]).write_text(json_schema_text(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
