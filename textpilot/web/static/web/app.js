/* textpilot dashboard behaviour. No inline scripts: pages mark elements with data-* attributes. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function onReady(fn) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn);
    else fn();
  }

  // Store switcher (and any select marked data-autosubmit) submits on change.
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("select[data-autosubmit]") && el.form) {
      if (el.form.requestSubmit) el.form.requestSubmit(); else el.form.submit();
    }
  });

  // Forms marked data-confirm ask first (revoking a key, …).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });

  // Copy buttons: data-copy-target="<id of the element whose text to copy>".
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy-target]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy-target"));
    if (!source) return;
    var text = source.textContent.trim();
    function done(ok) {
      var label = button.textContent;
      button.textContent = ok ? "Copied" : "Press Ctrl+C";
      setTimeout(function () { button.textContent = label; }, 1600);
    }
    function fallback() {
      var range = document.createRange();
      range.selectNodeContents(source);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      done(ok);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, fallback);
    } else {
      fallback();
    }
  });

  // Orders/revenue chart: data comes from a json_script element named by data-series.
  function money(value, currency) {
    try {
      return new Intl.NumberFormat(undefined, { style: "currency", currency: currency, maximumFractionDigits: 0 }).format(value);
    } catch (e) {
      return Math.round(value) + " " + currency;
    }
  }

  function drawCharts() {
    if (typeof window.Chart === "undefined") return;
    document.querySelectorAll("canvas[data-series]").forEach(function (canvas) {
      if (canvas.dataset.drawn) return;
      var source = document.getElementById(canvas.dataset.series);
      if (!source) return;
      var data = JSON.parse(source.textContent);
      var currency = canvas.dataset.currency || "USD";
      var labels = data.labels.map(function (iso) {
        var parts = iso.split("-");
        return new Date(Number(parts[0]), Number(parts[1]) - 1, Number(parts[2]))
          .toLocaleDateString(undefined, { month: "short", day: "numeric" });
      });
      canvas.dataset.drawn = "1";
      new window.Chart(canvas, {
        type: "bar",
        data: {
          labels: labels,
          datasets: [
            {
              type: "bar", label: "Revenue", data: data.revenue, yAxisID: "revenue",
              backgroundColor: "rgba(0, 122, 80, 0.78)", hoverBackgroundColor: "#007a50",
              borderRadius: 3, maxBarThickness: 14, categoryPercentage: 0.8, barPercentage: 0.9
            },
            {
              type: "bar", label: "Orders", data: data.orders, yAxisID: "orders",
              backgroundColor: "rgba(100, 112, 127, 0.35)", hoverBackgroundColor: "rgba(100, 112, 127, 0.6)",
              borderRadius: 3, maxBarThickness: 14, categoryPercentage: 0.8, barPercentage: 0.9
            }
          ]
        },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          interaction: { mode: "index", intersect: false },
          plugins: {
            legend: { position: "top", align: "end", labels: { boxWidth: 12, boxHeight: 12 } },
            tooltip: {
              callbacks: {
                label: function (ctx) {
                  return ctx.dataset.yAxisID === "revenue"
                    ? " Revenue: " + money(ctx.parsed.y, currency)
                    : " Orders: " + ctx.parsed.y;
                }
              }
            }
          },
          scales: {
            x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 10 } },
            revenue: {
              position: "left", beginAtZero: true, grid: { color: "rgba(0,0,0,0.06)" },
              title: { display: true, text: "Revenue (" + currency + ")", color: "#64707f" },
              ticks: { callback: function (v) { return money(v, currency); } }
            },
            orders: {
              position: "right", beginAtZero: true, grid: { display: false },
              title: { display: true, text: "Orders", color: "#64707f" },
              ticks: { precision: 0 }
            }
          }
        }
      });
    });
  }

  onReady(drawCharts);
  document.addEventListener("htmx:afterSettle", drawCharts);
})();
