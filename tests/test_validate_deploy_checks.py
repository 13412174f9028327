"""`validate`'s checks of what would fail only at deploy time: the stack's name in the names derived from it, and
parameter defaults that are placeholders (runner/lambda_runner/project/deploy_checks.py), on generated projects."""

from __future__ import annotations

import pytest
from lambda_runner.project.validate import run_checks, validate

import generator


def set_stack_name(project, name: str) -> str:
    """Name the stack in every environment of samconfig.toml; the file's text before."""
    samconfig = project / "samconfig.toml"
    text = samconfig.read_text(encoding="utf-8")
    samconfig.write_text(text.replace(f'stack_name = "{project.name}"', f'stack_name = "{name}"'), encoding="utf-8")
    return text


@pytest.fixture(scope="module")
def thumbs(tmp_path_factory):
    return generator.new_project("image-resize", "thumbs", output_dir=tmp_path_factory.mktemp("validate"))


@pytest.mark.parametrize(
    ("stack_name", "message"),
    [
        ("Thumbs", "stack_name 'Thumbs' makes SourceBucket's name 'Thumbs-123456789012-uploads', which S3 refuses"),
        ("t" * 43, "use a lowercase stack name of at most 42 characters"),
        ("my_thumbs", "stack_name 'my_thumbs' is not a CloudFormation stack name"),
    ],
)
def test_a_stack_name_its_buckets_cannot_have_is_refused(thumbs, stack_name, message, capsys):
    original = set_stack_name(thumbs, stack_name)
    try:
        problems, _ = run_checks(thumbs / "template.yaml")
        assert [(file, line) for file, line, _ in problems] == [("samconfig.toml", 6)]  # [default.global.parameters]
        assert message in problems[0][2]
        assert validate(thumbs / "template.yaml") == 1
    finally:
        (thumbs / "samconfig.toml").write_text(original, encoding="utf-8")
    assert run_checks(thumbs / "template.yaml")[0] == []


def test_a_placeholder_skill_id_is_a_warning_until_samconfig_overrides_it(tmp_path, capsys):
    skill = generator.new_project("alexa-skill", "greeter", output_dir=tmp_path)
    assert validate(skill / "template.yaml") == 0  # a warning: local runs need the placeholder
    out = capsys.readouterr().out
    assert "template.yaml:" in out
    assert "warning: SkillId's default amzn1.ask.skill.00000000-0000-0000-0000-000000000000 is a placeholder" in out
    assert out.rstrip().endswith("; 1 warning above")
    template = (skill / "template.yaml").read_text(encoding="utf-8")
    assert "Assert: !Not [!Equals [!Ref SkillId, amzn1.ask.skill.00000000-0000-0000-0000-000000000000]]" in template

    samconfig = skill / "samconfig.toml"  # what `sam deploy --guided` saves once it was given the real id
    real = "amzn1.ask.skill.1b2c3d4e-5f60-4718-92a3-b4c5d6e7f809"
    overrides = f'parameter_overrides = "SkillId=\\"{real}\\""'
    text = samconfig.read_text(encoding="utf-8")
    samconfig.write_text(text.replace("[default.deploy.parameters]\n", f"[default.deploy.parameters]\n{overrides}\n"))
    assert run_checks(skill / "template.yaml")[0] == []


def test_a_real_skill_id_given_at_generation_is_no_placeholder(tmp_path):
    real = "amzn1.ask.skill.1b2c3d4e-5f60-4718-92a3-b4c5d6e7f809"
    skill = generator.new_project("alexa-skill", "greeter", output_dir=tmp_path, options={"skill_id": real})
    assert run_checks(skill / "template.yaml")[0] == []
