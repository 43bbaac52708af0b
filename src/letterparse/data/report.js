/* letterparse report: sortable tables, table search, open the <details> a link points into.
   No network, no libraries: the site works from file://. */
(function () {
  "use strict";

  function sortKey(row, i) {
    var cell = row.cells[i];
    if (!cell) return null;
    var v = cell.hasAttribute("data-value") ? cell.getAttribute("data-value") : cell.textContent.trim();
    if (v === "") return null;
    var num = Number(v);
    return isNaN(num) ? v.toLowerCase() : num;
  }

  function compare(x, y) {
    if (typeof x === typeof y) {
      if (typeof x === "number") return x - y;
      return x.localeCompare(y);
    }
    return typeof x === "number" ? -1 : 1; // numbers before text
  }

  function sortBy(table, th) {
    var i = Array.prototype.indexOf.call(th.parentNode.cells, th);
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("thead th").forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows).map(function (row, k) {
      return { row: row, key: sortKey(row, i), k: k };
    });
    rows.sort(function (a, b) {
      if (a.key === null || b.key === null) {  // empty cells last, either way
        return (a.key === null) - (b.key === null) || a.k - b.k;
      }
      var c = compare(a.key, b.key);
      return (ascending ? c : -c) || a.k - b.k;
    });
    rows.forEach(function (r) { body.appendChild(r.row); });
  }

  function filter(input) {
    var table = document.getElementById(input.getAttribute("data-table"));
    if (!table) return;
    var q = input.value.trim().toLowerCase();
    var shown = 0, rows = table.tBodies[0].rows;
    for (var i = 0; i < rows.length; i++) {
      var hide = q !== "" && rows[i].textContent.toLowerCase().indexOf(q) < 0;
      rows[i].hidden = hide;
      if (!hide) shown++;
    }
    var status = input.parentNode.parentNode.querySelector(".shown");
    if (status) status.textContent = q ? shown + " of " + rows.length + " shown" : "";
  }

  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id && document.getElementById(id);
    if (!el) return;
    for (var d = el; d; d = d.parentElement) {
      if (d.tagName === "DETAILS") d.open = true;
    }
    el.scrollIntoView();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("table.sortable").forEach(function (table) {
      table.querySelectorAll("thead th").forEach(function (th) {
        th.addEventListener("click", function () { sortBy(table, th); });
        th.addEventListener("keydown", function (e) {
          if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(table, th); }
        });
      });
    });
    document.querySelectorAll("input.filter").forEach(function (input) {
      input.addEventListener("input", function () { filter(input); });
      if (input.value) filter(input);
    });
    window.addEventListener("hashchange", openTarget);
    openTarget();
  });
})();
