"""Backend actions: work the backend does outside builds (delete, createrepo, fork, ...)."""
