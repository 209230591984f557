// creditgate console (一站式查询): a page per deep link, drawn from the
// JSON API of the server that serves it. Every string from the server is
// put into the page as text (textContent), never as markup: names can hold
// "<script>". The API key lives in sessionStorage and goes out only as the
// Authorization header: no cookies, nothing secret in a URL.

const KEY = "creditgate.key";
const LANG = "creditgate.lang";

const TEXT = {
  zh: {
    search: "查询", subject: "主体", entry: "名单条目",
    signIn: "登录", signOut: "退出", key: "API 密钥", keyHint: "cgk_…（仅保存在本浏览器标签页）",
    signedIn: "已登录", openServer: "开放模式（本机）",
    query: "名称、简称、繁体或拼音", results: "查询结果", noResults: "没有匹配的主体",
    name: "名称", kind: "类型", id: "代码/证件号", matched: "匹配名称", method: "匹配方式", score: "得分",
    org: "机构", person: "个人", asOf: "截至日期", aliases: "曾用名", persons: "关联人员",
    organizations: "任职机构", entries: "名单条目", history: "变更记录", none: "无",
    list: "名单", category: "类别", authority: "认定部门", basis: "依据", decided: "决定日期",
    effective: "生效", expires: "到期", status: "状态", role: "职务", feedback: "执行反馈",
    objection: "异议", deadline: "核查期限", outcome: "结果", repair: "信用修复", revocation: "撤销",
    disclosures: "关联双公示", black: "黑名单", red: "红名单", loading: "加载中…",
    unknownSubject: "平台没有该主体的记录", back: "返回查询",
    e401: "需要有效的 API 密钥，请先登录。", e403: "此密钥无权执行该操作：", e404: "未找到：",
    e409: "当前状态不允许该操作：", e429: "请求过于频繁，请稍后再试：", e5xx: "服务器出错，已记录：",
    eNet: "无法连接服务器。", lang: "English",
    implementer: "实施部门", measure: "措施", note: "说明", number: "文号", shown: "公示状态",
    decisions: "各事项决定", action: "事项", decision: "决定", reasons: "原因", suspended: "暂停执行（异议中）",
    benefits: "激励措施", via: "因任职", until: "至", noRight: "此密钥无权查询该事项",
    steps: "办理", fileObjection: "登记异议", reason: "理由", decideOutcome: "异议处理结果",
    upheld: "维持", corrected: "更正", revoked: "撤销", repairEntry: "信用修复", revokeEntry: "撤销条目",
    submit: "提交", done: "已办理",
    screen: "批量筛查", file: "文件（CSV 或 NDJSON）", encoding: "编码", auto: "自动检测", start: "开始筛查",
    progress: "进度", all: "全部", deny: "禁止", caution: "提示", review: "待人工复核", error: "错误", allow: "允许",
    download: "下载结果 CSV", rows: "行", ref: "参考号", match: "匹配", summary: "汇总",
    stats: "跟踪问效", from: "自", to: "至", total: "条目总数", openObjections: "未结异议", overdue: "超期未核查",
    checks: "查询次数", denials: "禁止次数", byCategory: "按类别", byStatus: "按状态", byAuthority: "按认定部门",
    byAction: "按事项的查询与禁止", byDay: "每日查询与禁止", overdueList: "超期异议", published: "已公示", late: "超期公示",
    disclosureStats: "双公示及时性", auditOff: "审计日志未开启：没有查询统计",
    disclosuresPage: "双公示", licence: "行政许可", penalty: "行政处罚", counterpart: "行政相对人",
    content: "内容", result: "结果", severity: "严重程度", window: "公示期至", timely: "及时性", any: "不限",
    workingDays: "个工作日", find: "查找",
  },
  en: {
    search: "Search", subject: "Subject", entry: "List entry",
    signIn: "Sign in", signOut: "Sign out", key: "API key", keyHint: "cgk_… (kept in this browser tab only)",
    signedIn: "Signed in", openServer: "Open mode (loopback)",
    query: "Name, short name, Traditional or pinyin", results: "Results", noResults: "No subject matches",
    name: "Name", kind: "Kind", id: "Code / ID number", matched: "Matched name", method: "Method", score: "Score",
    org: "Organization", person: "Person", asOf: "As of", aliases: "Former names", persons: "Persons",
    organizations: "Organizations", entries: "List entries", history: "History", none: "None",
    list: "List", category: "Category", authority: "Authority", basis: "Basis", decided: "Decided",
    effective: "From", expires: "Until", status: "Status", role: "Role", feedback: "Execution feedback",
    objection: "Objection", deadline: "Deadline", outcome: "Outcome", repair: "Credit repair", revocation: "Revocation",
    disclosures: "Linked disclosures", black: "Black list", red: "Red list", loading: "Loading…",
    unknownSubject: "The platform has no record of this subject", back: "Back to search",
    e401: "A valid API key is needed: sign in first.", e403: "This key may not do that: ", e404: "Not found: ",
    e409: "Not allowed in the current state: ", e429: "Too many requests, try again shortly: ", e5xx: "The server failed (logged): ",
    eNet: "The server cannot be reached.", lang: "中文",
    implementer: "Implementer", measure: "Measure", note: "Note", number: "Number", shown: "Shown",
    decisions: "Decision per action", action: "Action", decision: "Decision", reasons: "Reasons", suspended: "Suspended (under objection)",
    benefits: "Benefits", via: "via", until: "until", noRight: "This key may not ask about this action",
    steps: "Lifecycle", fileObjection: "File an objection", reason: "Reason", decideOutcome: "Decide the objection",
    upheld: "Upheld", corrected: "Corrected", revoked: "Revoked", repairEntry: "Credit repair", revokeEntry: "Revoke the entry",
    submit: "Submit", done: "Done",
    screen: "Screening", file: "File (CSV or NDJSON)", encoding: "Encoding", auto: "Detect", start: "Screen",
    progress: "Progress", all: "All", deny: "Deny", caution: "Caution", review: "Review", error: "Error", allow: "Allow",
    download: "Download results as CSV", rows: "Rows", ref: "Ref", match: "Match", summary: "Summary",
    stats: "Statistics", from: "From", to: "To", total: "Entries", openObjections: "Open objections", overdue: "Overdue",
    checks: "Checks", denials: "Denials", byCategory: "By category", byStatus: "By status", byAuthority: "By authority",
    byAction: "Checks and denials by action", byDay: "Checks and denials per day", overdueList: "Overdue objections", published: "Published", late: "Late",
    disclosureStats: "双公示 timeliness", auditOff: "The audit log is off: no check statistics",
    disclosuresPage: "Disclosures", licence: "Licence", penalty: "Penalty", counterpart: "Counterpart",
    content: "Content", result: "Result", severity: "Severity", window: "Public until", timely: "Timeliness", any: "Any",
    workingDays: "working days", find: "Find",
  },
};

let lang = localStorage.getItem(LANG) === "en" ? "en" : "zh";
const t = (k) => TEXT[lang][k] ?? k;

/** An element: attributes (on… handlers as functions) and children, text as text. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const link = (href, ...children) => h("a", { href, "data-link": true }, ...children);

/** Calls the API; resolves to {status, body} (body parsed JSON or null). */
async function api(path, options = {}) {
  const headers = Object.assign({ Accept: "application/json" }, options.headers || {});
  const key = sessionStorage.getItem(KEY);
  if (key) headers.Authorization = `Bearer ${key}`;
  let res;
  try {
    res = await fetch(path, Object.assign({}, options, { headers, cache: "no-store" }));
  } catch (e) {
    return { status: 0, body: null };
  }
  let body = null;
  try {
    body = await res.json();
  } catch (e) {
    body = null;
  }
  return { status: res.status, body };
}

/** The server's refusal in plain words. */
function refusal(r) {
  const message = r.body?.error?.message ?? "";
  const lead = r.status === 0 ? t("eNet")
    : r.status === 401 ? t("e401")
    : r.status === 403 ? t("e403")
    : r.status === 404 ? t("e404")
    : r.status === 409 ? t("e409")
    : r.status === 429 ? t("e429")
    : r.status >= 500 ? t("e5xx") : "";
  return h("p", { class: "error", role: "alert" }, lead, r.status === 401 ? "" : message);
}

let catalogCache = null;
/** The measures catalog (public), fetched once. */
async function catalog() {
  if (!catalogCache) {
    const r = await api("/v1/catalog");
    catalogCache = r.status === 200 ? r.body : { actions: [], categories: [] };
  }
  return catalogCache;
}

/** What the signed-in key may do: {open, key}. */
async function whoami() {
  const r = await api("/v1/whoami");
  return r.status === 200 ? r.body : { open: false, key: null };
}

/** Whether the caller may write for `authority`. */
function mayPublish(me, authority) {
  if (me.open) return true;
  const roles = me.key?.roles ?? [];
  return roles.includes("admin") || (roles.includes("publish") && (me.key.authorities ?? []).includes(authority));
}

function today() {
  const now = new Date(Date.now() + 8 * 3600 * 1000);
  return now.toISOString().slice(0, 10);
}

function kindName(kind) {
  return kind === "person" ? t("person") : kind === "org" ? t("org") : kind;
}

function decisionBadge(d) {
  return h("span", { class: `decision ${d}`, "data-decision": d }, t(d));
}

// ---------------------------------------------------------------- pages ---

const PAGES = [
  { path: /^\/console\/?$/, page: searchPage, nav: "search" },
  { path: /^\/console\/search$/, page: searchPage, nav: "search" },
  { path: /^\/console\/subjects\/([^/]+)$/, page: subjectPage },
  { path: /^\/console\/entries\/([^/]+)$/, page: entryPage },
  { path: /^\/console\/screen$/, page: screenPage, nav: "screen" },
  { path: /^\/console\/stats$/, page: statsPage, nav: "stats" },
  { path: /^\/console\/disclosures$/, page: disclosuresPage, nav: "disclosures" },
];

function searchPage(main, _match, params) {
  const q = params.get("q") ?? "";
  const input = h("input", { type: "search", id: "q", name: "q", value: q, autocomplete: "off", placeholder: t("query") });
  const out = h("section", { "aria-live": "polite", "aria-label": t("results") });
  main.append(h("h1", {}, t("search")), h("label", { for: "q" }, t("query")), input, out);
  let timer = 0;
  let asked = 0;
  async function run() {
    const text = input.value.trim();
    const url = new URL(location.href);
    if (text) url.searchParams.set("q", text); else url.searchParams.delete("q");
    history.replaceState(null, "", url);
    const mine = ++asked;
    if (!text) { out.replaceChildren(); return; }
    const r = await api(`/v1/search?q=${encodeURIComponent(text)}&limit=20`);
    if (mine !== asked) return; // a later keystroke is on its way
    if (r.status !== 200) { out.replaceChildren(refusal(r)); return; }
    const results = r.body.results ?? [];
    if (!results.length) { out.replaceChildren(h("p", { class: "muted" }, t("noResults"))); return; }
    out.replaceChildren(h("table", {},
      h("thead", {}, h("tr", {}, ...["name", "kind", "id", "matched", "method", "score"].map((k) => h("th", { scope: "col" }, t(k))))),
      h("tbody", {}, results.map((x) => h("tr", {},
        h("td", {}, link(`/console/subjects/${encodeURIComponent(x.id)}`, x.name)),
        h("td", {}, kindName(x.kind)),
        h("td", {}, x.id),
        h("td", {}, x.matched_name ?? ""),
        h("td", {}, x.method ?? ""),
        h("td", {}, typeof x.score === "number" ? x.score.toFixed(2) : ""),
      )))));
  }
  input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(run, 60); });
  input.focus();
  if (q) run();
}

function table(columns, rows) {
  if (!rows.length) return h("p", { class: "muted" }, t("none"));
  return h("table", {},
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, t(c))))),
    h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((c) => h("td", {}, c))))));
}

function timeline(items) {
  if (!items.length) return h("p", { class: "muted" }, t("none"));
  return h("ol", { class: "timeline" }, items.map((c) => h("li", {},
    h("span", { class: "muted" }, `#${c.seq} ${c.time ?? (c.at_ms ? new Date(c.at_ms).toISOString() : "")} `),
    c.change ?? c.type ?? "",
    c.entry_id ? [" ", link(`/console/entries/${encodeURIComponent(c.entry_id)}`, c.entry_id)] : "",
    c.disclosure_id ? ` ${c.disclosure_id}` : "",
    c.status ? ` → ${c.status}` : "",
    c.note ? ` · ${c.note}` : "")));
}

async function subjectPage(main, match, params) {
  const id = decodeURIComponent(match[1]);
  const at = params.get("at") || today();
  const date = h("input", { type: "date", id: "at", value: at });
  date.addEventListener("change", () => {
    const url = new URL(location.href);
    url.searchParams.set("at", date.value);
    navigate(url.pathname + url.search);
  });
  main.append(h("p", {}, link("/console/search", t("back"))),
    h("div", { class: "row" }, h("div", {}, h("label", { for: "at" }, t("asOf")), date)));
  const body = h("div", {}, h("p", { class: "muted" }, t("loading")));
  main.append(body);
  const r = await api(`/v1/subjects/${encodeURIComponent(id)}?at=${encodeURIComponent(at)}`);
  if (r.status !== 200) {
    body.replaceChildren(r.status === 404 ? h("p", { class: "error", role: "alert" }, t("unknownSubject")) : refusal(r));
    return;
  }
  const s = r.body;
  document.title = `${s.name ?? s.id} · ${t("subject")}`;
  const decisionsBox = h("div", { "aria-live": "polite" }, h("p", { class: "muted" }, t("loading")));
  decisions(decisionsBox, id, at);
  const disclosuresBox = h("div", {}, h("p", { class: "muted" }, t("loading")));
  body.replaceChildren(
    h("h1", {}, s.name ?? s.id),
    h("p", {}, kindName(s.kind), " · ", s.id),
    s.aliases?.length ? h("p", {}, `${t("aliases")}: `, s.aliases.join("、")) : "",
    h("h2", {}, t("decisions")),
    decisionsBox,
    h("h2", {}, t("entries")),
    h("div", { id: "entries" }, table(["entry", "list", "category", "authority", "decided", "effective", "expires", "status"],
      (s.entries ?? []).map((e) => [
        link(`/console/entries/${encodeURIComponent(e.entry_id)}`, e.entry_id),
        t(e.list), e.category_name ?? e.category, e.authority, e.decided_at, e.effective_from,
        e.expires_at ?? "—", e.derived_status ?? e.status]))),
    h("h2", {}, t("persons")),
    table(["id", "role"], (s.persons ?? []).map((p) => [link(`/console/subjects/${encodeURIComponent(p.id)}`, p.id), p.role])),
    h("h2", {}, t("organizations")),
    table(["id", "role"], (s.organizations ?? []).map((o) => [link(`/console/subjects/${encodeURIComponent(o.id)}`, o.id), o.role])),
    h("h2", {}, t("disclosuresPage")),
    disclosuresBox,
    h("h2", {}, t("history")),
    timeline(s.history ?? []));
  const d = await api(`/v1/disclosures?subject=${encodeURIComponent(id)}`);
  disclosuresBox.replaceChildren(d.status === 200 ? disclosureTable(d.body.disclosures) : refusal(d));
}

/** The decision for every action of the catalog, with its reasons. */
async function decisions(box, id, at) {
  const { actions } = await catalog();
  const answers = await Promise.all(actions.map((a) =>
    api(`/v1/check?id=${encodeURIComponent(id)}&action=${encodeURIComponent(a.code)}&at=${encodeURIComponent(at)}`)));
  const reason = (x) => h("li", {},
    x.measure_name ?? x.measure, x.mandatory === false ? "（推荐性）" : "",
    ` · ${x.authority ?? ""} ${x.basis ?? ""}`,
    x.expires_at ? ` · ${t("until")} ${x.expires_at}` : "",
    x.entry_id ? [" · ", link(`/console/entries/${encodeURIComponent(x.entry_id)}`, x.entry_id)] : "",
    x.via ? [` · ${t("via")} `, link(`/console/subjects/${encodeURIComponent(x.via.org_id)}`, x.via.org_id), ` (${x.via.role})`] : "");
  box.replaceChildren(table(["action", "decision", "reasons", "suspended", "benefits"],
    actions.map((a, i) => {
      const r = answers[i];
      if (r.status !== 200) return [a.name, "—", r.status === 403 ? t("noRight") : refusal(r), "", ""];
      const d = r.body;
      return [a.name, decisionBadge(d.decision),
        d.reasons.length ? h("ul", {}, d.reasons.map(reason)) : "",
        d.suspended.length ? h("ul", {}, d.suspended.map(reason)) : "",
        d.benefits.map((b) => b.name).join("、")];
    })));
}

/** The lifecycle forms of an entry, for a key that may write for its authority. */
function stepForms(e, done) {
  const form = (step, title, fields, body) => {
    const status = h("div", { "aria-live": "polite" });
    const f = h("form", { class: "card", onsubmit: async (ev) => {
      ev.preventDefault();
      const r = await api(`/v1/entries/${encodeURIComponent(e.entry_id)}/${step}`, {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body(f)) });
      if (r.status === 200) { status.replaceChildren(h("p", {}, t("done"))); done(); }
      else status.replaceChildren(refusal(r));
    } }, h("h3", {}, title), fields, h("button", { type: "submit" }, t("submit")), status);
    return f;
  };
  const text = (name, label) => {
    const id = `f-${name}-${Math.random().toString(36).slice(2)}`;
    return h("div", {}, h("label", { for: id }, label), h("textarea", { id, name, rows: 2, required: true }));
  };
  const value = (f, name) => f.querySelector(`[name=${name}]`).value;
  const outcomes = h("select", { name: "outcome", id: "f-outcome" },
    ["upheld", "revoked"].map((o) => h("option", { value: o }, t(o))));
  return h("div", { class: "cards" },
    form("objection", t("fileObjection"), text("reason", t("reason")), (f) => ({ reason: value(f, "reason") })),
    form("outcome", t("decideOutcome"), [h("label", { for: "f-outcome" }, t("outcome")), outcomes, text("note", t("note"))],
      (f) => ({ outcome: value(f, "outcome"), note: value(f, "note") })),
    form("repair", t("repairEntry"), text("note", t("note")), (f) => ({ note: value(f, "note") })),
    form("revoke", t("revokeEntry"), text("reason", t("reason")), (f) => ({ reason: value(f, "reason") })));
}

async function entryPage(main, match) {
  const id = decodeURIComponent(match[1]);
  const body = h("div", {}, h("p", { class: "muted" }, t("loading")));
  main.append(body);
  const r = await api(`/v1/entries/${encodeURIComponent(id)}`);
  if (r.status !== 200) { body.replaceChildren(refusal(r)); return; }
  const { entry: e, history: hist, feedback, disclosures } = r.body;
  document.title = `${e.entry_id} · ${t("entry")}`;
  const me = await whoami();
  const forms = mayPublish(me, e.authority)
    ? [h("h2", {}, t("steps")), stepForms(e, () => setTimeout(render, 600))] : "";
  const o = e.objection;
  body.replaceChildren(h("div", {},
    h("p", {}, link(`/console/subjects/${encodeURIComponent(e.subject_id)}`, e.subject_id)),
    h("h1", {}, `${t("entry")} ${e.entry_id}`),
    table(["list", "category", "authority", "basis", "decided", "effective", "expires", "status"],
      [[t(e.list), e.category_name ?? e.category, e.authority, e.basis, e.decided_at, e.effective_from, e.expires_at ?? "—", e.derived_status ?? e.status]]),
    o ? [h("h2", {}, t("objection")), table(["decided", "deadline", "note", "outcome"],
      [[o.filed_on, o.deadline, o.reason, o.outcome ? `${o.outcome} ${o.decided_on ?? ""} ${o.outcome_note ?? ""}` : "—"]])] : "",
    e.repair ? [h("h2", {}, t("repair")), h("p", {}, `${e.repair.on} ${e.repair.note}`)] : "",
    e.revocation ? [h("h2", {}, t("revocation")), h("p", {}, `${e.revocation.on} ${e.revocation.note}`)] : "",
    h("h2", {}, t("history")), timeline(hist ?? []),
    h("h2", {}, t("feedback")),
    table(["implementer", "measure", "outcome", "note"], (feedback ?? []).map((f) => [f.implementer, f.measure, f.outcome, f.note ?? ""])),
    h("h2", {}, t("disclosures")),
    table(["number", "kind", "authority", "shown"], (disclosures ?? []).map((d) => [d.number, d.kind, d.authority, d.shown])),
    forms));
}

/** One answer row as a CSV line's fields. */
function csvFields(x) {
  const reasons = (x.reasons ?? []).map((r) => r.measure_name ?? r.measure).join("; ");
  return [x.row, x.ref ?? "", x.id ?? "", x.decision ?? "", reasons,
    x.match ? `${x.match.by ?? ""} ${x.match.score ?? ""}`.trim() : "",
    x.error ? `${x.error.code}: ${x.error.message}` : ""];
}

function csvLine(fields) {
  return fields.map((f) => {
    const v = String(f ?? "");
    return /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
  }).join(",");
}

async function screenPage(main) {
  const { actions } = await catalog();
  const file = h("input", { type: "file", id: "file", accept: ".csv,.ndjson,.jsonl,.txt", required: true });
  const action = h("select", { id: "action" }, actions.map((a) => h("option", { value: a.code }, a.name)));
  const encoding = h("select", { id: "encoding" },
    h("option", { value: "" }, t("auto")), h("option", { value: "utf-8" }, "UTF-8"), h("option", { value: "gbk" }, "GBK"));
  const date = h("input", { type: "date", id: "screen-at", value: today() });
  const bar = h("progress", { id: "bar", max: 1, value: 0 });
  const status = h("div", { "aria-live": "polite" });
  const filter = h("select", { id: "filter" }, ["all", "deny", "caution", "review", "error"].map((k) => h("option", { value: k }, t(k))));
  const results = h("div", {});
  const download = h("a", { id: "download", hidden: true, download: "screening-results.csv" }, t("download"));
  let rows = [];
  const shown = () => {
    const want = filter.value;
    const picked = rows.filter((x) => want === "all" || (want === "error" ? x.error : x.decision === want));
    results.replaceChildren(table(["rows", "ref", "id", "decision", "reasons", "match", "error"],
      picked.slice(0, 1000).map((x) => {
        const f = csvFields(x);
        f[3] = x.decision ? decisionBadge(x.decision) : "";
        return f;
      })));
  };
  filter.addEventListener("change", shown);
  const form = h("form", { class: "row", onsubmit: async (ev) => {
    ev.preventDefault();
    const chosen = file.files[0];
    if (!chosen) return;
    rows = [];
    download.hidden = true;
    const bytes = new Uint8Array(await chosen.arrayBuffer());
    const lines = bytes.reduce((n, b) => n + (b === 10 ? 1 : 0), 0) + (bytes.at(-1) === 10 ? 0 : 1);
    const csv = !/\.(ndjson|jsonl)$/i.test(chosen.name);
    bar.max = Math.max(1, lines - (csv ? 1 : 0));
    bar.value = 0;
    status.replaceChildren(h("p", {}, t("loading")));
    const params = new URLSearchParams({ action: action.value, at: date.value, format: csv ? "csv" : "ndjson" });
    if (encoding.value) params.set("encoding", encoding.value);
    const headers = {};
    const key = sessionStorage.getItem(KEY);
    if (key) headers.Authorization = `Bearer ${key}`;
    let res;
    try {
      res = await fetch(`/v1/screen?${params}`, { method: "POST", headers, body: bytes });
    } catch (e) {
      status.replaceChildren(refusal({ status: 0, body: null }));
      return;
    }
    if (res.status !== 200) {
      let body = null;
      try { body = await res.json(); } catch (e) { body = null; }
      status.replaceChildren(refusal({ status: res.status, body }));
      return;
    }
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let pending = "";
    let summary = null;
    let failure = null;
    let drawn = 0;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      pending += decoder.decode(value, { stream: true });
      const parts = pending.split("\n");
      pending = parts.pop();
      for (const line of parts) {
        if (!line.trim()) continue;
        const x = JSON.parse(line);
        if (x.summary) summary = x.summary;
        else if (x.error && x.row === undefined) failure = x;
        else rows.push(x);
      }
      bar.value = rows.length;
      if (Date.now() - drawn > 300) { shown(); drawn = Date.now(); }
    }
    shown();
    if (failure || !summary) {
      status.replaceChildren(refusal({ status: 500, body: failure }));
      return;
    }
    bar.value = bar.max;
    const d = summary.decisions;
    status.replaceChildren(h("p", { id: "summary" },
      `${t("summary")}: ${summary.rows} ${t("rows")} · ${t("deny")} ${d.deny} · ${t("caution")} ${d.caution} · ${t("review")} ${d.review} · ${t("error")} ${summary.errors}`));
    const text = "\ufeff" + [csvLine(["row", "ref", "id", "decision", "reasons", "match", "error"]), ...rows.map((x) => csvLine(csvFields(x)))].join("\r\n") + "\r\n";
    download.href = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
    download.hidden = false;
  } },
    h("div", {}, h("label", { for: "file" }, t("file")), file),
    h("div", {}, h("label", { for: "action" }, t("action")), action),
    h("div", {}, h("label", { for: "encoding" }, t("encoding")), encoding),
    h("div", {}, h("label", { for: "screen-at" }, t("asOf")), date),
    h("button", { type: "submit" }, t("start")));
  main.append(h("h1", {}, t("screen")), form,
    h("div", { class: "row" }, h("div", {}, h("label", { for: "bar" }, t("progress")), bar),
      h("div", {}, h("label", { for: "filter" }, t("decision")), filter), download),
    status, results);
}

/** Disclosures as a table. */
function disclosureTable(list) {
  return table(["number", "kind", "name", "counterpart", "content", "result", "authority", "decided", "window", "timely"],
    list.map((d) => [d.number, t(d.kind), d.name,
      h("span", {}, d.counterpart.name, h("br"), h("span", { class: "muted" }, d.counterpart.id)),
      d.content, d.result, d.authority, d.decided_at, d.window.until ?? "—",
      `${d.timeliness.working_days} ${t("workingDays")}${d.timeliness.late ? " ⚠" : ""}`]));
}

/** The public query (一站式查询) of licensing and penalty decisions. */
async function disclosuresPage(main, _m, params) {
  const field = (name, label, attrs = {}) => h("div", {}, h("label", { for: `d-${name}` }, label),
    h("input", Object.assign({ id: `d-${name}`, name, value: params.get(name) ?? "" }, attrs)));
  const kind = h("select", { id: "d-kind", name: "kind" },
    [["", t("any")], ["licence", t("licence")], ["penalty", t("penalty")]].map(([v, l]) =>
      h("option", { value: v, selected: params.get("kind") === v }, l)));
  const out = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "row", onsubmit: (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    for (const el of form.querySelectorAll("input, select")) if (el.value) q.set(el.name, el.value);
    navigate(`/console/disclosures?${q}`);
  } }, field("subject", t("id")), field("authority", t("authority")),
    h("div", {}, h("label", { for: "d-kind" }, t("kind")), kind),
    field("from", t("from"), { type: "date" }), field("to", t("to"), { type: "date" }),
    h("button", { type: "submit" }, t("find")));
  main.append(h("h1", {}, t("disclosuresPage")), form, out);
  const q = new URLSearchParams();
  for (const k of ["subject", "authority", "kind", "from", "to"]) if (params.get(k)) q.set(k, params.get(k));
  const r = await api(`/v1/disclosures?${q}`);
  if (r.status !== 200) { out.replaceChildren(refusal(r)); return; }
  out.replaceChildren(disclosureTable(r.body.disclosures));
}

const SVG = "http://www.w3.org/2000/svg";

/** An SVG element; its text children as text. */
function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

/** Horizontal bars: one row per [label, value, second value?]. */
function barChart(title, rows) {
  if (!rows.length) return h("p", { class: "muted" }, t("none"));
  const max = Math.max(1, ...rows.map((r) => r[1]));
  const line = 22, labelW = 220, barW = 420, height = rows.length * line + 8;
  const chart = svg("svg", { viewBox: `0 0 ${labelW + barW + 80} ${height}`, width: "100%", role: "img", "aria-label": title },
    svg("title", {}, title));
  rows.forEach(([label, value, second], i) => {
    const y = 4 + i * line;
    chart.append(
      svg("text", { x: labelW - 6, y: y + 14, "text-anchor": "end", "font-size": 12, fill: "#1d2733" }, label),
      svg("rect", { x: labelW, y, width: Math.max(1, (value / max) * barW), height: line - 6, fill: "#7aa7e0" }),
      second !== undefined ? svg("rect", { x: labelW, y: y + 4, width: (second / max) * barW, height: line - 14, fill: "#b3261e" }) : "",
      svg("text", { x: labelW + (value / max) * barW + 6, y: y + 14, "font-size": 12, fill: "#5b6775" },
        second !== undefined ? `${value} / ${second}` : value));
  });
  return h("figure", { class: "card" }, h("figcaption", {}, title), chart);
}

/** Checks and denials per day, for every action or the one chosen. */
function dailyChart(c, days, actions) {
  const used = actions.filter((a) => Object.values(c.by_day_action ?? {}).some((m) => m[a.code]));
  const pick = h("select", { id: "day-action" }, h("option", { value: "" }, t("all")),
    used.map((a) => h("option", { value: a.code }, a.name)));
  const box = h("div", {});
  const draw = () => {
    const code = pick.value;
    const of = (d) => (code ? c.by_day_action?.[d]?.[code] : c.by_day?.[d]) ?? { checks: 0, denials: 0 };
    box.replaceChildren(barChart(t("byDay"), days.map((d) => [d, of(d).checks, of(d).denials])));
  };
  pick.addEventListener("change", draw);
  draw();
  return h("div", {}, h("div", { class: "row" }, h("div", {}, h("label", { for: "day-action" }, t("action")), pick)), box);
}

function isoDay(d) {
  return d.toISOString().slice(0, 10);
}

async function statsPage(main, _m, params) {
  const to = params.get("to") || today();
  const from = params.get("from") || isoDay(new Date(Date.parse(to) - 13 * 86400000));
  const fromInput = h("input", { type: "date", id: "from", value: from });
  const toInput = h("input", { type: "date", id: "to", value: to });
  const go = () => navigate(`/console/stats?from=${fromInput.value}&to=${toInput.value}`);
  fromInput.addEventListener("change", go);
  toInput.addEventListener("change", go);
  const body = h("div", {}, h("p", { class: "muted" }, t("loading")));
  main.append(h("h1", {}, t("stats")),
    h("div", { class: "row" }, h("div", {}, h("label", { for: "from" }, t("from")), fromInput),
      h("div", {}, h("label", { for: "to" }, t("to")), toInput)), body);
  const [r, cat] = await Promise.all([api(`/v1/stats?from=${from}&to=${to}`), catalog()]);
  if (r.status !== 200) { body.replaceChildren(refusal(r)); return; }
  const st = r.body;
  const actionName = Object.fromEntries(cat.actions.map((a) => [a.code, a.name]));
  const categoryName = Object.fromEntries(cat.categories.map((c) => [c.code, c.name]));
  const pairs = (o) => Object.entries(o ?? {}).sort((a, b) => b[1] - a[1]);
  const c = st.checks;
  const days = [];
  for (let d = Date.parse(from); d <= Date.parse(to); d += 86400000) days.push(isoDay(new Date(d)));
  const dis = st.disclosures ?? { published: 0, late: 0, by_authority: {} };
  body.replaceChildren(h("div", {},
    h("div", { class: "cards" },
      h("div", { class: "card" }, t("total"), h("div", { class: "big", id: "entries-total" }, st.entries.total)),
      h("div", { class: "card" }, t("openObjections"), h("div", { class: "big" }, st.objections.open)),
      h("div", { class: "card" }, t("overdue"), h("div", { class: "big" }, st.objections.overdue)),
      c ? h("div", { class: "card" }, `${t("checks")} / ${t("denials")}`, h("div", { class: "big" }, `${c.checks} / ${c.denials}`)) : "",
      h("div", { class: "card" }, `${t("published")} / ${t("late")}`, h("div", { class: "big" }, `${dis.published} / ${dis.late}`))),
    c ? [dailyChart(c, days, cat.actions),
      barChart(t("byAction"), Object.entries(c.by_action ?? {}).sort((a, b) => b[1].checks - a[1].checks)
        .map(([code, v]) => [actionName[code] ?? code, v.checks, v.denials]))]
      : h("p", { class: "muted" }, t("auditOff")),
    barChart(t("byCategory"), pairs(st.entries.by_category).map(([k, v]) => [categoryName[k] ?? k, v])),
    barChart(t("byStatus"), pairs(st.entries.by_status)),
    h("h2", {}, t("byAuthority")),
    table(["authority", "total"], pairs(st.entries.by_authority).slice(0, 50).map(([k, v]) => [k, v])),
    h("h2", {}, t("overdueList")),
    table(["entry", "authority", "decided", "deadline"], (st.objections.overdue_entries ?? []).map((o) =>
      [link(`/console/entries/${encodeURIComponent(o.entry_id)}`, o.entry_id), o.authority, o.filed_on, o.deadline])),
    h("h2", {}, t("disclosureStats")),
    table(["authority", "published", "late"], Object.entries(dis.by_authority ?? {}).map(([k, v]) =>
      [k, v.published.total, v.late.total]))));
}

// --------------------------------------------------------------- frame ---

function drawSession() {
  const box = document.getElementById("session");
  const key = sessionStorage.getItem(KEY);
  const toggle = h("button", { type: "button", class: "plain", onclick: () => {
    lang = lang === "zh" ? "en" : "zh";
    localStorage.setItem(LANG, lang);
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    render();
  } }, t("lang"));
  if (key) {
    box.replaceChildren(h("span", { class: "muted" }, t("signedIn")),
      h("button", { type: "button", class: "plain", onclick: () => { sessionStorage.removeItem(KEY); render(); } }, t("signOut")), toggle);
    return;
  }
  const input = h("input", { type: "password", id: "key", autocomplete: "off", placeholder: t("keyHint") });
  const form = h("form", { class: "row", onsubmit: (ev) => {
    ev.preventDefault();
    const v = input.value.trim();
    if (v) { sessionStorage.setItem(KEY, v); render(); }
  } }, h("label", { for: "key", class: "sr-only" }, t("key")), input, h("button", { type: "submit" }, t("signIn")));
  box.replaceChildren(form, toggle);
}

function drawNav(current) {
  document.getElementById("nav").replaceChildren(
    link("/console/search", t("search")), link("/console/screen", t("screen")),
    link("/console/disclosures", t("disclosuresPage")), link("/console/stats", t("stats")));
  for (const a of document.querySelectorAll("#nav a")) {
    if (a.getAttribute("href").endsWith(current ?? "-")) a.setAttribute("aria-current", "page");
  }
}

function render() {
  drawSession();
  const main = document.getElementById("main");
  main.replaceChildren();
  const params = new URLSearchParams(location.search);
  for (const { path, page, nav } of PAGES) {
    const m = location.pathname.match(path);
    if (m) {
      drawNav(nav);
      page(main, m, params);
      return;
    }
  }
  drawNav(null);
  main.append(h("p", { class: "error", role: "alert" }, t("e404"), location.pathname));
}

function navigate(href) {
  history.pushState(null, "", href);
  render();
  document.getElementById("main").focus();
}

document.addEventListener("click", (ev) => {
  const a = ev.target.closest?.("a[data-link]");
  if (!a || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
  ev.preventDefault();
  navigate(a.getAttribute("href"));
});
window.addEventListener("popstate", render);
document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
render();
