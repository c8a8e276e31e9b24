"""Tickets: states, types, numbers, links, and the services that change them."""
