"""The queue as users see it: pending, running and importing tasks, build statistics and
the builders.
"""
