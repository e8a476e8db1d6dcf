"""Audiences: a JSON condition tree, compiled to one parameterised Cypher statement, counted and listed.

`model` validates definitions, `compile` turns them into Cypher, `service` runs them (count, members,
breakdown, export, saved audiences, look-alike expansion). See docs/audiences.md.
"""
