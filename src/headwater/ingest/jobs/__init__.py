"""Job runners: how a run of a source gets executed (in-process, or on procrastinate workers)."""
