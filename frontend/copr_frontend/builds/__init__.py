"""Builds, their per-chroot tasks, batches and cancel requests, and the state machine."""
