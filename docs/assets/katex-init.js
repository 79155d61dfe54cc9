// Typeset the math that pymdownx.arithmatex (generic mode) leaves in the page:
// <span class="arithmatex">\(...\)</span> inline, <div class="arithmatex">\[...\]</div>
// display. KaTeX itself is served from the site (docs/assets/katex/), so the docs
// render offline. A formula KaTeX cannot parse is shown in red (class katex-error)
// rather than breaking the page; tests/test_docs_site.py fails on any.
(function () {
  function typeset(root) {
    root.querySelectorAll(".arithmatex").forEach(function (el) {
      if (el.dataset.typeset) return;
      var tex = el.textContent.trim();
      var display = el.tagName === "DIV";
      var m = tex.match(display ? /^\\\[([\s\S]*)\\\]$/ : /^\\\(([\s\S]*)\\\)$/);
      if (m) tex = m[1];
      katex.render(tex, el, { displayMode: display, throwOnError: false });
      el.dataset.typeset = "1";
    });
  }
  if (typeof document$ !== "undefined") {
    // Material's observable of page loads (also fires on instant navigation).
    document$.subscribe(function () { typeset(document.body); });
  } else {
    document.addEventListener("DOMContentLoaded", function () { typeset(document.body); });
  }
})();
