"""The tests' fixtures come from the local runner's pytest plugin: the function exactly as template.yaml describes it.

`function_config` (the function), `function_environment` (Lambda's environment, template Environment included,
dummy credentials, set for every test), `handler` ({{ cookiecutter.handler }}), `lambda_context`, `load_event`
(reads events/NAME) and `local_aws` (moto's in-memory AWS holding template.yaml's resources). The plugin comes
with the runner ({{ cookiecutter.runner_distribution }}, a test dependency) and loads itself: nothing to enable
here. Renaming the handler or changing a setting in template.yaml needs no change here, and tests never reach a
real AWS account. The runner's README lists its public API (`python -m pip show -f {{ cookiecutter.runner_distribution }}`).
"""
