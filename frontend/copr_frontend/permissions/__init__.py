"""Who may build in and administer a project."""
