"""gunicorn settings of both apps of ``bench.cpu``: one file, so they are the same.

Passed with ``--config``, which also keeps gunicorn from reading the site's
``gunicorn.conf.py`` in the working directory (access log, worker count).
"""

from __future__ import annotations

workers = 2
worker_class = "sync"
accesslog = None
loglevel = "warning"
# Two servers run at once; gunicorn's control socket is one fixed path per user.
control_socket_disable = True
