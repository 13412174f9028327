"""The Lambda service's rules around an invocation: limits, START/END/REPORT lines, pricing, summaries, the
invoker that drives a sandbox, asynchronous invocation and the dry run."""
