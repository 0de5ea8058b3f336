"""Backend actions: their dispatcher, worker and handlers."""
