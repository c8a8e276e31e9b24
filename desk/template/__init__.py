"""Standard templates, salutations and signatures for agents' answers."""
