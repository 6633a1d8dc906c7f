"""qihu's web layer as a Flask extension: REST API under /api/ and the Chinese staff UI.

    app = Flask(__name__)
    Qihu(app, engine=my_engine, url_prefix="/qihu", current_user=lambda: g.user.name)

Without `current_user` the extension brings its own sign-in (local accounts, Flask-Login):
/login and /logout next to the UI. With it, the host's login is the only identity, and the
host answers for CSRF on its own cookies towards the API (qihu's UI forms always carry a
token); set app.config["QIHU_LOGIN_URL"] to send anonymous UI visitors to the host's sign-in.

or, application-factory style, `qihu = Qihu(); qihu.init_app(app)`. Without an engine
one is created on first use from app.config["QIHU_DATABASE_URL"] or the environment
(`engine.Engine()` reads QIHU_DATABASE_URL and the other QIHU_* settings).
"""
import threading

from qihu import appeals

from qihu.web.context import EXTENSION_KEY, current_appeals, current_engine, current_qihu


class Qihu:
    """Mounts qihu on a Flask app: the API at <url_prefix>/api/, the start page at <url_prefix>/.

    engine: an engine.Engine; None creates one on first use (see the module doc).
    current_user: a callable returning the calling user's name or None, called inside a
        request; the host app's login goes here. Default: qihu's own sign-in (web.auth), and
        the X-Qihu-User header only where app.config["QIHU_TRUST_USER_HEADER"] is true.
    ui: False mounts the API only.
    """

    def __init__(self, app=None, engine=None, url_prefix="", current_user=None, ui=True):
        if engine is not None:
            _compose(engine)
        self._engine = engine
        self._engine_lock = threading.Lock()
        self.url_prefix = url_prefix.rstrip("/")
        self.local_login = current_user is None
        self.current_user = current_user
        self.ui = ui
        self.worker = None          # set by web.app.create_app when it embeds one
        self._config = {}
        if app is not None:
            self.init_app(app)

    @property
    def api_prefix(self):
        return f"{self.url_prefix}/api"

    def init_app(self, app):
        from qihu.web.api import routes as api
        from qihu.web.pages import auth, inbox as ui
        from qihu.web import csrf, errors
        if self._engine is None:
            self._config = {"QIHU_DATABASE_URL": app.config.get("QIHU_DATABASE_URL")}
        if self.local_login:
            self.current_user = auth.local_user
            auth.init_app(app)
        app.extensions[EXTENSION_KEY] = self
        if app.config.get("MAX_CONTENT_LENGTH") is None:     # a host app that set none: uploads stop at 16 MB
            app.config["MAX_CONTENT_LENGTH"] = 16 * 1024 * 1024
        from qihu.web import ops  # /healthz, /readyz, /metrics; the request id (first: its hooks run before the others)
        app.register_blueprint(ops.blueprint, url_prefix=self.url_prefix or None)
        errors.install_input_guard(app, self.api_prefix)     # control characters -> 400, before CSRF and SQL
        csrf.init_app(app)
        app.register_blueprint(api.blueprint, url_prefix=self.api_prefix)
        if self.ui:
            app.register_blueprint(ui.blueprint, url_prefix=self.url_prefix or None)
            from qihu.web.pages import inbox_extras  # saved inbox filters, notifications page and badge
            app.register_blueprint(inbox_extras.blueprint, url_prefix=self.url_prefix or None)
            from qihu.web.pages import portal  # the enterprise portal: no account, a private link per appeal
            app.register_blueprint(portal.blueprint, url_prefix=self.url_prefix or None)
            from qihu.web.pages import register  # 登记诉求: staff register phone, counter, 企业码 … appeals
            app.register_blueprint(register.blueprint, url_prefix=self.url_prefix or None)
            from qihu.web.pages import instance as instance_page
            app.register_blueprint(instance_page.blueprint, url_prefix=self.url_prefix or None)
            from qihu.web.pages import task_actions  # reassign, return (退单), comments, attachments on the task page
            app.register_blueprint(task_actions.blueprint, url_prefix=self.url_prefix or None)
            from qihu.web.pages import desk  # 已办, search, bulk claim/转办/催办, the 办理单 to print
            app.register_blueprint(desk.blueprint, url_prefix=self.url_prefix or None)
            from qihu.web.pages import admin as admin_pages  # 流程管理: deploy, versions, activate, diff (administrators)
            app.register_blueprint(admin_pages.blueprint, url_prefix=self.url_prefix or None)
            from qihu.web.pages import incidents as incident_pages  # 异常处理: open incidents, retry, resolve (administrators)
            app.register_blueprint(incident_pages.blueprint, url_prefix=self.url_prefix or None)
            from qihu.web.pages import notices as notice_pages  # 通知记录: SMS, 浙政钉 … as sent (administrators)
            app.register_blueprint(notice_pages.blueprint, url_prefix=self.url_prefix or None)
            from qihu.web.pages import unassigned  # 待分派: tasks naming nobody, assigned or offered by dispatchers
            app.register_blueprint(unassigned.blueprint, url_prefix=self.url_prefix or None)
            from qihu.web.pages import dashboard  # 晾晒评价: figures, ranking, warning board, Excel exports
            app.register_blueprint(dashboard.blueprint, url_prefix=self.url_prefix or None)
            from qihu.web.pages import modeler as modeler_page  # 在浏览器中编辑: bpmn-js modeler, lint, deploy (administrators)
            app.register_blueprint(modeler_page.blueprint, url_prefix=self.url_prefix or None)
            from qihu.web.pages import audit as audit_page  # 安全审计: the security audit and its chain (administrators)
            app.register_blueprint(audit_page.blueprint, url_prefix=self.url_prefix or None)
            from qihu.web.pages import privacy as privacy_page  # 显示完整信息, 个人信息查看记录 (issue 18)
            app.register_blueprint(privacy_page.blueprint, url_prefix=self.url_prefix or None)
            if self.local_login:
                app.register_blueprint(auth.blueprint, url_prefix=self.url_prefix or None)
                from qihu.web.pages import accounts  # 用户账号: 强制下线, 停用/启用, 解除锁定 (administrators)
                app.register_blueprint(accounts.blueprint, url_prefix=self.url_prefix or None)
        @app.before_request
        def _audit_context():     # who and from where, for engine.audit records that do not say
            from flask import request
            from qihu.engine.identity.audit import set_context
            try:
                name = self.user()
            except Exception:     # no user machinery for this request (static files, errors)
                name = None
            set_context(name, request.remote_addr)

        @app.teardown_request
        def _audit_context_end(_exc=None):   # nothing of this request stays with the thread
            from qihu.engine.identity.audit import set_context
            set_context(None, None)
        errors.install_http_errors(app, self.api_prefix)

    @property
    def engine(self):
        """The engine, created on first use when none was given, with the appeal domain and the
        step metrics and logs installed on it (the web extension composes them for the app)."""
        if self._engine is None:
            with self._engine_lock:
                if self._engine is None:
                    from qihu.engine import Engine
                    engine = Engine(database_url=self._config.get("QIHU_DATABASE_URL"))
                    _compose(engine)
                    self._engine = engine
        return self._engine

    @property
    def appeals(self):
        """The appeal domain on the engine (qihu.appeals)."""
        return appeals.of(self.engine)     # installed when the engine was given or made

    def user(self):
        """The calling user's name, or None (asks the pluggable `current_user`)."""
        name = self.current_user()
        return str(name) if name else None


def _compose(engine):
    """What every engine a web app serves carries: the appeal domain, and its steps counted
    and logged (engine.runtime.telemetry; both install once per engine)."""
    from qihu.engine.runtime import telemetry
    appeals.install(engine)
    telemetry.install(engine)


__all__ = ["Qihu", "EXTENSION_KEY", "current_qihu", "current_engine", "current_appeals"]
