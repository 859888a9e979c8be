// Browsing logic of the pytest-llmcmp HTML report. Inlined into the report by reports/html.py.
// Data comes from the JSON script element; every text reaches the page through textContent,
// never innerHTML, so model answers cannot inject markup.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("llmcmp-data").textContent);
  const byId = (id) => document.getElementById(id);

  // The language of a text the user or the model wrote (case ids, tags, prompt names, questions, answers), for its
  // element's lang: the page's own words are English, and browsers pick CJK glyph forms and fonts by lang.
  const SCRIPTS = [[/[\p{Script=Hiragana}\p{Script=Katakana}]/u, "ja"], [/\p{Script=Hangul}/u, "ko"],
    [/\p{Script=Han}/u, "zh"]];
  function langOf(text) {
    const found = SCRIPTS.find(([pattern]) => pattern.test(text));
    return found ? found[1] : "";
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) {
      node.textContent = String(text);
      const lang = langOf(node.textContent);
      if (lang) node.lang = lang;
    }
    return node;
  }

  function fill(select, options) {
    select.replaceChildren();
    for (const [value, label] of options) {
      const option = el("option", "", label);
      option.value = value;
      select.append(option);
    }
  }

  function badge(kind, value) {
    return el("span", "badge " + kind + "-" + value, value);
  }

  function choiceText(sample) {
    if (sample.verdict === "error") return "(error)";
    return sample.choice === null ? "(none)" : sample.choice;
  }

  function answerBlock(sample, index, count) {
    const box = el("div", "sample");
    const head = el("div", "sample-head");
    if (count > 1) head.append(el("span", "", "sample " + (index + 1) + ": "));
    head.append(badge("v", sample.verdict), el("span", "", "chose " + choiceText(sample)));
    if (sample.contradiction) head.append(el("span", "badge v-unparsed", "contradiction"));
    if (sample.verdict === "unparsed" && sample.reason === "truncated") {
      head.append(el("span", "badge v-unparsed", "cut off by max_tokens"));
    }
    box.append(head);
    const text = sample.answer !== null ? sample.answer : "(no answer: " + (sample.error || "error") + ")";
    const pre = el("pre", "answer", "");
    // The passage that decided the verdict is highlighted, so a reader can audit the judge at a glance.
    const at = sample.evidence ? text.indexOf(sample.evidence) : -1;
    const lang = langOf(text);
    if (lang) pre.lang = lang;
    if (at >= 0) {
      const mark = el("mark", "evidence", sample.evidence);
      mark.title = "the judge decided on this passage";
      pre.append(text.slice(0, at), mark, text.slice(at + sample.evidence.length));
    } else {
      pre.textContent = text;
    }
    box.append(pre);
    return box;
  }

  // ---- every case, with filters -------------------------------------------------------------
  const tbody = document.querySelector("#case-table tbody");
  // Several models: a model column and filter tell apart the rows of one case under each model.
  const models = data.models || [];
  const several = models.length > 1;
  const entries = data.cases.map((c) => {
    const tr = document.createElement("tr");
    tr.dataset.prompt = c.prompt;
    if (several) tr.dataset.model = c.model || "";
    tr.dataset.outcome = c.outcome;
    const idCell = el("td", "", c.id);
    if (c.change) idCell.append(el("div", "change", c.change));
    if (c.flaky) idCell.append(el("div", "badge v-unparsed", "flaky"));
    const promptCell = el("td");
    const swatch = el("span", "swatch");
    swatch.style.background = data.colors[c.prompt] || "#888";
    promptCell.append(swatch, document.createTextNode(c.prompt));
    if (langOf(c.prompt)) promptCell.lang = langOf(c.prompt);
    const answerCell = el("td");
    const details = el("details");
    details.append(el("summary", "", c.samples.map(choiceText).join(", ") || "(no sample)"));
    c.samples.forEach((s, i) => details.append(answerBlock(s, i, c.samples.length)));
    answerCell.append(details);
    const verdictCell = el("td");
    for (const s of c.samples) verdictCell.append(badge("v", s.verdict));
    const outcomeCell = el("td");
    outcomeCell.append(badge("o", c.outcome));
    tr.append(idCell);
    if (several) tr.append(el("td", "model", c.model || ""));
    tr.append(promptCell, el("td", "", c.tags.join(", ")), el("td", "question", c.question),
      el("td", "", c.expected), answerCell, verdictCell, outcomeCell);
    const haystack = [c.id, c.model || "", c.prompt, c.question, c.expected, c.numbers.join(" "), c.tags.join(" "),
      ...c.samples.map((s) => (s.answer || "") + " " + (s.choice || "") + " " + (s.error || ""))]
      .join("\n").toLowerCase();
    return { c, tr, haystack };
  });
  tbody.append(...entries.map((e) => e.tr));

  const filters = {
    ...(several ? { model: byId("filter-model") } : {}),
    prompt: byId("filter-prompt"), tag: byId("filter-tag"), verdict: byId("filter-verdict"),
    outcome: byId("filter-outcome"), change: byId("filter-change"), text: byId("filter-text"),
  };
  if (several) fill(filters.model, [["", "all models"], ...models.map((m) => [m, m])]);
  fill(filters.prompt, [["", "all prompts"], ...data.prompts.map((p) => [p, p])]);
  fill(filters.tag, [["", "all tags"], ...data.tags.map((t) => [t, t])]);
  fill(filters.verdict, [["", "any"], ...data.verdicts.map((v) => [v, v])]);
  fill(filters.outcome, [["", "any"], ["pass", "pass"], ["fail", "fail"], ["flaky", "flaky"]]);
  fill(filters.change, [["", "any"], ["regression", "regression"], ["improvement", "improvement"],
    ["new", "new"], ["unchanged", "unchanged"]]);
  if (!data.hasComparison) byId("filter-change-label").hidden = true;

  function applyFilters() {
    const model = several ? filters.model.value : "";
    const prompt = filters.prompt.value, tag = filters.tag.value, verdict = filters.verdict.value;
    const outcome = filters.outcome.value, change = filters.change.value;
    const words = filters.text.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const { c, tr, haystack } of entries) {
      const visible = (!model || c.model === model)
        && (!prompt || c.prompt === prompt)
        && (!tag || c.tags.includes(tag))
        && (!verdict || c.samples.some((s) => s.verdict === verdict))
        && (!outcome || (outcome === "flaky" ? c.flaky : c.outcome === outcome))
        && (!change || (change === "unchanged" ? !c.change : c.change === change))
        && words.every((w) => haystack.includes(w));
      tr.hidden = !visible;
      if (visible) shown += 1;
    }
    byId("case-count").textContent = shown + " of " + entries.length + " shown";
  }
  for (const control of Object.values(filters)) control.addEventListener("input", applyFilters);
  byId("filters").addEventListener("submit", (event) => event.preventDefault());
  applyFilters();

  // ---- two prompts side by side ---------------------------------------------------------------
  // One row per case (per case and model when the run has several models: each model answers for itself).
  const cases = new Map();
  for (const c of data.cases) {
    const row = several ? JSON.stringify([c.id, c.model || ""]) : c.id;
    if (!cases.has(row)) cases.set(row, { id: c.id, model: c.model || "", prompts: new Map() });
    cases.get(row).prompts.set(c.prompt, c);
  }
  const pairA = byId("pair-a"), pairB = byId("pair-b"), differ = byId("pair-differ");
  if (!pairA) return; // one prompt: there is nothing to put side by side
  const promptOptions = data.prompts.map((p) => [p, p]);
  fill(pairA, promptOptions);
  fill(pairB, promptOptions);
  if (data.prompts.length > 1) pairB.value = data.prompts[1];

  function pairCell(c) {
    const td = el("td");
    if (!c) {
      td.append(el("span", "missing", "not asked under this prompt"));
      return td;
    }
    td.append(badge("o", c.outcome));
    c.samples.forEach((s, i) => td.append(answerBlock(s, i, c.samples.length)));
    return td;
  }

  function renderPairs() {
    const a = pairA.value, b = pairB.value;
    byId("pair-head-a").textContent = a;
    byId("pair-head-b").textContent = b;
    const body = document.querySelector("#pair-table tbody");
    const rows = [];
    for (const { id, model, prompts } of cases.values()) {
      const left = prompts.get(a), right = prompts.get(b);
      if (!left && !right) continue;
      if (differ.checked && left && right && left.outcome === right.outcome) continue;
      const any = left || right;
      const head = el("td");
      head.append(el("div", "", id));
      if (several) head.append(el("div", "model", "model " + model));
      head.append(el("div", "question", any.question), el("div", "sample-head", "expected " + any.expected));
      const tr = document.createElement("tr");
      tr.dataset.caseId = id;
      if (several) tr.dataset.model = model;
      tr.append(head, pairCell(left), pairCell(right));
      rows.push(tr);
    }
    body.replaceChildren(...rows);
    byId("pair-count").textContent = rows.length + " cases";
  }
  for (const control of [pairA, pairB, differ]) control.addEventListener("input", renderPairs);
  renderPairs();
})();
