"""`qihu serve` / `qihu demo`: a stand-alone Flask app hosting the Qihu extension at the root."""
import atexit
import os
import threading

from flask import Flask

from . import Qihu

MAX_UPLOAD = 16 * 1024 * 1024      # a bundle of diagrams is far smaller

_workers = {}                      # id(engine) -> Worker: one embedded worker per engine per process
_workers_lock = threading.Lock()


def create_app(engine=None, embedded_worker=False, config=None):
    """The stand-alone app: qihu's own sign-in is the identity; the X-Qihu-User header counts
    only with config QIHU_TRUST_USER_HEADER=True (tests and trusted networks)."""
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_UPLOAD
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config.update(config or {})
    app.json.ensure_ascii = False
    qihu = Qihu(app, engine=engine)
    engine = qihu.engine
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = engine.settings.secret_key
    if embedded_worker and _serving_process(app):
        qihu.worker = start_worker(engine)
    return app


def _serving_process(app):
    """False in the watcher process of Flask's reloader (it only restarts the child that serves)."""
    return not app.debug or os.environ.get("WERKZEUG_RUN_MAIN") == "true"


def start_worker(engine):
    """Start the due-job worker in a daemon thread, once per engine; stopped at exit."""
    from engine.worker import Worker
    with _workers_lock:
        worker = _workers.get(id(engine))
        if worker is None:
            worker = _workers[id(engine)] = Worker(engine)
            worker.thread = worker.start_thread()
            atexit.register(stop_worker, engine)
    return worker


def stop_worker(engine, timeout=5.0):
    with _workers_lock:
        worker = _workers.pop(id(engine), None)
    if worker is not None:
        worker.stop()
        worker.thread.join(timeout)
