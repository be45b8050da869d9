"""Adapters: each turns one source's format into long bars frames at the edge and goes no further."""
