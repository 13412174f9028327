"""slsgen's local Lambda runner: runs a function described by a SAM template.yaml as Lambda would, without Docker.

This package has one source (slsgen's `generator/runner/`) and is copied verbatim into every generated project
as `lambda_runner/`, where `python -m lambda_runner` runs it with the project's own interpreter. It therefore
imports only the standard library, PyYAML, and (lazily, for the modes that need them) moto and awslambdaric,
and only relative imports between its own modules.
"""
