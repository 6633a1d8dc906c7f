"""Demo data: every bundled diagram deployed, a user per role (password: DEMO_PASSWORD), and with
`samples` the sample appeals of appeals/demo_samples.py (every state, the four named mechanisms)."""
from pathlib import Path

# user -> groups; groups are the candidate groups of the bundled diagrams. One user per
# role of each mechanism, named by region prefix and role in pinyin. Leaders and supervisors
# are also in "dashboard" (engine.access.DASHBOARD_GROUP): the 晾晒评价 of their whole region.
DEMO_USERS = {
    # 通用企业诉求办理 (appeal_basic)
    "shouli": ["acceptor", "受理员"],
    "shouli2": ["acceptor", "受理员"],                           # a second one: 转办 to a colleague
    "bumen": ["dept_policy", "dept_resource", "dept_approval", "dept_general", "承办部门"],
    "ducha": ["supervisor", "督查室", "dashboard"],
    "admin": ["admin"],
    # 企业: enterprise-facing tasks are assigned to the appeal's enterprise_user
    "qiye": ["lq_enterprise"],
    # 湖州 联席会议 (huzhou_joint_meeting)
    "hz_qifu": ["hz_centre"],                                   # 企服中心
    "hz_qifu2": ["hz_centre"],                                  # 企服中心 (a second one: 转办)
    "hz_zhuren": ["hz_centre_director"],                        # 企服中心主任
    "hz_bankuai": ["hz_board_innovation", "hz_board_finance", "hz_board_talent", "hz_board_legal",
                   "hz_board_open", "hz_board_investment", "hz_board_licensing", "hz_board_policy"],  # 各板块牵头部门
    "hz_zonghe": ["hz_board_general"],                          # 综合板块
    "hz_doudi": ["hz_board_fallback"],                          # 兜底板块
    "hz_lingdao": ["hz_city_leader", "dashboard"],              # 市领导（联席会议）
    "hz_ducha": ["hz_supervision", "dashboard"],                # 督查室、纪委监委
    # 钱塘 标的物跟踪 (qiantang_target_tracking)
    "qt_zhongxin": ["qt_centre"],                               # 企业综合服务中心
    "qt_bankuai": ["qt_board_tech", "qt_board_project", "qt_board_finance", "qt_board_general"],  # 服务板块
    "qt_danwei": ["qt_unit_police", "qt_unit_planning", "qt_unit_construction", "qt_unit_economy"],  # 责任单位
    "qt_doudi": ["qt_board_fallback"],                          # 兜底板块（督办）
    # 鹿城 模拟问责 (lucheng_mock_accountability)
    "lc_guancha": ["lc_observer"],                              # 观测点观察员
    "lc_zhongxin": ["lc_centre"],                               # 区企业服务中心
    "lc_wenze": ["lc_office", "dashboard"],                     # 模拟问责办
    "lc_danwei": ["lc_unit_market", "lc_unit_planning", "lc_unit_housing", "lc_unit_economy", "lc_unit_town"],
    "lc_jiwei": ["lc_discipline"],                              # 区纪委监委
    # 路桥 说"不"评议 (luqiao_say_no_review)
    "lq_pingtai": ["lq_centre"],                                # 1187平台工作人员
    "lq_daibiao": ["lq_deputy"],                                # 区、镇人大代表
    "lq_pingyi": ["lq_panel"],                                  # 评议团
    "lq_bumen": ["lq_department"],                              # 被评议部门
    "lq_renda": ["lq_npc_office"],                              # 区人大常委会办公室
    # 庆元 “三个一” (qy_three_ones)
    "qy_zhongxin": ["qy_centre"],                               # 县企业综合服务中心
    "qy_bumen": ["qy_unit_economy", "qy_unit_resources", "qy_unit_market", "qy_unit_housing", "qy_unit_town"],
    "qy_lingdao": ["qy_county_leader", "dashboard"],            # 分管县领导（一案一剖）
    "qy_disanfang": ["qy_third_party"],                         # 第三方（专家、机构）
    "qy_ducha": ["qy_supervision", "dashboard"],                # 县委县政府督查室、县纪委县监委
    "qy_zhuyao": ["qy_main_leader", "dashboard"],               # 县委县政府主要领导（一案一报）
    # 定海 “零距离”闭环监督 (dh_zero_distance)
    "dh_qifu": ["dh_centre"],                                   # 区企业综合服务中心
    "dh_nuanqi": ["dh_officer"],                                # 暖企专员（监测点，回访）
    "dh_jiandu": ["dh_special"],                                # 优化营商环境特约监督员
    "dh_lingdao": ["dh_leader", "dashboard"],                   # 区领导领衔、局长现场答疑
    "dh_bumen": ["dh_dept_development", "dh_dept_economy", "dh_dept_hrss", "dh_dept_planning",
                 "dh_dept_market", "dh_dept_town"],             # 承办部门
    "dh_ducha": ["dh_supervision", "dashboard"],                # 区督查室
    "dh_jiwei": ["dh_discipline"],                              # 区纪委监委
    # 徐州 一次督办、二次督办 (xz_two_supervisions)
    "xz_zhongxin": ["xz_centre"],                               # 市企业综合服务中心（一次督办）
    "xz_yingshang": ["xz_office", "dashboard"],                 # 市优化营商环境办公室（二次督办）
    "xz_xietiao": ["xz_coordination"],                          # 市营商办综合协调组（会商会办）
    "xz_wenze": ["xz_accountability", "dashboard"],             # 市营商办督查问责组
    "xz_jiwei": ["xz_discipline"],                              # 市纪委监委
    "xz_danwei": ["xz_unit_planning", "xz_unit_housing", "xz_unit_market", "xz_unit_approval",
                  "xz_unit_hrss", "xz_unit_district"],          # 责任单位
    # 吉安 亲清连心政企恳谈会 (ja_talks)
    "ja_yingshang": ["ja_office", "dashboard"],                 # 市营商办（市发改委）：交办、督办问效
    "ja_danwei": ["ja_unit_hrss", "ja_unit_industry", "ja_unit_nature", "ja_unit_housing", "ja_unit_approval",
                  "ja_unit_tech", "ja_unit_county"],            # 牵头单位、责任单位
    "ja_huifang": ["ja_visit"],                                 # 企业诉求回访调研组
    # 馆陶 “您码上说，我马上办” (gt_scan_and_do)
    "gt_pingtai": ["gt_platform"],                              # “您码上说，我马上办”平台、12345热线
    "gt_danwei": ["gt_unit_approval", "gt_unit_planning", "gt_unit_tax", "gt_unit_finance",
                  "gt_unit_power"],                             # 承办（牵头、配合）单位
    "gt_yingshang": ["gt_office", "dashboard"],                 # 县营商办：会商联办、督办
    "gt_lingdao": ["gt_leader", "dashboard"],                   # 县委常委会周调度
    # 安宁 常态收集、分类交办、协调会商、跟踪督办 (an_four_ways)
    "an_bumen": ["an_department"],                              # 涉企部门（企业接待日、常态收集、部门即办）
    "an_yingshang": ["an_office", "dashboard"],                 # 市营商环境办（市政务服务局）
    "an_lingdao": ["an_city_leader", "dashboard"],              # 市级分管领导（批办、交办）
    "an_xiaozu": ["an_leading_group"],                          # 市优化营商环境促进市场主体倍增领导小组
    "an_chengban": ["an_unit_industry", "an_unit_development", "an_unit_land", "an_unit_market",
                    "an_unit_agriculture", "an_unit_investment", "an_unit_park", "an_unit_street"],  # 承办单位
}


# passes the production password policy (10 characters, 3 classes, not a common one): the
# demo server is the same app a deployment runs
DEMO_PASSWORD = "Qihu-demo-2026"

# What the page header shows for each demo user: their role.
DEMO_NAMES = {
    "shouli": "受理员", "shouli2": "受理员（二）", "bumen": "承办部门", "ducha": "督查室", "admin": "系统管理员",
    "qiye": "企业用户",
    "hz_qifu": "湖州 企服中心", "hz_qifu2": "湖州 企服中心（二）",
    "hz_zhuren": "湖州 企服中心主任", "hz_bankuai": "湖州 板块牵头部门",
    "hz_zonghe": "湖州 综合板块", "hz_doudi": "湖州 兜底板块", "hz_lingdao": "湖州 市领导", "hz_ducha": "湖州 督查室",
    "qt_zhongxin": "钱塘 企业综合服务中心", "qt_bankuai": "钱塘 服务板块", "qt_danwei": "钱塘 责任单位",
    "qt_doudi": "钱塘 兜底板块", "lc_guancha": "鹿城 观察员", "lc_zhongxin": "鹿城 区企业服务中心",
    "lc_wenze": "鹿城 模拟问责办", "lc_danwei": "鹿城 责任单位", "lc_jiwei": "鹿城 区纪委监委",
    "lq_pingtai": "路桥 1187平台", "lq_daibiao": "路桥 人大代表", "lq_pingyi": "路桥 评议团",
    "lq_bumen": "路桥 被评议部门", "lq_renda": "路桥 人大常委会办公室",
    # 庆元 “三个一” (qy_three_ones)
    "qy_zhongxin": "庆元 县企服中心", "qy_bumen": "庆元 承办部门", "qy_lingdao": "庆元 分管县领导",
    "qy_disanfang": "庆元 第三方", "qy_ducha": "庆元 督查室、纪委", "qy_zhuyao": "庆元 县委县政府主要领导",
    # 定海 “零距离”闭环监督 (dh_zero_distance)
    "dh_qifu": "定海 企服中心", "dh_nuanqi": "定海 暖企专员", "dh_jiandu": "定海 特约监督员",
    "dh_lingdao": "定海 区领导", "dh_bumen": "定海 承办部门", "dh_ducha": "定海 督查室", "dh_jiwei": "定海 纪委监委",
    # 徐州 一次督办、二次督办 (xz_two_supervisions)
    "xz_zhongxin": "徐州 企业综合服务中心", "xz_yingshang": "徐州 市营商办", "xz_xietiao": "徐州 综合协调组",
    "xz_wenze": "徐州 督查问责组", "xz_jiwei": "徐州 市纪委监委", "xz_danwei": "徐州 责任单位",
    # 吉安 亲清连心政企恳谈会 (ja_talks)
    "ja_yingshang": "吉安 市营商办", "ja_danwei": "吉安 牵头/责任单位", "ja_huifang": "吉安 回访调研组",
    # 馆陶 “您码上说，我马上办” (gt_scan_and_do)
    "gt_pingtai": "馆陶 “码上说”平台", "gt_danwei": "馆陶 承办单位", "gt_yingshang": "馆陶 县营商办",
    "gt_lingdao": "馆陶 县委常委会周调度",
    # 安宁 常态收集、分类交办、协调会商、跟踪督办 (an_four_ways)
    "an_bumen": "安宁 涉企部门（接待日）", "an_yingshang": "安宁 市营商环境办", "an_lingdao": "安宁 市级分管领导",
    "an_xiaozu": "安宁 领导小组", "an_chengban": "安宁 承办单位",
}


# The region each demo user works for (by the prefix of their name): the regions that the
# regional diagrams declare (<camunda:property name="region" …/>). Users without a prefix here
# serve every region.
DEMO_REGIONS = {"hz_": "湖州市", "qy_": "丽水市庆元县", "dh_": "舟山市定海区", "xz_": "徐州市",
                "ja_": "江西省吉安市", "gt_": "邯郸市馆陶县", "an_": "安宁市"}


def demo_region(user):
    return next((r for prefix, r in DEMO_REGIONS.items() if user.startswith(prefix)), None)


def seed(engine, folder, samples=False):
    """Deploy every .bpmn/.dmn in `folder` (one bundle) and add demo users; with `samples`, the
    sample appeals not yet there (a second run adds nothing). Yields report lines."""
    folder = Path(folder)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".bpmn", ".dmn"))
    if files:
        result = engine.repository.deploy(files, name="bundled diagrams", user="demo")
        for d in result.definitions:
            yield f"deployed {d['key']} v{d['version']}" + ("" if d["new"] else " (unchanged)")
    for user, groups in DEMO_USERS.items():
        if engine.accounts.get(user) is None:
            engine.accounts.add_user(user, DEMO_PASSWORD, display_name=DEMO_NAMES.get(user), groups=groups,
                                     is_admin=user == "admin", region=demo_region(user))
        else:
            engine.accounts.set_password(user, DEMO_PASSWORD)
            engine.accounts.set_region(user, demo_region(user))
        engine.tasks.add_member(user, *groups)
        yield f"demo user {user} (password {DEMO_PASSWORD}): {', '.join(groups)}"
    if samples:
        yield from sample_appeals(engine)


def sample_appeals(engine):
    """The demo's sample appeals (appeals/demo_samples.py), walked by the demo users; idempotent."""
    from qihu.appeals.demo_samples import sample_appeals as walk
    yield from walk(engine, DEMO_USERS)
