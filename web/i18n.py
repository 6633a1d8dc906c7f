"""UI language: Chinese (zh-CN) by default, English by a ?lang=en link (kept in a cookie).

A dict catalogue keyed by the Chinese text: `_("待办")` is "待办", or "Inbox" in English.
Texts missing from the English catalogue stay Chinese (tests/web/test_web_inbox.py checks
that the pages' texts are all here).
"""
import re

from flask import g, request

LANGS = {"zh": "zh-CN", "en": "en"}
COOKIE = "qihu_lang"

EN = {
    # frame
    "企业诉求办理": "Enterprise appeals", "首页": "Home", "待办": "Inbox", "接口文档": "API docs",
    "当前用户：{name}": "Signed in: {name}", "退出": "Sign out", "登录": "Sign in",
    "BPMN 流程引擎": "BPMN process engine", "切换语言": "Language",
    # sign-in
    "工作人员登录": "Staff sign-in", "用户名": "User name", "密码": "Password",
    "用户名或密码不正确": "Wrong user name or password", "请填写用户名和密码": "Enter your user name and password",
    "欢迎，{name}": "Welcome, {name}", "已退出登录": "You have signed out",
    "请先登录": "Please sign in first",
    "登录失败次数过多，请 {minutes} 分钟后再试": "Too many failed sign-ins: try again in {minutes} minutes",
    "使用本单位分配的账号登录，办理企业诉求。": "Sign in with the account your office gave you to handle enterprise appeals.",
    # inbox
    "我的待办": "My inbox", "流程": "Process", "全部流程": "All processes", "预警": "Warning",
    "全部": "All", "已超期": "Overdue", "仅看超期": "Overdue only", "优先级": "Priority", "全部优先级": "Any priority",
    "高": "High", "中": "Normal", "低": "Low", "搜索任务名称或业务编号": "Search task name or business key",
    "排序": "Sort", "按截止时间": "By deadline", "按优先级": "By priority", "按创建时间（新到旧）": "Newest first",
    "按创建时间（旧到新）": "Oldest first", "筛选": "Filter", "清除": "Clear",
    "任务": "Task", "业务编号": "Business key", "办理人": "Assignee", "截止时间": "Deadline",
    "剩余工作日": "Working days left", "状态": "Status", "待认领": "Unclaimed", "我": "me",
    "符合条件的诉求超过 {n} 件，以下只列出其中一部分（按受理时间从新到旧）；请增加条件（流程、地区、状态，或更完整的名称、编号）缩小范围。":
        "More than {n} appeals match; only some are listed (newest first). Add a condition (process, region, status, "
        "or a fuller name or number) to narrow the search.",
    "没有符合条件的待办任务。": "No tasks match.", "共 {n} 项": "{n} tasks", "上一页": "Previous", "下一页": "Next",
    "第 {page} / {pages} 页": "Page {page} of {pages}", "无期限": "No deadline",
    "超期 {n} 个工作日": "{n} working days overdue", "{n} 个工作日": "{n} working days",
    "不足 1 个工作日": "under 1 working day", "候选组": "Candidate groups",
    "绿": "Green", "黄": "Yellow", "橙": "Orange", "红": "Red", "蓝": "Blue", "无": "None",
    # task
    "返回待办": "Back to inbox", "企业": "Company", "诉求摘要": "Summary", "流程实例": "Instance",
    "认领": "Claim", "取消认领": "Unclaim", "提交": "Submit", "办理表单": "Form", "必填": "required",
    "请选择": "Please choose", "是": "Yes", "否": "No", "此任务由 {name} 办理中。": "{name} is working on this task.",
    "认领后即可办理此任务。": "Claim this task to work on it.", "已认领，可以办理。": "Claimed: you can work on it.",
    "已取消认领": "Unclaimed", "任务已认领": "Task claimed", "任务已办结：{name}": "Task done: {name}",
    "表单有误，请按提示修改。": "The form has errors; see the notes next to the fields.",
    "此任务已办结。": "This task is done.", "办结人": "Done by", "创建时间": "Created", "此任务没有表单字段。":
        "This task has no form fields.", "任务详情": "Task",
    # errors
    "没有权限": "Forbidden", "您没有办理此任务的权限。": "You may not see or work on this task.",
    "未找到": "Not found", "没有找到该任务。": "No such task.", "请求有误": "Bad request",
    "页面已过期，请刷新后重试。": "The page has expired; reload it and try again.",
    "操作未完成": "Not done",
    # instance page (web/pages/instance.py, templates/instance.html)
    "地区": "Region", "发起时间": "Started", "发起人": "Started by", "系统": "System", "结束时间": "Ended",
    "版本": "Version", "流程异常": "Incidents", "流程图": "Process diagram", "已办理": "Done",
    "当前环节": "Current step", "计时等待": "Timer armed", "异常": "Incident", "缩放": "Zoom",
    "放大": "Zoom in", "缩小": "Zoom out", "适应窗口": "Fit",
    "流程图加载失败，请刷新页面重试。": "The diagram could not be loaded; reload the page.",
    "此流程定义没有图形信息，无法绘制流程图。": "This process definition has no diagram layout to draw.",
    "正在加载流程图……": "Loading the diagram…", "流程图需要启用浏览器脚本。": "The diagram needs JavaScript.",
    "当前待办": "Open tasks", "环节": "Step", "没有待办环节。": "No open tasks.", "办理记录": "Audit trail",
    "函件与附件": "Letters and attachments", "暂无函件或附件。": "No letters or attachments.", "台账": "Ledger",
    "已销号": "closed", "暂无台账记录。": "No ledger lines.", "通知": "Notifications", "发给": "To",
    "暂无通知。": "No notifications.", "您没有查看此流程实例的权限。": "You may not see this process instance.",
    "没有找到该附件。": "No such attachment.", "没有找到该流程实例。": "No such process instance.",
    "办理中": "Running", "已暂停": "Suspended", "已办结": "Completed", "已撤销": "Cancelled",
    "上传材料": "Upload", "函件": "Letter", "查看流程图与办理记录": "Diagram and audit trail",
    "定位当前环节": "Show current step", "关联流程": "Related processes",
    # saved inbox filters and notifications (web/pages/inbox_extras.py, templates/notifications.html)
    "我的筛选": "My filters", "删除筛选：{name}": "Delete filter: {name}",
    "尚未保存筛选，设置好条件后可保存以便下次一键打开。": "No saved filters yet: set the filters, then save them to open "
        "them again in one click.",
    "保存当前筛选": "Save these filters", "筛选名称，如：湖州超期件": "Filter name, e.g. Huzhou overdue",
    "筛选名称": "Filter name", "保存": "Save", "全部地区": "All regions", "我的通知": "My notifications",
    "未读 {n} 条": "{n} unread", "全部标为已读": "Mark all read", "仅看未读": "Unread only", "未读": "unread",
    "发给候选组": "To group", "发给我": "To me", "查看诉求": "Open appeal", "查看任务": "Open task",
    "标为已读": "Mark read", "已读": "Read", "没有未读通知。": "No unread notifications.", "共 {n} 条": "{n} in all",
    "未读通知": "Unread notifications", "没有找到该记录。": "No such record.",
    "名称必填，最多 100 个字": "a name is required, at most 100 characters", "筛选条件无效": "invalid filters",
    "筛选未保存": "Filter not saved", "已保存筛选：{name}": "Filter saved: {name}",
    "已删除筛选：{name}": "Filter deleted: {name}", "已将 {n} 条通知标为已读": "{n} notifications marked read",
    # task page actions (web/pages/task_actions.py): reassign, return (退单), comments, attachments
    "已退单": "Returned", "退单次数": "Times returned", "已退单 {n} 次": "Returned {n}×",
    "此诉求已被退回，请重新分派": "This appeal was returned: dispatch it again", "退回环节": "Returned from",
    "退单人": "Returned by", "退单理由": "Reason for returning", "此任务已退单。": "This task was returned.",
    "办理意见": "Comments", "对企业公开": "Visible to the company", "暂无办理意见。": "No comments yet.",
    "添加意见": "Add a comment", "如：已电话联系企业，约定下周现场核实":
        "e.g. Called the company; site visit agreed for next week", "发表意见": "Post comment",
    "附件": "Attachments", "暂无附件。": "No attachments yet.", "上传附件": "Upload a file", "上传": "Upload",
    "可上传 {types}，单个文件不超过 {n} MB。": "Allowed: {types}; at most {n} MB per file.",
    "办理操作": "Actions", "转办": "Reassign", "转办给": "Reassign to", "请选择同事": "Choose a colleague",
    "转办说明": "Note", "选填": "optional", "转办给同事": "Reassign to a colleague", "{name} 将此任务转办给您": "{name} handed this task to you", "退单": "Return",
    "不属于本单位职责或派单有误时，退回「{step}」重新分派。":
        "Not your office's remit or dispatched wrongly? Return it to “{step}” to be dispatched again.",
    "确认退单": "Return this task", "返回任务": "Back to the task",
    "转办未完成，请按提示修改。": "Not reassigned: see the note next to the field.",
    "已将「{task}」转办给 {name}": "“{task}” reassigned to {name}",
    "退单未完成，请填写退单理由。": "Not returned: give the reason.",
    "已退单：「{task}」已退回重新分派": "Returned: “{task}” goes back to be dispatched again",
    "意见未保存，请按提示修改。": "Comment not saved: see the note next to the field.", "意见已保存": "Comment saved",
    "请选择要上传的文件": "Choose a file to upload", "附件未上传，请按提示修改。": "File not uploaded: see the note below.",
    "附件已上传：{name}": "Uploaded: {name}", "文件过大": "File too large",
    "上传的内容超过 {n} MB 的上限，未保存。请压缩或拆分文件后重新上传。":
        "The upload is larger than the {n} MB limit and was not saved. Compress or split the file and try again.",
    # enterprise portal (web/pages/portal.py, templates portal_*.html)
    "企业诉求服务平台": "Enterprise Appeals Service", "涉企问题高效闭环解决 · 有诉必应": "Every appeal answered, every case closed",
    "语言": "Language", "企业无需注册即可提交诉求，受理、办理、答复全程免费。":
        "Enterprises submit appeals without an account; acceptance, handling and replies are free of charge.",
    "如遇紧急情况，请拨打 12345 政务服务便民热线。": "In an emergency, call the 12345 government service hotline.",
    "办理步骤": "Steps", "选择受理渠道": "Choose where", "填写诉求信息": "Describe the appeal", "获取查询链接": "Get your link",
    "在线提交诉求": "Submit an appeal online",
    "企业在生产经营中遇到的政策、要素保障、审批服务等问题，可在此直接提交，无需注册账号。提交后您将获得受理编号和专属查询链接，凭链接随时查看办理进度并对办理结果进行评价。":
        "Problems your business meets with policies, land, power, finance or approvals can be submitted here without an "
        "account. You get a tracking number and a private link to follow the handling and rate the result.",
    "所选受理渠道不存在或已停止在线受理，请重新选择。": "That office does not take appeals online (any more); choose another.",
    "请选择受理渠道": "Choose the office that handles your appeal", "不限地区": "Any region",
    "暂未开放在线提交，请拨打 12345 政务服务便民热线反映诉求。":
        "Online submission is not open yet; call the 12345 hotline with your appeal.",
    "填写诉求": "Your appeal", "受理渠道": "Office", "更换": "Change",
    "诉求尚未提交，请修改以下内容：": "Your appeal was not submitted. Please correct:",
    "出于安全原因，已选择的附件不会保留，请重新选择附件。": "For safety, chosen files are not kept: choose them again.",
    "企业信息": "Enterprise", "企业名称": "Company name", "与营业执照上的名称一致": "As on the business licence",
    "统一社会信用代码": "Unified social credit code",
    "18位，见营业执照左上角，例如 91330502MA2B7K3J8J（示例）":
        "18 characters, top left of the business licence, e.g. 91330502MA2B7K3J8J (example)",
    "联系人": "Contact", "联系人姓名": "Contact name", "便于工作人员联系核实": "So that staff can reach you",
    "联系电话": "Phone", "手机号或带区号的固定电话": "Mobile, or landline with area code",
    "诉求内容": "Appeal", "诉求类别": "Category",
    "选择最接近的一类，工作人员会按类别分派承办单位": "The closest one: staff assign the handling unit by category",
    "用几个字概括问题类别，如“用地”“融资”“审批”": "A few words, e.g. land, finance, approval",
    "诉求描述": "Description",
    "请写明遇到的问题、涉及的单位或事项、已经做过的努力和希望得到的帮助；{low}至{high}字。":
        "The problem, the offices or matters involved, what you have tried and what help you need; {low} to {high} characters.",
    "附件材料": "Attachments", "（选填）": "(optional)", "上传相关证明材料": "Supporting documents",
    "最多 {n} 个文件，单个不超过 {mb} MB，合计不超过 {total} MB；支持格式：{types}":
        "Up to {n} files, each at most {mb} MB, {total} MB in all; types: {types}",
    "最多 {n} 个文件，单个不超过 {mb} MB；支持格式：{types}": "Up to {n} files, each at most {mb} MB; types: {types}",
    "温馨提示": "Note", "您填写的信息仅用于办理本诉求。请如实反映情况，提交后将生成受理编号和专属查询链接。":
        "What you enter is used only to handle this appeal. Please be accurate; you get a tracking number and a private link.",
    "提交诉求": "Submit appeal", "最多上传 {n} 个附件": "At most {n} files", "：超过单个文件大小上限": ": file too large",
    "附件合计超过大小上限": "The files are too large in all", "正在提交…": "Submitting…",
    "诉求已提交": "Appeal submitted", "页面已失效": "Page no longer available",
    "我们已收到您的诉求，工作人员将尽快受理并与您联系。": "We have your appeal; staff will accept it and contact you soon.",
    "受理编号": "Tracking number", "电话咨询时请报此编号": "Quote it when you call",
    "专属查询链接": "Private link", "复制链接": "Copy link", "已复制，请粘贴保存到安全的地方。": "Copied: paste it somewhere safe.",
    "请立即保存查询链接": "Save your private link now",
    "此链接是查看办理进度、对办理结果进行评价的唯一凭证，本页面只显示一次，离开或刷新后无法再次查看。":
        "This link is the only way to follow and rate your appeal. This page is shown once: after you leave or reload it, "
        "the link cannot be shown again.",
    "系统不保存链接本身，工作人员也无法找回；请将链接收藏到浏览器书签，或复制保存到企业内部文档。":
        "The system does not keep the link and staff cannot recover it: bookmark it or keep a copy in your records.",
    "持有链接即可查看和评价本诉求，请勿转发给无关人员。": "Anyone with the link can see and rate this appeal: do not share it.",
    "查看办理进度": "Follow the appeal", "提交新的诉求": "Submit another appeal", "此页面仅显示一次": "This page is shown once",
    "为保护您的诉求信息，受理编号和查询链接只在提交成功后显示一次。如未保存链接，请凭受理编号致电受理单位查询。":
        "To protect your appeal, the number and link are shown only once, right after submitting. Without the link, "
        "call the office with your tracking number.",
    "返回在线提交": "Back to online submission", "诉求办理进度": "Appeal progress", "待您评价": "Awaiting your rating",
    "办理时限": "Deadline", "剩余 {n} 个工作日": "{n} working days left", "提交时间": "Submitted",
    "已终止": "Cancelled", "暂停办理": "Suspended",
    "已转二次督办": "Reopened for second supervision",
    "您对上次办理情况的评价为不满意，诉求已重新打开，由督查室二次督办，责成承办单位重新办理。办理完成后请您再次评价。":
        "You rated the handling as unsatisfactory: the appeal is reopened and the supervision office has the unit handle it "
        "again. Please rate it again when it is done.",
    "您的诉求已办理完毕，感谢您的支持与监督。": "Your appeal has been handled. Thank you.",
    "请对本次诉求的办理情况作出评价。任一项评为“不满意”或“非常不满意”的，诉求将转督查室二次督办。":
        "Please rate the handling. Rating any item unsatisfied or very unsatisfied sends the appeal to the supervision "
        "office for a second round.",
    "评价尚未提交，请按提示补充。": "Rating not submitted: see the notes.",
    "（选填，评价不满意时请写明原因）": "(optional; required with an unsatisfied rating)", "提交评价": "Submit rating",
    "当前办理环节": "Current step", "已全部办结，没有正在办理的环节。": "All done: no step is open.",
    "正在流转中，请稍后刷新查看。": "Moving to the next step; reload in a moment.",
    "办理暂时受阻": "Held up for now",
    "办理遇到问题，已通知管理员处理。处理后将继续办理，您无需重新提交。":
        "A problem held up the handling; the administrators have been told. It will go on once it is "
        "fixed: you need not submit again.",
    "办理遇到问题，已通知管理员处理。": "A problem held up the handling; the administrators have been told.",
    "办理时限按工作日计算，节假日顺延。": "Deadlines count working days; holidays do not count.",
    "办理过程": "Steps so far", "关联办理": "Related handling",
    "您的诉求已转入该程序继续办理（同一受理编号），开始于 {at}。":
        "Your appeal continues in this procedure (same tracking number), since {at}.",
    "系统繁忙，诉求未能提交，请稍后重试。": "The system is busy; the appeal was not submitted. Please try again later.",
    "该评价不属于本诉求，或已经提交。": "This rating is not part of this appeal, or was already given.",
    "该评价已经提交，无需重复评价。": "This rating was already submitted.",
    "诉求暂停办理或正在更新，评价未能提交，请稍后再试。":
        "The appeal is suspended or being updated; the rating was not saved. Please try again later.",
    "系统繁忙，评价未能提交，请稍后重试。": "The system is busy; the rating was not saved. Please try again later.",
    "您的评价已提交。您对办理情况不满意，诉求已重新打开，转督查室二次督办。":
        "Rating submitted. You are not satisfied: the appeal is reopened for second supervision.",
    "感谢您的评价！": "Thank you for your rating!", "链接无效": "Invalid link",
    "没有找到对应的诉求。请核对链接是否完整；如已遗失，请凭受理编号致电受理单位查询。":
        "No appeal found. Check that the link is complete; if it is lost, call the office with your tracking number.",
    "无法操作": "Not allowed", "该操作不属于本诉求。": "This action is not part of this appeal.",
    "页面已过期": "Page expired", "页面已过期，请返回刷新后重新提交。": "The page has expired; go back, reload and submit again.",
    "附件过大": "Files too large",
    "本次提交的附件合计超过 {n} MB，诉求未提交。请返回上一页，压缩或减少附件后重新选择文件提交。":
        "The files add up to more than {n} MB; the appeal was not submitted. Go back, compress or remove files, "
        "choose them again and submit.",
    "企业诉求在线提交": "Submit an appeal online",
    # a deadline in a year not announced yet (inbox, task, instance, board, portal)
    "暂定": "provisional",
    "所在年份节假日安排尚未公布，按法定节假日暂定计算": "The holidays of its year are not announced yet: counted "
        "provisionally on the statutory holidays",
    # administrator pages (web/pages/admin.py, templates admin_*.html)
    "流程管理": "Processes", "共 {n} 个流程": "{n} processes",
    "{year} 年节假日安排尚未导入：截止期限按法定节假日暂定计算，国务院公布后请用 qihu calendar load 导入":
        "The {year} holiday calendar is not loaded yet: deadlines are provisional, counted on the statutory "
        "holidays; load it with qihu calendar load once the State Council announces it",
    "{year} 年节假日安排尚未导入：涉及该年的截止期限无法计算，国务院公布后请用 qihu calendar load 导入":
        "The {year} holiday calendar is not loaded yet: deadlines in that year cannot be computed; load it "
        "with qihu calendar load once the State Council announces it",
    "部署未完成，没有保存任何文件。请修改以下问题后重新部署：":
        "Not deployed: nothing was stored. Fix these problems and deploy again:",
    "文件": "File", "行": "Line", "元素": "Element", "问题": "Problem", "部署流程": "Deploy",
    "流程文件": "Process files",
    "可选择多个 {types} 文件；同一流程引用的决策表请一起上传。":
        "Choose one or more {types} files; upload the decision tables a process uses with it.",
    "部署名称": "Deployment name", "部署后立即启用": "Activate after deploying",
    "适用地区": "Region", "选填，如 丽水市庆元县；不填则按流程图中的地区属性":
        "optional, e.g. 丽水市庆元县; empty: the region property of the diagram",
    "不勾选时新版本仅暂存，新发起的实例仍按当前启用的版本办理，可在版本页面启用。":
        "Unchecked, new versions are staged: new instances keep starting on the active version until you "
        "activate one on the versions page.",
    "部署": "Deploy", "流程标识": "Key", "当前启用": "Active", "版本管理": "Versions",
    "尚未部署任何流程。": "No processes deployed yet.", "返回流程管理": "Back to processes",
    "部署时间": "Deployed", "部署人": "Deployed by", "运行中实例": "Running instances", "启用": "Activate",
    "启用后新发起的实例按该版本办理；运行中的实例仍按原版本办理。":
        "Once activated, new instances start on that version; running instances keep theirs.",
    "版本对比": "Compare versions", "从": "From", "到": "To", "对比": "Compare",
    "返回版本列表": "Back to versions", "两个版本的流程元素没有差异。": "The two versions have the same elements.",
    "新增": "Added", "删除": "Removed", "修改": "Changed", "元素标识": "Element id", "类型": "Type", "名称": "Name",
    "只能部署 {types} 文件": "Only {types} files can be deployed", "请选择要部署的文件": "Choose the files to deploy",
    "一次最多部署 {n} 个文件": "At most {n} files at a time", "（未变化）": " (unchanged)",
    "内容与已部署的版本相同，未新建版本：{list}": "Same as what is deployed: no new version: {list}",
    "部署完成：{list}": "Deployed: {list}",
    "已部署但未启用（新实例仍按当前启用的版本发起）：{list}":
        "Deployed but not activated (new instances still start on the active version): {list}",
    "版本号无效": "Invalid version number",
    "已启用 {key} v{version}，新发起的实例将按此版本办理": "{key} v{version} activated: new instances start on it",
    "流程管理仅限管理员使用。": "Process management is for administrators only.",
    "没有找到该流程或版本。": "No such process or version.",
    # migrating running instances (admin_versions.html, engine/runtime/migration.py)
    "迁移运行中的实例": "Migrate running instances",
    "把运行中（含已暂停）的实例改按更新的版本办理。已执行过的环节若在新版本中被修改或删除，该实例不迁移。先预览，再确认。":
        "Move running (and suspended) instances onto a newer version. An instance is not moved when a step it "
        "already ran was changed or removed in the new version. Preview first, then confirm.",
    "预览迁移": "Preview", "v{a} → v{b} 预览": "v{a} → v{b} preview", "能否迁移": "Can move",
    "说明": "Details", "可迁移": "Can move", "不能迁移": "Cannot move", "将重新派发": "Offered again",
    "v{a} 上没有运行中的实例。": "No running instances on v{a}.", "确认迁移 {n} 个实例": "Migrate {n} instances",
    "没有可迁移的实例": "No instance to migrate", "迁移未完成": "Migration not done",
    "已将 {n} 个实例从 v{a} 迁移到 v{b}": "{n} instances moved from v{a} to v{b}",
    "{n} 个实例未迁移：{list}": "{n} instances not moved: {list}",
    # modeler page (web/pages/modeler.py, templates/modeler.html, static/modeler.js)
    "在浏览器中编辑": "Edit in the browser", "在浏览器中新建流程": "New process in the browser",
    "新建流程": "New process", "编辑": "Edit", "基于 v{version} 编辑": "Editing from v{version}",
    "最新为 v{version}": "latest is v{version}", "流程图操作": "Diagram actions",
    "属性": "Properties", "检查": "Check", "部署为新版本": "Deploy as a new version", "下载 .bpmn": "Download .bpmn",
    "部署后": "After deploying", "立即启用": "Activate now", "仅暂存": "Stage only", "可不填": "optional",
    "仅暂存时，新发起的实例仍按当前启用的版本办理；运行中的实例始终按原版本办理。":
        "Staged, new instances keep starting on the active version; running instances always keep theirs.",
    "正在检查…": "Checking…", "检查通过，没有发现问题。": "Check passed: no problems found.",
    "发现 {n} 个问题：": "{n} problems found:", "正在部署…": "Deploying…", "已部署 {list}": "Deployed {list}",
    "查看版本": "See the versions", "请求失败": "Request failed", "流程图无法打开": "The diagram cannot be opened",
    "打开流程图时有警告": "Warnings while opening the diagram",
    "点击问题可在图中选中该元素。": "Click a problem to select its element in the diagram.",
    "警告": "Warning", "有 {n} 个警告（不影响部署，请留意）：": "Warnings ({n}); the diagram deploys, please look:",
    "检查通过，可以部署。": "Check passed: the diagram deploys.",
    "流程图过大（上限 {n} MB）": "The diagram is too large (at most {n} MB)",
    "企业无需注册，在线提交涉企诉求，凭专属链接查看办理进度并评价。":
        "No account needed: submit an appeal online, follow it and rate it with your private link.",
    # 异常处理 (web/pages/incidents.py, templates/incidents.html, incident_actions.html, qihu.appeals.incidents)
    "异常处理": "Incidents", "未处理的异常": "Open incidents",
    "未处理的异常共 {n} 个，最早发生的在前": "{n} open incidents, oldest first", "异常类型": "Kind",
    "全部类型": "All kinds", "全选可重试的异常": "Select every retryable incident", "批量重试所选": "Retry selected",
    "选择": "Select", "流程与环节": "Process and step", "发生于": "Since", "处理": "Actions",
    "仅显示最早的 {n} 个，处理后刷新可看到其余的。": "Only the {n} oldest are shown; reload after handling them to see the rest.",
    "没有符合条件的异常。": "No incidents match.",
    "没有未处理的异常，所有案件都在正常流转。": "No open incidents: every case is moving.",
    "自动任务失败": "Service task failed", "消息投递失败": "Delivery failed", "工作日历未导入": "Calendar missing",
    "脚本出错": "Script error", "定时未触发": "Timer failed", "案件无法流转": "Case stalled",
    "未处理": "Open", "已处理": "Handled", "已处理的异常（{n}）": "Handled incidents ({n})",
    "重试": "Retry", "补录结果并继续": "Enter the result and continue",
    "「{name}」的结果（JSON，可留空）": "Result of “{name}” (JSON, may be empty)",
    "跳过自动任务，按填写的结果继续流转。": "Skips the service task and continues with the result entered.",
    "确认补录并继续": "Save the result and continue", "标记为已处理": "Mark as handled",
    "确认原因已排除（如已导入工作日历）后，将此异常标记为已处理。":
        "Once the cause is fixed (e.g. the calendar is loaded), mark this incident as handled.",
    "确认已处理": "Confirm handled", "取消案件": "Cancel the case", "取消原因": "Reason for cancelling",
    "如：重复登记，已合并办理": "e.g. registered twice, merged",
    "取消后案件终止办理，待办和定时一并撤销，不可恢复。":
        "Cancelling ends the case: its tasks and timers go too. This cannot be undone.",
    "确认取消案件": "Cancel the case now", "技术详情": "Technical detail", "错误": "Error",
    "剩余自动重试": "Automatic retries left", "发生时间": "Occurred",
    "重试未完成": "Not retried", "处理未完成": "Not handled", "取消未完成": "Not cancelled",
    "取消未完成：请填写取消原因": "Not cancelled: give the reason",
    "已重试「{name}」，流程继续办理": "“{name}” retried: the case moves on",
    "已重试「{name}」，仍未成功：{cause}": "“{name}” retried, still failing: {cause}",
    "补录未完成：结果须为 JSON 对象，例如 {example}": "Not saved: the result must be a JSON object, e.g. {example}",
    "已补录「{name}」的结果，流程继续办理": "Result of “{name}” saved: the case moves on",
    "已将异常标记为已处理：{name}": "Incident marked as handled: {name}", "已取消案件 {key}": "Case {key} cancelled",
    "请先勾选要重试的异常": "Tick the incidents to retry first",
    "批量重试 {n} 个异常：成功 {done} 个": "Retried {n} incidents: {done} succeeded",
    "，仍未成功 {n} 个": ", {n} still failing",
    "，无法重试 {n} 个（已处理、不可重试或无权处理）": ", {n} could not be retried (handled, not retryable or not yours)",
    "该异常已处理或已不存在，请刷新页面查看。": "This incident was handled or no longer exists; reload the page.",
    "案件正在被他人办理，请稍后再试。": "Someone else is changing this case; try again in a moment.",
    "该环节已不在等待处理（可能已被他人处理，或案件已结束），请刷新页面查看。":
        "The step no longer waits (someone may have handled it, or the case ended); reload the page.",
    "这类异常不能这样处理。": "This kind of incident cannot be handled that way.", "数据有误": "Invalid data", "系统内部错误，已记录日志，请联系技术支持。": "Internal error (logged): contact support.",
    "异常处理仅限管理员使用，地区管理员只能处理本地区的异常。":
        "Incidents are for administrators; a region's administrator handles that region's only.",
    "没有找到该异常。": "No such incident.",
    "全部在办诉求，无法流转的在前，其次红色": "every open appeal, stalled ones first, then red",
    "无法流转": "Stalled", "案件无法继续流转": "The case cannot move on",
    "这些诉求因异常停在当前环节，需管理员处理后才能继续办理。":
        "These appeals are stopped by an incident and move on once an administrator handles it.",
    "前往异常处理": "Go to incidents",
    # 晾晒评价 dashboard (web/pages/dashboard.py, templates/dashboard.html)
    "未分派": "Not yet assigned", "晾晒": "Figures", "晾晒评价": "Performance figures", "查看范围": "Scope", "全部部门": "All departments",
    "本部门": "Own department", "月份": "Month", "机制": "Mechanism", "全部机制": "All mechanisms",
    "承办部门": "Department", "导出台账（Excel）": "Export ledger (Excel)",
    "导出月度指标（Excel）": "Export monthly figures (Excel)", "{month} 月度指标": "Figures of {month}",
    "受理件数": "Accepted", "办结 {closed} · 办成 {solved}": "{closed} closed · {solved} solved",
    "办结率": "Closed rate", "办成率": "Solved rate", "超时办成率": "Solved-late rate", "签收率": "On-time sign-for rate",
    "退单率": "Return rate", "满意率": "Satisfaction rate", "平均办结用时": "Average time to close",
    "个工作日": "working days", "在办件预警": "Open appeals by warning colour", "近 12 个月趋势": "Last 12 months",
    "受理、办结、办成件数": "Accepted, closed and solved appeals", "各项比率": "Rates",
    "趋势图加载失败，请刷新页面重试。": "The charts could not be drawn; reload the page.",
    "受理": "Accepted", "办结": "Closed", "办成": "Solved", "件数": "Appeals", "晾晒排名": "Department ranking",
    "按办结率、办成率、满意率排序": "by closed rate, solved rate, satisfaction", "排名": "Rank",
    "本月暂无受理的诉求。": "No appeals accepted this month.", "预警看板": "Warning board",
    "全部在办诉求，红色在前": "every open appeal, red first", "办理期限": "Deadline",
    "没有在办的诉求。": "No open appeals.",
    "仅显示最紧急的 {n} 件，完整清单请导出台账。": "Only the {n} most urgent are shown; export the ledger for all.",
    "指标说明": "Definitions",
    "各项比率按所选月份受理的诉求统计（后续办结计入受理当月）；分母为 0 时显示“—”。":
        "Rates count the appeals accepted in the month chosen (closing later counts towards that month); "
        "“—” where the denominator is 0.",
    "不是有效的月份（YYYY-MM）": "is not a month (YYYY-MM)", "不在您可查看的范围内": "is outside what you may see",
    "一次最多导出 {n} 个月": "At most {n} months per export",
    "晾晒评价仅限领导、督查和承办部门查看。": "The performance figures are for leaders, supervisors and departments only.",
    # 待分派: user tasks naming nobody (web/pages/unassigned.py, templates/unassigned.html) and deploy warnings
    "待分派": "Unassigned", "等待分派的任务": "Tasks waiting to be assigned", "分派": "Dispatch",
    "流程图中没有指定办理人的任务在此等待分派，共 {n} 项":
        "Tasks whose diagram names nobody wait here to be assigned: {n} in all",
    "指派给个人": "Assign to a person", "说明（选填）": "Note (optional)", "确认指派": "Assign",
    "分派给候选组": "Offer to groups", "多个用逗号分隔": "separate several with commas",
    "候选人（选填）": "Candidate users (optional)", "确认分派": "Offer",
    "没有符合条件的待分派任务。": "No unassigned tasks match.",
    "没有待分派的任务：每项待办都有办理人或候选组。": "No unassigned tasks: every open task has an assignee or candidates.",
    "待分派队列仅管理员和分派组（{group}）成员可见，各自只看本地区的任务。":
        "Only administrators and members of the dispatcher group ({group}) see this queue, each for their own region.",
    "已将「{task}」指派给 {who}": "“{task}” assigned to {who}",
    "已将「{task}」分派给 {who}，待其认领": "“{task}” offered to {who}, for them to claim",
    "分派未完成": "Not dispatched",
    "分派未完成：该任务已被他人分派或已办结，请刷新后查看":
        "Not dispatched: someone else dispatched or completed the task meanwhile; reload to see it",
    "分派未完成：没有找到该任务": "Not dispatched: no such task",
    "待分派任务仅限管理员和分派员处理。": "Unassigned tasks are for administrators and dispatchers only.",
    "部署提醒": "Deploy warning", "另有 {n} 条部署提醒未显示": "{n} more deploy warnings not shown",
    # -- issue 15: the clerk's desk (task page, 已办, search, bulk actions, print)
    "诉求信息": "The appeal", "打印办理单": "Print the handling sheet", "诉求办结期限": "Appeal to be closed by", "办理机制": "Handled under",
    "企业附件": "The enterprise's attachments", "前序办理情况": "Earlier work on this appeal",
    "批量操作所选任务": "With the selected tasks", "批量操作": "Bulk action", "催办": "Remind",
    "转办给…（仅转办时）": "Hand over to… (for 转办 only)", "执行": "Go", "选择：{name}": "Select: {name}",
    "工作人员": "Staff", "登录后办理待办任务、查看办理记录和统计。": "Sign in to work on your tasks and see records and figures.",
    "已办": "Handled", "我办结或退单的任务，最近的在前": "Tasks I completed or returned, newest first",
    "办理结果": "Outcome", "办结时间": "Completed", "期限": "Deadline", "超期办结": "completed late",
    "还没有办理过的任务。": "Nothing handled yet.", "诉求查询": "Search appeals",
    "在您有权查看的诉求中查找": "Among the appeals you may see",
    "企业名称、统一社会信用代码、联系电话、受理编号或诉求内容": "Company, credit code, phone, tracking number or text",
    "查询内容": "Search for", "全部预警": "All warnings", "查询": "Search",
    "输入企业名称、信用代码、电话或受理编号，或选择筛选条件后查询。":
        "Type a company name, credit code, phone or tracking number, or choose filters, then search.",
    "（未填企业）": "(no company given)", "没有找到符合条件的诉求。": "No appeal matches.",
    "批量{action}结果": "Bulk {action}: results", "完成 {done} 项，未完成 {refused} 项": "{done} done, {refused} refused",
    "办理单": "Handling sheet", "请使用浏览器的打印功能（Ctrl+P）打印或另存为 PDF，纸张 A4。":
        "Print with the browser (Ctrl+P) or save as PDF, on A4 paper.",
    "涉企诉求办理单": "Enterprise appeal handling sheet", "打印时间": "Printed",
    "一、诉求信息": "1. The appeal", "二、办理过程": "2. Handling", "尚无已办结的环节。": "No step completed yet.",
    "三、办理意见": "3. Comments", "四、办理记录": "4. History", "三、办理记录": "3. History",
    "经办人（签字）": "Handled by (signature)", "审核人（签字）": "Checked by (signature)", "日期": "Date",
    "工作台": "Desk", "您无权对此任务执行该操作": "You may not do this to the task",
    "没有找到该任务": "No such task", "任务已办结或已退单": "The task is already completed or returned",
    "任务已被他人认领或办理，请刷新后重试": "Someone else claimed or completed the task; reload and try again",
    "已认领": "claimed", "已转办给 {name}": "handed over to {name}", "已催办 {n} 位（组）": "{n} reminded",
    "请先选择任务": "Select tasks first", "一次最多 {n} 项": "At most {n} at a time",
    "未知的批量操作": "Unknown bulk action", "请选择转办给哪位同事": "Choose the colleague to hand over to",
    # -- issue 15: portal, registration and lookup
    "找回我的诉求": "Find my appeal", "导航": "Navigation", "办理进度": "Progress", "处理中": "In progress",
    "处理中，遇到问题已通知管理员": "In progress: a problem came up and the administrators have been told",
    "处理后将继续办理，您无需重新提交。": "Handling goes on once it is fixed; you need not submit again.",
    "交办": "Assigned", "办理": "Handling", "答复": "Reply", "评价": "Rating", "督办": "Supervision",
    "提交的诉求": "What you submitted", "来源渠道": "Channel", "复制编号": "Copy number", "已复制": "Copied",
    "企业自主提交": "Submitted online", "电话": "Phone", "窗口": "Service counter", "企业码": "Enterprise code",
    "恳谈会": "Talks", "观察员": "Observer", "走访": "Visit", "来信": "Letter", "12345热线": "12345 hotline",
    "其他": "Other", "已找回您的诉求": "Your appeal is found",
    "这是新的专属查询链接，原链接已失效。": "This is your new private link; the old one no longer works.",
    "电话咨询、找回诉求时请报此编号": "Quote this number when you call or look up your appeal",
    "请保存查询链接": "Keep the tracking link",
    "本页就是您的专属查询页：请将本页加入浏览器书签，或复制链接保存到企业内部文档。":
        "This page is your private tracking page: bookmark it, or copy the link into your company's records.",
    "链接遗失时，可凭受理编号和发送到联系电话的验证码找回。":
        "If you lose the link, get it back with the tracking number and a code sent to the contact phone.",
    "此页面已失效": "This page has expired",
    "提交成功后显示的是您的专属查询页，请使用保存的查询链接查看办理进度。如链接已遗失，可凭受理编号和手机验证码找回。":
        "After submitting you were shown your private tracking page; use the link you kept. If you lost it, "
        "get it back with the tracking number and a code sent to your phone.",
    "查询链接遗失时，输入受理编号，我们将向登记的联系电话发送验证码；验证后即可重新打开办理进度页。":
        "Lost the tracking link? Enter the tracking number: we send a code to the registered contact phone, "
        "and the code opens the progress page again.",
    "如 QH20261121-7K3F9Q，字母不区分大小写，可省略“-”": "e.g. QH20261121-7K3F9Q; upper or lower case, the “-” may be left out",
    "获取验证码": "Send code", "请填写受理编号": "Enter the tracking number",
    "获取验证码过于频繁，请 {n} 分钟后再试。": "Too many codes asked for: try again in {n} minutes.",
    "如受理编号正确，验证码已通过短信发送至登记的联系电话 {phone}，{n} 分钟内有效。":
        "If the tracking number is right, a code was sent by SMS to the registered phone {phone}; it is valid for {n} minutes.",
    "短信验证码": "SMS code", "验证并查看": "Verify and open", "重新获取验证码": "Send a new code",
    "验证码不正确或已过期，还可再试 {n} 次。": "Wrong or expired code; {n} tries left.",
    "验证码已失效，请重新获取验证码。": "The code no longer works; ask for a new one.",
    "联系电话已变更或收不到短信的，请凭受理编号致电受理单位。":
        "If the phone changed or no SMS arrives, call the office with your tracking number.",
    "登记诉求": "Register an appeal",
    "电话、窗口、企业码、恳谈会、观察员等渠道反映的诉求，在此代企业登记":
        "Register appeals that arrive by phone, at the counter, by enterprise code, at talks or from observers",
    "诉求已登记": "Appeal registered",
    "请将受理编号告知企业。专属查询链接已通过短信发送至 {phone}，企业凭链接查看进度、评价；链接遗失可凭编号和验证码找回。":
        "Tell the enterprise its tracking number. Its private link was sent by SMS to {phone}: it follows and rates "
        "the appeal there, and gets a lost link back with the number and a code.",
    "查看该诉求的办理情况": "Open this appeal", "诉求尚未登记，请按提示修改。": "Not registered: see the notes next to the fields.",
    "18位，见营业执照": "18 characters, on the business licence",
    "手机号：查询链接和验证码以短信发送": "A mobile number: the link and codes go there by SMS",
    "记录企业反映的问题、涉及的单位和诉求；{low}至{high}字。":
        "What the enterprise reports, the offices concerned and what it asks for; {low} to {high} characters.",
    "发起信息": "Start details", "企业提供的材料": "Documents from the enterprise", "登记并发送短信": "Register and send SMS",
    "您所在的组不能登记诉求。": "Your groups may not register appeals.",
    "您所在的组不能登记该流程的诉求。": "Your groups may not register appeals of this process.",
    "没有这个可登记的流程。": "No such process to register.",
    "系统繁忙，诉求未能登记，请稍后重试。": "The system is busy; the appeal was not registered. Please try again later.",
    # -- issue 15: notices
    "通知记录": "Notices sent", "共 {n} 条，最新的在前": "{n} in all, newest first",
    "短信、浙政钉、企业微信和邮件发出的通知。未接入外部渠道时，通知写入日志并在此显示。":
        "Notices sent by SMS, Zhejiang DingTalk, WeCom and e-mail. A channel not connected to an outside service "
        "writes its notices to the log, and they show here.",
    "渠道": "Channel", "全部渠道": "All channels", "全部状态": "All statuses", "案件": "Case",
    "发送时间": "Sent at", "接收人": "Recipient", "内容": "Text", "分页": "Pages",
    "没有符合条件的通知。": "No notices match.", "还没有发出过通知。": "No notices have been sent yet.",
    "短信": "SMS", "浙政钉": "Zhejiang DingTalk", "企业微信": "WeCom", "电子邮件": "E-mail", "日志": "Log",
    "已发送": "Sent", "当日已发同样内容，未再发": "Held back: the same text was sent today",
    "超过当日上限，未发": "Held back: today's limit reached",
    "通知记录仅限管理员查看。": "The notices sent are for administrators only.",
    # -- issue 15: display names and admin
    "用户组名称": "Group names", "共 {n} 个用户组": "{n} groups", "用户组标识": "Group id",
    "待办、办理记录、晾晒排名和导出的台账中，用户组按这里的名称显示。管理员设置的名称优先；未设置时用流程图声明的名称（groupName.* 属性）；都没有时显示用户组标识。":
        "Inboxes, audit trails, the ranking and the exported ledgers show groups by these names. A name set here "
        "wins; without one, the name the diagram declares (groupName.* properties); without either, the group id.",
    "管理员设置": "Set by an administrator", "流程图声明为「{name}」": "the diagram declares “{name}”",
    "流程图「{process}」声明": "Declared by the diagram “{process}”", "未设置名称，显示用户组标识": "No name: shown by its id",
    "成员 {n} 人": "{n} members", "用于 {n} 个流程": "used by {n} processes", "显示名称": "Display name",
    "如：政策法规处": "e.g. Policy Office", "保存": "Save", "恢复默认": "Restore default",
    "还没有用户组：部署流程或添加用户后在此命名。": "No groups yet: deploy a process or add users, then name them here.",
    "保存未完成": "Not saved", "已保存用户组名称「{name}」": "Group name “{name}” saved",
    "已清除管理员设置的名称，现显示为「{name}」": "The administrator's name was cleared; the group now reads “{name}”",
    # -- issue 15: wording, ratings and deadlines
    "剩余 1 个工作日": "1 working day left", "超期 1 个工作日": "1 working day overdue",
    "剩余 {n} 小时": "{n} hours left", "超期 {n} 小时": "{n} hours overdue",
    "剩余 1 小时": "1 hour left", "超期 1 小时": "1 hour overdue", "剩余半天": "half a day left",
    "超期半天": "half a day overdue", "剩余不足 1 小时": "under an hour left", "超期不足 1 小时": "under an hour overdue",
    # -- issue 15: letters and demo
    # -- issue 15: polish (H7)
    "管理": "Administration", "查找用户组": "Find a group", "用户组标识或名称，如 dept 或 督查": "Group id or name, e.g. dept",
    "符合条件的 {n} 个": "{n} matching", "未用于流程的用户组": "Groups no process uses", "{n} 个": "{n}",
    "没有符合条件的用户组。": "No group matches.",
    # -- issue 16: sessions and accounts
    "登录已失效，请重新登录": "You have been signed out: please sign in again",
    "登录已超时，请重新登录": "Your session timed out: please sign in again",
    "用户账号": "Accounts", "共 {n} 个账号": "{n} accounts", "姓名": "Name", "用户组": "Groups", "操作": "Actions",
    "强制下线": "Sign out everywhere", "停用": "Disable", "已停用": "Disabled", "管理员": "administrator",
    "解除锁定": "Unlock", "锁定至 {time}": "Locked until {time}",
    "解除锁定未完成": "Not unlocked", "已解除锁定「{name}」": "{name} unlocked",
    "强制下线：该用户在所有浏览器和设备上的登录立即失效，需重新登录。停用的账号不能登录。":
        "Sign out everywhere ends the person's sessions in every browser and device at once. A disabled account cannot sign in.",
    "已强制下线「{name}」：其所有登录均已失效": "{name} signed out everywhere",
    "已启用「{name}」": "{name} enabled", "已停用「{name}」：其所有登录均已失效": "{name} disabled and signed out everywhere",
    "不能停用自己的账号": "You cannot disable your own account",
    "用户账号仅限管理员管理。": "Only administrators manage accounts.", "没有这个用户。": "There is no such user.",
    # -- issue 16: the security audit
    "安全审计": "Security audit", "审计链完整：每条记录的哈希均与内容和前一条相接":
        "Audit chain intact: every record's hash matches its content and the record before it",
    "哈希算法 {alg}，保存 {days} 天": "Hash {alg}, kept {days} days",
    "审计链断裂：第一处在记录 #{id}": "Audit chain broken: first at record #{id}",
    "请保全数据库并报告安全负责人；命令行 qihu audit verify 可复核。":
        "Preserve the database and tell the security officer; `qihu audit verify` checks it again.",
    "全部操作": "All actions", "操作人": "Who", "起始日期": "From", "截止日期": "Until", "地址": "Address",
    "对象": "Target", "详情": "Detail", "时间": "Time", "第 {page} 页": "Page {page}",
    "没有符合条件的审计记录。": "No audit record matches.", "日期应为 YYYY-MM-DD": "Dates are YYYY-MM-DD",
    "安全审计仅限管理员查看。": "Only administrators read the security audit.",
    "登录失败": "Failed sign-in", "退出登录": "Sign-out", "修改密码": "Password changed",
    "创建账号": "Account created", "停用账号": "Account disabled", "启用账号": "Account enabled",
    "账号锁定": "Account locked", "修改用户组名称": "Group name changed",
    "启用流程版本": "Version activated", "异常重试": "Incident retried", "异常处理完成": "Incident resolved",
    "导出数据": "Export", "查看个人信息": "Personal data viewed", "加载工作日历": "Calendar loaded",
    "查看通知记录": "Notices viewed", "查看安全审计": "Audit viewed", "清理过期审计记录": "Retention sweep",
    # 个人信息保护 (issue 18): masked contacts, 显示完整信息, the read log
    "个人信息": "Personal data", "个人信息查看记录": "Personal data reads",
    "个人信息查看记录仅限管理员和督查人员查看。": "Only administrators and supervisors read the personal data reads.",
    "谁在何时、从哪个页面或导出查看了诉求人的个人信息，最新的在前":
        "Who read the complainant's personal data, when, from which page or export; newest first",
    "已脱敏显示": "masked", "显示完整信息": "Show in full", "完整信息，查看已记录": "in full; this read is logged",
    "查看将被记录，{n} 分钟内有效": "The read is logged; it holds for {n} minutes",
    "您无权查看此诉求的完整个人信息。": "You may not read this appeal's personal data in full.",
    "暂时无法导出": "Export unavailable", "导出记录无法保存，请稍后再试。": "The export could not be logged; try again later.",
    "受理编号或实例编号": "Tracking number or instance id", "查看人": "Reader", "诉求": "Appeal", "来源": "From",
    "字段": "Fields", "显示方式": "Shown", "完整": "in full", "脱敏": "masked", "已脱敏": "anonymised",
    "{n} 件": "{n} appeals", "没有找到该诉求。": "No such appeal.", "没有查看记录。": "No reads recorded.",
    "任务办理页": "Task page", "流程实例页": "Instance page",
    "接口": "API", "导出台账": "Ledger export", "到期脱敏": "Anonymised after the period",
    "查看个人信息完整内容": "Personal data revealed", "个人信息到期脱敏": "Personal data anonymised",
}


def current_lang():
    lang = g.get("qihu_lang")
    if lang is None:
        asked = request.args.get("lang")
        lang = asked if asked in LANGS else request.cookies.get(COOKIE)
        g.qihu_lang = lang = lang if lang in LANGS else "zh"
    return lang


def gettext(text, **values):
    if current_lang() == "en":
        text = EN.get(text, text)
    return text.format(**values) if values else text


# "中文 (English)" / "中文（English）": the engine says every message in both; a person reads one.
# A message may be compound: items separated by "; " / "；" or lines, each "label: text" pieces
# ("诉求未提交 (appeal not submitted): company: 必填 (required)", a deploy problem
# "a.bpmn:12 [Task_1]: 中文（English）；另有 2 个问题 (and 2 more)"). Each piece that ends in a
# bracketed English half is said in one language; ids, field names and file places stay.
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_OPEN, _CLOSE = "(（「『“", ")）」』”"
_ITEM_SEPS = ("; ", "；")          # independent items
_LABEL_SEPS = (": ", "：")         # a label and what it says


def _english(text):
    """Whether a bracketed text is an English half, not a name in brackets ("P&G", "Camunda"):
    lowercase English words ("required", "one of", "and 2 more", "no active user 张三")."""
    words = re.findall(r"[A-Za-z][A-Za-z'-]*", text)
    return bool(words) and (re.search(r"\b[a-z]{2,}\b", text) is not None) and (len(words) > 1 or words[0].islower())


def _split(text, seps):
    """(pieces, separators) of text at the separators outside brackets."""
    pieces, joins, depth, start, i = [], [], 0, 0, 0
    while i < len(text):
        ch = text[i]
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth = max(0, depth - 1)
        elif depth == 0:
            sep = next((s for s in seps if text.startswith(s, i)), None)
            if sep:
                pieces.append(text[start:i])
                joins.append(sep)
                i += len(sep)
                start = i
                continue
        i += 1
    pieces.append(text[start:])
    return pieces, joins


def _halves(piece):
    """(Chinese, English) of a piece that ends in a bracketed English half, else None."""
    text = piece.rstrip()
    if not text or text[-1] not in ")）":
        return None
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        if text[i] in ")）":
            depth += 1
        elif text[i] in "(（":
            depth -= 1
            if depth == 0:
                zh, en = text[:i].rstrip(), text[i + 1:-1].strip()
                return (zh, en) if _CJK.search(zh) and _english(en) else None
    return None


def _say_item(item, en):
    """One item: its "label: text" pieces, each in the reader's language; an item with no
    bilingual piece as it is. In English, the Chinese pieces just before a bilingual one are
    part of its Chinese half when its English says as many labels ("迁移失败：没有实例 x
    (migration failed: no instance x)"); otherwise they are labels of their own ("第 2 行")."""
    pieces, joins = _split(item, _LABEL_SEPS)
    said, kinds = [], []             # kind: "zh" Chinese only, "both" bilingual, "" neither
    for piece in pieces:
        halves = _halves(piece)
        kinds.append("" if halves is None and not _CJK.search(piece) else "zh" if halves is None else "both")
        if halves is None:
            said.append(piece.strip())
        else:
            said.append(_say_one(halves[1] if en else halves[0], en))
            if en:                   # drop the Chinese labels its English half repeats
                labels = len(_split(halves[1], _LABEL_SEPS)[0]) - 1
                n = len(said) - 2
                while labels and n >= 0 and kinds[n] == "zh" and said[n] is not None:
                    said[n], labels, n = None, labels - 1, n - 1
    if "both" not in kinds:
        return item
    out = []
    for n, text in enumerate(said):
        if text is None:
            continue
        if out:
            last = out[-1][-1:]
            out.append(": " if en else ("：" if _CJK.search(last) or last in _CLOSE else joins[n - 1]))
        out.append(text)
    return "".join(out)


def _say_one(text, en):
    lines = []
    for line in text.split("\n"):
        items, _ = _split(line, _ITEM_SEPS)
        lines.append(("; " if en else "；").join(_say_item(i.strip(), en) for i in items) if line.strip() else line)
    return "\n".join(lines)


_ENGLISH_PART = re.compile(r"[(（][^()（）]*[A-Za-z][^()（）]*[)）]")


def say(message, lang=None):
    """A message the engine gives in both languages, in the reader's: the Chinese part by
    default, the English part with the switch, piece by piece for compound messages; a message
    in one language as it is. `lang` overrides the request's ("zh", "en")."""
    text = str(message or "")
    if not _ENGLISH_PART.search(text):
        return text            # one language only: exactly as written (a name's spacing is its own)
    return _say_one(text, (lang or current_lang()) == "en")


def lang_url(lang):
    """The current page in another language."""
    args = request.args.to_dict(flat=False)
    args["lang"] = [lang]
    from urllib.parse import urlencode
    return f"{request.path}?{urlencode(args, doseq=True)}"


def _remember(response):
    asked = request.args.get("lang")
    if asked in LANGS:
        response.set_cookie(COOKIE, asked, max_age=3600 * 24 * 365, samesite="Lax", httponly=True)
    return response


def install(blueprint):
    """`_`, `lang` and `html_lang` in the blueprint's templates; ?lang= remembered in a cookie."""
    blueprint.add_app_template_filter(say, "say")
    blueprint.context_processor(lambda: {"_": gettext, "lang": current_lang(),
                                         "html_lang": LANGS[current_lang()], "lang_url": lang_url})
    blueprint.after_request(_remember)
