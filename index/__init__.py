"""Ingest, parse, chunk, embed and store the article and its cited works."""

from index import offline as _offline  # noqa: F401  - offline switches before any heavy import
