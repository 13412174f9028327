"""With `--tracing`, each blueprint's function traces: Powertools' Tracer sends X-Ray subsegments for the
invocation, the calls that matter, and each AWS request.

Each project's runner invokes the function on a sample event as Lambda would with `Tracing: Active` (a sampled
trace id in `_X_AMZN_TRACE_ID`), and the X-Ray SDK's UDP datagrams are read from a socket standing in for the X-Ray
daemon (`AWS_XRAY_DAEMON_ADDRESS`). The runner sets `AWS_SAM_LOCAL`, under which Tracer stays quiet as under `sam
local`; the env.json override clears it, as Lambda does not set it.
"""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import pytest
from PIL import Image

from helpers import generate, run

pytestmark = pytest.mark.e2e

CASES = {  # blueprint, options, the event, extra invoke flags, the subsegments the invocation must have
    "hello-world": (
        ("--set", "powertools=yes"),
        "events/hello.json",
        (),
        {"## lambda_handler", "## lambda_function.greet"},
    ),
    "image-resize": (
        (),
        "events/upload.json",
        ("--local-aws", "--seed", "s3://traced-123456789012-uploads/uploads/sample.jpg=sample.jpg"),
        {"## lambda_handler", "## lambda_function.download", "## lambda_function.make_thumbnails", "s3"},
    ),
    "data-processing": (
        (),
        "events/message.json",
        ("--local-aws",),
        {"## lambda_handler", "## lambda_function.apply_record", "dynamodb"},
    ),
    "alexa-skill": (
        (),
        "events/hello.json",
        (),
        {"## lambda_handler", "## lambda_function.HelloWorldIntentHandler.handle"},
    ),
}


def names(document: dict) -> set[str]:
    return {document.get("name", ""), *(name for sub in document.get("subsegments", []) for name in names(sub))}


@pytest.mark.parametrize("blueprint", sorted(CASES))
def test_the_invocation_sends_its_subsegments(tmp_path: Path, blueprint: str) -> None:
    options, event, flags, expected = CASES[blueprint]
    project = generate(tmp_path, blueprint, "traced", "--tracing", "--no-git", *options)
    assert "[tracer]" in (project / "pyproject.toml").read_text(encoding="utf-8")
    Image.new("RGB", (640, 480), (200, 30, 30)).save(project / "sample.jpg")
    record = json.loads((project / ".slsgen.json").read_text())
    (project / "env.json").write_text(json.dumps({function_id(project): {"AWS_SAM_LOCAL": ""}}))
    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    daemon.bind(("127.0.0.1", 0))
    daemon.settimeout(1)
    with daemon:
        address = f"127.0.0.1:{daemon.getsockname()[1]}"
        command = [sys.executable, "-m", "lambda_runner", "invoke", "-e", event, "--env-vars", "env.json", *flags]
        result = run(command, project, env={"AWS_XRAY_DAEMON_ADDRESS": address})
        assert "XRAY TraceId: 1-" in result.stderr
        sent = set()
        try:
            while True:
                header, _, body = daemon.recv(65536).decode().partition("\n")
                assert json.loads(header) == {"format": "json", "version": 1}
                sent |= names(json.loads(body))
        except TimeoutError:
            pass
    assert expected <= sent, sent
    assert record["answers"]["tracing"] is True


def function_id(project: Path) -> str:
    template = (project / "template.yaml").read_text(encoding="utf-8")
    return template.split("\nResources:\n  ", 1)[1].split(":", 1)[0]
