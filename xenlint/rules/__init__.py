"""xenlint's built-in rules and targets. Each module is a plugin registered through the
`xenlint` entry-point group exactly like a third-party one; rules are grouped by family."""
