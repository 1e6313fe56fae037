"""Processors: one module per processor type; each reads a file into validated record batches."""
