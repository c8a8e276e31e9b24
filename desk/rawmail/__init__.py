"""Raw inbound mails, stored byte for byte before anything tries to parse them."""
