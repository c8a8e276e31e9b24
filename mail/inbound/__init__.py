"""Inbound mail: receiving, storing raw, parsing, routing and threading."""
