// What the audience builder does with a definition besides counting it (api/console.py): a breakdown
// drawn as bars, the overlap with a saved audience, a preview of members (fields masked by role), a CSV
// export, look-alikes, and saving it. Each asks on a click, not as the definition is edited: a count
// shown to a role below admin spends its key's daily count budget.

import { ask, mayRead, messages, viewer } from "./api.js";
import { bar, countText, el, errors, labelled, note, profileLink, table } from "./dom.js";

const BREAKDOWN_BY = [
  "city", "region", "country", "gender", "ageBand", "occupation", "education", "incomeBand", "lifecycle",
  "persona", "socialCommunity", "rfmScore", "marketingConsent", "personalizationOptOut", "customerId", "birthYear",
];
const MEMBER_FIELDS = ["customerId", "city", "ageBand", "gender", "lifecycle"];
const PREVIEW = 20;
const EXPORT_PAGE = 1000; // members per request (the API's most)
const EXPORT_MAX = 10000;

const BREAKDOWN_QUERY = `query ConsoleBreakdown($d: AudienceInput!, $p: Purpose!, $by: String!) {
  audience(definition: $d, purpose: $p) { breakdown(by: $by) { value grouped count { value fewerThan exact } } }
}`;
const SAVED_QUERY = "query ConsoleSaved { savedAudiences { id name purpose definition } }";
const OVERLAP_QUERY = `query ConsoleOverlap($a: AudienceInput!, $b: AudienceInput!, $both: AudienceInput!, $p: Purpose!) {
  a: audience(definition: $a, purpose: $p) { count { value fewerThan exact } }
  b: audience(definition: $b, purpose: $p) { count { value fewerThan exact } }
  both: audience(definition: $both, purpose: $p) { count { value fewerThan exact } }
}`;
const LOOKALIKES_QUERY = `query ConsoleLookalikes($d: AudienceInput!, $p: Purpose!) {
  audience(definition: $d, purpose: $p) { lookalikes(first: 20) { userId score reasons } }
}`;
const SAVE_MUTATION = `mutation ConsoleSave($id: ID!, $name: String!, $d: AudienceInput!, $p: Purpose!) {
  saveAudience(id: $id, name: $name, definition: $d, purpose: $p) { id name audience { count { value fewerThan exact } } }
}`;

function membersQuery(who) {
  const fields = MEMBER_FIELDS.filter((f) => mayRead(who, `User.${f}`)).join(" ");
  return {
    fields: ["id", ...MEMBER_FIELDS.filter((f) => mayRead(who, `User.${f}`))],
    query: `query ConsoleMembers($d: AudienceInput!, $p: Purpose!, $first: Int!, $after: String) {
      audience(definition: $d, purpose: $p) { members(first: $first, after: $after) {
        edges { node { id ${fields} } } pageInfo { hasNextPage endCursor } } } }`,
  };
}

// `current()` gives { definition, purpose } as the builder has them now (definition null if incomplete).
export function render(box, current) {
  const by = el("select", {}, ...BREAKDOWN_BY.map((f) => el("option", { value: f, text: f })));
  const saved = el("select", {}, el("option", { value: "", text: "choose a saved audience..." }));
  const saveId = el("input", { type: "text", autocomplete: "off", placeholder: "e.g. lapsed-vips" });
  const saveName = el("input", { type: "text", autocomplete: "off", placeholder: "e.g. Lapsed VIPs" });
  const out = el("div", { id: "explore-result", "aria-live": "polite" });

  const run = (action) => async () => {
    const { definition, purpose } = current();
    if (definition === null) return out.replaceChildren(note("Add a condition (and fill in what it needs) first."));
    out.replaceChildren(note("Asking..."));
    out.replaceChildren(...(await action(definition, purpose)));
  };
  box.replaceChildren(
    el("h3", { text: "Explore this audience" }),
    el(
      "div",
      { class: "explore-actions" },
      el("div", { class: "controls" }, labelled("breakdown-by", "Break down by", by), el("button", { type: "button", text: "Show breakdown", onclick: run((d, p) => breakdown(d, p, by.value)) })),
      el("div", { class: "controls" }, labelled("overlap-with", "Overlap with", saved), el("button", { type: "button", text: "Compare", onclick: run((d, p) => overlap(d, p, saved)) })),
      el(
        "div",
        { class: "controls" },
        el("button", { type: "button", text: "Preview members", onclick: run(preview) }),
        el("button", { type: "button", text: "Export CSV", onclick: run(exportCsv) }),
        el("button", { type: "button", text: "Look-alikes", onclick: run(lookalikes) }),
      ),
      el(
        "form",
        { class: "controls", onsubmit: (e) => { e.preventDefault(); run((d, p) => save(d, p, saveId.value.trim(), saveName.value.trim()))(); } },
        labelled("save-id", "Save as (id)", saveId),
        labelled("save-name", "Name", saveName),
        el("button", { type: "submit", text: "Save" }),
      ),
    ),
    out,
  );
  loadSaved(saved);
}

async function loadSaved(select) {
  const answer = await ask(SAVED_QUERY);
  for (const s of (answer.data && answer.data.savedAudiences) || []) {
    const option = el("option", { value: s.id, text: `${s.name} (${s.id}, ${s.purpose.toLowerCase()})` });
    option.dataset.definition = JSON.stringify(s.definition);
    select.append(option);
  }
}

function shownNumber(count) {
  return count && count.value !== null ? count.value : 0;
}

async function breakdown(definition, purpose, by) {
  const answer = await ask(BREAKDOWN_QUERY, { d: definition, p: purpose, by });
  const buckets = (answer.data && answer.data.audience && answer.data.audience.breakdown) || [];
  if (!buckets.length) return [...errors(messages(answer)), answer.errors ? "" : note("No members to break down.")];
  const largest = Math.max(1, ...buckets.map((b) => shownNumber(b.count)));
  const label = (b) => (b.grouped ? "(small groups together)" : b.value === null ? "(none)" : String(b.value));
  return [
    ...errors(messages(answer)),
    table(
      `By ${by}`,
      [by, "Members", ""],
      buckets.map((b) => [label(b), countText(b.count), bar(shownNumber(b.count), largest, countText(b.count))]),
      { "data-testid": "breakdown" },
    ),
  ];
}

async function overlap(definition, purpose, select) {
  const option = select.selectedOptions[0];
  if (!option || !option.value) return [note("Choose a saved audience to compare with.")];
  const other = JSON.parse(option.dataset.definition);
  const answer = await ask(OVERLAP_QUERY, { a: definition, b: other, both: { and: [definition, other] }, p: purpose });
  if (!answer.data) return errors(messages(answer));
  const { a, b, both } = answer.data;
  const largest = Math.max(1, shownNumber(a.count), shownNumber(b.count));
  return [
    table(
      `This audience and ${option.textContent}`,
      ["", "Members", ""],
      [
        ["This audience", countText(a.count), bar(shownNumber(a.count), largest, countText(a.count))],
        [option.value, countText(b.count), bar(shownNumber(b.count), largest, countText(b.count))],
        ["In both", countText(both.count), bar(shownNumber(both.count), largest, countText(both.count))],
      ],
      { "data-testid": "overlap" },
    ),
  ];
}

async function preview(definition, purpose) {
  const who = await viewer();
  const { fields, query } = membersQuery(who);
  const answer = await ask(query, { d: definition, p: purpose, first: PREVIEW, after: null });
  const page = answer.data && answer.data.audience && answer.data.audience.members;
  if (!page) return errors(messages(answer));
  const people = mayRead(who, "Query.user");
  const masked = MEMBER_FIELDS.filter((f) => !fields.includes(f));
  return [
    table(
      `The first ${page.edges.length} members by id${masked.length ? ` (${masked.join(", ")}: masked for the ${who.role} role)` : ""}`,
      fields,
      page.edges.map(({ node }) => fields.map((f) => (f === "id" && people ? profileLink(node.id) : node[f]))),
      { "data-testid": "members" },
    ),
  ];
}

// A CSV field: quoted when it must be, and a leading =, +, - or @ defused with a ' so a spreadsheet
// never runs it as a formula.
function csvCell(value) {
  let text = value === null || value === undefined ? "" : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

// Every member (up to EXPORT_MAX) as the role may read them: { fields, rows } (rows: arrays of values).
async function allMembers(definition, purpose) {
  const who = await viewer();
  const { fields, query } = membersQuery(who);
  const rows = [];
  let after = null;
  while (rows.length < EXPORT_MAX) {
    const answer = await ask(query, { d: definition, p: purpose, first: EXPORT_PAGE, after });
    const page = answer.data && answer.data.audience && answer.data.audience.members;
    if (!page) return { errors: messages(answer) };
    for (const { node } of page.edges) rows.push(fields.map((f) => node[f]));
    if (!page.pageInfo.hasNextPage) break;
    after = page.pageInfo.endCursor;
  }
  return { fields, rows };
}

function csvLink(file, text, fields, rows) {
  const lines = [fields.join(","), ...rows.map((row) => row.map(csvCell).join(","))];
  const link = el("a", { download: file, text });
  link.href = URL.createObjectURL(new Blob([lines.join("\r\n") + "\r\n"], { type: "text/csv" }));
  return el("p", {}, link);
}

function capped(rows) {
  return rows >= EXPORT_MAX ? note(`The first ${EXPORT_MAX.toLocaleString("en")} only: use \`persona audience export\` for more.`) : "";
}

async function exportCsv(definition, purpose) {
  const found = await allMembers(definition, purpose);
  if (found.errors) return errors(found.errors);
  const n = found.rows.length.toLocaleString("en");
  return [csvLink("audience-members.csv", `Download ${n} members (CSV)`, found.fields, found.rows), capped(found.rows.length)];
}

// Look-alike expansion: the users most like the audience, listed, and the audience with them as one file
// (a `source` column says which is which) for an activation wider than the audience itself.
async function lookalikes(definition, purpose) {
  const who = await viewer();
  const answer = await ask(LOOKALIKES_QUERY, { d: definition, p: purpose });
  const found = answer.data && answer.data.audience && answer.data.audience.lookalikes;
  if (!found) return errors(messages(answer));
  if (!found.length) return [note("No look-alikes found.")];
  const people = mayRead(who, "Query.user");
  const members = await allMembers(definition, purpose);
  const expansion = members.errors
    ? errors(members.errors)
    : [
        csvLink(
          "audience-with-lookalikes.csv",
          `Download the audience with its ${found.length} look-alikes (${(members.rows.length + found.length).toLocaleString("en")} users, CSV)`,
          ["source", "score", ...members.fields],
          [
            ...members.rows.map((row) => ["member", "", ...row]),
            ...found.map((l) => ["look-alike", l.score.toFixed(4), l.userId, ...members.fields.slice(1).map(() => "")]),
          ],
        ),
        capped(members.rows.length),
      ];
  return [
    table(
      "Users most like this audience who are not in it",
      ["User", "Score", "Why"],
      found.map((l) => [people ? profileLink(l.userId) : l.userId, l.score.toFixed(3), l.reasons.join("; ")]),
      { "data-testid": "lookalikes" },
    ),
    ...expansion,
  ];
}

async function save(definition, purpose, id, name) {
  if (!id || !name) return [note("Give the audience an id and a name to save it.")];
  const answer = await ask(SAVE_MUTATION, { id, name, d: definition, p: purpose });
  const saved = answer.data && answer.data.saveAudience;
  if (!saved) return errors(messages(answer));
  return [
    el("p", { role: "status" }, `Saved "${saved.name}" as ${saved.id}: ${countText(saved.audience.count)} members. `, el("a", { href: `#/live/${encodeURIComponent(saved.id)}`, text: "Watch it live" })),
  ];
}
