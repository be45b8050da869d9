"""Sizing and limits: turns target weights into orders and vetoes what breaks a rule."""
