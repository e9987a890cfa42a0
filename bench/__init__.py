"""Parallax benchmark: ingest, retrieval, ask overhead, start-up, and the LangChain-tutorial
baseline, with PASS/MISS against the targets. Run with `python -m bench` (or `make bench`).
"""
