"""Initial loads at the speed of Neo4j's offline importer: the same validation, rejects and graph as the
transactional loader, computed over whole files at once (polars) and written through
``neo4j-admin database import``."""
