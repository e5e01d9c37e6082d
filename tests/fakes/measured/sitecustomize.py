"""Tell a test when bench's worker has finished a measurement, so it can press Ctrl-C after one
without guessing with a sleep how long torch takes to import on a busy machine.

With this folder on PYTHONPATH and ENVCHECK_TEST_MEASURED=<file>, every interpreter wraps
envcheck.bench.suites' measuring functions to append a line to that file when one returns.
envcheck itself has no switch for this. Without the variable, nothing happens.
"""

import os

if os.environ.get("ENVCHECK_TEST_MEASURED"):
    import functools

    from envcheck.bench import suites

    def _signalling(fn):
        @functools.wraps(fn)
        def measured(*args, **kwargs):
            result = fn(*args, **kwargs)
            with open(os.environ["ENVCHECK_TEST_MEASURED"], "a") as fh:
                fh.write(f"{fn.__name__}\n")
            return result

        return measured

    for _name in ("matmul", "conv", "memory_copy"):
        setattr(suites, _name, _signalling(getattr(suites, _name)))
