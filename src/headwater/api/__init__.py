"""HTTP dialects: thin adapters that parse, authenticate, call the core and shape answers."""
