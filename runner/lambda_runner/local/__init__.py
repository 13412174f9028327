"""Local stand-ins for AWS around the function: `start-api` (the HTTP server, routing, code watching) and local
AWS (moto, with the template's resources created)."""
