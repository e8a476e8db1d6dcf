"""Behaviour events and orders recorded as they happen, with their side effects."""
