"""Tests of {{ cookiecutter.handler }} on moto's in-memory S3 , with real images made by Pillow.

The expectations follow the function's own settings, which it reads from the Environment in template.yaml, so the
tests keep holding when you change the sizes, the output format or the accepted extensions there. Tests that
exercise one format or limit change the settings for themselves with `configure`.
"""

from __future__ import annotations

import dataclasses
import io
import struct
import sys
import zlib
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_plus

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from {{ cookiecutter.runner }} import build_event
from PIL import Image

ORIENTATION = 0x0112  # the EXIF tag
ALL_EXTENSIONS = frozenset({"jpg", "jpeg", "png", "webp", "gif"})


def s3_event(*objects: tuple[str, str, int], event_name: str = "put") -> dict[str, Any]:
    """An S3 notification about (bucket, key, size) objects, from the same builder as events/*.json."""
    records = []
    for bucket, key, size in objects:
        records += build_event("s3", event_name, bucket=bucket, key=key, size=size)["Records"]
    return {"Records": records}


@pytest.fixture
def s3(local_aws: Any, function_environment: dict[str, str]) -> Any:
    """An S3 client on moto's in-memory S3, where template.yaml's buckets exist (no AWS account)."""
    return boto3.client("s3", region_name=function_environment["AWS_REGION"])


@pytest.fixture
def upload(s3: Any, function_environment: dict[str, str]) -> Callable[..., dict[str, Any]]:
    """Put objects in a bucket (the source bucket by default) and return the S3 event announcing them.

    The event comes from the same builder as events/*.json, so its keys are URL-encoded exactly as S3 sends them.
    """

    def put(*objects: tuple[str, bytes], bucket: str | None = None) -> dict[str, Any]:
        bucket = bucket or function_environment["SOURCE_BUCKET"]
        for key, body in objects:
            s3.put_object(Bucket=bucket, Key=key, Body=body)
        return s3_event(*[(bucket, key, len(body)) for key, body in objects])

    return put


@pytest.fixture
def function(handler):
    """The handler's module: its settings, and its S3 client."""
    return sys.modules[handler.__module__]


@pytest.fixture
def settings(function):
    return function.SETTINGS


@pytest.fixture
def configure(function, monkeypatch):
    """Change settings for one test, as an edit of template.yaml's Environment would."""

    def change(**changes):
        monkeypatch.setattr(function, "SETTINGS", dataclasses.replace(function.SETTINGS, **changes))
        if "max_pixels" in changes:
            monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", changes["max_pixels"])
        return function.SETTINGS

    return change


def picture(size=(1200, 800), *, alpha=False):
    """Red on the left, blue on the right; with alpha, the top-left corner is transparent."""
    image = Image.new("RGBA" if alpha else "RGB", size, (200, 30, 30, 255))
    image.paste((30, 30, 200, 255), (size[0] // 2, 0, size[0], size[1]))
    if alpha:
        image.paste((0, 0, 0, 0), (0, 0, size[0] // 4, size[1] // 4))
    return image


def encode(image, image_format, *, orientation=None):
    options = {}
    if orientation is not None:
        exif = Image.Exif()
        exif[ORIENTATION] = orientation
        options["exif"] = exif
    output = io.BytesIO()
    image.save(output, image_format, **options)
    return output.getvalue()


def fetch(s3, bucket, key):
    """A written thumbnail, opened, with the Content-Type it was stored with."""
    stored = s3.get_object(Bucket=bucket, Key=key)
    return Image.open(io.BytesIO(stored["Body"].read())), stored["ContentType"]


def keys_in(s3, bucket):
    return [item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_settings_come_from_template_yaml(settings, function_environment):
    assert settings.destination_bucket == function_environment["DEST_BUCKET"]
    assert settings.source_bucket == function_environment["SOURCE_BUCKET"]
    assert settings.source_bucket != settings.destination_bucket
    assert ",".join(f"{width}x{height}" for width, height in settings.boxes) == function_environment["THUMBNAIL_SIZES"]
    assert settings.max_pixels == Image.MAX_IMAGE_PIXELS


@pytest.mark.parametrize("size", [(1200, 800), (40, 30)], ids=["large", "smaller-than-the-boxes"])
def test_each_box_gets_a_thumbnail_that_fits_it(handler, lambda_context, upload, s3, configure, size):
    settings = configure(extensions=ALL_EXTENSIONS, output_format=None)
    event = upload((f"{settings.source_prefix}trips/photo.jpg", encode(picture(size), "JPEG")))
    result = handler(event, lambda_context)
    assert result["skipped"] == []
    (written,) = result["written"]
    assert len(written["thumbnails"]) == len(settings.boxes)
    for (width, height), thumbnail in zip(settings.boxes, written["thumbnails"], strict=True):
        assert thumbnail["key"] == f"{settings.thumbnail_prefix}{width}x{height}/trips/photo.jpg"
        image, content_type = fetch(s3, settings.destination_bucket, thumbnail["key"])
        assert (image.format, content_type) == ("JPEG", "image/jpeg")
        assert image.size == (thumbnail["width"], thumbnail["height"])
        assert image.width <= width  # fits the box
        assert image.height <= height
        assert image.width == min(width, size[0]) or image.height == min(height, size[1])  # as large as allowed
        assert abs(image.width - round(image.height * size[0] / size[1])) <= 1  # keeps the aspect ratio


@pytest.mark.parametrize("image_format", ["JPEG", "WEBP", "PNG"])
def test_exif_orientation_6_makes_a_portrait_thumbnail(
    handler, lambda_context, upload, s3, configure, image_format
):
    settings = configure(extensions=ALL_EXTENSIONS, output_format=None, boxes=((256, 256),))
    extension = image_format.lower()
    data = encode(picture((1200, 800)), image_format, orientation=6)  # a phone held upright
    result = handler(upload((f"{settings.source_prefix}upright.{extension}", data)), lambda_context)
    (thumbnail,) = result["written"][0]["thumbnails"]
    image, _ = fetch(s3, settings.destination_bucket, thumbnail["key"])
    assert image.size == (171, 256)
    assert image.getexif().get(ORIENTATION) is None  # no tag left to rotate it a second time


@pytest.mark.parametrize(
    ("image_format", "alpha", "content_type"),
    [("JPEG", False, "image/jpeg"), ("PNG", True, "image/png"), ("WEBP", True, "image/webp"), ("GIF", True, "image/gif")],
)
def test_keeps_the_original_format_and_transparency(
    handler, lambda_context, upload, s3, configure, image_format, alpha, content_type
):
    settings = configure(extensions=ALL_EXTENSIONS, output_format=None, boxes=((100, 100),))
    key = f"{settings.source_prefix}picture.{image_format.lower()}"
    result = handler(upload((key, encode(picture(alpha=alpha), image_format))), lambda_context)
    (thumbnail,) = result["written"][0]["thumbnails"]
    assert thumbnail["key"] == f"{settings.thumbnail_prefix}100x100/picture.{image_format.lower()}"
    image, stored_type = fetch(s3, settings.destination_bucket, thumbnail["key"])
    assert (image.format, stored_type, thumbnail["content_type"]) == (image_format, content_type, content_type)
    assert image.size == (100, 67)
    if alpha:
        assert image.convert("RGBA").getpixel((0, 0))[3] == 0  # the transparent corner stayed transparent


@pytest.mark.parametrize(
    ("output_format", "extension", "content_type"),
    [("JPEG", ".jpg", "image/jpeg"), ("PNG", ".png", "image/png"), ("WEBP", ".webp", "image/webp")],
)
@pytest.mark.parametrize("source_format", ["PNG", "GIF"])
def test_converts_to_the_output_format(
    handler, lambda_context, upload, s3, configure, output_format, extension, content_type, source_format
):
    settings = configure(extensions=ALL_EXTENSIONS, output_format=output_format, boxes=((120, 120),))
    source = f"logo.{source_format.lower()}"
    result = handler(upload((settings.source_prefix + source, encode(picture(alpha=True), source_format))), lambda_context)
    (thumbnail,) = result["written"][0]["thumbnails"]
    # The extension is appended unless the original's already names the format: logo.png and logo.gif never collide.
    suffix = "" if source_format == output_format else extension
    assert thumbnail["key"] == f"{settings.thumbnail_prefix}120x120/{source}{suffix}"
    image, stored_type = fetch(s3, settings.destination_bucket, thumbnail["key"])
    assert (image.format, stored_type) == (output_format, content_type)
    corner = image.convert("RGBA").getpixel((0, 0))
    if output_format == "JPEG":
        assert min(corner) >= 250  # the transparent corner became white, not black
    else:
        assert corner[3] == 0


@pytest.mark.parametrize(
    "name",
    ["my holiday photo.jpg", "a+b=c & d.jpg", "été/naïve 写真.jpg", "100%.jpg", "UPPER CASE.JPG"],
)
def test_keys_are_url_decoded(handler, lambda_context, upload, s3, configure, name):
    settings = configure(extensions=ALL_EXTENSIONS, output_format=None)
    key = settings.source_prefix + name
    event = upload((key, encode(picture((300, 200)), "JPEG")))
    assert event["Records"][0]["s3"]["object"]["key"] != key  # S3 sends it URL-encoded
    result = handler(event, lambda_context)
    assert result["written"][0]["key"] == key
    width, height = settings.boxes[0]
    assert f"{settings.thumbnail_prefix}{width}x{height}/{name}" in keys_in(s3, settings.destination_bucket)


def test_too_large_upload_is_skipped_without_downloading(handler, lambda_context, s3, settings):
    key = f"{settings.source_prefix}huge.{sorted(settings.extensions)[0]}"
    # The object is not even there: a download attempt would report it missing instead.
    event = s3_event((settings.source_bucket, key, settings.max_input_bytes + 1))
    result = handler(event, lambda_context)
    assert result == {
        "written": [],
        "skipped": [
            {
                "bucket": settings.source_bucket,
                "key": key,
                "reason": f"{settings.max_input_bytes + 1} bytes is more than MAX_INPUT_BYTES "
                f"({settings.max_input_bytes})",
            }
        ],
    }


def test_object_larger_than_its_event_said_is_skipped(handler, lambda_context, s3, configure):
    settings = configure(extensions=ALL_EXTENSIONS, max_input_bytes=2000)
    key = f"{settings.source_prefix}replaced.png"
    s3.put_object(Bucket=settings.source_bucket, Key=key, Body=encode(picture(), "PNG"))  # replaced since the event
    result = handler(s3_event((settings.source_bucket, key, 1500)), lambda_context)
    assert "more than MAX_INPUT_BYTES (2000)" in result["skipped"][0]["reason"]


def test_text_named_jpg_is_skipped(handler, lambda_context, upload, configure):
    settings = configure(extensions=ALL_EXTENSIONS)
    result = handler(upload((f"{settings.source_prefix}notes.jpg", b"not an image at all\n")), lambda_context)
    assert result["written"] == []
    assert result["skipped"][0]["reason"] == "not an image in an accepted format (GIF, JPEG, PNG, WEBP)"


def test_content_decides_the_format_within_the_accepted_ones(handler, lambda_context, upload, s3, configure):
    settings = configure(extensions=ALL_EXTENSIONS, output_format=None, boxes=((64, 64),))
    png_named_jpg = (f"{settings.source_prefix}really-a-png.jpg", encode(picture(), "PNG"))
    result = handler(upload(png_named_jpg), lambda_context)
    (thumbnail,) = result["written"][0]["thumbnails"]
    assert thumbnail["key"] == f"{settings.thumbnail_prefix}64x64/really-a-png.jpg.png"
    assert thumbnail["content_type"] == "image/png"

    configure(extensions=frozenset({"jpg"}))  # now only JPEG content may be decoded
    result = handler(upload(png_named_jpg), lambda_context)
    assert result["skipped"][0]["reason"] == "not an image in an accepted format (JPEG)"


def test_other_extensions_are_skipped(handler, lambda_context, upload, settings):
    result = handler(upload((f"{settings.source_prefix}report.pdf", b"%PDF-1.7")), lambda_context)
    assert result["skipped"][0]["reason"].startswith("extension 'pdf' is not one of ")


def bomb_png(width, height):
    """A valid 1x1 PNG whose header claims `width` x `height` pixels: a few dozen bytes that would need gigabytes."""
    data = bytearray(encode(Image.new("L", (1, 1)), "PNG"))
    header = b"IHDR" + struct.pack(">II", width, height) + bytes(data[24:29])
    data[12:29] = header
    data[29:33] = struct.pack(">I", zlib.crc32(header))
    return bytes(data)


def test_decompression_bomb_is_skipped_before_decoding(handler, lambda_context, upload, configure):
    settings = configure(extensions=ALL_EXTENSIONS)
    result = handler(upload((f"{settings.source_prefix}bomb.png", bomb_png(100_000, 100_000))), lambda_context)
    assert result["skipped"][0]["reason"] == (
        f"more than MAX_IMAGE_PIXELS ({settings.max_pixels}) pixels: a possible decompression bomb"
    )


def test_image_over_max_pixels_is_skipped(handler, lambda_context, upload, s3, configure):
    settings = configure(extensions=ALL_EXTENSIONS, max_pixels=500_000)  # the 1200x800 picture has 960,000
    result = handler(upload((f"{settings.source_prefix}big.jpg", encode(picture(), "JPEG"))), lambda_context)
    assert "a possible decompression bomb" in result["skipped"][0]["reason"]
    assert keys_in(s3, settings.destination_bucket) == []


def test_truncated_image_is_skipped(handler, lambda_context, upload, configure):
    settings = configure(extensions=ALL_EXTENSIONS)
    data = encode(picture(), "PNG")
    result = handler(upload((f"{settings.source_prefix}cut.png", data[: len(data) // 2])), lambda_context)
    assert result["skipped"][0]["reason"].startswith("unreadable image: ")


def test_event_from_the_destination_bucket_is_ignored(handler, lambda_context, upload, s3, settings):
    extension = sorted(settings.extensions)[0]
    key = f"{settings.source_prefix}loop.{extension}"
    event = upload((key, b"a thumbnail"), bucket=settings.destination_bucket)
    result = handler(event, lambda_context)
    assert result["skipped"][0]["reason"] == "in the destination bucket: thumbnails are never processed again"
    assert keys_in(s3, settings.destination_bucket) == [key]  # nothing new was written


def test_other_buckets_prefixes_and_deletions_are_ignored(handler, lambda_context, s3, settings):
    extension = sorted(settings.extensions)[0]
    event = s3_event(
        ("someone-elses-bucket", f"{settings.source_prefix}a.{extension}", 10),
        (settings.source_bucket, f"elsewhere/a.{extension}", 10),
    )
    deletion = s3_event((settings.source_bucket, f"{settings.source_prefix}a.{extension}", 0), event_name="delete")
    event["Records"] += deletion["Records"]
    reasons = [skipped["reason"] for skipped in handler(event, lambda_context)["skipped"]]
    assert reasons == [
        f"not in the source bucket {settings.source_bucket}",
        f"outside {settings.source_prefix}",
        "ObjectRemoved:Delete is not an upload",
    ]


def test_object_deleted_since_the_event_is_skipped(handler, lambda_context, s3, settings):
    event = s3_event((settings.source_bucket, f"{settings.source_prefix}gone.{sorted(settings.extensions)[0]}", 10))
    assert handler(event, lambda_context)["skipped"][0]["reason"] == "the object no longer exists"


def test_access_denied_fails_the_event_instead_of_skipping_it(handler, lambda_context, s3, function, settings, caplog):
    """A GetObject answered 403, as real S3 answers a caller without s3:ListBucket (moto evaluates no IAM, so the
    stub answers as S3 would): not a deleted upload to skip, but a permission to fix, and the event is retried."""
    key = f"{settings.source_prefix}private.{sorted(settings.extensions)[0]}"
    with Stubber(function.S3) as stub:
        stub.add_client_error(
            "get_object",
            service_error_code="AccessDenied",
            service_message="Access Denied",
            http_status_code=403,
            expected_params={"Bucket": settings.source_bucket, "Key": key},
        )
        with pytest.raises(function.ThumbnailsFailed, match=r"^1 of 1 objects failed"):
            handler(s3_event((settings.source_bucket, key, 10)), lambda_context)
    (failed,) = [record for record in caplog.records if record.getMessage() == "object failed"]
    assert "s3:GetObject on s3://" in str(failed.exc_info[1])


def test_one_bad_object_does_not_lose_the_others(handler, lambda_context, upload, s3, configure):
    settings = configure(extensions=ALL_EXTENSIONS, output_format=None)
    prefix = settings.source_prefix
    event = upload(
        (f"{prefix}first.jpg", encode(picture(), "JPEG")),
        (f"{prefix}broken.jpg", b"\xff\xd8 not really a JPEG"),
        (f"{prefix}last.webp", encode(picture(alpha=True), "WEBP")),
    )
    result = handler(event, lambda_context)
    assert [written["key"] for written in result["written"]] == [f"{prefix}first.jpg", f"{prefix}last.webp"]
    assert [skipped["key"] for skipped in result["skipped"]] == [f"{prefix}broken.jpg"]
    assert len(keys_in(s3, settings.destination_bucket)) == 2 * len(settings.boxes)


def test_failure_is_raised_after_the_other_objects(
    handler, lambda_context, upload, s3, function, configure, monkeypatch
):
    settings = configure(extensions=ALL_EXTENSIONS, output_format=None, boxes=((50, 50),))
    real_put = function.S3.put_object

    def throttled(**request):
        if "slow" in request["Key"]:
            raise ClientError({"Error": {"Code": "SlowDown", "Message": "Reduce your request rate."}}, "PutObject")
        return real_put(**request)

    monkeypatch.setattr(function.S3, "put_object", throttled)
    event = upload(
        (f"{settings.source_prefix}slow.jpg", encode(picture(), "JPEG")),
        (f"{settings.source_prefix}fine.jpg", encode(picture(), "JPEG")),
    )
    with pytest.raises(function.ThumbnailsFailed, match=r"^1 of 2 objects failed \(see the log\): "):
        handler(event, lambda_context)  # so that Lambda retries the event
    assert keys_in(s3, settings.destination_bucket) == [f"{settings.thumbnail_prefix}50x50/fine.jpg"]


@pytest.mark.parametrize(("name", "images"), [("upload.json", 1), ("batch-upload.json", 2)])
def test_sample_events_make_thumbnails(handler, lambda_context, load_event, s3, function, settings, name, images):
    """events/*.json with pictures at their keys: what `make invoke` runs against the local AWS."""
    event = load_event(name)
    keys = [unquote_plus(record["s3"]["object"]["key"]) for record in event["Records"]]
    for key in keys[:images]:
        image_format = function.EXTENSIONS[key.rsplit(".", 1)[-1]]
        s3.put_object(Bucket=settings.source_bucket, Key=key, Body=encode(picture(), image_format))
    result = handler(event, lambda_context)
    assert [written["key"] for written in result["written"]] == keys[:images]
    assert all(len(written["thumbnails"]) == len(settings.boxes) for written in result["written"])
    assert [skipped["key"] for skipped in result["skipped"]] == keys[images:]  # notes.txt, in the batch


def test_logs_one_structured_line_per_object(handler, lambda_context, upload, caplog, configure):
    settings = configure(extensions=ALL_EXTENSIONS)
    caplog.set_level("INFO")
    event = upload(
        (f"{settings.source_prefix}ok.png", encode(picture(), "PNG")),
        (f"{settings.source_prefix}bad.png", b"nope"),
    )
    handler(event, lambda_context)
    written, skipped = [record for record in caplog.records if record.name == handler.__module__]
    assert (written.getMessage(), written.key, len(written.thumbnails)) == (
        "thumbnails written",
        f"{settings.source_prefix}ok.png",
        len(settings.boxes),
    )
    assert written.duration_ms >= 0
    assert (skipped.getMessage(), skipped.levelname, skipped.key) == (
        "object skipped",
        "WARNING",
        f"{settings.source_prefix}bad.png",
    )
    assert skipped.reason.startswith("not an image")


@pytest.mark.parametrize("event", [{}, {"Records": "x"}, [], "uploads/a.jpg"])
def test_rejects_an_event_that_is_not_an_s3_notification(handler, lambda_context, event):
    with pytest.raises(ValueError, match="not an S3 event notification"):
        handler(event, lambda_context)
