"""The `xenlint` command line."""
