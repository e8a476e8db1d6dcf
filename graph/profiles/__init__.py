"""Users: profile reads, upserts, and identity resolution across channels."""
