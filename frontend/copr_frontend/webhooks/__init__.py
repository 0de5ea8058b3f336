"""Forge webhooks: a push, a tag or a pull request on a git forge becomes builds.

The pipeline, one step per module:

``forges/``    one small parser per forge (GitHub, GitLab, Bitbucket): checks the forge's
               signature and turns its payload into a forge-neutral event
``events.py``  the events: :class:`~.events.Push`, :class:`~.events.Tag`,
               :class:`~.events.PullRequest`, and :class:`~.events.Ignored` for what
               builds nothing (a ping, an event Copr does not build from)
``matching.py`` which packages of the project an event rebuilds (Copr's rules)
``logic.py``   the one place that queues the builds, and removes pull-request dirs
``views.py``   ``/webhooks/...``: Copr's receiver URLs, and the answers a forge shows
``api.py``     API v3 ``/webhook/info`` and ``/webhook/forge-secret``

A new forge is a module in ``forges/`` (its ``verify`` and ``parse``) with its tests on
the forge's real payloads.
"""
