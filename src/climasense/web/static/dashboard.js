// ClimaSense dashboard: live updates by polling small JSON endpoints, and small form helpers.
// Everything coming from the server is inserted as text (textContent), never as markup, except
// the charts block, which the server renders and escapes itself.
"use strict";

(function () {
  const csrf = () => {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  };

  function buildCell(cell) {
    const td = document.createElement("td");
    if (cell.cls) td.className = cell.cls;
    if (cell.form && document.body.dataset.canWrite === "1") {
      const form = document.createElement("form");
      form.method = "post";
      form.action = cell.form.action;
      const token = document.createElement("input");
      token.type = "hidden";
      token.name = "csrf_token";
      token.value = csrf();
      const button = document.createElement("button");
      button.type = "submit";
      button.textContent = cell.form.label;
      form.append(token, button);
      td.appendChild(form);
    } else if (cell.href && cell.href.startsWith("/") && !cell.href.startsWith("//")) {
      const a = document.createElement("a");
      a.href = cell.href;
      a.textContent = cell.text;
      td.appendChild(a);
    } else if (cell.badge) {
      const span = document.createElement("span");
      span.className = `badge ${cell.badge}`;
      span.textContent = cell.text;
      td.appendChild(span);
    } else if (cell.pre) {
      const pre = document.createElement("pre");
      pre.textContent = cell.text;
      td.appendChild(pre);
    } else {
      td.textContent = cell.text;
    }
    return td;
  }

  function fillTable(tbody, rows) {
    const fragment = document.createDocumentFragment();
    if (!rows.length) {
      const tr = document.createElement("tr");
      const td = document.createElement("td");
      td.colSpan = Number(tbody.dataset.columns || 1);
      td.className = "empty";
      td.textContent = tbody.dataset.empty || "Nothing here yet.";
      tr.appendChild(td);
      fragment.appendChild(tr);
    }
    for (const row of rows) {
      const tr = document.createElement("tr");
      if (row.id) tr.dataset.id = row.id;
      for (const cell of row.cells) tr.appendChild(buildCell(cell));
      fragment.appendChild(tr);
    }
    tbody.replaceChildren(fragment);
  }

  const SVG = "http://www.w3.org/2000/svg";

  function updateBar(bar) {
    const holder = document.querySelector(`[data-bar="${CSS.escape(bar.id)}"] svg`);
    if (!holder) return;
    holder.querySelectorAll("rect.seg").forEach((r) => r.remove());
    let offset = 0;
    for (const segment of bar.segments) {
      const rect = document.createElementNS(SVG, "rect");
      rect.setAttribute("class", `seg seg-${segment.status}`);
      rect.setAttribute("data-status", segment.status);
      rect.setAttribute("x", offset.toFixed(2));
      rect.setAttribute("y", "0");
      rect.setAttribute("width", Number(segment.percent).toFixed(2));
      rect.setAttribute("height", "6");
      const title = document.createElementNS(SVG, "title");
      title.textContent = `${segment.status}: ${segment.count}`;
      rect.appendChild(title);
      holder.appendChild(rect);
      offset += Number(segment.percent);
    }
  }

  function apply(data) {
    for (const [name, value] of Object.entries(data.fields || {})) {
      document.querySelectorAll(`[data-field="${CSS.escape(name)}"]`).forEach((el) => {
        el.textContent = value;
        if (el.classList.contains("badge")) el.className = `badge ${value} state-${value}`;
      });
      // Elements whose look depends on a state (a release's pause/resume button) follow it.
      document.querySelectorAll(`[data-state-field="${CSS.escape(name)}"]`).forEach((el) => {
        el.dataset.state = value;
      });
    }
    for (const [name, rows] of Object.entries(data.tables || {})) {
      const tbody = document.querySelector(`tbody[data-table="${CSS.escape(name)}"]`);
      if (tbody) fillTable(tbody, rows);
    }
    for (const bar of data.bars || []) updateBar(bar);
  }

  function poll(root) {
    const url = root.dataset.liveUrl;
    const every = Number(root.dataset.liveInterval || 5000);
    let busy = false;
    async function tick() {
      if (busy || document.hidden) return;
      busy = true;
      try {
        const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
        if (response.status === 401) {
          location.href = "/sign-in?next=" + encodeURIComponent(location.pathname + location.search);
          return;
        }
        if (response.ok) {
          apply(await response.json());
          root.dataset.liveUpdated = String(Date.now());
        }
      } catch (error) {
        // Offline for a moment: the next tick tries again.
      } finally {
        busy = false;
      }
    }
    setInterval(tick, every);
  }

  function refreshCharts(holder) {
    const every = Number(holder.dataset.chartInterval || 60000);
    setInterval(async () => {
      if (document.hidden) return;
      try {
        const response = await fetch(holder.dataset.chartUrl, { credentials: "same-origin" });
        if (response.ok) holder.innerHTML = await response.text();
      } catch (error) {
        // keep the charts we have
      }
    }, every);
  }

  function commandForm() {
    const select = document.getElementById("command-type");
    const confirm = document.getElementById("confirm-serial");
    if (!select || !confirm) return;
    const input = confirm.querySelector("input");
    const sync = () => {
      const reset = select.value === "factory_reset";
      confirm.hidden = !reset;
      input.required = reset;
    };
    select.addEventListener("change", sync);
    sync();
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-live-url]").forEach(poll);
    document.querySelectorAll("[data-chart-url]").forEach(refreshCharts);
    commandForm();
  });
})();
