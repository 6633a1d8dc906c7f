"""Handlers specific to the Huzhou joint-meeting mechanism (湖州 涉企问题解决联席会议机制).

- huzhou.invite_enterprise(enterprise_user, company, agenda_title) → enterprise_invited_at
  The centre invites the enterprise concerned to the joint meeting (邀请疑难问题相关企业参与):
  a notification for the enterprise's login.
"""
from qihu import topic


@topic("huzhou.invite_enterprise")
def invite_enterprise(qihu, enterprise_user="", company="", agenda_title="", **_):
    if not enterprise_user:
        raise ValueError("邀请企业参会缺少企业账号 (enterprise_user is required)")
    body = f"{company}：请参加湖州市涉企问题解决联席会议，议题“{agenda_title}”。"
    qihu.notify("联席会议参会邀请", body, to_users=[enterprise_user])
    return {"enterprise_invited_at": qihu.now.isoformat()}
