"""Outgoing mail as database rows: nothing is sent that was not committed first."""
