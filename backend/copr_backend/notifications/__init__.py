"""Outbound build notifications: the backend's part.

``sink.py``        :class:`~.sink.EndpointSink`, the ``endpoints`` message sink: a build
                   worker's messages go onto a Redis list (an RPUSH, so a build never
                   waits for an endpoint, nor for the frontend)
``client.py``      the three backend-API calls of the dispatcher
``dispatcher.py``  ``copr-backend-notification-dispatcher``: hands the queued messages to
                   the frontend (which makes one delivery per subscribed endpoint), then
                   POSTs every due delivery to its endpoint and reports each outcome; the
                   frontend schedules the retries (exponential backoff) and disables an
                   endpoint that keeps failing
"""
