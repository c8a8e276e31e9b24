"""The customer portal's own records: customer sessions and one-time sign-in links."""
