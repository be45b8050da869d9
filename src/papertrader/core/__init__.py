"""Clock, event bus, errors and ids: the stdlib-only foundation every other package builds on."""
