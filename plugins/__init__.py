"""xenlint's built-in rules, each module a plugin registered through the `xenlint` entry-point
group exactly like a third-party one (installed under the import name `xenlint_builtin_rules`)."""
