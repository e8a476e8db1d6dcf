"""Webhooks: the change log pushed to URLs admins registered, signed per the Standard Webhooks spec,
retried with backoff, dead-lettered after a limit (docs/realtime.md, "Webhooks")."""
