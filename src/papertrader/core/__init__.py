"""Clock, event bus, errors, ids and the array aliases: the foundation every other package builds on.

Stdlib-only, except core/arrays.py (numpy's type aliases, imported only by modules that use numpy anyway).
"""
