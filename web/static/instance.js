/* The instance page's diagram: fetch diagram.json, draw it with the bpmn-js NavigatedViewer
   (web/static/vendor/bpmn-js) and mark what ran and where the tokens are. No inline script:
   everything this needs is in data- attributes of #qh-diagram.

   After drawing, #qh-diagram gets data-state="ready" (or "error" / "no-diagram") and
   window.qihuDiagram = {viewer, warnings, data} for tests. */
(function () {
  "use strict";

  var MARKERS = [["completed", "qh-done"], ["waiting", "qh-waiting"], ["active", "qh-active"]];

  function message(box, text, state) {
    box.textContent = "";
    var p = document.createElement("p");
    p.className = "qh-diagram-msg";
    p.textContent = text;
    box.appendChild(p);
    box.setAttribute("data-state", state);
  }

  function mark(viewer, data) {
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    var marked = {};
    function add(id, cls) {
      if (!registry.get(id)) { return; }     // e.g. a step of a process called from another file
      canvas.addMarker(id, cls);
      (marked[cls] = marked[cls] || []).push(id);
    }
    MARKERS.forEach(function (pair) {
      (data[pair[0]] || []).forEach(function (id) { add(id, pair[1]); });
    });
    (data.incidents || []).forEach(function (i) { if (i.element_id) { add(i.element_id, "qh-incident"); } });
    return marked;
  }

  function fitHeight(box, canvas) {
    // As tall as the diagram needs at the box's width (no empty bands), within reason.
    var inner = canvas.viewbox().inner;
    if (inner && inner.width > 0) {
      var want = box.clientWidth * inner.height / inner.width + 48;
      box.style.height = Math.round(Math.max(320, Math.min(640, want))) + "px";
      canvas.resized();
    }
    canvas.zoom("fit-viewport", "auto");
  }

  function focus(viewer, ids) {
    // Centre the current steps at a readable scale (wide diagrams are tiny when fitted).
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    var shapes = ids.map(function (id) { return registry.get(id); })
      .filter(function (e) { return e && e.width !== undefined && !e.waypoints; });
    if (!shapes.length) { canvas.zoom("fit-viewport", "auto"); return; }
    var x0 = Math.min.apply(null, shapes.map(function (e) { return e.x; }));
    var y0 = Math.min.apply(null, shapes.map(function (e) { return e.y; }));
    var x1 = Math.max.apply(null, shapes.map(function (e) { return e.x + e.width; }));
    var y1 = Math.max.apply(null, shapes.map(function (e) { return e.y + e.height; }));
    var size = canvas.getSize();
    var scale = Math.min(1, size.width / (x1 - x0 + 240), size.height / (y1 - y0 + 160));
    var w = size.width / scale, h = size.height / scale;
    canvas.viewbox({ x: (x0 + x1) / 2 - w / 2, y: (y0 + y1) / 2 - h / 2, width: w, height: h });
  }

  function zoomButtons(viewer, data) {
    var canvas = viewer.get("canvas");
    document.querySelectorAll("[data-zoom]").forEach(function (button) {
      button.addEventListener("click", function () {
        var how = button.getAttribute("data-zoom");
        if (how === "fit") {
          canvas.zoom("fit-viewport", "auto");
        } else if (how === "focus") {
          focus(viewer, (data.active || []).concat((data.incidents || []).map(function (i) { return i.element_id; })));
        } else {
          canvas.zoom(canvas.zoom() * (how === "in" ? 1.25 : 0.8));
        }
      });
    });
  }

  function draw(box, data) {
    if (!data.has_diagram) {
      message(box, box.getAttribute("data-msg-nodi"), "no-diagram");
      return Promise.resolve();
    }
    box.textContent = "";
    var viewer = new window.BpmnJS({ container: box });
    return viewer.importXML(data.xml).then(function (result) {
      var warnings = (result && result.warnings) || [];
      var marked = mark(viewer, data);
      fitHeight(box, viewer.get("canvas"));
      zoomButtons(viewer, data);
      window.qihuDiagram = {
        viewer: viewer, data: data, marked: marked,
        warnings: warnings.map(function (w) { return String(w.message || w); })
      };
      box.setAttribute("data-warnings", String(warnings.length));
      box.setAttribute("data-state", "ready");
    });
  }

  function start() {
    var box = document.getElementById("qh-diagram");
    if (!box) { return; }
    var failed = function (err) {
      window.qihuDiagram = { error: String((err && err.message) || err) };
      message(box, box.getAttribute("data-msg-error"), "error");
    };
    if (typeof window.BpmnJS !== "function") { failed(new Error("bpmn-js is not loaded")); return; }
    fetch(box.getAttribute("data-src"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) { throw new Error("diagram.json: HTTP " + r.status); }
        return r.json();
      })
      .then(function (data) { return draw(box, data); })
      .catch(failed);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
