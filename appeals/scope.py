"""Who sees which of the 晾晒 figures: administrators everything; leaders and supervisors
(members of DASHBOARD_GROUP) every department of their account's region (or of every region
when their account names none); anyone else the departments that are their own groups."""
from dataclasses import dataclass

from sqlalchemy import select

from qihu.appeals.portal import PORTAL_GROUP
from qihu.engine.identity.access import ADMIN_GROUP, admin_rule
from qihu.engine.storage.models import UserAccount

DASHBOARD_GROUP = "dashboard"


@dataclass(frozen=True)
class DashboardScope:
    """What of the figures a user sees: region None = every region; departments None = every
    department (of that region), else only these department groups."""
    region: str | None
    departments: frozenset | None


def dashboard_scope(engine, user: str | None) -> DashboardScope | None:
    """The DashboardScope of `user`, or None when they may not see the dashboard."""
    if not user:
        return None
    # Every page header asks (the 晾晒 link): one read of the account, one of the groups.
    with engine.db.read() as s:
        account = s.execute(select(UserAccount.is_admin, UserAccount.is_active, UserAccount.region)
                            .where(UserAccount.name == user)).first()
        groups = engine.access.groups(s, user)
    if admin_rule(account, lambda: ADMIN_GROUP in groups):
        return DashboardScope(None, None)
    if account is not None and not account.is_active:
        return None
    region = (account.region or None) if account is not None else None
    if DASHBOARD_GROUP in groups:
        return DashboardScope(region, None)
    departments = frozenset(groups - {PORTAL_GROUP, DASHBOARD_GROUP})
    return DashboardScope(region, departments) if departments else None
