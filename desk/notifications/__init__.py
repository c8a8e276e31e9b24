"""In-app notifications for agents: escalations, assignments, customer answers (issue 14)."""
