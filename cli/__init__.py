"""The `persona` command line."""
