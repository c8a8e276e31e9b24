"""Agents, groups, roles and the OTRS permission links between them."""
