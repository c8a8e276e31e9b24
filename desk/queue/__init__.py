"""Queues: hierarchical buckets of tickets, each owned by one group."""
