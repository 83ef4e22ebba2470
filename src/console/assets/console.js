// 12345 派单控制台. Served from /assets/console.js (the Content-Security-Policy allows no inline
// script). The pages work without it; it adds conveniences only.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // 复制链接: the permanent link of a try, as an absolute URL.
  var copy = document.getElementById("copy-link");
  if (copy) {
    copy.addEventListener("click", function () {
      var url = new URL(copy.getAttribute("data-href"), window.location.href).href;
      var done = function () { copy.textContent = "已复制"; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(url).then(done, function () { window.prompt("复制此链接：", url); });
      } else {
        window.prompt("复制此链接：", url);
      }
    });
  }
  // Ctrl+Enter (or ⌘+Enter) in the request text submits the form.
  var text = document.getElementById("text");
  if (text && text.form) {
    text.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { text.form.requestSubmit(); }
    });
  }
  // Clicking a highlighted span shows which rule term it is (the title attribute) below the text.
  var shown = document.getElementById("request-text");
  if (shown) {
    var note = document.createElement("p");
    note.className = "hint";
    note.id = "mark-note";
    shown.after(note);
    shown.addEventListener("click", function (e) {
      var m = e.target.closest("mark");
      if (m) { note.textContent = "第 " + m.dataset.start + "–" + m.dataset.end + " 字：" + m.title; }
    });
  }
});

// A request too long for a URL (the server takes request lines up to 64 KiB) is posted instead:
// it is routed the same, without a permanent link. Kept in step with MAX_LINK_BYTES in pages.rs.
document.addEventListener("submit", function (e) {
  var form = e.target;
  if (form.id !== "try-form") { return; }
  var query = new URLSearchParams(new FormData(form)).toString();
  form.method = query.length > 60000 ? "post" : "get";
});
