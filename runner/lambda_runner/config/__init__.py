"""Reading the function's configuration: the SAM template (CloudFormation YAML), .env and env.json, and the
environment variables Lambda gives the function."""
