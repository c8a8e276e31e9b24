"""Business calendars: working hours, time zone and holidays, for SLA due times."""
