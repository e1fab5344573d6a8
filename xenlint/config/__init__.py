"""Configuration: the project's TOML file and its resolution against the loaded plugins."""
