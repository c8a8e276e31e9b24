"""IT services (OTRS-style): what a ticket is about, each with an optional service level."""
