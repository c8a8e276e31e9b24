"""Teams and load (S11): agent availability and temporary queue memberships."""
