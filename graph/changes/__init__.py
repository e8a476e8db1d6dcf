"""The change log: every tag added, removed or re-weighed, audience entered or left and profile changed,
numbered in commit order, with its cause; what subscriptions and webhooks push (docs/realtime.md)."""
