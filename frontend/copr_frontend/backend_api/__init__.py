"""The backend API under ``/backend/``: what the backend, builders and dist-git call."""
