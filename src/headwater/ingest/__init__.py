"""Getting partners' files in: runs and schedules, connectors, processors, the one-file pipeline, uploads, and the runners that carry imports out."""
