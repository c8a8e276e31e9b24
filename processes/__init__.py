"""Processes package (built by a later issue)."""
