"""Readers, record models and the batching pipeline that put files into the customer graph."""
