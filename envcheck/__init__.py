"""envcheck: diagnose a deep-learning GPU stack and print the commands that fix it."""

__version__ = "0.1.0"
