"""How gunicorn serves the frontend: ``gunicorn --config python:copr_frontend.gunicorn_conf
copr_frontend.app:create_app()``, with ``--bind`` and ``--workers`` (or ``GUNICORN_CMD_ARGS``)
for the place and size.

gunicorn reads the names below that it knows and skips the others, so one file serves
every gunicorn the specs accept.
"""

# gthread workers keep long uploads from blocking a process; a build's SRPM upload may
# take minutes.
worker_class = "gthread"
threads = 4
timeout = 600

# The default access line names the HTTP Basic user: every user's API login.
accesslog = "-"
logger_class = "copr_frontend.accesslog.AccessLogger"

# gunicorn 24 and later open a control socket in the user's home: the unit's home is not
# writable (ProtectHome) and the local stack runs several gunicorns as one user.
control_socket_disable = True
