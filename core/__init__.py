"""Infrastructure every other package stands on: settings, database, jobs, security, CLI."""
