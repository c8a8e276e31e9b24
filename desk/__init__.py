"""The help-desk domain: one package per concept, each with models and a service layer."""
