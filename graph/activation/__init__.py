"""Activation: saved audiences delivered to ad platforms as the upload files each takes (docs/activation.md).

``normalise`` holds each platform's normalisation rules, ``match_keys`` derives the platform hashes of an
identity at ingest (kept only for users with advertising consent), ``platforms`` writes each platform's
files and ``push`` turns a saved audience into a full or a diff upload, recorded and audited.
"""
