"""Actions: the code that changes something on the machine, each with a dry-run form."""
