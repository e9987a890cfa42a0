"""The prompt templates (`*.md`), a package so that they ship as package data."""
