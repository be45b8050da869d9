"""Pure, causal feature functions: the value at row t depends only on rows <= t."""
