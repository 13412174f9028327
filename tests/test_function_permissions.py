"""The check behind every end-to-end run of a project's tests (aws_calls): the calls the function made, against
its role. Here it must fail on the mistakes it exists for, with the calls an image-resize function makes."""

from __future__ import annotations

import json
import re

import generator

from aws_calls import policy_problems

CALLS = [
    ["s3", "GetObject", {"Bucket": "thumbs-123456789012-uploads", "Key": "uploads/cat.jpg"}, ""],
    ["s3", "GetObject", {"Bucket": "thumbs-123456789012-uploads", "Key": "uploads/gone.jpg"}, "NoSuchKey"],
    ["s3", "PutObject", {"Bucket": "thumbs-thumbnailbucket", "Key": "thumbnails/256x256/cat.jpg"}, ""],
]


def test_the_role_must_allow_each_call_and_what_s3_checks_behind_it(tmp_path):
    project = generator.new_project("image-resize", "thumbs", output_dir=tmp_path)
    calls = tmp_path / "calls.jsonl"
    calls.write_text("".join(json.dumps(call) + "\n" for call in CALLS), encoding="utf-8")
    assert policy_problems(project, calls) == []

    template = project / "template.yaml"
    text = template.read_text(encoding="utf-8")
    without_listing = re.sub(r"            - Sid: ListUploads\n(?:              .*\n|                .*\n)+", "", text)
    assert without_listing != text
    template.write_text(without_listing, encoding="utf-8")
    assert policy_problems(project, calls) == [  # a deleted upload would be a 403, not a skip
        "GetObject {'Bucket': 'thumbs-123456789012-uploads', 'Key': 'uploads/gone.jpg'} (NoSuchKey) needs "
        "s3:ListBucket on arn:aws:s3:::thumbs-123456789012-uploads"
    ]

    template.write_text(text.replace("/thumbnails/*", "/other/*"), encoding="utf-8")
    (problem,) = policy_problems(project, calls)
    assert problem.startswith("PutObject")
    assert "needs s3:PutObject on arn:aws:s3:::thumbs-thumbnailbucket/thumbnails/" in problem
