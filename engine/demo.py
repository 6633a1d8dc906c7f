"""Demo data: every bundled diagram deployed, and a user per role (password: DEMO_PASSWORD)."""
from pathlib import Path

# user -> groups; groups are the candidate groups of the bundled diagrams. One user per
# role of each mechanism, named by region prefix and role in pinyin.
DEMO_USERS = {
    # 通用企业诉求办理 (appeal_basic)
    "shouli": ["acceptor", "受理员"],
    "bumen": ["dept_policy", "dept_resource", "dept_approval", "dept_general", "承办部门"],
    "ducha": ["supervisor", "督查室"],
    "admin": ["admin"],
    # 企业: enterprise-facing tasks are assigned to the appeal's enterprise_user
    "qiye": ["lq_enterprise"],
    # 湖州 联席会议 (huzhou_joint_meeting)
    "hz_qifu": ["hz_centre"],                                   # 企服中心
    "hz_zhuren": ["hz_centre_director"],                        # 企服中心主任
    "hz_bankuai": ["hz_board_innovation", "hz_board_finance", "hz_board_talent", "hz_board_legal",
                   "hz_board_open", "hz_board_investment", "hz_board_licensing", "hz_board_policy"],  # 各板块牵头部门
    "hz_zonghe": ["hz_board_general"],                          # 综合板块
    "hz_doudi": ["hz_board_fallback"],                          # 兜底板块
    "hz_lingdao": ["hz_city_leader"],                           # 市领导（联席会议）
    "hz_ducha": ["hz_supervision"],                             # 督查室、纪委监委
    # 钱塘 标的物跟踪 (qiantang_target_tracking)
    "qt_zhongxin": ["qt_centre"],                               # 企业综合服务中心
    "qt_bankuai": ["qt_board_tech", "qt_board_project", "qt_board_finance", "qt_board_general"],  # 服务板块
    "qt_danwei": ["qt_unit_police", "qt_unit_planning", "qt_unit_construction", "qt_unit_economy"],  # 责任单位
    "qt_doudi": ["qt_board_fallback"],                          # 兜底板块（督办）
    # 鹿城 模拟问责 (lucheng_mock_accountability)
    "lc_guancha": ["lc_observer"],                              # 观测点观察员
    "lc_zhongxin": ["lc_centre"],                               # 区企业服务中心
    "lc_wenze": ["lc_office"],                                  # 模拟问责办
    "lc_danwei": ["lc_unit_market", "lc_unit_planning", "lc_unit_housing", "lc_unit_economy", "lc_unit_town"],
    "lc_jiwei": ["lc_discipline"],                              # 区纪委监委
    # 路桥 说"不"评议 (luqiao_say_no_review)
    "lq_pingtai": ["lq_centre"],                                # 1187平台工作人员
    "lq_daibiao": ["lq_deputy"],                                # 区、镇人大代表
    "lq_pingyi": ["lq_panel"],                                  # 评议团
    "lq_bumen": ["lq_department"],                              # 被评议部门
    "lq_renda": ["lq_npc_office"],                              # 区人大常委会办公室
}


DEMO_PASSWORD = "qihu"

# What the page header shows for each demo user: their role.
DEMO_NAMES = {
    "shouli": "受理员", "bumen": "承办部门", "ducha": "督查室", "admin": "系统管理员", "qiye": "企业用户",
    "hz_qifu": "湖州 企服中心", "hz_zhuren": "湖州 企服中心主任", "hz_bankuai": "湖州 板块牵头部门",
    "hz_zonghe": "湖州 综合板块", "hz_doudi": "湖州 兜底板块", "hz_lingdao": "湖州 市领导", "hz_ducha": "湖州 督查室",
    "qt_zhongxin": "钱塘 企业综合服务中心", "qt_bankuai": "钱塘 服务板块", "qt_danwei": "钱塘 责任单位",
    "qt_doudi": "钱塘 兜底板块", "lc_guancha": "鹿城 观察员", "lc_zhongxin": "鹿城 区企业服务中心",
    "lc_wenze": "鹿城 模拟问责办", "lc_danwei": "鹿城 责任单位", "lc_jiwei": "鹿城 区纪委监委",
    "lq_pingtai": "路桥 1187平台", "lq_daibiao": "路桥 人大代表", "lq_pingyi": "路桥 评议团",
    "lq_bumen": "路桥 被评议部门", "lq_renda": "路桥 人大常委会办公室",
}


def seed(engine, folder):
    """Deploy every .bpmn/.dmn in `folder` (one bundle) and add demo users. Yields report lines."""
    folder = Path(folder)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".bpmn", ".dmn"))
    if files:
        result = engine.repository.deploy(files, name="bundled diagrams", user="demo")
        for d in result.definitions:
            yield f"deployed {d['key']} v{d['version']}" + ("" if d["new"] else " (unchanged)")
    for user, groups in DEMO_USERS.items():
        if engine.accounts.get(user) is None:
            engine.accounts.add_user(user, DEMO_PASSWORD, display_name=DEMO_NAMES.get(user), groups=groups,
                                     is_admin=user == "admin")
        else:
            engine.accounts.set_password(user, DEMO_PASSWORD)
        engine.tasks.add_member(user, *groups)
        yield f"demo user {user} (password {DEMO_PASSWORD}): {', '.join(groups)}"
