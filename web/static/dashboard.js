/* The trend charts of the 晾晒评价 dashboard, drawn with the vendored ECharts
   (web/static/vendor/echarts). The figures come from the page itself (a JSON script element
   written by web/pages/dashboard.py): no inline script, no extra request. */
(function () {
  "use strict";

  function percent(v) { return v === null || v === undefined ? null : Math.round(v * 1000) / 10; }

  function draw() {
    var source = document.getElementById("qh-dashboard-data");
    var volume = document.getElementById("qh-chart-volume");
    var rates = document.getElementById("qh-chart-rates");
    if (!source || !volume || !rates) { return; }
    if (!window.echarts) {
      document.querySelector("[data-chart-error]").hidden = false;
      return;
    }
    var data = JSON.parse(source.textContent);
    var t = data.trend, label = data.labels;
    var font = { fontFamily: getComputedStyle(document.body).fontFamily };
    var charts = [];

    var bars = window.echarts.init(volume, null, { renderer: "canvas" });
    bars.setOption({
      textStyle: font, color: ["#1d4ed8", "#1f8a4c", "#b3261e"],
      tooltip: { trigger: "axis" }, legend: { top: 0 },
      grid: { left: 40, right: 16, top: 40, bottom: 30 },
      xAxis: { type: "category", data: t.months },
      yAxis: { type: "value", name: label.count, minInterval: 1 },
      series: ["accepted", "closed", "solved"].map(function (k) {
        return { name: label[k], type: "bar", data: t[k], barMaxWidth: 18 };
      })
    });
    charts.push(bars);

    var lines = window.echarts.init(rates, null, { renderer: "canvas" });
    var keys = ["closed_rate", "solved_rate", "late_rate", "sign_rate", "return_rate", "satisfaction_rate"];
    lines.setOption({
      textStyle: font, color: ["#1d4ed8", "#1f8a4c", "#c2410c", "#7c3aed", "#b91c1c", "#0891b2"],
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v === null || v === undefined ? "—" : v + "%"; } },
      legend: { top: 0 }, grid: { left: 44, right: 16, top: 56, bottom: 30 },
      xAxis: { type: "category", data: t.months },
      yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
      series: keys.map(function (k) {
        return { name: label[k], type: "line", data: t[k].map(percent), connectNulls: false, symbolSize: 6 };
      })
    });
    charts.push(lines);

    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
    document.body.setAttribute("data-charts-ready", String(charts.length));
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
