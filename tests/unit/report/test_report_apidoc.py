"""The published contract (docs/) is exactly what the payload types generate."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from agent.report.apidoc import DOCS, asyncapi, generated, main, to_yaml


def test_docs_are_up_to_date() -> None:
    assert main(["--check", str(DOCS)]) == 0, "run `python -m agent.report.apidoc`"


def test_schemas_are_valid_json_schema_and_referenced(tmp_path: Path) -> None:
    files = generated()
    for name, text in files.items():
        if name.endswith(".json"):
            jsonschema.Draft202012Validator.check_schema(json.loads(text))
    refs = {
        m["payload"]["$ref"]
        for c in asyncapi()["channels"].values()
        for m in c["messages"].values()
    }
    assert refs == {n for n in files if n.startswith("schemas/")}
    assert main([str(tmp_path)]) == 0
    assert main(["--check", str(tmp_path)]) == 0
    (tmp_path / "schemas" / "Reply.json").write_text("{}", encoding="utf-8")
    assert main(["--check", str(tmp_path)]) == 1


def test_yaml_scalars_are_json_quoted() -> None:
    text = to_yaml({"a": {"b": [1, "x: y"], "c": None, "d": {}}})
    assert text == '"a":\n  "b":\n    - 1\n    - "x: y"\n  "c": null\n  "d": {}'
