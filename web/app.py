"""`qihu serve` / `qihu demo`: a stand-alone Flask app hosting the Qihu extension at the root."""
import atexit
import os
import secrets
import threading
from pathlib import Path

from flask import Flask, has_request_context, request
from flask.sessions import SecureCookieSessionInterface

from qihu.web import Qihu

DEFAULT_SECRET_KEY = "dev-only-change-me"    # public (it is in the source): anyone could forge a sign-in
ALLOW_DEFAULT_SECRET = "QIHU_ALLOW_DEFAULT_SECRET"
SECRET_KEY_FILE = "secret_key"
MAX_UPLOAD = 16 * 1024 * 1024      # a bundle of diagrams is far smaller

_workers = {}                      # id(engine) -> Worker: one embedded worker per engine per process
_workers_lock = threading.Lock()


def create_app(engine=None, embedded_worker=False, config=None):
    """The stand-alone app: qihu's own sign-in is the identity; the X-Qihu-User header counts
    only with config QIHU_TRUST_USER_HEADER=True (tests and trusted networks).

    Raises InsecureSecretKey when the session key would be the public default one, unless the
    app is in testing or debug mode or config QIHU_ALLOW_DEFAULT_SECRET is true."""
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_UPLOAD
    app.config.update(COOKIE_FLAGS)
    app.config.update(session_settings_from_env())
    app.config.update(config or {})
    secure = secure_cookies(app.config)
    app.config["SESSION_COOKIE_SECURE"] = app.config["REMEMBER_COOKIE_SECURE"] = secure
    app.session_interface = SessionCookies()
    app.json.ensure_ascii = False
    qihu = Qihu(app, engine=engine)
    made_engine, engine = engine is None, qihu.engine
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key_from_env()
    try:
        _refuse_default_secret(app)
    except InsecureSecretKey:
        if made_engine:
            engine.close()
        raise
    if embedded_worker and _serving_process(app):
        qihu.worker = start_worker(engine)
    return app


COOKIE_FLAGS = {"SESSION_COOKIE_HTTPONLY": True, "SESSION_COOKIE_SAMESITE": "Lax",
                "REMEMBER_COOKIE_HTTPONLY": True, "REMEMBER_COOKIE_SAMESITE": "Lax"}
SESSION_ENV = {"QIHU_SESSION_IDLE_MINUTES": float, "QIHU_SESSION_MAX_HOURS": float}
TRUE, FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


def _flag(value):
    if isinstance(value, str):
        if value.strip().lower() not in TRUE | FALSE:
            raise ValueError(f"QIHU_SECURE_COOKIES must be 1 or 0, not {value!r} (应为 1 或 0)")
        return value.strip().lower() in TRUE
    return bool(value)


def session_settings_from_env(env=None):
    """QIHU_SESSION_IDLE_MINUTES, QIHU_SESSION_MAX_HOURS and QIHU_SECURE_COOKIES from the
    environment (the app's config, when given, wins)."""
    env = os.environ if env is None else env
    out = {}
    for key, kind in SESSION_ENV.items():
        if env.get(key):
            value = kind(env[key])
            out[key] = int(value) if value == int(value) else value
    if env.get("QIHU_SECURE_COOKIES") is not None:
        out["QIHU_SECURE_COOKIES"] = _flag(env["QIHU_SECURE_COOKIES"])
    return out


def secure_cookies(config):
    """Whether every cookie is sent with Secure: QIHU_SECURE_COOKIES when set, else whether the
    app's URLs are https (PREFERRED_URL_SCHEME). A request that came over HTTPS gets Secure
    cookies anyway (SessionCookies)."""
    setting = config.get("QIHU_SECURE_COOKIES")
    if setting is not None:
        return _flag(setting)
    return config.get("PREFERRED_URL_SCHEME") == "https"


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with Secure also on whenever the request came over HTTPS
    (request.is_secure: TLS here, or a trusted proxy's X-Forwarded-Proto through ProxyFix)."""

    def get_cookie_secure(self, app):
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (has_request_context() and request.is_secure)


def secret_key_from_env(env=None):
    """The session cookies' signing key: QIHU_SECRET_KEY, else the public default one (refused
    outside testing and debug, see _refuse_default_secret)."""
    return (os.environ if env is None else env).get("QIHU_SECRET_KEY") or DEFAULT_SECRET_KEY


class InsecureSecretKey(RuntimeError):
    """The app would sign its session cookies with the public default key."""


def _refuse_default_secret(app):
    """Outside debug and testing the default key is refused: whoever knows it (it is in the source)
    can forge a session cookie and sign in as anyone."""
    if app.config["SECRET_KEY"] != DEFAULT_SECRET_KEY:
        return
    if app.testing or app.debug or app.config.get(ALLOW_DEFAULT_SECRET):
        return
    raise InsecureSecretKey(
        "QIHU_SECRET_KEY is not set: refusing to serve with the public default secret key, with which anyone "
        "could forge a sign-in. Set QIHU_SECRET_KEY to a long random value (e.g. the output of "
        "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`) and keep it secret "
        "(未设置 QIHU_SECRET_KEY：不能使用公开的默认密钥运行)")


def local_secret_key(data_dir):
    """A random secret key made on first use and kept in <data_dir>/secret_key (mode 0600), so
    `qihu demo` needs no configuration and its sign-ins survive a restart."""
    path = Path(data_dir) / SECRET_KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text(encoding="utf-8").strip()
        if len(key) < 32:
            raise InsecureSecretKey(f"{path} holds no usable secret key (under 32 characters): "
                                    "delete it to have a new one made, or set QIHU_SECRET_KEY") from None
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)          # readable by others: anyone of them could forge a sign-in
        return key
    key = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(key + "\n")
    return key


def _serving_process(app):
    """False in the watcher process of Flask's reloader (it only restarts the child that serves)."""
    return not app.debug or os.environ.get("WERKZEUG_RUN_MAIN") == "true"


def start_worker(engine):
    """Start the due-job worker in a daemon thread, once per engine; stopped at exit."""
    from qihu.engine.runtime.worker import Worker
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
