// zh-CN texts of the modeler: keys are the English templates bpmn-js, diagram-js and the
// properties panel (BPMN + Camunda 7 provider) pass to the `translate` service; a text not
// listed here stays English. Camunda terms that designers look up in the Camunda 7 docs keep the
// English term in brackets (主题（Topic）), so the docs and the BPMN XML stay recognisable.

// BPMN element names, built from parts: the popup menus say "Message start event
// (non-interrupting)", the properties panel header says "Message Start Event (Non Interrupting)".
const EVENT_KINDS = {
  'Start Event': '开始事件', 'End Event': '结束事件', 'Boundary Event': '边界事件',
  'Intermediate Catch Event': '中间捕获事件', 'Intermediate Throw Event': '中间抛出事件'
};
const EVENT_TRIGGERS = {
  '': '', 'Message ': '消息', 'Timer ': '定时器', 'Conditional ': '条件', 'Signal ': '信号', 'Error ': '错误',
  'Escalation ': '升级', 'Compensation ': '补偿', 'Compensate ': '补偿', 'Link ': '链接', 'Cancel ': '取消',
  'Terminate ': '终止', 'Multiple ': '多重', 'Parallel Multiple ': '并行多重'
};
const sentenceCase = (s) => s.charAt(0) + s.slice(1).toLowerCase();

function eventNames() {
  const names = {};
  for (const [trigger, zhTrigger] of Object.entries(EVENT_TRIGGERS)) {
    for (const [kind, zhKind] of Object.entries(EVENT_KINDS)) {
      const zh = zhTrigger + zhKind;
      names[trigger + kind] = zh;                                     // Message Start Event
      names[trigger + kind + ' (Non Interrupting)'] = zh + '（非中断）';
      const popup = sentenceCase(trigger + kind);                     // Message start event
      names[popup] = zh;
      names[popup + ' (non-interrupting)'] = zh + '（非中断）';
    }
  }
  return names;
}

const ELEMENTS = {
  // popup menus (sentence case) and the properties panel header (title case)
  'Task': '任务', 'User task': '用户任务', 'Service task': '服务任务', 'Send task': '发送任务',
  'Receive task': '接收任务', 'Manual task': '人工任务', 'Business rule task': '业务规则任务',
  'Script task': '脚本任务', 'Call activity': '调用活动', 'Transaction': '事务',
  'Event sub-process': '事件子流程', 'Sub-process': '子流程', 'Sub-process (collapsed)': '子流程（折叠）',
  'Sub-process (expanded)': '子流程（展开）', 'Ad-hoc sub-process': '自由子流程（Ad-hoc）',
  'Ad-hoc sub-process (collapsed)': '自由子流程（Ad-hoc，折叠）', 'Ad-hoc sub-process (expanded)': '自由子流程（Ad-hoc，展开）',
  'Exclusive gateway': '排他网关', 'Parallel gateway': '并行网关', 'Inclusive gateway': '包容网关',
  'Complex gateway': '复杂网关', 'Event-based gateway': '事件网关',
  'Event based instantiating Gateway': '事件网关（实例化）', 'Parallel Event based instantiating Gateway': '并行事件网关（实例化）',
  'Data store reference': '数据存储', 'Data object reference': '数据对象',
  'Expanded pool/participant': '池/参与者（展开）', 'Empty pool/participant': '池/参与者（空）',
  'Empty pool/participant (removes content)': '池/参与者（空，会移除其中内容）',
  'Sequence flow': '顺序流', 'Default flow': '默认流', 'Conditional flow': '条件流',
  'User Task': '用户任务', 'Service Task': '服务任务', 'Send Task': '发送任务', 'Receive Task': '接收任务',
  'Manual Task': '人工任务', 'Business Rule Task': '业务规则任务', 'Script Task': '脚本任务',
  'Call Activity': '调用活动', 'Sub Process': '子流程', 'Expanded Sub Process': '子流程（展开）',
  'Collapsed Sub Process': '子流程（折叠）', 'Event Sub Process': '事件子流程', 'Ad Hoc Sub Process': '自由子流程（Ad-hoc）',
  'Expanded Ad Hoc Sub Process': '自由子流程（Ad-hoc，展开）', 'Collapsed Ad Hoc Sub Process': '自由子流程（Ad-hoc，折叠）',
  'Exclusive Gateway': '排他网关', 'Parallel Gateway': '并行网关', 'Inclusive Gateway': '包容网关',
  'Complex Gateway': '复杂网关', 'Event Based Gateway': '事件网关', 'Sequence Flow': '顺序流',
  'Default Flow': '默认流', 'Conditional Flow': '条件流', 'Message Flow': '消息流', 'Association': '关联',
  'Data Input Association': '数据输入关联', 'Data Output Association': '数据输出关联',
  'Data Object Reference': '数据对象', 'Data Store Reference': '数据存储', 'Text Annotation': '文本注释',
  'Group': '分组', 'Process': '流程', 'Collaboration': '协作', 'Participant': '参与者（池）', 'Lane': '泳道'
};

const CANVAS = {
  // palette
  'Activate hand tool': '抓手工具（拖动画布）', 'Activate lasso tool': '套索工具（框选）',
  'Activate create/remove space tool': '插入/删除空间工具', 'Activate global connect tool': '全局连线工具',
  'Create start event': '创建开始事件', 'Create intermediate/boundary event': '创建中间/边界事件',
  'Create end event': '创建结束事件', 'Create gateway': '创建网关', 'Create task': '创建任务',
  'Create data object reference': '创建数据对象', 'Create data store reference': '创建数据存储',
  'Create expanded sub-process': '创建子流程（展开）', 'Create pool/participant': '创建池/参与者',
  'Create group': '创建分组',
  // context pad
  'Delete': '删除', 'Add lane above': '在上方添加泳道', 'Divide into two lanes': '拆分为两条泳道',
  'Divide into three lanes': '拆分为三条泳道', 'Add lane below': '在下方添加泳道',
  'Append receive task': '追加接收任务', 'Append message intermediate catch event': '追加消息中间捕获事件',
  'Append timer intermediate catch event': '追加定时器中间捕获事件',
  'Append conditional intermediate catch event': '追加条件中间捕获事件',
  'Append signal intermediate catch event': '追加信号中间捕获事件',
  'Append compensation activity': '追加补偿活动', 'Append end event': '追加结束事件',
  'Append gateway': '追加网关', 'Append task': '追加任务', 'Append intermediate/boundary event': '追加中间/边界事件',
  'Change element': '更改元素类型', 'Add text annotation': '添加文本注释', 'Connect to other element': '连接到其他元素',
  'Connect using association': '用关联连接', 'Connect using data input association': '用数据输入关联连接',
  'Align elements': '对齐元素', 'Align elements left': '左对齐', 'Align elements center': '水平居中对齐',
  'Align elements right': '右对齐', 'Align elements top': '顶端对齐', 'Align elements middle': '垂直居中对齐',
  'Align elements bottom': '底端对齐', 'Distribute elements horizontally': '水平等距分布',
  'Distribute elements vertically': '垂直等距分布', 'Open {element}': '打开 {element}',
  // replace menu headers
  'Parallel multi-instance': '并行多实例', 'Sequential multi-instance': '串行多实例', 'Loop': '循环',
  'Collection': '集合', 'Participant multiplicity': '参与者多重性', 'Toggle non-interrupting': '切换中断/非中断',
  'Search in diagram': '在流程图中搜索',
  'flow elements must be children of pools/participants': '流程元素必须放在池/参与者之内',
  'Data object must be placed within a pool/participant.': '数据对象必须放在池/参与者之内。'
};

const PANEL = {
  // frame of the panel
  'Select an element to edit its properties.': '请选择一个元素以编辑其属性。',
  'Multiple elements are selected. Select a single element to edit its properties.': '已选中多个元素，请只选择一个元素以编辑其属性。',
  'Open documentation': '打开文档', 'Toggle section': '展开/收起', 'Section contains an error': '此部分有错误',
  'Section contains edits': '此部分有修改', 'Toggle list item': '展开/收起此项', 'Delete item': '删除此项',
  'Create new list item': '新增一项', 'Create': '新增', 'List contains {numOfItems} item': '共 {numOfItems} 项',
  'List contains {numOfItems} items': '共 {numOfItems} 项', 'Open pop-up editor': '在弹出编辑器中打开',
  'Opened in editor': '已在编辑器中打开', 'FEEL expression is mandatory': '必须填写 FEEL 表达式',
  'Unparsable FEEL expression.': '无法解析的 FEEL 表达式。', '<empty>': '<空>', '<none>': '<无>', ' or ': ' 或 ',
  'Create new ...': '新建…',
  // groups
  'General': '常规', 'Documentation': '文档说明', 'User assignment': '办理人分配', 'Forms': '表单',
  'Form fields': '表单字段', 'Inputs': '输入参数', 'Outputs': '输出参数', 'Implementation': '实现方式',
  'External task': '外部任务（External task）', 'Asynchronous continuations': '异步延续（Async）',
  'Job execution': '作业执行（Job）', 'Extension properties': '扩展属性', 'Execution listeners': '执行监听器',
  'Task listeners': '任务监听器', 'Timer': '定时器', 'Message': '消息', 'Signal': '信号', 'Error': '错误',
  'Errors': '错误', 'Escalation': '升级', 'Link': '链接', 'Compensation': '补偿', 'Condition': '条件',
  'Multi-instance': '多实例', 'Completion': '完成', 'Start initiator': '发起人变量', 'Candidate starter': '可发起者',
  'Field injections': '字段注入', 'History cleanup': '历史清理', 'Tasklist': '任务列表（Tasklist）',
  'In mappings': '传入变量映射（In）', 'In mapping propagation': '传入变量传递', 'Out mappings': '传出变量映射（Out）',
  'Out mapping propagation': '传出变量传递', 'Process variables': '流程变量', 'Connector inputs': '连接器输入',
  'Connector outputs': '连接器输出', 'Called element': '被调用元素', 'Script': '脚本', 'Form': '表单',
  'Assignment': '分配', 'Input mapping': '输入映射', 'Output mapping': '输出映射',
  // general
  'Name': '名称', 'ID': 'ID', 'Participant ID': '参与者 ID', 'Participant Name': '参与者名称',
  'Process name': '流程名称', 'Process ID': '流程 ID', 'Executable': '可执行', 'Version tag': '版本标签（Version tag）',
  'Element documentation': '元素说明', 'Process documentation': '流程说明',
  'ID must not be empty.': 'ID 不能为空。', 'ID must be unique.': 'ID 必须唯一。',
  'ID must not contain spaces.': 'ID 不能包含空格。', 'ID must not contain prefix.': 'ID 不能包含前缀。',
  'ID must be a valid QName.': 'ID 必须是有效的 QName（以字母或下划线开头）。',
  'Startable': '可在任务列表中发起', 'Time to live': '保留时间（Time to live）',
  'Candidate starter groups': '可发起组', 'Candidate starter users': '可发起用户',
  'Specify more than one group as a comma separated list.': '多个组用英文逗号分隔。',
  'Specify more than one user as a comma separated list.': '多个用户用英文逗号分隔。', 'Initiator': '发起人变量名',
  // user task
  'Assignee': '办理人（Assignee）', 'Candidate groups': '候选组', 'Candidate users': '候选用户',
  'Due date': '截止日期（Due date）', 'Follow up date': '跟进日期（Follow up date）', 'Priority': '优先级',
  'The due date as an EL expression (e.g. ${someDate}) or an ISO date (e.g. 2015-06-26T09:54:00).':
    '截止日期：EL 表达式（如 ${someDate}）或 ISO 日期（如 2015-06-26T09:54:00）。',
  'The follow up date as an EL expression (e.g. ${someDate}) or an ISO date (e.g. 2015-06-26T09:54:00).':
    '跟进日期：EL 表达式（如 ${someDate}）或 ISO 日期（如 2015-06-26T09:54:00）。',
  // forms
  'Type': '类型', 'Form key': '表单键（Form key）', 'Form reference': '表单引用（Form ref）',
  'Camunda Forms': 'Camunda 表单', 'Embedded or External Task Forms': '内嵌或外部任务表单（Form key）',
  'Generated Task Forms': '生成的任务表单（表单字段）', 'Binding': '绑定方式（Binding）', 'Version': '版本',
  'string': 'string（字符串）', 'long': 'long（整数）', 'boolean': 'boolean（是/否）', 'date': 'date（日期）',
  'enum': 'enum（选项）', 'Label': '标签', 'Default value': '默认值', 'Values': '选项值', 'Constraints': '约束', 'Properties': '属性',
  'Config': '配置', 'Custom type': '自定义类型', '<custom type>': '<自定义类型>', 'Refers to the process variable name': '对应的流程变量名',
  'latest': 'latest（最新版本）', 'deployment': 'deployment（同一部署）', 'version': 'version（指定版本）',
  'versionTag': 'versionTag（版本标签）', 'version tag': 'versionTag（版本标签）',
  // implementation (service / send / business rule tasks, message and escalation events)
  'Implementation type': '实现类型', 'Java class': 'Java 类', 'Expression': '表达式',
  'Delegate expression': '委托表达式（Delegate expression）', 'DMN': 'DMN 决策表', 'External': '外部任务（External）',
  'Connector': '连接器（Connector）', 'Topic': '主题（Topic）', 'Connector ID': '连接器 ID', 'Result variable': '结果变量',
  'Decision reference': '决策引用（Decision ref）', 'Map decision result': '决策结果映射',
  // the options of 决策结果映射 are Camunda's names with their Java types: kept as they are
  'collectEntries (List<Object>)': 'collectEntries (List<Object>)', 'singleEntry (TypedValue)': 'singleEntry (TypedValue)',
  'resultList (List<Map<String, Object>>)': 'resultList (List<Map<String, Object>>)',
  'singleResult (Map<String, Object>)': 'singleResult (Map<String, Object>)', 'Tenant ID': '租户 ID',
  'Retries': '重试次数', 'Retry time cycle': '重试间隔（Retry time cycle）', 'Class': '类', 'Delegate Expression': '委托表达式',
  'Delegate Class': '委托类', 'Delegate Variable Mapping': '委托变量映射', 'Case ref': 'Case 引用', 'CMMN': 'CMMN',
  'BPMN': 'BPMN', 'Business key': '业务编号（Business key）', 'Business key expression': '业务编号表达式',
  'Throw expression': '抛出表达式', 'Code variable': '代码变量', 'Message variable': '消息变量',
  'Define the name of the variable that will contain the error code.': '存放错误代码的变量名。',
  'Define the name of the variable that will contain the error message.': '存放错误消息的变量名。',
  'Define the name of the variable that will contain the escalation code.': '存放升级代码的变量名。',
  // inputs / outputs, in / out mappings, extension properties
  'Local variable name': '局部变量名', 'Process variable name': '流程变量名', 'Assignment type': '赋值类型',
  'Value': '值', 'List values': '列表值', 'Map entries': '映射条目', 'Map': '映射（Map）', 'List': '列表（List）',
  'String or expression': '字符串或表达式', 'String': '字符串', 'Key': '键',
  'Start typing "${}" to create an expression.': '输入 "${}" 即可写表达式。',
  'Variable assignment value': '变量赋值', 'Local': '局部（local）', 'Source': '来源变量（Source）',
  'Source expression': '来源表达式', 'Target': '目标变量（Target）', 'Propagate all variables': '传递全部变量',
  'Variable name': '变量名', 'Variable names': '变量名', 'Variable events': '变量事件',
  'Script type': '脚本类型', 'Format': '格式', 'Inline script': '内联脚本', 'External resource': '外部资源',
  'Resource': '资源',
  // timers
  'Date': '日期（Date）', 'Duration': '持续时间（Duration）', 'Cycle': '循环（Cycle）',
  'A specific point in time defined as ISO 8601 combined date and time representation.': '某个时间点，用 ISO 8601 日期时间表示。',
  'A cycle defined as ISO 8601 repeating intervals format.': '循环，用 ISO 8601 重复间隔格式表示。',
  'A cycle defined as ISO 8601 repeating intervals format, or a cron expression.': '循环，用 ISO 8601 重复间隔格式或 cron 表达式表示。',
  'A time duration defined as ISO 8601 durations format.': '一段时长，用 ISO 8601 时长格式表示。',
  'UTC time': 'UTC 时间', 'UTC plus 2 hours zone offset': 'UTC+2 时区', 'every 10 seconds, up to 5 times': '每 10 秒一次，最多 5 次',
  'every day, infinitely': '每天一次，无限循环', '15 seconds': '15 秒', '1 hour and 30 minutes': '1 小时 30 分',
  '14 days': '14 天', 'every hour on the hour from 9-5 p.m. UTC Monday-Friday': '周一至周五 9 点至 17 点（UTC）每个整点', 'Documentation: Timer events': '文档：定时器事件', 'Timer documentation': '定时器文档',
  'How to configure a timer': '如何配置定时器',
  // messages, signals, errors, escalations
  'Global message reference': '全局消息引用', 'Global signal reference': '全局信号引用',
  'Global error reference': '全局错误引用', 'Global escalation reference': '全局升级引用', 'Code': '代码',
  // conditions
  'Condition expression': '条件表达式', 'Condition Expression': '条件表达式',
  'List of process variable names that trigger the condition evaluation.': '触发条件计算的流程变量名列表。',
  'Specify more than one variable change event as a comma separated list. Variable change events are:':
    '多个变量变化事件用英文逗号分隔。变量变化事件有：',
  'Documentation: Variable events': '文档：变量事件',
  // multi-instance, call activity
  'Loop cardinality': '循环次数', 'Completion condition': '完成条件', 'Element variable': '元素变量',
  'Before': '之前（asyncBefore）', 'After': '之后（asyncAfter）',
  'Asynchronous before': '之前异步（asyncBefore）', 'Asynchronous after': '之后异步（asyncAfter）', 'Exclusive': '排他（exclusive）',
  'Activity reference': '活动引用', 'Called decision': '被调用决策', 'Decision ID': '决策 ID',
  'Propagate all parent process variables': '传递父流程的全部变量', 'Propagate all child process variables': '传递子流程的全部变量',
  'On': '开', 'Off': '关',
  'If turned on, all variables from the parent process instance will be propagated to the child process instance.':
    '开启后，父流程实例的全部变量都传给子流程实例。',
  'Otherwise, only variables defined via input mappings will be propagated.': '否则只传递输入映射中定义的变量。',
  'If turned on, all variables from the child process instance will be propagated to the parent process instance.':
    '开启后，子流程实例的全部变量都传回父流程实例。',
  'Otherwise, only variables defined via output mappings will be propagated.': '否则只传回输出映射中定义的变量。',
  'This maps to the process definition key.': '对应流程定义的 key。', 'Scope': '作用域', 'Created in': '创建于',
  // listeners
  'Listener type': '监听器类型', 'Event type': '事件类型', 'Listener ID': '监听器 ID', 'Field injection': '字段注入',
  '{eventType}: {type}': '{eventType}：{type}',
  'Start': '开始（start）', 'End': '结束（end）', 'Take': '经过（take）', 'Complete': '完成（complete）',
  'Timeout': '超时（timeout）', 'Update': '更新（update）',
  'start': '开始（start）', 'end': '结束（end）', 'take': '经过（take）', 'create': '创建（create）',
  'assignment': '分配（assignment）', 'complete': '完成（complete）', 'delete': '删除（delete）',
  'update': '更新（update）', 'timeout': '超时（timeout）'
};

export default { ...eventNames(), ...ELEMENTS, ...CANVAS, ...PANEL };
