"""{{ cookiecutter.project_name }}: makes Pillow thumbnails of the images uploaded to an S3 bucket.

S3 invokes `{{ cookiecutter.handler_function }}(event, context)` asynchronously for each object created under
SOURCE_PREFIX in the source bucket. Every image becomes one thumbnail per box of THUMBNAIL_SIZES, written to the
destination bucket as `THUMBNAIL_PREFIX<W>x<H>/<key without SOURCE_PREFIX>`, plus the output format's extension
when the key's own extension names another format (`photo.png` -> `photo.png.webp`), so that two uploads never
share a thumbnail.

An object that cannot become a thumbnail (too large, not an accepted image, a decompression bomb, gone) is
skipped with its reason: retrying would not change the answer. Any other failure (throttling, a missing
permission) is raised once the other records are done, so that Lambda retries the event; writing a thumbnail
again is harmless, which also makes S3's at-least-once delivery safe.
{%- if cookiecutter.tracing %}

With X-Ray tracing on (`Tracing: Active`), Powertools' Tracer records the invocation, each download and each
object's thumbnails as subsegments, and each S3 request (boto3 is patched).
{%- endif %}
"""

from __future__ import annotations

import io
import logging
import os
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import NamedTuple, NotRequired, Protocol, TypedDict
from urllib.parse import unquote_plus

import boto3
{%- if cookiecutter.tracing %}
from aws_lambda_powertools import Tracer
{%- endif %}
from botocore.config import Config
from botocore.exceptions import ClientError
from PIL import Image, ImageOps, UnidentifiedImageError

logger = logging.getLogger(__name__)
# With the JSON log format, Lambda sets the log level from LoggingConfig; with the text format it is
# Python's default (WARNING), which would hide the INFO lines below.
if "AWS_LAMBDA_LOG_LEVEL" not in os.environ:
    logger.setLevel(logging.INFO)


class ImageFormat(NamedTuple):
    extension: str
    content_type: str


# The only formats ever decoded or written: Pillow reads dozens, and every extra parser is attack surface.
FORMATS = {
    "JPEG": ImageFormat(".jpg", "image/jpeg"),
    "PNG": ImageFormat(".png", "image/png"),
    "WEBP": ImageFormat(".webp", "image/webp"),
    "GIF": ImageFormat(".gif", "image/gif"),
}
EXTENSIONS = {"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "gif": "GIF"}
OUTPUT_FORMATS = {"original": None, "jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}
WHITE = (255, 255, 255, 255)  # what transparent pixels become in a JPEG thumbnail


# --- the event and the result ---------------------------------------------------------------------------------


class S3Bucket(TypedDict):
    name: str


class S3ObjectInfo(TypedDict):
    key: str  # URL-encoded as in a query string: a space arrives as "+", a "+" as "%2B"
    size: NotRequired[int]  # bytes; absent for deletions


class S3Entity(TypedDict):
    bucket: S3Bucket
    object: S3ObjectInfo


class S3Record(TypedDict):
    eventSource: str
    eventName: str
    s3: S3Entity


class S3Event(TypedDict):
    """The fields this function reads from an S3 event notification."""

    Records: list[S3Record]


class Thumbnail(TypedDict):
    key: str
    width: int
    height: int
    content_type: str
    bytes: int


class WrittenObject(TypedDict):
    bucket: str
    key: str
    thumbnails: list[Thumbnail]


class SkippedObject(TypedDict):
    bucket: str
    key: str
    reason: str


class Result(TypedDict):
    """What the invocation did with each record: thumbnails written, or the reason it skipped the object."""

    written: list[WrittenObject]
    skipped: list[SkippedObject]


class LambdaContext(Protocol):
    """The parts of Lambda's context object this function uses."""

    aws_request_id: str


class Skip(Exception):
    """An object that cannot become thumbnails; the message says why."""


class ThumbnailsFailed(Exception):
    """Some objects failed for a reason a retry may cure; raised after the others are done."""


# --- settings, read once per execution environment -------------------------------------------------------------


def _variable(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise RuntimeError(f"environment variable {name} is not set: template.yaml sets it for the function")
    return value


def _box(text: str) -> tuple[int, int]:
    width, _, height = text.strip().lower().partition("x")
    if not (width.isdigit() and height.isdigit() and int(width) > 0 and int(height) > 0):
        raise RuntimeError(f"THUMBNAIL_SIZES: {text!r} is not WIDTHxHEIGHT, e.g. 256x256")
    return int(width), int(height)


@dataclass(frozen=True)
class Settings:
    """The function's configuration, from the Environment that template.yaml gives it."""

    source_bucket: str
    source_prefix: str
    destination_bucket: str
    thumbnail_prefix: str
    boxes: tuple[tuple[int, int], ...]
    output_format: str | None  # a key of FORMATS, or None to keep each image's own format
    quality: int
    extensions: frozenset[str]
    max_input_bytes: int
    max_pixels: int

    @property
    def accepted_formats(self) -> list[str]:
        """The Pillow formats `Image.open` may use: those of the accepted extensions, and no other."""
        return sorted({EXTENSIONS[extension] for extension in self.extensions})

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Settings:
        output_format = _variable(environ, "OUTPUT_FORMAT").lower()
        extensions = frozenset(item.strip().lower() for item in _variable(environ, "ACCEPTED_EXTENSIONS").split(","))
        if output_format not in OUTPUT_FORMATS:
            raise RuntimeError(f"OUTPUT_FORMAT must be one of {', '.join(OUTPUT_FORMATS)}, not {output_format!r}")
        if not extensions <= EXTENSIONS.keys():
            raise RuntimeError(f"ACCEPTED_EXTENSIONS may hold {', '.join(EXTENSIONS)}, not {sorted(extensions)}")
        return cls(
            source_bucket=_variable(environ, "SOURCE_BUCKET"),
            source_prefix=_variable(environ, "SOURCE_PREFIX"),
            destination_bucket=_variable(environ, "DEST_BUCKET"),
            thumbnail_prefix=_variable(environ, "THUMBNAIL_PREFIX"),
            boxes=tuple(_box(text) for text in _variable(environ, "THUMBNAIL_SIZES").split(",")),
            output_format=OUTPUT_FORMATS[output_format],
            quality=int(_variable(environ, "QUALITY")),
            extensions=extensions,
            max_input_bytes=int(_variable(environ, "MAX_INPUT_BYTES")),
            max_pixels=int(_variable(environ, "MAX_IMAGE_PIXELS")),
        )


SETTINGS = Settings.from_environment(os.environ)
# Pillow refuses, when it reads the header and before decoding anything, an image of more than twice this many
# pixels, and warns above it; `open_image` turns the warning into a refusal too.
Image.MAX_IMAGE_PIXELS = SETTINGS.max_pixels
# One client per execution environment, reused by every invocation. boto3 honours AWS_ENDPOINT_URL, which is how
# the local runner's --local-aws mode points it at a local S3.
{%- if cookiecutter.tracing %}
tracer = Tracer()  # before the client: Tracer patches botocore, so each S3 request is a subsegment too
{%- endif %}
S3 = boto3.client("s3", config=Config(retries={"mode": "standard"}, connect_timeout=5, read_timeout=20))


# --- one object -----------------------------------------------------------------------------------------------


def check_wanted(record: S3Record, bucket: str, key: str) -> None:
    """Skip what the function must never process; the destination check is the recursion guard."""
    if bucket == SETTINGS.destination_bucket:
        raise Skip("in the destination bucket: thumbnails are never processed again")
    if bucket != SETTINGS.source_bucket:
        raise Skip(f"not in the source bucket {SETTINGS.source_bucket}")
    if not key.startswith(SETTINGS.source_prefix):
        raise Skip(f"outside {SETTINGS.source_prefix}")
    if not record["eventName"].startswith("ObjectCreated:"):
        raise Skip(f"{record['eventName']} is not an upload")
    extension = PurePosixPath(key).suffix.lower().removeprefix(".")
    if extension not in SETTINGS.extensions:
        raise Skip(f"extension {extension or '(none)'!r} is not one of {', '.join(sorted(SETTINGS.extensions))}")
    size = record["s3"]["object"].get("size", 0)
    if size > SETTINGS.max_input_bytes:
        raise Skip(f"{size} bytes is more than MAX_INPUT_BYTES ({SETTINGS.max_input_bytes})")


{% if cookiecutter.tracing -%}
@tracer.capture_method(capture_response=False)  # the response is the image: too large for a trace
{% endif -%}
def download(bucket: str, key: str) -> bytes:
    """The object's bytes, in memory: no /tmp files to name safely and clean up.

    A deleted upload is skipped. S3 says NoSuchKey only to a caller allowed s3:ListBucket on the bucket, and
    AccessDenied to the others (moto, which evaluates no IAM, always says NoSuchKey): template.yaml grants it, so
    AccessDenied here means a permission is missing, and the event fails for Lambda to retry it.
    """
    try:
        response = S3.get_object(Bucket=bucket, Key=key)
    except S3.exceptions.NoSuchKey:
        raise Skip("the object no longer exists") from None
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "AccessDenied":
            raise PermissionError(
                f"s3:GetObject on s3://{bucket}/{key} was denied: template.yaml's ReadUploads and ListUploads "
                "statements must allow it"
            ) from error
        raise
    body = response["Body"]
    if response["ContentLength"] > SETTINGS.max_input_bytes:  # replaced by a bigger object since the event
        body.close()
        raise Skip(f"{response['ContentLength']} bytes is more than MAX_INPUT_BYTES ({SETTINGS.max_input_bytes})")
    return body.read()


def open_image(data: bytes) -> tuple[Image.Image, str]:
    """The image upright, decoded no larger than needed, and its format as read from its content."""
    largest_side = max(max(box) for box in SETTINGS.boxes)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=SETTINGS.accepted_formats)
            source_format = str(image.format)  # read it now: transposed and resized copies have no format
            # JPEG only: decode at 1/2, 1/4 or 1/8 scale while staying at least twice the largest box (as
            # Image.thumbnail would, whatever the EXIF rotation); exif_transpose below decodes the pixels.
            image.draft(None, (2 * largest_side, 2 * largest_side))
            image = ImageOps.exif_transpose(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as bomb:  # `as`: the same on every Python
        raise Skip(f"more than MAX_IMAGE_PIXELS ({SETTINGS.max_pixels}) pixels: a possible decompression bomb") from bomb
    except UnidentifiedImageError:
        raise Skip(f"not an image in an accepted format ({', '.join(SETTINGS.accepted_formats)})") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:  # truncated or corrupt image data
        raise Skip(f"unreadable image: {exc}") from None
    if image.mode in ("P", "PA", "1"):  # palette images resample badly; work in full colour
        image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    return image, source_format


def encode(image: Image.Image, image_format: str, icc_profile: bytes | None) -> bytes:
    """The thumbnail in `image_format`, converted to a mode that format can hold."""
    if image_format == "JPEG" and image.mode not in ("RGB", "L"):
        if image.has_transparency_data:  # JPEG has no alpha: transparent pixels go white, not black
            image = Image.alpha_composite(Image.new("RGBA", image.size, WHITE), image.convert("RGBA"))
        image = image.convert("RGB")
    elif image_format == "WEBP" and image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    elif image_format == "PNG" and image.mode == "CMYK":
        image = image.convert("RGB")
    options: dict[str, object] = {
        "JPEG": {"quality": SETTINGS.quality, "optimize": True, "progressive": True},
        "WEBP": {"quality": SETTINGS.quality},
        "PNG": {"optimize": True},
        "GIF": {"optimize": True},
    }[image_format]
    if icc_profile and image_format != "GIF":  # keep the colours of wide-gamut (e.g. Display P3) photos right
        options["icc_profile"] = icc_profile
    output = io.BytesIO()
    image.save(output, image_format, **options)  # no exif=: the GPS position and camera data stay private
    return output.getvalue()


def thumbnail_key(key: str, box: tuple[int, int], image_format: str) -> str:
    relative = key.removeprefix(SETTINGS.source_prefix)
    if EXTENSIONS.get(PurePosixPath(relative).suffix.lower().removeprefix(".")) != image_format:
        relative += FORMATS[image_format].extension
    return f"{SETTINGS.thumbnail_prefix}{box[0]}x{box[1]}/{relative}"


{% if cookiecutter.tracing -%}
@tracer.capture_method
{% endif -%}
def make_thumbnails(record: S3Record, bucket: str, key: str) -> list[Thumbnail]:
    """Check, download, decode once, then write one thumbnail per box."""
    check_wanted(record, bucket, key)
    image, source_format = open_image(download(bucket, key))
    image_format = SETTINGS.output_format or source_format
    icc_profile = image.info.get("icc_profile") if image.mode != "CMYK" else None
    thumbnails: list[Thumbnail] = []
    for box in SETTINGS.boxes:
        thumbnail = image.copy()
        thumbnail.thumbnail(box, Image.Resampling.LANCZOS)  # fits the box, keeps the ratio, never enlarges
        body = encode(thumbnail, image_format, icc_profile)
        target = thumbnail_key(key, box, image_format)
        content_type = FORMATS[image_format].content_type
        S3.put_object(Bucket=SETTINGS.destination_bucket, Key=target, Body=body, ContentType=content_type)
        thumbnails.append(
            {"key": target, "width": thumbnail.width, "height": thumbnail.height, "content_type": content_type,
             "bytes": len(body)}
        )
    return thumbnails


# --- the handler ----------------------------------------------------------------------------------------------


{% if cookiecutter.tracing -%}
@tracer.capture_lambda_handler
{% endif -%}
def {{ cookiecutter.handler_function }}(event: S3Event, context: LambdaContext) -> Result:
    """Make the thumbnails of every object in the event; report what was written and what was skipped, and why."""
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        raise ValueError('not an S3 event notification: expected {"Records": [...]}')
    result: Result = {"written": [], "skipped": []}
    failed: list[str] = []
    for record in records:
        if record.get("eventSource") != "aws:s3":
            result["skipped"].append({"bucket": "", "key": "", "reason": "not an S3 event record"})
            continue
        bucket = record["s3"]["bucket"]["name"]
        key = unquote_plus(record["s3"]["object"]["key"])
        where = {"bucket": bucket, "key": key}
        started = time.perf_counter()
        try:
            thumbnails = make_thumbnails(record, bucket, key)
        except Skip as skip:
            logger.warning("object skipped", extra={**where, "reason": str(skip)})
            result["skipped"].append({"bucket": bucket, "key": key, "reason": str(skip)})
        except Exception:  # one object's failure must not lose the others: it is raised below
            logger.exception("object failed", extra=where)
            failed.append(key)
        else:
            elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
            thumbnail_keys = [thumbnail["key"] for thumbnail in thumbnails]
            logger.info("thumbnails written", extra={**where, "thumbnails": thumbnail_keys, "duration_ms": elapsed_ms})
            result["written"].append({"bucket": bucket, "key": key, "thumbnails": thumbnails})
    if failed:
        raise ThumbnailsFailed(f"{len(failed)} of {len(records)} objects failed (see the log): {', '.join(failed)}")
    return result
