"""gunicorn settings shared by ``scripts/run.sh``, ``docker/entrypoint.sh`` and the browser
tests: ``gunicorn -c server/gunicorn_conf.py [--bind …] 'server:create_app()'``.

Command-line flags still override these (gunicorn reads the file first).
"""

import os

# Threads, with errors gunicorn answers itself (414, 400, 431…) sent as JSON.
worker_class = "server.gunicorn_worker.JsonErrorWorker"
workers = int(os.environ.get("WORKERS", "3"))
threads = int(os.environ.get("THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
# gunicorn's defaults, written out because the API promises 414 past them.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
