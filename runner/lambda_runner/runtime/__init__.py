"""The in-function runtime: what runs inside the execution environment (handler resolution, the context object,
Lambda's log formats, payload (de)serialization), as Lambda's Python runtime does it."""
