"""Strategies and models turn features into target weights behind one interface."""
