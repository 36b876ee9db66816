"""Report formats: each renders an Assessment and does nothing else."""
