"""The OTRS permission model, checked in the service layer so HTML, API and CLI agree."""
