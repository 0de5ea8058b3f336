"""Outbound build notifications: a project's HTTPS endpoints hear about its builds.

``models.py``       endpoints and their deliveries
``events.py``       the events (``build.started``, ``chroot.ended``, ``build.ended``), and
                    their JSON bodies, made from the backend's build messages
``logic.py``        endpoints (add, edit, delete), recording events as deliveries, and the
                    retry policy: exponential backoff, giving up, disabling an endpoint
                    after a run of failures
``api.py``          API v3 ``/notification-endpoint/...`` and ``/notification-delivery/list``
``mail.py``         e-mail to a build's submitter when it ends (both opted in), sent by
                    the frontend through its SMTP settings, with the same retry policy
``backend_api.py``  ``/backend/notification-events/``, ``pending-deliveries/``,
                    ``delivery-results/`` and ``send-mail/``: the backend's notification
                    dispatcher records the events it is told and delivers what is due

The backend delivers; the frontend decides what, when and whether to retry, and signs
each body (HMAC-SHA256 with the endpoint's secret), so the secrets never leave it.
"""
