"""The tests' fixtures come from the local runner's pytest plugin: the function exactly as template.yaml describes it.

`function_config` (the function), `function_environment` (Lambda's environment, template Environment included,
dummy credentials, set for every test), `handler` ({{ cookiecutter.handler }}), `lambda_context`, `load_event`
(reads events/NAME) and `local_aws` (moto's in-memory AWS holding template.yaml's resources). Renaming the handler
or changing a setting in template.yaml needs no change here, and tests never reach a real AWS account.
See {{ cookiecutter.runner }}/README.md for the runner's public API.
"""

pytest_plugins = ["{{ cookiecutter.runner }}.pytest_plugin"]
