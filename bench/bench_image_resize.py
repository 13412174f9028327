"""Thumbnails per second of the image-resize blueprint's function on a 12-megapixel JPEG, in one warm environment.

    python bench/bench_image_resize.py [--runs 5] [--invocations 8] [--memory 1024] [--sizes 256x256 ...]

For each set of thumbnail boxes, the bench generates an image-resize project with `slsgen` (library API), writes a
4000x3000 JPEG (a gradient under noise, which compresses like a detailed photo, about 5 MB), and runs the
generated function through the local runner exactly as `invoke --local-aws` does: a moto S3 server holds the
photo in the source bucket, and the runner's in-process invoker calls the handler, warm, `--invocations` times per
run. Each invocation downloads the photo from the local S3, decodes it, writes one thumbnail per box and uploads
them. The Duration the runner reports is summed per run; the table shows the median over `--runs` runs.

The memory setting is reported beside the local numbers, not applied: locally the process gets a whole core
whatever MemorySize says, while Lambda gives CPU in proportion to memory (1,769 MB is one vCPU). The handler is
single-threaded, so on Lambda expect roughly the local time divided by that vCPU share (capped at 1), on a
comparable core.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lambda_runner.config.template import read_functions, select_function  # noqa: E402
from lambda_runner.local.local_aws import local_aws, seed_event  # noqa: E402
from lambda_runner.sandboxes.choose import open_invoker  # noqa: E402
from PIL import Image  # noqa: E402

from generator import new_project  # noqa: E402

MB_PER_VCPU = 1769  # Lambda: memory at which a function gets one full vCPU


def twelve_megapixels(path: Path) -> Path:
    """A 4000x3000 JPEG: colour gradients under Gaussian noise, so the encoder cannot shrink it to nothing."""
    width, height = 4000, 3000
    gradient = Image.linear_gradient("L").resize((width, height))
    noise = Image.effect_noise((width, height), 40)
    image = Image.merge("RGB", (gradient, noise, gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    image.save(path, "JPEG", quality=90)
    return path


def bench_config(workdir: Path, photo: Path, sizes: str, memory: int, runs: int, invocations: int) -> dict:
    """Generate a project with these boxes and memory, then time warm invocations on the photo."""
    project = new_project(
        "image-resize", "bench-thumbs", output_dir=workdir / sizes.replace(",", "_"),
        options={"sizes": sizes, "memory": memory},
    )  # fmt: skip
    template = project / "template.yaml"
    functions = read_functions(template)
    function = select_function(functions, None)
    seed = f"s3://{function.environment['SOURCE_BUCKET']}/{function.environment['SOURCE_PREFIX']}photo.jpg={photo}"
    event = json.dumps(seed_event([seed])).encode()
    boxes = len(sizes.split(","))
    with open(os.devnull, "w") as log, local_aws(template, functions, [seed], log) as aws:
        invoker = open_invoker(function, mode="inprocess", env_overrides=aws, log=log)
        try:
            cold = invoker.invoke(event)  # the cold start: imports boto3 and Pillow, creates the client
            if not cold.ok:
                raise SystemExit(f"the function failed: {cold.error}")
            totals = []
            for _ in range(runs):
                durations = []
                for _ in range(invocations):
                    invocation = invoker.invoke(event)
                    if not invocation.ok or b'"written": []' in (invocation.response or b""):
                        raise SystemExit(f"the function did not write thumbnails: {invocation.error}")
                    durations.append(invocation.duration_ms)
                totals.append(sum(durations))
        finally:
            invoker.close()
    median_ms = statistics.median(totals) / invocations
    return {
        "sizes": sizes,
        "memory": memory,
        "cold_ms": cold.duration_ms + (cold.init_ms or 0),
        "warm_ms": median_ms,
        "thumbnails_per_s": boxes * 1000 / median_ms,
        "images_per_s": 1000 / median_ms,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs to take the median of (default 5)")
    parser.add_argument("--invocations", type=int, default=8, help="warm invocations per run (default 8)")
    parser.add_argument("--memory", type=int, default=1024, help="MemorySize of the generated function (default 1024)")
    parser.add_argument(
        "--sizes", action="append", help="boxes, comma-separated (repeatable; default: 256x256, and three boxes)"
    )
    args = parser.parse_args()
    configs = args.sizes or ["256x256", "128x128,640x480,1280x1280"]
    with tempfile.TemporaryDirectory(prefix="bench-image-resize-") as tmp:
        workdir = Path(tmp)
        photo = twelve_megapixels(workdir / "photo.jpg")
        print(
            f"photo: 4000x3000 JPEG, {photo.stat().st_size / 1e6:.1f} MB; "
            f"{args.runs} runs x {args.invocations} warm invocations each"
        )
        results = [bench_config(workdir, photo, sizes, args.memory, args.runs, args.invocations) for sizes in configs]
    share = min(args.memory / MB_PER_VCPU, 1.0)
    print(
        f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
        f"Pillow {Image.__version__}; Lambda at {args.memory} MB gets about {share:.2f} vCPU"
    )
    header = ("boxes", "MemorySize", "cold start", "warm, median", "thumbnails/s", "images/s")
    rows = [
        (r["sizes"], f"{r['memory']} MB", f"{r['cold_ms']:.0f} ms", f"{r['warm_ms']:.1f} ms",
         f"{r['thumbnails_per_s']:.1f}", f"{r['images_per_s']:.1f}")
        for r in results
    ]  # fmt: skip
    widths = [max(len(str(row[column])) for row in [header, *rows]) for column in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    print(f"warm time: S3 download (local), decode, resize, encode, S3 upload; on Lambda about it / {share:.2f}")


if __name__ == "__main__":
    main()
