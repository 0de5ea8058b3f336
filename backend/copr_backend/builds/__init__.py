"""Build scheduling and the build worker."""
