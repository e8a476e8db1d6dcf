"""The customer graph over Neo4j: settings, connection, schema, reads and writes.

This is the only package that talks to Neo4j.
"""
