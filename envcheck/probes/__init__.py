"""Probes: the only code that reads the world. Each catches its own failures and returns data."""
