// 异常处理 (web/pages/incidents.py): "全选" ticks every retryable incident for 批量重试.
document.addEventListener("DOMContentLoaded", function () {
  var all = document.querySelector("[data-select-all]");
  if (!all) return;
  all.addEventListener("change", function () {
    document.querySelectorAll('input[name="incident"][form="qh-bulk"]').forEach(function (box) {
      box.checked = all.checked;
    });
  });
});
