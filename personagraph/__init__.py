"""personagraph: a graph-based customer knowledge store (user profiles, 用户画像) on Neo4j.

The card's top-level folders (``graph/``, ``loaders/``, ``api/``, ``cli/``, ``cypher/``) are this
package's subpackages (the entries here link to them), so an installed personagraph adds one top-level
import name, ``personagraph``, and never a ``graph`` or ``api`` that could shadow another distribution's.
"""
