/* The modeler page (web/pages/modeler.py): bpmn-js Modeler with the properties panel
   (window.QihuModeler, web/static/vendor/modeler/), 检查 (lint), 部署为新版本 and 下载 .bpmn.
   The page's data (XML, where it came from, URLs, CSRF token, texts, language of the modeler) is in #qh-modeler-data. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("qh-modeler-data").textContent);
  var T = function (text, values) {
    var s = data.texts[text] || text;
    Object.keys(values || {}).forEach(function (k) { s = s.split("{" + k + "}").join(values[k]); });
    return s;
  };
  var result = document.getElementById("qh-modeler-result");
  var buttons = ["qh-modeler-check", "qh-modeler-deploy", "qh-modeler-download"].map(function (id) {
    return document.getElementById(id);
  });
  var modeler = window.QihuModeler.create({
    container: "#qh-modeler-canvas",
    propertiesParent: "#qh-modeler-props",
    lang: data.lang
  });
  window.qihuModeler = modeler;  // for the console and the browser tests (its translate service lists missing texts)
  var marked = [];
  var unsaved = false;           // edits not yet deployed: leaving the page asks first

  modeler.on("commandStack.changed", function () { unsaved = true; });
  window.addEventListener("beforeunload", function (e) {
    if (unsaved) { e.preventDefault(); e.returnValue = ""; }
  });

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    if (cls) { e.className = cls; }
    return e;
  }

  function show(kind, nodes) {
    result.hidden = false;
    result.className = "qh-modeler-result" + (kind ? " is-" + kind : "");
    result.setAttribute("data-state", kind || "busy");
    result.replaceChildren.apply(result, nodes);
  }

  function busy(on) {
    buttons.forEach(function (b) { b.disabled = on; });
  }

  function unmark() {
    var canvas = modeler.get("canvas");
    marked.forEach(function (m) { canvas.removeMarker(m[0], m[1]); });
    marked = [];
  }

  function select(id) {
    var element = modeler.get("elementRegistry").get(id);
    if (!element) { return; }
    modeler.get("selection").select(element);
    modeler.get("canvas").scrollToElement(element);
  }

  // Every problem with where it is; a row whose element is drawn selects it when clicked.
  // warning: what deploys but needs an eye (a user task naming nobody …): its own table and
  // marker, so it never reads as a refusal.
  function problemTable(problems, warning) {
    var registry = modeler.get("elementRegistry"), canvas = modeler.get("canvas");
    var marker = warning ? "qh-warning" : "qh-problem";
    var table = el("table", null, "qh-table " + (warning ? "qh-modeler-warnings" : "qh-modeler-problems"));
    var head = el("tr");
    [T("文件"), T("行"), T("元素"), warning ? T("警告") : T("问题")].forEach(function (h) { head.appendChild(el("th", h)); });
    table.appendChild(el("thead")).appendChild(head);
    var body = table.appendChild(el("tbody"));
    problems.forEach(function (p) {
      var row = el("tr", null, warning ? "is-warning" : null);
      row.setAttribute("data-element", p.element || "");
      [p.file || "—", p.line || "—", p.element || "—", p.message].forEach(function (v) {
        row.appendChild(el("td", v));
      });
      if (p.element && registry.get(p.element)) {
        row.classList.add("is-link");
        row.tabIndex = 0;
        row.addEventListener("click", function () { select(p.element); });
        row.addEventListener("keydown", function (e) { if (e.key === "Enter") { select(p.element); } });
        if (!canvas.hasMarker(p.element, marker)) { canvas.addMarker(p.element, marker); marked.push([p.element, marker]); }
      }
      body.appendChild(row);
    });
    return table;
  }

  function fileName() {
    if (data.base) { return data.file; }
    var process = (modeler.getDefinitions().rootElements || []).filter(function (e) {
      return e.$type === "bpmn:Process";
    })[0];
    return ((process && process.id) || "diagram") + ".bpmn";
  }

  function post(url, payload) {
    return modeler.saveXML({ format: true }).then(function (saved) {
      payload.xml = saved.xml;
      payload.base = data.base;
      payload.file = fileName();
      return fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": data.csrf },
        body: JSON.stringify(payload)
      });
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        return { status: response.status, body: body };
      });
    });
  }

  function failed(error) {
    show("bad", [el("p", T("请求失败") + "：" + (error && error.message ? error.message : error))]);
  }

  // The deploy warnings of a check or deploy answer, after what it says (nothing when none).
  function warnings(body) {
    var list = (body && body.warnings) || [];
    if (!list.length) { return []; }
    return [el("p", T("有 {n} 个警告（不影响部署，请留意）：", { n: list.length }), "qh-modeler-warnhead"),
      problemTable(list, true)];
  }

  function refused(r) {
    return r.body.error || (T("请求失败") + " (HTTP " + r.status + ")");
  }

  document.getElementById("qh-modeler-check").addEventListener("click", function () {
    busy(true);
    unmark();
    show(null, [el("p", T("正在检查…"))]);
    post(data.checkUrl, {}).then(function (r) {
      if (r.status !== 200) { show("bad", [el("p", refused(r))]); return; }
      if (r.body.ok && (r.body.warnings || []).length) {
        show("warn", [el("p", T("检查通过，可以部署。"))].concat(warnings(r.body)));
        return;
      }
      if (r.body.ok) { show("ok", [el("p", T("检查通过，没有发现问题。"))]); return; }
      show("bad", [el("p", T("发现 {n} 个问题：", { n: r.body.problems.length })),
        el("p", T("点击问题可在图中选中该元素。"), "qh-muted"), problemTable(r.body.problems)]);
    }).catch(failed).then(function () { busy(false); });
  });

  document.getElementById("qh-modeler-deploy").addEventListener("click", function () {
    busy(true);
    unmark();
    show(null, [el("p", T("正在部署…"))]);
    post(data.deployUrl, {
      activate: document.getElementById("qh-modeler-activate").value === "1",
      name: document.getElementById("qh-modeler-name").value
    }).then(function (r) {
      if (r.status === 201 || r.status === 200) {
        unsaved = false;
        var p = el("p", r.body.message + " ");
        var link = el("a", T("查看版本"));
        link.href = r.body.versions_url;
        p.appendChild(link);
        show((r.body.warnings || []).length ? "warn" : "ok", [p].concat(warnings(r.body)));
      } else if (r.status === 422 && r.body.problems) {
        show("bad", [el("p", T("部署未完成，没有保存任何文件。请修改以下问题后重新部署：")),
          el("p", T("点击问题可在图中选中该元素。"), "qh-muted"), problemTable(r.body.problems)]);
      } else {
        show("bad", [el("p", refused(r))]);
      }
    }).catch(failed).then(function () { busy(false); });
  });

  document.getElementById("qh-modeler-download").addEventListener("click", function () {
    modeler.saveXML({ format: true }).then(function (saved) {
      var a = el("a");
      a.href = URL.createObjectURL(new Blob([saved.xml], { type: "application/xml" }));
      a.download = fileName();
      document.body.appendChild(a);
      a.click();
      setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 0);
    }).catch(failed);
  });

  busy(true);
  modeler.importXML(data.xml).then(function (r) {
    modeler.get("canvas").zoom("fit-viewport");
    document.getElementById("qh-modeler-canvas").setAttribute("data-ready", "1");
    if (r.warnings && r.warnings.length) {
      show("bad", [el("p", T("打开流程图时有警告") + "：" + r.warnings.map(function (w) { return w.message; }).join("；"))]);
    }
    busy(false);
  }).catch(function (error) {
    show("bad", [el("p", T("流程图无法打开") + "：" + error.message)]);
  });
}());
