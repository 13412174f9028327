"""Project tasks that need no Lambda function running: build the deployable zip, and check the project offline.

They live in the runner, not in slsgen, because a generated project runs them (`make package`, `make validate`)
without slsgen installed; `slsgen package` and `slsgen validate` hand over to the project's copy.
"""
