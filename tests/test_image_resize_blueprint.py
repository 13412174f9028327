"""End to end: generate image-resize projects, then run in each what its user runs, down to real thumbnails.

Each case renders into a temporary folder, runs `ruff check`, `ruff format --check`, the project's own pytest suite
(moto, real Pillow images) and `cfn-lint template.yaml`, then the project's Makefile targets that go through the
runner's local AWS mode (a moto server): `make invoke-local` uploads a photo to the local source bucket and the
thumbnails it downloads are checked for their size and format. The Makefile runs with this interpreter's tools
(`BIN=`), and `-o .venv/.installed` tells make not to build the project's own virtual environment.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from PIL import Image

from helpers import BIN, SLSGEN, check_project, generate, require_python, run
from helpers import function_properties as properties_of

pytestmark = pytest.mark.e2e
MAKE = ["make", f"BIN={BIN}", "-o", ".venv/.installed"]


def thumbnails(project: Path) -> dict[str, Image.Image]:
    """What `make invoke-local` downloaded: `thumbnails/<box>/<name>` -> the image, opened."""
    (bucket,) = (project / "build" / "thumbnails").iterdir()
    return {
        path.relative_to(bucket).as_posix(): Image.open(path) for path in sorted(bucket.rglob("*")) if path.is_file()
    }


def responses(stdout: str) -> dict[str, dict]:
    """`make invoke` prints `== events/<name>`, then the function's response as indented JSON, for each event."""
    parts = re.split(r"^== (events/\S+)\n", stdout, flags=re.MULTILINE)[1:]
    return {name: json.loads(body) for name, body in zip(parts[::2], parts[1::2], strict=True)}


def function_properties(project: Path) -> dict:
    return properties_of(project, "ResizeFunction")


def test_default_project(tmp_path):
    project = generate(tmp_path, "image-resize", "thumbs")
    # ruff, its tests (every AWS call allowed by its role) and cfn-lint: test_readmes' run of its CI commands

    props = function_properties(project)
    assert (props["MemorySize"], props["Timeout"], props["Architectures"]) == (1024, 30, ["arm64"])
    assert props["Environment"]["Variables"]["THUMBNAIL_SIZES"] == "256x256"
    assert '"pillow>=12.2,<14",' in (project / "pyproject.toml").read_text()  # the function's dependencies

    # `make help` lines up every target's help, the blueprint's own (invoke-local) too.
    helped = [line for line in run(["make", "help"], project).stdout.splitlines() if line.strip()]
    assert {line.split()[0] for line in helped} >= {"install-emulate", "deploy-package", "invoke-local", "validate"}
    assert len({len(line) - len(line.split(None, 1)[1]) for line in helped}) == 1, helped  # one help column
    missing = run([*MAKE, "invoke-local", "IMAGE=missing.jpg"], project, check=False)
    assert missing.returncode != 0
    assert "IMAGE=missing.jpg: no such file" in missing.stderr
    assert "No rule to make target" not in missing.stderr

    run([*MAKE, "invoke-local"], project)
    ((name, image),) = thumbnails(project).items()
    # The sample photo is stored 1600x1200 with EXIF orientation 6: upright, its thumbnail is a portrait.
    assert (name, image.format, image.size) == ("thumbnails/256x256/sample.jpg", "JPEG", (192, 256))

    # `make invoke`: every sample event, against a local S3 holding the sample photo at the keys they name.
    by_event = responses(run([*MAKE, "invoke"], project).stdout)
    batch = by_event["events/batch-upload.json"]
    assert [written["key"] for written in batch["written"]] == [
        "uploads/sample.jpg",
        "uploads/holiday photos/beach+sun.jpg",
    ]
    assert [(skipped["key"], skipped["reason"]) for skipped in batch["skipped"]] == [
        ("uploads/notes.txt", "extension 'txt' is not one of gif, jpeg, jpg, png, webp")
    ]
    (thumbnail,) = by_event["events/upload.json"]["written"][0]["thumbnails"]
    assert (thumbnail["key"], thumbnail["width"], thumbnail["height"]) == ("thumbnails/256x256/sample.jpg", 192, 256)


def test_non_default_options(tmp_path):
    project = generate(
        tmp_path,
        "image-resize",
        "gallery",
        "--set", "sizes=128x128,640x480",
        "--set", "output_format=webp",
        "--set", "quality=70",
        "--set", "source_prefix=in/photos/",
        "--set", "extensions=png,jpg",
        "--set", "max_bytes=5000000",
        "--arch", "x86_64",
        "--memory", "2048",
        "--timeout", "60",
    )  # fmt: skip
    check_project(project)

    props = function_properties(project)
    assert (props["MemorySize"], props["Timeout"], props["Architectures"]) == (2048, 60, ["x86_64"])
    variables = props["Environment"]["Variables"]
    assert {key: variables[key] for key in ("THUMBNAIL_SIZES", "OUTPUT_FORMAT", "QUALITY", "SOURCE_PREFIX")} == {
        "THUMBNAIL_SIZES": "128x128,640x480",
        "OUTPUT_FORMAT": "webp",
        "QUALITY": "70",
        "SOURCE_PREFIX": "in/photos/",
    }
    assert variables["ACCEPTED_EXTENSIONS"] == "png,jpg"
    rules = props["Events"]["Upload"]["Properties"]["Filter"]["S3Key"]["Rules"]
    assert rules == [{"Name": "prefix", "Value": "in/photos/"}]
    read, listing, write = props["Policies"][0]["Statement"]
    assert read["Action"] == "s3:GetObject"
    assert read["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:s3:::${AWS::StackName}-${AWS::AccountId}-uploads/in/photos/*"
    }
    # s3:ListBucket, so that S3 answers a deleted upload 404 (skipped), not 403; listings only under the prefix.
    assert listing["Action"] == "s3:ListBucket"
    assert listing["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:s3:::${AWS::StackName}-${AWS::AccountId}-uploads"}
    assert listing["Condition"] == {"StringLikeIfExists": {"s3:prefix": "in/photos/*"}}
    on_failure = props["EventInvokeConfig"]
    assert (on_failure["MaximumRetryAttempts"], on_failure["MaximumEventAgeInSeconds"]) == (2, 21600)
    assert on_failure["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["FailedUploadsQueue", "Arn"]}
    assert "DeadLetterQueue" not in props
    assert (write["Action"], write["Resource"]) == ("s3:PutObject", {"Fn::Sub": "${ThumbnailBucket.Arn}/thumbnails/*"})
    assert "Build dist/gallery.zip for x86_64" in (project / "Makefile").read_text()  # pip: the arch of template.yaml

    photo = tmp_path / "wide.png"
    Image.new("RGBA", (2000, 1000), (10, 120, 200, 128)).save(photo)  # semi-transparent, 2:1
    run([*MAKE, "invoke-local", f"IMAGE={photo}"], project)
    written = {name: (image.format, image.size) for name, image in thumbnails(project).items()}
    assert written == {
        "thumbnails/128x128/wide.png.webp": ("WEBP", (128, 64)),
        "thumbnails/640x480/wide.png.webp": ("WEBP", (640, 320)),
    }


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("sizes=0x0", "sizes '0x0' is not valid: write each box as WIDTHxHEIGHT"),
        ("sizes=256x256,20000x1", "sizes '20000x1' is not valid"),
        ("sizes=256", "sizes '256' is not valid"),
        ("quality=0", "quality must be between 1 and 100; 0 is outside"),
        ("quality=101", "quality must be between 1 and 100; 101 is outside"),
        ("source_prefix=/uploads/", "source_prefix '/uploads/' is not valid: use a relative folder"),
        ("source_prefix=uploads", "source_prefix 'uploads' is not valid"),
        ("source_prefix=../secrets/", "source_prefix '../secrets/' is not valid"),
        ("extensions=jpg,tiff", "extensions 'tiff' is not valid: use jpg, jpeg, png, webp or gif"),
        ("output_format=avif", "output_format must be one of original, jpeg, png, webp, not 'avif'"),
        ("max_bytes=100", "max_bytes must be between 65536 and 1073741824; 100 is outside"),
        ("max_pixels=0", "max_pixels must be between 1000000 and 500000000; 0 is outside"),
    ],
)
def test_bad_option_values_are_refused_before_anything_is_written(tmp_path, option, message):
    command = [*SLSGEN, "new", "image-resize", "thumbs", "--no-input", "-o", str(tmp_path / "out"), "--set", option]
    result = run(command, tmp_path, check=False)
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ")
    assert message in line
    assert list(tmp_path.iterdir()) == []  # not even the output folder


def test_quality_does_not_apply_to_png_output(tmp_path):
    options = ["--set", "output_format=png", "--set", "quality=90"]
    result = run([*SLSGEN, "new", "image-resize", "thumbs", "--no-input", *options], tmp_path, check=False)
    assert result.returncode == 2
    assert result.stderr == "error: option quality applies only when output_format != 'png'; drop it\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("version", ["3.10", "3.13"])
def test_a_python314_project_parses_on_older_pythons(tmp_path, version):
    """Formatted for 3.14, the blueprint's code still parses where the Makefile may fall back."""
    python = require_python(version)
    project = generate(tmp_path, "image-resize", "thumbs", "--runtime", "python3.14")
    run([python, "-m", "compileall", "-q", "src", "tests", "scripts"], project)
