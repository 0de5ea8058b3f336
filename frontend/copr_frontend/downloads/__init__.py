"""Download statistics: RPM and repodata downloads counted from the results server's log."""
