"""What envcheck knows about a machine: the facts, the snapshot that holds them, its JSON, and diffs.

Kept light on purpose: install-cmd imports envcheck.snapshot.facts alone, and importing the package
must not pull the rest in.
"""
