"""Whole files at once (polars): validated, checked against the keys they name, and, for an initial load,
written through ``neo4j-admin database import``; the same validation, rejects and graph as row by row.
The transactional loader reads plain CSV files through it too."""
