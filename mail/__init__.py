"""The mail channel: inbound (SMTP receiver, IMAP, pipe → one pipeline) and outbound (the outbox).

Customers and external specialists use Ticketflow by mail only.  Every inbound mail is
stored byte for byte before anything parses it; every outgoing mail is an outbox row before
anything sends it.
"""
