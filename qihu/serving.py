"""`qihu serve` and `qihu worker` in production (docs/deploy.md).

The web app runs under gunicorn (the first server Flask's deployment docs list): `processes`
web processes of `threads` threads each (gthread). Nothing of the engine is made before the
fork: each web process builds its own app, Engine and database pool when it starts
(preload_app is off), so no database connection is ever shared between processes.

SIGTERM to the main process (the arbiter) stops gracefully: the web processes stop accepting,
finish the requests in flight (and so the steps they run) within GRACEFUL_TIMEOUT seconds, and
exit; then the embedded worker, if any, finishes its step in flight and exits. The exit code
is 0. SIGINT (Ctrl-C) is gunicorn's quick stop. SIGHUP reloads: new web processes, and a new
embedded worker, on the code now installed.

Each web process keeps a heartbeat row (kind "web", engine/runtime/heartbeats.py) from a
daemon thread started after its fork, with the count of steps it has run, and deletes it when
it exits.

The embedded worker. Timers and retries must be fired by a worker somewhere, and `qihu
serve` alone should be a complete server on one machine, so unless --no-worker the arbiter
starts exactly one `qihu worker` as a child process once it is ready (when_ready), and stops it
when it exits (on_exit). Why a child process and not a thread: a thread in a web process
would run once per web process (and die with a recycled one); a thread in the arbiter would
be running while the arbiter forks new web processes, and a fork copies whatever locks that
thread holds at that moment. A separate process forks nothing and is the very `qihu worker`
run on its own elsewhere. The arbiter reaps every child it has, so it does not restart a
worker that died: where that matters, run `qihu serve --no-worker` and the workers as
services of their own (systemd Restart=always), as docs/deploy.md does; /readyz sees the
missing heartbeats.
"""
import logging
import os
import signal
import subprocess
import sys

from gunicorn.app.base import BaseApplication

from qihu.engine.runtime import telemetry
from qihu.engine.runtime.heartbeats import HeartbeatThread

log = logging.getLogger(__name__)

# Seconds the web processes (and the embedded worker) have to finish what they are doing once
# asked to stop; systemd's TimeoutStopSec must be longer (docs/deploy.md).
GRACEFUL_TIMEOUT = 30
# `qihu worker`, started with this Python; the command line is read by click as if typed
WORKER_COMMAND = [sys.executable, "-c", "from qihu.cli import main; main(prog_name='qihu')", "worker"]


class QihuServer(BaseApplication):
    """gunicorn serving the Flask app that `factory()` builds, once in each web process."""

    def __init__(self, factory, options, worker_command=None):
        self.factory, self.options = factory, options
        self.worker_command = worker_command
        self.worker_process = None
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)
        self.cfg.set("post_worker_init", self._post_worker_init)
        self.cfg.set("worker_exit", self._worker_exit)
        self.cfg.set("when_ready", self._when_ready)
        self.cfg.set("on_reload", self._on_reload)
        self.cfg.set("on_exit", self._on_exit)

    def load(self):
        return self.factory()

    # -- in each web process ------------------------------------------------------------------
    @staticmethod
    def _post_worker_init(worker):
        from qihu.web import EXTENSION_KEY
        engine = worker.wsgi.extensions[EXTENSION_KEY].engine
        worker.qihu_heartbeat = HeartbeatThread(engine, "web").start()

    @staticmethod
    def _worker_exit(server, worker):
        # gunicorn also calls this in the arbiter for a web process found already gone; only
        # the process itself holds its heartbeat (a dead one's row goes stale, see alive()).
        beat = getattr(worker, "qihu_heartbeat", None)
        if beat is not None and worker.pid == os.getpid():
            beat.stop()

    # -- in the arbiter -----------------------------------------------------------------------
    def _when_ready(self, server):
        if self.worker_command:
            self._start_worker()

    def _on_reload(self, server):
        if self.worker_command:
            self._stop_worker()
            self._start_worker()

    def _on_exit(self, server):
        self._stop_worker()

    def _start_worker(self):
        self.worker_process = subprocess.Popen(self.worker_command, preexec_fn=_end_with_parent)
        log.info("embedded worker started (pid %s)", self.worker_process.pid)

    def _stop_worker(self):
        proc, self.worker_process = self.worker_process, None
        if proc is None:
            return
        # send_signal polls first: a worker already gone (and reaped by the arbiter) gets none
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(GRACEFUL_TIMEOUT)
        except subprocess.TimeoutExpired:
            log.error("embedded worker (pid %s) did not stop within %ss: killed", proc.pid, GRACEFUL_TIMEOUT)
            proc.kill()
            code = proc.wait()
        if code:
            log.error("embedded worker (pid %s) exited with %s", proc.pid, code)


def _end_with_parent():
    """In the embedded worker, before it runs: Linux sends it SIGTERM when the arbiter dies,
    however it dies, so no worker outlives its server. Elsewhere nothing is done."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)       # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def options(host, port, processes, threads):
    """gunicorn's settings for qihu."""
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return {
        "bind": [bind],
        "workers": processes,
        "worker_class": "gthread",
        "threads": threads,
        "graceful_timeout": GRACEFUL_TIMEOUT,
        "preload_app": False,            # each web process makes its own Engine and pool
        "proc_name": "qihu",
        # The client's address and scheme come from QIHU_TRUSTED_PROXIES alone (ProxyFix,
        # web/pages/auth.py): gunicorn's own trust of X-Forwarded-Proto (and SCRIPT_NAME) from
        # 127.0.0.1 is switched off, so no header counts by default.
        "forwarded_allow_ips": "",
        # gunicornc's control socket is one path per user ($HOME/.gunicorn/gunicorn.ctl): two
        # servers of one user would share it, and qihu needs none
        "control_socket_disable": True,
    }


def serve(factory, host="127.0.0.1", port=5000, processes=2, threads=4, embedded_worker=True):
    """Run gunicorn until it is stopped (see the module doc); gunicorn ends with sys.exit.

    The web processes count their metrics in one directory (telemetry.prepare_multiprocess:
    PROMETHEUS_MULTIPROC_DIR, else a temporary one), chosen here before any of them starts;
    the embedded worker counts alone (`qihu worker` calls telemetry.prepare_worker)."""
    previous = os.environ.get(telemetry.MULTIPROC_ENV)
    path, made = telemetry.prepare_multiprocess()
    arbiter = os.getpid()
    try:
        QihuServer(factory, options(host, port, processes, threads),
                   worker_command=WORKER_COMMAND if embedded_worker else None).run()
    finally:
        # Each web process leaves with sys.exit through a copy of this stack: only the arbiter,
        # once they have all ended, removes the directory and puts the environment back
        if os.getpid() == arbiter:
            if made:
                telemetry.remove_multiprocess_dir(path)
            if previous is None:
                os.environ.pop(telemetry.MULTIPROC_ENV, None)
            else:
                os.environ[telemetry.MULTIPROC_ENV] = previous


def run_worker(worker):
    """Run a Worker until SIGTERM or SIGINT, then stop it cleanly: the step in flight finishes,
    its heartbeat row is deleted, and this returns.

    The worker runs in a thread and this (main) thread only waits: a signal handler runs in the
    main thread between two of its bytecodes, so here it can only interrupt the waiting, never
    a step (the default SIGINT would raise KeyboardInterrupt in the middle of one)."""
    def stop(signum, _frame):
        log.info("worker %s: %s received, stopping after the step in flight", worker.name,
                 signal.Signals(signum).name)
        worker.stop()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        thread = worker.start_thread()
        while thread.is_alive():
            thread.join(1.0)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


__all__ = ["QihuServer", "serve", "run_worker", "options", "GRACEFUL_TIMEOUT"]
