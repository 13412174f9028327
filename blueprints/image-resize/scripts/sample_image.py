"""Write a sample photo for trying the function locally: `python scripts/sample_image.py build/sample.jpg`.

The format follows the file's extension (jpg, jpeg, png, webp or gif). The picture is a portrait stored on its side
(1600x1200) with the EXIF orientation 6 that phones write when held upright, so a correct thumbnail is a portrait:
the function must honour the tag, as every image viewer does. GIF has no EXIF: a GIF sample is stored upright.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw

FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".gif": "GIF"}
ORIENTATION = 0x0112  # the EXIF tag
ROTATE_90_CLOCKWISE_TO_DISPLAY = 6


def upright_scene(width: int = 1200, height: int = 1600) -> Image.Image:
    """A sky gradient, a sun and two hills: a wrong rotation is obvious at a glance."""
    sky = Image.new("RGB", (width, height), (40, 110, 200))
    image = Image.blend(sky, Image.linear_gradient("L").resize((width, height)).convert("RGB"), 0.35)
    draw = ImageDraw.Draw(image)
    radius, centre_x, centre_y = width * 0.09, width * 0.75, height * 0.15
    draw.ellipse((centre_x - radius, centre_y - radius, centre_x + radius, centre_y + radius), fill=(255, 210, 60))
    draw.polygon([(0, height), (0, height * 0.6), (width * 0.45, height * 0.8), (width * 0.45, height)], (60, 140, 60))
    draw.polygon([(width * 0.3, height), (width * 0.75, height * 0.55), (width, height * 0.75), (width, height)],
                 fill=(30, 100, 40))
    draw.text((40, 40), "sky up", fill=(255, 255, 255), font_size=96)
    return image


def main(target: str) -> None:
    path = Path(target)
    image_format = FORMATS.get(path.suffix.lower())
    if image_format is None:
        raise SystemExit(f"{target}: use one of the extensions {', '.join(FORMATS)}")
    image = upright_scene()
    options = {}
    if image_format != "GIF":
        image = image.rotate(90, expand=True)  # on its side, as the sensor of an upright phone sees it...
        exif = Image.Exif()
        exif[ORIENTATION] = ROTATE_90_CLOCKWISE_TO_DISPLAY  # ...with the tag that tells viewers to turn it upright
        options["exif"] = exif
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, image_format, **options)
    print(f"wrote {path} ({image.width}x{image.height} stored, {path.stat().st_size} bytes)")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(f"usage: {sys.argv[0]} OUTPUT.(jpg|png|webp|gif)")
    main(sys.argv[1])
