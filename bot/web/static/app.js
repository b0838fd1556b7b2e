// The dashboard page (issue #20; the contract with the server is docs/DASHBOARD.md).
// Plain script, no framework and nothing from another site. Every text comes from
// /api/me's `texts`; every piece of data reaches the page as textContent, never as HTML.
"use strict";

(() => {
  const API = new URL("../api/", location.href); // the page is <base>/app/
  const TABS = ["tree", "ideas", "queue"];
  const STATUSES = [
    "submitted", "info_requested", "forwarded", "approved", "declined",
    "recognised", "not_recognised", "applied",
  ];
  const CATEGORIES = ["technical", "management", "operations", "technology", "safety", "other"];
  const FIGURES = ["submitted", "approved", "recognised", "applied"];
  const TOAST_MS = 5000;

  const state = {
    initData: null, // Telegram's signed launch data, sent as `Authorization: tma …`
    me: null,
    texts: {},
    locale: "vi-VN",
    tab: null,
    tree: null,
    ideas: { items: [], next: null, query: {}, loadedFor: undefined, followTree: true },
    queue: null,
    decisions: new Map(), // one request_id per decision, kept for its retries
  };

  const $ = (selector) => document.querySelector(selector);

  // ---- texts and formatting -------------------------------------------------------------

  function t(key, params) {
    const template = Object.hasOwn(state.texts, key) ? state.texts[key] : key;
    return template.replace(/\{(\w+)\}/g, (whole, name) =>
      params && Object.hasOwn(params, name) ? String(params[name]) : whole);
  }

  const number = (n) => new Intl.NumberFormat(state.locale).format(n ?? 0);
  const money = (n) => new Intl.NumberFormat(state.locale, {
    style: "currency", currency: "VND", maximumFractionDigits: 0,
  }).format(n ?? 0);
  const percent = (p) => `${new Intl.NumberFormat(state.locale, {
    maximumFractionDigits: 0,
  }).format(p)} %`;

  function when(iso, withTime) {
    if (!iso) return "";
    const moment = /^\d{4}-\d{2}-\d{2}$/.test(iso) ? new Date(`${iso}T00:00:00+07:00`) : new Date(iso);
    if (Number.isNaN(moment.getTime())) return String(iso);
    const options = withTime ? { dateStyle: "short", timeStyle: "short" } : { dateStyle: "short" };
    return new Intl.DateTimeFormat(state.locale, { ...options, timeZone: "Asia/Ho_Chi_Minh" })
      .format(moment);
  }

  // ---- elements -------------------------------------------------------------------------

  /** An element with attributes, listeners (`onclick`) and children (text stays text). */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") el.className = value;
      else if (key === "text") el.textContent = value;
      else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
      else el.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child !== null && child !== undefined && child !== false) el.append(child);
    }
    return el;
  }

  /** Replace an element's children (arrays flattened, null and false left out). */
  function fill(el, ...children) {
    el.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  }

  function sparkline(values, label) {
    const ns = "http://www.w3.org/2000/svg";
    const width = 84, height = 24, pad = 2;
    const svg = document.createElementNS(ns, "svg");
    for (const [k, v] of Object.entries({
      viewBox: `0 0 ${width} ${height}`, width, height, role: "img", class: "spark",
      "aria-label": label,
    })) svg.setAttribute(k, String(v));
    const list = (values || []).map((v) => Number(v) || 0);
    if (!list.length) return svg;
    const top = Math.max(1, ...list);
    const step = list.length > 1 ? (width - 2 * pad) / (list.length - 1) : 0;
    const xy = list.map((v, i) => [pad + i * step, height - pad - (v / top) * (height - 2 * pad)]);
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", xy.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" "));
    const [lx, ly] = xy[xy.length - 1];
    const dot = document.createElementNS(ns, "circle");
    for (const [k, v] of Object.entries({ cx: lx.toFixed(1), cy: ly.toFixed(1), r: 2 })) {
      dot.setAttribute(k, String(v));
    }
    svg.append(line, dot);
    return svg;
  }

  function bar(attainment) {
    if (attainment === null || attainment === undefined) {
      return h("span", { class: "att none" }, t("web.fig.no_quota"));
    }
    const level = attainment < 50 ? "low" : attainment < 80 ? "mid" : "ok";
    const fill = h("span", { class: "fill" });
    fill.style.width = `${Math.max(0, Math.min(100, attainment))}%`;
    return h("span", { class: `att ${level}` },
      h("span", {
        class: "meter", role: "meter", "aria-valuemin": 0, "aria-valuemax": 100,
        "aria-valuenow": Math.round(attainment), "aria-label": t("web.fig.attainment"),
      }, fill),
      h("span", { class: "pct" }, percent(attainment)));
  }

  let toastTimer = 0;
  function toast(message, kind) {
    const el = $("#toast");
    const host = $("#card").open ? $("#card") : document.body; // above a modal card too
    if (el.parentNode !== host) host.append(el);
    el.textContent = message;
    el.className = `toast ${kind || ""}`;
    el.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { el.hidden = true; }, TOAST_MS);
  }

  // ---- credentials and requests ---------------------------------------------------------

  class ApiError extends Error {
    constructor(status, body) {
      super(`HTTP ${status}`);
      this.status = status;
      this.body = body || {};
    }
  }

  function readLaunch() {
    const fragment = new URLSearchParams(location.hash.slice(1));
    let initData = fragment.get("tgWebAppData");
    let theme = fragment.get("tgWebAppThemeParams");
    try { // kept for a reload inside Telegram, which may drop the fragment
      if (initData) sessionStorage.setItem("sk.initData", initData);
      else initData = sessionStorage.getItem("sk.initData");
      if (theme) sessionStorage.setItem("sk.theme", theme);
      else theme = sessionStorage.getItem("sk.theme");
    } catch { /* storage refused: the fragment alone */ }
    state.initData = initData || null;
    if (theme) {
      try { applyTheme(JSON.parse(theme)); } catch { /* a malformed theme: the defaults */ }
    }
  }

  /** Telegram's themeParams as CSS variables (--tg-bg-color, …) and a light or dark mode. */
  function applyTheme(params) {
    if (!params || typeof params !== "object") return;
    const root = document.documentElement;
    for (const [key, value] of Object.entries(params)) {
      if (/^[a-z_]+$/.test(key) && /^#[0-9a-f]{3,8}$/i.test(String(value))) {
        root.style.setProperty(`--tg-${key.replaceAll("_", "-")}`, value);
      }
    }
    const bg = /^#([0-9a-f]{6})$/i.exec(String(params.bg_color || ""));
    if (bg) {
      const n = parseInt(bg[1], 16);
      const light = 0.299 * (n >> 16) + 0.587 * ((n >> 8) & 255) + 0.114 * (n & 255);
      root.dataset.theme = light < 128 ? "dark" : "light";
    }
  }

  /** A message to the Telegram client hosting the page (there is none in a browser). */
  function tellTelegram(type, data) {
    const message = JSON.stringify({ eventType: type, eventData: data || {} });
    try {
      if (window.TelegramWebviewProxy) window.TelegramWebviewProxy.postEvent(type, JSON.stringify(data || {}));
      else if (window.parent !== window) window.parent.postMessage(message, "https://web.telegram.org");
    } catch { /* not inside Telegram */ }
  }

  async function api(path, options) {
    const { method = "GET", body, raw = false } = options || {};
    const headers = { Accept: "application/json", "X-Requested-With": "sangkien" };
    if (state.initData) headers.Authorization = `tma ${state.initData}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(new URL(path, API), {
        method, headers, credentials: "same-origin", cache: "no-store",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(0, null);
    }
    if (response.ok) return raw ? response : response.json();
    let answer = null;
    try { answer = await response.json(); } catch { /* not JSON */ }
    throw new ApiError(response.status, answer);
  }

  /** The one place a failed request is told to the person. */
  function failed(error) {
    const status = error instanceof ApiError ? error.status : -1;
    if (status === 401) signedOut();
    else if (status === 403) toast(t("web.error.forbidden"), "error");
    else if ((status === 400 || status === 409) && error.body.message) toast(error.body.message, "error");
    else if (status === 0) toast(t("web.error.network"), "error");
    else toast(t("web.error.generic"), "error");
  }

  function signedOut() {
    const notice = $("#signed-out");
    if (state.texts["web.error.unauthorized"]) {
      fill(notice, h("p", { text: t("web.error.unauthorized") }));
    }
    for (const el of document.querySelectorAll(".view, #tabs, #loading")) el.hidden = true;
    if ($("#card").open) $("#card").close();
    notice.hidden = false;
    $("#main").setAttribute("aria-busy", "false");
  }

  // ---- tabs -----------------------------------------------------------------------------

  function buildTabs() {
    const nav = $("#tabs");
    const views = TABS.filter((v) => state.me.views.includes(v));
    nav.setAttribute("aria-label", t("web.title"));
    fill(nav, ...views.map((view) => h("button", {
      type: "button", role: "tab", id: `tab-${view}`, "aria-controls": `view-${view}`,
      "aria-selected": "false", "data-view": view, onclick: () => show(view),
    }, t(`web.tab.${view}`))));
    nav.hidden = views.length < 2;
    return views;
  }

  async function show(view) {
    state.tab = view;
    for (const tab of document.querySelectorAll("#tabs [role=tab]")) {
      tab.setAttribute("aria-selected", String(tab.dataset.view === view));
    }
    for (const name of TABS) $(`#view-${name}`).hidden = name !== view;
    if (view === "tree" && !state.tree) await loadTree(null);
    if (view === "ideas") await showIdeas();
    if (view === "queue") await loadQueue();
  }

  // ---- the tree -------------------------------------------------------------------------

  async function loadTree(unitId) {
    const panel = $("#view-tree");
    panel.setAttribute("aria-busy", "true");
    try {
      state.tree = await api(unitId ? `tree?unit=${encodeURIComponent(unitId)}` : "tree");
      renderTree();
    } catch (error) {
      failed(error);
    } finally {
      panel.setAttribute("aria-busy", "false");
    }
  }

  function figureCells(f, compact) {
    return [
      ...FIGURES.map((name) => h("span", {
        class: `fig fig-${name}`, "data-label": t(`web.fig.${name}`),
      }, number(f[name]))),
      h("span", { class: "fig fig-benefit", "data-label": t("web.fig.benefit") },
        compact ? new Intl.NumberFormat(state.locale, { notation: "compact" }).format(f.benefit ?? 0)
          : money(f.benefit)),
    ];
  }

  function trendLabel(values) {
    return `${t("web.fig.trend", { weeks: values.length })}: ${values.map(number).join(", ")}`;
  }

  function renderTree() {
    const d = state.tree;
    const panel = $("#view-tree");
    const crumbs = h("ol", { class: "crumbs" }, d.crumbs.map((c, i) =>
      h("li", {}, i === d.crumbs.length - 1
        ? h("span", { "aria-current": "page" }, c.name)
        : h("button", { type: "button", class: "link", onclick: () => loadTree(c.id) }, c.name))));
    const tools = h("div", { class: "tools" },
      h("button", {
        type: "button", class: "secondary", onclick: () => {
          state.ideas.followTree = true;
          show("ideas");
        },
      }, t("web.tree.see_ideas")),
      state.me.views.includes("export")
        ? h("button", { type: "button", id: "export", onclick: exportUnit }, t("web.export.download")) : null);
    const campaign = d.campaign
      ? t("web.tree.campaign", {
        name: d.campaign.name, starts_on: when(d.campaign.starts_on), ends_on: when(d.campaign.ends_on),
      })
      : t("web.tree.no_campaign");
    fill(panel,
      d.crumbs.length > 1 ? h("nav", { "aria-label": t("web.tree.crumbs") }, crumbs) : null,
      h("div", { class: "head" }, h("h2", { id: "unit-name" }, d.unit.name), tools),
      h("p", { class: "hint" }, campaign),
      ownTiles(d.own),
      h("h3", {}, t("web.tree.sub_units")),
      d.children.length ? childRows(d.children) : h("p", { class: "hint" }, t("web.tree.no_children")));
  }

  function ownTiles(f) {
    const tile = (label, value, cls) => h("div", { class: `tile ${cls || ""}` },
      h("span", { class: "label" }, label), h("span", { class: "value" }, value));
    const quotas = (f.quotas || []).map((q) => h("li", {},
      t(`web.quota.${q.measure}`, { reached: number(q.reached), target: number(q.target) }), " ",
      bar(q.attainment)));
    return h("section", { class: "own", "aria-label": t("web.tree.own"), "data-unit-id": f.unit_id },
      h("div", { class: "tiles" },
        ...FIGURES.map((name) => tile(t(`web.fig.${name}`), number(f[name]), `fig-${name}`)),
        tile(t("web.fig.benefit"), money(f.benefit), "fig-benefit")),
      h("div", { class: "own-trend" },
        h("span", {}, t("web.fig.week", { n: number(f.week_submitted) })),
        sparkline(f.trend, trendLabel(f.trend || []))),
      quotas.length ? h("ul", { class: "quotas" }, quotas) : h("p", { class: "hint" }, t("web.fig.no_quota")));
  }

  function childRows(children) {
    const header = h("div", { class: "row header", "aria-hidden": "true" },
      h("span", { class: "name" }, t("web.tree.unit")),
      h("span", { class: "figs" }, ...FIGURES.map((n) => h("span", { class: "fig" }, t(`web.fig.${n}`))),
        h("span", { class: "fig" }, t("web.fig.benefit"))),
      h("span", { class: "att" }, t("web.fig.attainment")),
      h("span", { class: "spark-head" }, t("web.fig.trend", { weeks: (state.tree.weeks || []).length })));
    return h("div", { class: "table" }, header, h("ul", { class: "rows" }, children.map((f) =>
      h("li", {}, h("button", {
        type: "button", class: "row", "data-unit-id": f.unit_id,
        "aria-label": t("web.tree.drill", { name: f.name }),
        onclick: () => loadTree(f.unit_id),
      },
      h("span", { class: "name" }, f.name, f.has_children ? h("span", { class: "more", "aria-hidden": "true" }, " ›") : null),
      h("span", { class: "figs" }, figureCells(f, true)),
      bar(f.attainment),
      sparkline(f.trend, trendLabel(f.trend || [])))))));
  }

  async function exportUnit() {
    const button = $("#export");
    button.disabled = true;
    toast(t("web.export.busy"));
    try {
      const response = await api(`export?unit=${encodeURIComponent(state.tree.unit.id)}`, { raw: true });
      const blob = await response.blob();
      const name = fileName(response.headers.get("Content-Disposition")) || "export.xlsx";
      const url = URL.createObjectURL(blob);
      const link = h("a", { href: url, download: name, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      toast(t("web.export.done", { file: name }));
    } catch (error) {
      failed(error);
    } finally {
      button.disabled = false;
    }
  }

  function fileName(disposition) {
    if (!disposition) return null;
    let name = null;
    const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(disposition);
    if (star) {
      try { name = decodeURIComponent(star[1].trim()); } catch { name = null; }
    }
    if (!name) {
      const plain = /filename\s*=\s*"([^"]*)"/i.exec(disposition) || /filename\s*=\s*([^;]+)/i.exec(disposition);
      name = plain ? plain[1].trim() : null;
    }
    return name ? name.replace(/[\\/:*?"<>|\u0000-\u001f]/g, "_") : null;
  }

  // ---- the ideas ------------------------------------------------------------------------

  function unitChoices() {
    const d = state.tree;
    const seen = new Map();
    const add = (u) => { if (u && !seen.has(u.id)) seen.set(u.id, u.name); };
    if (d) {
      d.crumbs.forEach(add);
      d.children.forEach((c) => add({ id: c.unit_id, name: c.name }));
    }
    (state.me.units.official || []).forEach(add);
    return [...seen];
  }

  async function showIdeas() {
    const ideas = state.ideas;
    const viewed = state.tree ? state.tree.unit.id : "";
    if (ideas.followTree) ideas.query = { ...ideas.query, unit: viewed };
    renderIdeaFilters();
    const key = JSON.stringify(ideas.query);
    if (ideas.loadedFor !== key) await loadIdeas(false);
  }

  function renderIdeaFilters() {
    const q = state.ideas.query;
    const select = (name, values, label) => h("label", { class: "field" },
      h("span", {}, t(`web.ideas.${name}`)),
      h("select", { name },
        h("option", { value: "" }, t("web.ideas.any")),
        values.map(([value, text]) => h("option", {
          value, selected: String(q[name] ?? "") === String(value),
        }, text))));
    const input = (name, type, extra) => h("label", { class: "field" },
      h("span", {}, t(`web.ideas.${name}`)),
      h("input", { name, type, value: q[name] || "", ...extra }));
    const form = h("form", { class: "filters", role: "search", onsubmit: (event) => {
      event.preventDefault();
      const data = new FormData(form);
      const query = {};
      for (const name of ["unit", "status", "category", "since", "until", "q"]) {
        const value = String(data.get(name) || "").trim();
        if (value) query[name] = value;
      }
      const viewed = state.tree ? String(state.tree.unit.id) : "";
      state.ideas.followTree = (query.unit || "") === viewed;
      state.ideas.query = query;
      loadIdeas(false);
    } },
    input("q", "search", { placeholder: t("web.ideas.search_hint"), enterkeyhint: "search" }),
    select("status", STATUSES.map((s) => [s, t(`web.status.${s}`)])),
    select("category", CATEGORIES.map((c) => [c, t(`web.category.${c}`)])),
    select("unit", unitChoices()),
    input("since", "date"),
    input("until", "date"),
    h("div", { class: "actions" },
      h("button", { type: "submit" }, t("web.ideas.apply")),
      h("button", { type: "button", class: "secondary", onclick: () => {
        state.ideas.query = {};
        state.ideas.followTree = false;
        renderIdeaFilters();
        loadIdeas(false);
      } }, t("web.ideas.clear"))));
    for (const el of form.querySelectorAll("select")) {
      el.addEventListener("change", () => form.requestSubmit());
    }
    const panel = $("#view-ideas");
    fill(panel, form, h("ul", { class: "ideas", id: "idea-list" }),
      h("p", { class: "hint", id: "ideas-empty", hidden: true }, t("web.ideas.none")),
      h("button", { type: "button", id: "ideas-more", class: "secondary wide", hidden: true,
        onclick: () => loadIdeas(true) }, t("web.ideas.more")));
    drawIdeas();
  }

  async function loadIdeas(more) {
    const ideas = state.ideas;
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(ideas.query)) if (v) params.set(k, v);
    if (more && ideas.next) params.set("cursor", ideas.next);
    const panel = $("#view-ideas");
    panel.setAttribute("aria-busy", "true");
    try {
      const page = await api(`ideas?${params}`);
      ideas.items = more ? ideas.items.concat(page.ideas) : page.ideas;
      ideas.next = page.next;
      ideas.loadedFor = JSON.stringify(ideas.query);
      drawIdeas();
    } catch (error) {
      failed(error);
    } finally {
      panel.setAttribute("aria-busy", "false");
    }
  }

  function ideaItem(idea, extra) {
    return h("li", {}, h("button", {
      type: "button", class: "idea", "data-idea-id": idea.id, onclick: () => openIdea(idea.id),
    },
    h("span", { class: "line" },
      h("span", { class: "ref" }, idea.ref),
      idea.confidential ? h("span", { class: "badge" }, t("web.idea.confidential")) : null,
      h("span", { class: "date" }, when(idea.created_at))),
    h("span", { class: "title" }, idea.title ?? t("web.idea.no_title")),
    h("span", { class: "line hint" },
      h("span", { class: "status" }, idea.status_text), " · ", idea.unit.name),
    extra ? h("span", { class: "line waiting" }, extra) : null));
  }

  function drawIdeas() {
    const list = $("#idea-list");
    if (!list) return;
    const { items, next, loadedFor } = state.ideas;
    fill(list, ...items.map((idea) => ideaItem(idea)));
    $("#ideas-empty").hidden = !(loadedFor !== undefined && items.length === 0);
    $("#ideas-more").hidden = !next;
  }

  // ---- the queue ------------------------------------------------------------------------

  async function loadQueue() {
    const panel = $("#view-queue");
    panel.setAttribute("aria-busy", "true");
    try {
      state.queue = (await api("queue")).ideas;
      fill(panel,
        h("div", { class: "head" }, h("h2", {}, t("web.queue.heading")),
          h("button", { type: "button", class: "secondary", onclick: loadQueue }, t("web.refresh"))),
        state.queue.length
          ? h("ul", { class: "ideas", id: "queue-list" },
            state.queue.map((idea) => ideaItem(idea, idea.waiting_text)))
          : h("p", { class: "hint", id: "queue-empty" }, t("web.queue.none")));
    } catch (error) {
      failed(error);
    } finally {
      panel.setAttribute("aria-busy", "false");
    }
  }

  // ---- one idea's card and its decisions ------------------------------------------------

  async function openIdea(id) {
    let data;
    try {
      data = await api(`ideas/${encodeURIComponent(id)}`);
    } catch (error) {
      failed(error);
      return;
    }
    const dialog = $("#card");
    const idea = data.idea;
    const meta = [
      ["web.idea.status", idea.status_text],
      ["web.idea.category", idea.category_text],
      ["web.idea.unit", idea.unit.name],
      ["web.idea.created", when(idea.created_at, true)],
      ["web.idea.benefit", idea.benefit_text],
    ].filter(([, value]) => value);
    fill(dialog,
      h("div", { class: "card-head" },
        h("span", { class: "ref" }, idea.ref),
        h("button", { type: "button", class: "close", "aria-label": t("web.idea.close"),
          onclick: () => dialog.close() }, "×")),
      h("h2", { id: "card-title" }, idea.title ?? t("web.idea.no_title")),
      idea.sight === "summary" ? h("p", { class: "notice small" }, t("web.idea.summary")) : null,
      h("dl", { class: "meta" }, meta.map(([key, value]) => [h("dt", {}, t(key)), h("dd", {}, value)])),
      idea.body ? [h("h3", {}, t("web.idea.body")), h("p", { class: "body" }, idea.body)] : null,
      (idea.history || []).length ? [h("h3", {}, t("web.idea.history")),
        h("ol", { class: "history" }, idea.history.map((step) => h("li", {},
          h("time", { datetime: step.at }, when(step.at, true)), " ", step.text)))] : null,
      h("div", { class: "decide", id: "decide" }));
    drawActions(data);
    if (!dialog.open) dialog.showModal();
  }

  function drawActions(data) {
    const area = $("#decide");
    fill(area, ...(data.actions || []).map((action) => h("button", {
      type: "button", class: `act act-${action}`, "data-action": action,
      onclick: () => confirmAction(data, action),
    }, t(`web.action.${action}`))));
  }

  function confirmAction(data, action) {
    const idea = data.idea;
    const area = $("#decide");
    const form = h("form", { class: "confirm" });
    const ref = idea.ref;
    if (action === "approve") {
      form.append(h("p", {}, t("web.confirm.approve", { ref })));
    } else if (action === "ask") {
      form.append(h("label", { class: "field" }, h("span", {}, t("web.confirm.ask", { ref })),
        h("textarea", { name: "text", rows: 3, required: true, maxlength: 1000 })));
    } else if (action === "forward") {
      form.append(h("fieldset", {}, h("legend", {}, t("web.confirm.forward", { ref })),
        (data.forward_to || []).map((unit, i) => h("label", { class: "choice" },
          h("input", { type: "radio", name: "unit", value: unit.id, required: true, checked: i === 0 }),
          h("span", {}, unit.name)))));
    } else if (action === "decline") {
      const other = h("textarea", { name: "text", rows: 2, maxlength: 1000,
        "aria-label": t("web.confirm.other_reason") });
      form.append(h("fieldset", {}, h("legend", {}, t("web.confirm.decline", { ref })),
        (data.decline_reasons || []).map((reason, i) => h("label", { class: "choice" },
          h("input", { type: "radio", name: "reason", value: reason.key, required: true, checked: i === 0 }),
          h("span", {}, reason.text))),
        h("label", { class: "choice" },
          h("input", { type: "radio", name: "reason", value: "" }),
          h("span", {}, t("web.confirm.other_reason"))),
        other));
      other.addEventListener("input", () => {
        form.querySelector("input[name=reason][value='']").checked = true;
      });
    }
    const send = h("button", { type: "submit", class: `act act-${action}` }, t("web.confirm.yes"));
    form.append(h("div", { class: "actions" }, send,
      h("button", { type: "button", class: "secondary", onclick: () => drawActions(data) },
        t("web.confirm.cancel"))));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      decide(data, action, new FormData(form), send);
    });
    fill(area, form);
    const first = form.querySelector("textarea, input, button");
    if (first) first.focus();
  }

  function newRequestId() {
    const words = crypto.getRandomValues(new Uint32Array(2));
    return (words[0] & 0x1fffff) * 2 ** 32 + words[1] + 1; // 1 … 2^53 - 1
  }

  async function decide(data, action, fields, button) {
    const body = { action };
    const text = String(fields.get("text") || "").trim();
    if (action === "forward") body.unit = Number(fields.get("unit"));
    if (action === "ask") body.text = text;
    if (action === "decline") {
      const reason = String(fields.get("reason") || "");
      if (reason) body.reason = reason;
      else body.text = text;
    }
    if ((action === "ask" || (action === "decline" && !body.reason)) && !text) {
      toast(t("web.confirm.need_text"), "error");
      return;
    }
    // The same decision sent again (after a lost answer) keeps its request_id: done once.
    const key = JSON.stringify([data.idea.id, body]);
    if (!state.decisions.has(key)) state.decisions.set(key, newRequestId());
    body.request_id = state.decisions.get(key);
    button.disabled = true;
    button.textContent = t("web.confirm.sending");
    try {
      const answer = await api(`ideas/${encodeURIComponent(data.idea.id)}/action`, { method: "POST", body });
      state.decisions.delete(key);
      $("#card").close();
      toast(answer.message || t(`web.action.${action}`), "ok");
      await refreshAfterDecision();
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) {
        state.decisions.delete(key);
        failed(error);
        $("#card").close();
        await refreshAfterDecision();
        return;
      }
      if (error instanceof ApiError && error.status >= 400 && error.status < 500) {
        state.decisions.delete(key);
      }
      failed(error);
      button.disabled = false;
      button.textContent = t("web.confirm.yes");
    }
  }

  async function refreshAfterDecision() {
    if (state.tab === "queue") await loadQueue();
    else if (state.tab === "ideas") await loadIdeas(false);
    else if (state.tab === "tree" && state.tree) await loadTree(state.tree.unit.id);
  }

  // ---- start ----------------------------------------------------------------------------

  async function start() {
    readLaunch();
    window.Telegram = { WebView: { receiveEvent(type, data) { // the client's theme changes
      if (type === "theme_changed" && data) applyTheme(data.theme_params);
    } } };
    tellTelegram("web_app_ready");
    tellTelegram("web_app_expand");
    try {
      state.me = await api("me");
    } catch (error) {
      $("#loading").hidden = true;
      $("#main").setAttribute("aria-busy", "false");
      if (error instanceof ApiError && error.status === 403) $("#not-allowed").hidden = false;
      else if (error instanceof ApiError && error.status === 401) signedOut();
      else {
        $("#loading").hidden = false;
        $("#loading").textContent = "⚠ Không kết nối được máy chủ · The server could not be reached.";
      }
      return;
    }
    state.texts = state.me.texts || {};
    state.locale = state.me.lang === "en" ? "en-GB" : "vi-VN";
    document.documentElement.lang = state.me.lang || "vi";
    document.title = t("web.title");
    $("#title").textContent = t("web.title");
    $("#who").textContent = t("web.hello", { name: state.me.name || "" });
    $("#card").addEventListener("close", () => {
      document.body.append($("#toast"));
      $("#card").replaceChildren();
    });
    const views = buildTabs();
    $("#loading").hidden = true;
    $("#main").setAttribute("aria-busy", "false");
    if (views.length) await show(views[0]);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
