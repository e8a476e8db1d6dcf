"""Neo4j itself: which one to use, how to reach it, a local one without Docker, schema migrations, wipes."""
