"""Products: details, top sellers and cross-sell suggestions."""
