// The dispatch board: renders /api/v1/board, follows /board/events, assigns by drag and drop
// (pointer events, so mouse, pen and touch alike) or by tapping a job and then a technician.
// Data is only ever put in the page with textContent: never as markup.
"use strict";
(() => {
  const AXIS_START = 7 * 60;
  const AXIS_END = 19 * 60;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const rowsEl = document.getElementById("rows");
  const queueEl = document.getElementById("queue");
  const panel = document.getElementById("panel");
  const panelBody = document.getElementById("panel-body");
  const toastEl = document.getElementById("toast");
  const state = { version: null, offset: 0, selected: null, openJob: null, loading: null, again: false };

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  const hhmm = (iso) => (iso ? iso.slice(11, 16) : "");  // times come in company time

  function pct(minute) {
    const p = ((minute - AXIS_START) / (AXIS_END - AXIS_START)) * 100;
    return Math.max(0, Math.min(100, p));
  }

  let toastTimer = null;
  function toast(text, bad) {
    toastEl.textContent = text;
    toastEl.classList.toggle("bad", Boolean(bad));
    toastEl.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { toastEl.hidden = true; }, 6000);
  }

  async function api(path, options) {
    const res = await fetch(path, Object.assign({ credentials: "same-origin", headers: { Accept: "application/json" } }, options));
    if (res.status === 401) {
      location.reload();  // the session ended: the login page
      throw new Error("logged out");
    }
    let body = null;
    try { body = await res.json(); } catch (e) { body = null; }
    return { status: res.status, body };
  }

  // Refreshes never overlap; one asked for during a refresh runs right after it.
  function load() {
    if (state.loading) { state.again = true; return state.loading; }
    state.loading = (async () => {
      do {
        state.again = false;
        const { status, body } = await api("/api/v1/board");
        if (status === 200) render(body);
      } while (state.again);
    })().finally(() => { state.loading = null; });
    return state.loading;
  }

  function render(data) {
    state.version = data.version;
    state.offset = Date.parse(data.now) - Date.now();
    for (const tech of data.technicians) {
      const row = rowsEl.querySelector(`.row[data-tech="${CSS.escape(tech.id)}"]`);
      if (!row) continue;
      row.classList.toggle("off", !tech.available);
      const lane = row.querySelector(".lane");
      const parts = [];
      if (tech.shift) {
        const shift = el("div", "shift");
        shift.style.left = pct(tech.shift[0]) + "%";
        shift.style.width = (pct(tech.shift[1]) - pct(tech.shift[0])) + "%";
        parts.push(shift);
      }
      if (data.now_minute >= AXIS_START && data.now_minute <= AXIS_END) {
        const now = el("div", "now");
        now.style.left = pct(data.now_minute) + "%";
        parts.push(now);
      }
      for (const job of tech.jobs) parts.push(jobBlock(job, data.now_minute));
      lane.replaceChildren(...parts);
    }
    queueEl.replaceChildren(...data.queue.map(queueItem));
    document.getElementById("queue-count").textContent = `(${data.queue.length})`;
    if (state.selected && !data.queue.some((j) => j.number === state.selected)) state.selected = null;
    markSelected();
    tickSla();
    document.body.dataset.version = data.version;
    if (state.openJob) openJob(state.openJob, false);
  }

  function jobBlock(job, now) {
    const planned = job.start_minute !== null && job.end_minute !== null;
    const b = el("div", `job s-${job.status} p-${job.priority}${planned ? "" : " unplanned"}`);
    b.dataset.job = job.number;
    // Not in the plan (an override no route could fit): shown from now, an hour wide.
    const start = planned ? job.start_minute : Math.max(AXIS_START, Math.min(now, AXIS_END - 60));
    const end = planned ? job.end_minute : start + 60;
    b.style.left = pct(start) + "%";
    b.style.width = Math.max(pct(end) - pct(start), 0.5) + "%";
    const when = planned ? `${hhmm(job.planned_start)}-${hhmm(job.planned_end)}` : "not in the plan";
    b.title = `${job.number} ${job.priority} ${job.status} ${when}\n${job.customer}\n${job.description}`;
    b.append(el("span", "num", job.number), " ", el("span", "status", job.status), el("span", "cust", job.customer));
    return b;
  }

  function queueItem(job) {
    const li = el("li", "qjob");
    li.dataset.job = job.number;
    const head = el("div", "head");
    const sla = el("span", "sla");
    if (job.sla_due_at) {
      sla.dataset.due = String(Date.parse(job.sla_due_at));
      sla.dataset.created = String(Date.parse(job.created_at));
    }
    head.append(el("span", "num", job.number), el("span", `prio ${job.priority}`, job.priority), el("span", "status", job.status), sla);
    li.append(head, el("span", "cust", job.customer));
    if (job.flag) li.append(el("span", "flag", "⚑ " + job.flag));
    li.append(el("span", "desc", job.description));
    return li;
  }

  function tickSla() {
    const now = Date.now() + state.offset;
    for (const s of queueEl.querySelectorAll(".sla[data-due]")) {
      const left = Math.round((Number(s.dataset.due) - now) / 60000);
      const abs = Math.abs(left);
      const text = `${Math.floor(abs / 60)}h ${String(abs % 60).padStart(2, "0")}m`;
      s.textContent = left < 0 ? `SLA late ${text}` : `SLA ${text}`;
      s.classList.toggle("late", left < 0);
      // at risk past 80% of the response time, as the dispatchers' SLA alerts (§8)
      const due = Number(s.dataset.due);
      const created = Number(s.dataset.created);
      s.classList.toggle("risk", left >= 0 && now - created >= 0.8 * (due - created));
    }
  }

  // --- choosing a technician ------------------------------------------------------------

  function markSelected() {
    for (const li of queueEl.querySelectorAll(".qjob")) li.classList.toggle("selected", li.dataset.job === state.selected);
    for (const row of rowsEl.querySelectorAll(".row")) row.classList.toggle("target", Boolean(state.selected));
  }

  function select(number) {
    state.selected = state.selected === number ? null : number;
    markSelected();
    if (state.selected) {
      toast(`${number} selected: tap a technician to assign it.`);
      openJob(number, true);
    }
  }

  async function assign(number, tech, override) {
    const payload = { work_order: number, technician: tech };
    if (override) payload.override = override;
    const { status, body } = await api("/api/v1/board/assign", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(payload),
    });
    if (status === 200) {
      toast(body.message);
      state.selected = null;
      markSelected();
      load();
      return;
    }
    if (status === 409 && body && body.can_override) {
      const reason = window.prompt(`${body.message}\n\nReason to override:`);
      if (reason && reason.trim()) return assign(number, tech, reason.trim());
      toast(`${number} was not assigned.`, true);
      return;
    }
    toast((body && body.message) || `Could not assign ${number}.`, true);
  }

  function rowAt(x, y) {
    const hit = document.elementFromPoint(x, y);
    return hit ? hit.closest(".row") : null;
  }

  let drag = null;
  queueEl.addEventListener("pointerdown", (ev) => {
    const item = ev.target.closest(".qjob");
    if (!item || ev.button > 0) return;
    drag = { item, number: item.dataset.job, x: ev.clientX, y: ev.clientY, id: ev.pointerId, ghost: null, over: null };
  });
  window.addEventListener("pointermove", (ev) => {
    if (!drag || ev.pointerId !== drag.id) return;
    if (!drag.ghost) {
      if (Math.hypot(ev.clientX - drag.x, ev.clientY - drag.y) < 8) return;
      drag.ghost = drag.item.cloneNode(true);
      drag.ghost.classList.add("ghost");
      document.body.append(drag.ghost);
      try { drag.item.setPointerCapture(ev.pointerId); } catch (e) { /* already released */ }
    }
    ev.preventDefault();
    drag.ghost.style.left = `${ev.clientX + 10}px`;
    drag.ghost.style.top = `${ev.clientY + 10}px`;
    const row = rowAt(ev.clientX, ev.clientY);
    if (row !== drag.over) {
      if (drag.over) drag.over.classList.remove("drop");
      if (row) row.classList.add("drop");
      drag.over = row;
    }
  });
  function endDrag(ev, dropped) {
    if (!drag || ev.pointerId !== drag.id) return;
    const d = drag;
    drag = null;
    if (!d.ghost) { if (dropped) select(d.number); return; }
    d.ghost.remove();
    if (d.over) d.over.classList.remove("drop");
    if (dropped && d.over) assign(d.number, d.over.dataset.tech);
  }
  window.addEventListener("pointerup", (ev) => endDrag(ev, true));
  window.addEventListener("pointercancel", (ev) => endDrag(ev, false));

  rowsEl.addEventListener("click", (ev) => {
    const job = ev.target.closest(".job");
    if (job) { openJob(job.dataset.job, true); return; }
    const row = ev.target.closest(".row");
    if (row && state.selected) assign(state.selected, row.dataset.tech);
  });
  document.addEventListener("keydown", (ev) => {
    if (ev.key !== "Escape") return;
    state.selected = null;
    markSelected();
    closePanel();
  });

  // --- one job --------------------------------------------------------------------------

  function closePanel() {
    state.openJob = null;
    panel.hidden = true;
    document.body.classList.remove("with-panel");
  }
  document.getElementById("panel-close").addEventListener("click", closePanel);

  async function openJob(number, show) {
    state.openJob = number;
    const { status, body } = await api(`/api/v1/board/jobs/${encodeURIComponent(number)}`);
    if (state.openJob !== number) return;
    if (status !== 200) { toast((body && body.message) || `Could not open ${number}.`, true); return; }
    renderPanel(body);
    if (show) {
      panel.hidden = false;
      document.body.classList.add("with-panel");
    }
  }

  function field(dl, label, value) {
    if (value === null || value === undefined || value === "") return;
    dl.append(el("dt", null, label), el("dd", null, value));
  }

  function factors(c) {
    const f = Object.entries(c.factors || {}).map(([k, v]) => `${k.replaceAll("_", " ")} ${v}`);
    return `cost ${c.score}, arrives ${hhmm(c.arrival)}, +${c.added_travel_minutes} min drive` + (f.length ? ` · ${f.join(", ")}` : "");
  }

  function whySection(why) {
    const box = el("section", "why");
    box.id = "why";
    box.append(el("h3", null, "Why"));
    if (!why) { box.append(el("p", null, "No assignment decision yet.")); return box; }
    box.append(el("p", null, `${why.kind} by ${why.actor} at ${hhmm(why.at)}${why.reason ? ": " + why.reason : ""}`));
    if (why.chosen) {
      box.append(el("h4", null, "Chosen (lowest cost)"));
      const p = el("p", "chosen");
      p.append(el("strong", null, `${why.chosen.name} (${why.chosen.technician})`), el("span", "factors", " " + factors(why.chosen)));
      box.append(p);
    }
    if (why.runners_up.length) {
      box.append(el("h4", null, "Runners-up"));
      const ul = el("ul", "runners-up");
      for (const c of why.runners_up) {
        const li = el("li");
        li.append(el("strong", null, `${c.name} (${c.technician})`), el("div", "factors", factors(c)));
        ul.append(li);
      }
      box.append(ul);
    }
    if (why.excluded.length) {
      box.append(el("h4", null, "Excluded"));
      const ul = el("ul", "excluded");
      for (const e of why.excluded) ul.append(el("li", null, `${e.name} (${e.technician}): ${e.label}${e.detail ? " (" + e.detail + ")" : ""}`));
      box.append(ul);
    }
    for (const o of why.overrides) {
      box.append(el("p", "override", `Overridden by ${o.actor} at ${hhmm(o.at)}: ${o.name}${o.rule ? ", despite " + o.rule : ""}${o.reason ? " (" + o.reason + ")" : ""}`));
    }
    return box;
  }

  function renderPanel(j) {
    const r = j.record;
    const parts = [el("h2", null, `${r.number} ${r.priority} · ${r.status}`), el("p", "desc", r.description)];
    const dl = el("dl");
    field(dl, "Customer", r.customer && r.customer.name);
    field(dl, "Phone", r.customer && r.customer.phone);
    field(dl, "Site", j.site && j.site.address);
    field(dl, "Access", j.site && j.site.access_notes);
    field(dl, "Safety", j.site && j.site.safety_notes);
    field(dl, "Equipment", r.equipment && [r.equipment.type, r.equipment.make, r.equipment.model].filter(Boolean).join(" "));
    field(dl, "Skill", r.skill);
    field(dl, "Technician", r.technician && `${r.technician.name} (${r.technician.id})`);
    field(dl, "SLA due", r.sla_due_at && `${r.sla_due_at.slice(0, 10)} ${hhmm(r.sla_due_at)}`);
    field(dl, "Flag", r.flag && r.flag.reason);
    field(dl, "Source", r.source_channel);
    parts.push(dl);
    parts.push(whySection(j.why));
    parts.push(el("h3", null, `Photos (${j.photos.length})`));
    const photos = el("div", "photos");
    for (const p of j.photos) {
      const a = el("a");
      a.href = p.url;
      a.target = "_blank";
      a.rel = "noopener";
      if (p.content_type.startsWith("image/")) {
        const img = el("img");
        img.src = p.url;
        img.alt = `photo from ${p.sent_by} at ${hhmm(p.at)}`;
        a.append(img);
      } else {
        a.textContent = `document from ${p.sent_by}`;
      }
      photos.append(a);
    }
    parts.push(photos);
    parts.push(el("h3", null, "Timeline"));
    const tl = el("ul", "timeline");
    for (const e of r.timeline) tl.append(el("li", null, `${hhmm(e.at)} ${e.actor}: ${e.text}`));
    parts.push(tl);
    panelBody.replaceChildren(...parts);
  }

  // --- live -----------------------------------------------------------------------------

  function listen() {
    const live = document.getElementById("live");
    const source = new EventSource("/board/events");
    source.addEventListener("version", (ev) => { if (ev.data !== state.version) load(); });
    source.onopen = () => { live.textContent = "live"; live.classList.add("on"); };
    source.onerror = () => {
      live.textContent = "reconnecting…";
      live.classList.remove("on");
      if (source.readyState === EventSource.CLOSED) setTimeout(() => load().then(listen), 3000);
    };
  }

  load().then(listen);
  setInterval(tickSla, 1000);
})();
