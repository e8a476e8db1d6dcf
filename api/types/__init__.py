"""GraphQL output types, one module per domain; each wraps one typed graph/ result, and nested fields
load through DataLoaders:

- ``profiles``: users, their connections, neighbourhoods and look-alikes; the look-ahead that starts a
  user's reads with the user's own;
- ``orders``: a user's orders and their lines;
- ``products``: products, what sells with them, cross-sell suggestions;
- ``tags``: the taxonomy with usage counts, and a user's tags;
- ``analytics``: communities, personas, influence, RFM, channel attribution and analytics runs;
- ``privacy``: consent statements and the audit log;
- ``audiences``: audience definitions evaluated lazily, saved audiences;
- ``paging`` (Relay page information) and ``look_ahead`` (the fields selected under a resolver).

What api/schema.py needs is re-exported here.
"""

from personagraph.api.types.analytics import AnalyticsRun, ChannelStats, Community, CommunityKind, Persona
from personagraph.api.types.audiences import Audience, SavedAudience
from personagraph.api.types.privacy import AuditLogEntry, ConsentChange
from personagraph.api.types.products import (
    BoughtTogether,
    CrossSell,
    Product,
    bought_with_first,
    needs_details,
)
from personagraph.api.types.profiles import User, read_users
from personagraph.api.types.tags import Tag

__all__ = [
    "AnalyticsRun",
    "Audience",
    "AuditLogEntry",
    "BoughtTogether",
    "ChannelStats",
    "Community",
    "CommunityKind",
    "ConsentChange",
    "CrossSell",
    "Persona",
    "Product",
    "SavedAudience",
    "Tag",
    "User",
    "bought_with_first",
    "needs_details",
    "read_users",
]
