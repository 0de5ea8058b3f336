"""Projects ("coprs"), their directories (``project``, ``project:pr:N``,
``project:custom:S``) and their enabled chroots.
"""
