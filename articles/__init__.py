"""The shipped articles and their `sources.toml`, a package so that they ship as package data
and seed an empty library from an installed Parallax too (see assistant/settings.py)."""
