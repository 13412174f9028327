"""Where the function's code runs: in this process, in a warm child process, or under AWS's runtime interface
client (emulation); the supervision of child processes, and the choice between them (`choose.py`)."""
