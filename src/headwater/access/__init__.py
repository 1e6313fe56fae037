"""Who may do what: credentials and their hashes, API keys, OAuth, area keys, operators, the guard on secret checks and rate limits."""
