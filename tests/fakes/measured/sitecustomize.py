"""Tell a test when bench's worker has started or finished a measurement, so it can press Ctrl-C
(or send SIGTERM) at that point without guessing with a sleep how long torch takes to import on a
busy machine.

With this folder on PYTHONPATH, ENVCHECK_TEST_MEASURED=<file> makes every interpreter wrap
envcheck.bench.suites' measuring functions to append a line to that file when one returns, and
ENVCHECK_TEST_STARTED=<file> a line to that file when one begins. envcheck itself has no switch for
this. Without the variables, nothing happens.
"""

import os

if os.environ.get("ENVCHECK_TEST_MEASURED") or os.environ.get("ENVCHECK_TEST_STARTED"):
    import functools

    from envcheck.bench import suites

    def _note(variable: str, line: str) -> None:
        if os.environ.get(variable):
            with open(os.environ[variable], "a") as fh:
                fh.write(f"{line}\n")

    def _signalling(fn):
        @functools.wraps(fn)
        def measured(*args, **kwargs):
            _note("ENVCHECK_TEST_STARTED", fn.__name__)
            result = fn(*args, **kwargs)
            _note("ENVCHECK_TEST_MEASURED", fn.__name__)
            return result

        return measured

    for _name in ("matmul", "conv", "memory_copy"):
        setattr(suites, _name, _signalling(getattr(suites, _name)))
