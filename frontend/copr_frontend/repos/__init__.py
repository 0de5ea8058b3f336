"""What consumers of the results read: ``.repo`` files for the dnf copr plugin."""
