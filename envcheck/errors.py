"""Errors a user can cause: the CLI turns each into one line on stderr and exit code 2."""


class UserError(Exception):
    """A bad request (malformed or impossible); its message is the whole story for the user."""


class DataError(Exception):
    """A compat table that breaks its own schema: a bug in envcheck's data, not the user's."""
