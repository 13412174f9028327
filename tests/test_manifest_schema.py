"""The manifest's published JSON Schema is generated from the typed model, and every built-in blueprint meets it."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from generator.blueprints import builtin_names, load_blueprint
from generator.manifest import SCHEMA_FILE, schema, schema_text
from generator.paths import builtin_blueprints_dir

ROOT = Path(__file__).resolve().parent.parent


def test_the_committed_schema_is_the_generated_one():
    committed = (ROOT / SCHEMA_FILE).read_text(encoding="utf-8")
    assert committed == schema_text(), f"regenerate it: python -m generator.manifest > {SCHEMA_FILE}"
    jsonschema.Draft202012Validator.check_schema(json.loads(committed))


@pytest.mark.parametrize("name", builtin_names())
def test_every_builtin_blueprint_validates_against_the_schema(name):
    manifest = yaml.safe_load((builtin_blueprints_dir() / name / "blueprint.yaml").read_text(encoding="utf-8"))
    jsonschema.validate(manifest, schema(), cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize(
    "entry",
    [
        {"exclude": [{"paht": "docs/*"}]},
        {"questions": [{"name": "x", "default": 1, "rules": [{"match": "a"}]}]},
        {"repeat": [{"source": "a", "for_each": "b", "target": "c"}]},
        {"checks": [{"run": 3}]},
        {"version": "one"},
    ],
)
def test_the_schema_refuses_what_the_loader_refuses(entry):
    manifest = {"name": "x", "title": "t", "description": "d", "version": "1.0.0", **entry}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(manifest, schema(), cls=jsonschema.Draft202012Validator)


def test_the_readme_example_manifest_loads_and_meets_the_schema(tmp_path):
    """The blueprint-format section's example is a real manifest: the loader and the schema both accept it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = next(block for block in readme.split("```yaml\n")[1:] if block.startswith("name: team-api"))
    text = example.split("```")[0]
    jsonschema.validate(yaml.safe_load(text), schema(), cls=jsonschema.Draft202012Validator)
    folder = tmp_path / "team-api"
    (folder / "models").mkdir(parents=True)
    (folder / "blueprint.yaml").write_text(text, encoding="utf-8")
    (folder / "models" / "model.json").write_text("{}\n", encoding="utf-8")
    blueprint = load_blueprint(str(folder))
    assert [check.run for check in blueprint.checks] == ["scripts/check_model.py"]
    wake_word = blueprint.question("invocation_name").rules[1]
    assert wake_word.failure("hey alexa") == "must not contain the wake word 'alexa'"
