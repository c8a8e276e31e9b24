"""Saved searches and personal inbox views: an agent's named filters (issue 12)."""
