"""Outbound mail: composing outbox rows into messages and delivering them."""
