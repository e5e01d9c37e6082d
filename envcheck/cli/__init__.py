"""The command line: parse arguments, call the core, hand results to a renderer, exit."""
