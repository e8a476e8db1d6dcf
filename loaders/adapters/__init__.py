"""Converters that turn public datasets into personagraph's input folder format, so real data loads."""
