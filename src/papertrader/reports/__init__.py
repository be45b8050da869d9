"""Self-contained HTML tear sheets with plots for a run."""
