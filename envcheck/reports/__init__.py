"""Readers of report texts (nvidia-smi output, collect_env, envcheck JSON) into snapshot pieces.

Pure functions of text: the live probes use them on command output, `doctor --from` on a paste.
"""


class ReportError(ValueError):
    """The text is not in the format it claims to be; the message names the problem."""
