"""Code shared by every Copr service: enums, names, settings and logging."""
