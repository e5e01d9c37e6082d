"""doctor's option names that decide whether it runs the torch probe.

`envcheck/cli/entry.py` reads them before typer is imported, to start the probe's child early;
`doctor_cmd.py` declares its options with the same names. An option that skips the probe joins
SKIPS_PROBE here, and entry.py then starts no child that doctor would never read.
"""

FROM = "--from"
NO_TORCH = "--no-torch"
PYTHON = "--python"

SKIPS_PROBE = frozenset({FROM, NO_TORCH})
