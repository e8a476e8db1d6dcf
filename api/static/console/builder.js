// The audience builder (api/console.py): every condition of the audience language, nested all/any/not,
// and the audience's size as the caller's role may see it, asked again as the definition is edited.

import { ask, messages, session } from "./api.js";
import { countText, el, labelled } from "./dom.js";
import * as explore from "./explore.js";

const DEBOUNCE_MS = 250;

const COUNT_QUERY = `query ConsoleAudienceSize($d: AudienceInput!, $p: Purpose!) {
  audience(definition: $d, purpose: $p) {
    count { value fewerThan exact }
    excludedByConsent { value fewerThan exact }
  }
}`;
const WARNINGS_QUERY = `query ConsoleAudienceWarnings($d: AudienceInput!) {
  audience(definition: $d) { warnings }
}`;
const TAGS_QUERY = "query ConsoleTags { tags { tagId name tier } }";

const TIERS = { basic: "Basic attribute", behavior: "Behaviour habit", preference: "Need / preference" };
const USER_FIELDS = [
  "gender", "birthYear", "ageBand", "occupation", "education", "incomeBand", "city", "region", "country",
  "marketingConsent", "personalizationOptOut", "lifecycle", "persona", "socialCommunity", "rfmScore",
  "customerId", "influence", "influenceRank", "degree", "reach2",
];
const OPS = ["eq", "ne", "in", "lt", "lte", "gt", "gte", "between", "exists"];
const ACTIONS = ["bought", "viewed", "clicked", "liked", "commented", "shared"];

// Each condition of the audience language (schema.graphql AudienceInput): its fields, and for the
// relational ones the key of the sub-audience its members' ties must match.
const KINDS = {
  tag: {
    label: "Tag",
    fields: [
      { name: "tagId", label: "Tag", type: "tag", required: true },
      { name: "minWeight", label: "Minimum weight", type: "float" },
      { name: "includeExpired", label: "Include expired", type: "bool" },
    ],
  },
  attribute: {
    label: "Attribute",
    fields: [
      { name: "field", label: "Field", type: "select", options: USER_FIELDS, required: true },
      { name: "op", label: "Operator", type: "select", options: OPS, required: true },
      { name: "value", label: "Value (JSON, or text)", type: "json" },
    ],
  },
  lifecycle: { label: "Lifecycle stage", fields: [{ name: "in", label: "Stages (comma-separated)", type: "list", required: true }] },
  persona: { label: "Persona", fields: [{ name: "in", label: "Persona ids (comma-separated)", type: "list", required: true }] },
  community: { label: "Community", fields: [{ name: "in", label: "Community ids (comma-separated)", type: "list", required: true }] },
  influence: {
    label: "Influence",
    fields: [
      { name: "minRank", label: "Best rank", type: "int" },
      { name: "maxRank", label: "Worst rank", type: "int" },
      { name: "minScore", label: "Minimum score", type: "float" },
      { name: "maxScore", label: "Maximum score", type: "float" },
    ],
  },
  behavior: {
    label: "Behaviour",
    fields: [
      { name: "action", label: "Action", type: "select", options: ACTIONS, required: true },
      { name: "sku", label: "Product (sku)", type: "text" },
      { name: "brand", label: "Brand", type: "text" },
      { name: "category", label: "Category", type: "text" },
      { name: "lastDays", label: "In the last days", type: "int" },
      { name: "from", label: "From (UTC)", type: "datetime" },
      { name: "to", label: "To (UTC)", type: "datetime" },
      { name: "minCount", label: "At least times", type: "int" },
    ],
  },
  acquiredVia: { label: "Acquired via", fields: [{ name: "channelId", label: "Channel id", type: "text", required: true }] },
  friends: { label: "Friends who match", fields: [{ name: "atLeast", label: "At least", type: "int" }], nested: "who" },
  followers: { label: "Followers who match", fields: [{ name: "atLeast", label: "At least", type: "int" }], nested: "who" },
  referralHops: {
    label: "Within referral hops",
    fields: [
      { name: "maxHops", label: "Hops at most", type: "int" },
      { name: "userId", label: "Of user (id)", type: "text" },
    ],
    nested: "of",
  },
};
const GROUPS = { and: "All of", or: "Any of", not: "Not" };

let nextId = 1;
// Kept while the user moves between screens.
const state = {
  purpose: "MARKETING",
  tags: [],
  tree: group("and"),
  asked: 0,
};

function group(type) {
  return { id: nextId++, type, children: [] };
}

function condition(kind) {
  const made = { id: nextId++, type: "cond", kind, values: {} };
  if (KINDS[kind].nested) made.sub = group("and");
  return made;
}

// --- the definition -----------------------------------------------------------------------------

// The AudienceInput of a node, or null while it is incomplete (a required field empty, an empty group).
function definition(node) {
  if (node.type === "cond") return conditionInput(node);
  const parts = node.children.map(definition).filter((part) => part !== null);
  if (!parts.length) return null;
  if (node.type === "not") return { not: parts.length === 1 ? parts[0] : { and: parts } };
  return { [node.type]: parts };
}

function conditionInput(node) {
  const spec = KINDS[node.kind];
  const body = {};
  for (const field of spec.fields) {
    const raw = node.values[field.name];
    const value = parseValue(field, raw);
    if (value === undefined) {
      if (field.required) return null;
      continue;
    }
    body[field.name] = value;
  }
  if (spec.nested) {
    const sub = definition(node.sub);
    if (sub !== null) body[spec.nested] = sub;
  }
  return { [node.kind]: body };
}

function parseValue(field, raw) {
  if (field.type === "bool") return raw ? true : undefined;
  if (raw === undefined || raw === null || String(raw).trim() === "") return undefined;
  const text = String(raw).trim();
  switch (field.type) {
    case "int":
      return Number.isInteger(Number(text)) ? Number(text) : text; // the API says what is wrong
    case "float":
      return Number.isFinite(Number(text)) ? Number(text) : text;
    case "list":
      return text.split(",").map((item) => item.trim()).filter(Boolean);
    case "json":
      try {
        return JSON.parse(text);
      } catch {
        return text;
      }
    case "datetime":
      return text.length === 16 ? `${text}:00Z` : `${text}Z`;
    default:
      return text;
  }
}

let timer = null;
function sizeSoon() {
  renderDefinition(definition(state.tree)); // at once; the count after the edits pause
  clearTimeout(timer);
  timer = setTimeout(size, DEBOUNCE_MS);
}

async function size() {
  const asked = ++state.asked;
  const d = definition(state.tree);
  const show = (parts) => {
    if (asked === state.asked) renderSize(parts);
  };
  renderDefinition(d);
  if (!session.key) return show({ note: "Type your API key above to see the audience's size." });
  if (d === null) return show({ note: "Add a condition (and fill in what it needs) to see the audience's size." });
  show({ busy: true });
  const [counted, warned] = await Promise.all([
    ask(COUNT_QUERY, { d, p: state.purpose }),
    ask(WARNINGS_QUERY, { d }),
  ]);
  const audience = counted.data && counted.data.audience;
  show({
    count: audience && audience.count,
    excluded: audience && audience.excludedByConsent,
    errors: messages(counted),
    warnings: (warned.data && warned.data.audience && warned.data.audience.warnings) || [],
  });
}

async function loadTags() {
  if (!session.key) return;
  const answer = await ask(TAGS_QUERY);
  state.tags = (answer.data && answer.data.tags) || [];
  if (answer.errors) {
    const box = document.getElementById("audience-size");
    if (box) box.replaceChildren(...messages(answer).map((m) => el("p", { class: "error", role: "alert", text: m })));
  }
  renderBuilder();
}

// --- drawing ----------------------------------------------------------------------------------------

function renderSize(parts) {
  const box = document.getElementById("audience-size");
  if (!box) return; // the user went to another screen
  box.replaceChildren();
  if (parts.note) return box.append(el("p", { class: "note", text: parts.note }));
  if (parts.busy) return box.append(el("p", { class: "note", text: "Counting..." }));
  if (parts.count) {
    box.append(
      el("p", { class: "size" }, el("span", { text: "Audience size: " }), el("strong", { "data-testid": "audience-count", text: countText(parts.count) })),
      el("p", { class: "excluded" }, el("span", { text: "Left out for lack of consent: " }), el("strong", { "data-testid": "audience-excluded", text: countText(parts.excluded) })),
    );
  }
  for (const message of parts.errors) box.append(el("p", { class: "error", role: "alert", text: message }));
  for (const message of parts.warnings) box.append(el("p", { class: "warning", text: message }));
}

function renderDefinition(d) {
  const shown = document.getElementById("definition");
  if (shown) shown.textContent = d === null ? "(incomplete)" : JSON.stringify(d, null, 2);
}

function fieldControl(node, field) {
  const id = `n${node.id}-${field.name}`;
  const value = node.values[field.name];
  const set = (v) => {
    node.values[field.name] = v;
    sizeSoon();
  };
  if (field.type === "bool") {
    const box = el("input", { type: "checkbox", checked: !!value, onchange: (e) => set(e.target.checked) });
    return labelled(id, field.label, box);
  }
  if (field.type === "select" || field.type === "tag") {
    const select = el("select", { onchange: (e) => set(e.target.value) }, el("option", { value: "", text: "choose..." }));
    if (field.type === "tag") {
      for (const [tier, title] of Object.entries(TIERS)) {
        const tags = state.tags.filter((t) => t.tier === tier);
        if (!tags.length) continue;
        const optgroup = el("optgroup", { label: title });
        for (const t of tags) optgroup.append(el("option", { value: t.tagId, text: `${t.name} (${t.tagId})` }));
        select.append(optgroup);
      }
    } else {
      for (const option of field.options) select.append(el("option", { value: option, text: option }));
    }
    select.value = value || "";
    return labelled(id, field.label, select);
  }
  const input = el("input", {
    type: field.type === "datetime" ? "datetime-local" : field.type === "int" || field.type === "float" ? "number" : "text",
    step: field.type === "float" ? "any" : undefined,
    value: value ?? "",
    oninput: (e) => set(e.target.value),
  });
  return labelled(id, field.label, input);
}

function removeButton(parent, node) {
  return el("button", {
    type: "button",
    class: "remove",
    "aria-label": `Remove this ${node.type === "cond" ? KINDS[node.kind].label.toLowerCase() + " condition" : "group"}`,
    text: "Remove",
    onclick: () => {
      parent.children = parent.children.filter((c) => c !== node);
      renderBuilder();
      sizeSoon();
    },
  });
}

function renderGroup(node, parent, depth) {
  const kindSelect = el("select", {
    onchange: (e) => {
      node.type = e.target.value;
      renderBuilder();
      sizeSoon();
    },
  });
  for (const [value, text] of Object.entries(GROUPS)) kindSelect.append(el("option", { value, text }));
  kindSelect.value = node.type;
  const add = el("select", { class: "add-kind" }, el("option", { value: "", text: "add a condition..." }));
  for (const [kind, spec] of Object.entries(KINDS)) {
    if (spec.nested && depth >= 2) continue; // the API allows two levels of ties in a definition
    add.append(el("option", { value: kind, text: spec.label }));
  }
  add.addEventListener("change", (e) => {
    if (!e.target.value) return;
    node.children.push(condition(e.target.value));
    renderBuilder();
    sizeSoon();
    const added = document.querySelector(`[data-node="${node.children[node.children.length - 1].id}"] select, [data-node="${node.children[node.children.length - 1].id}"] input`);
    if (added) added.focus();
  });
  const box = el(
    "fieldset",
    { class: "group", "data-node": node.id },
    el("legend", {}, labelled(`n${node.id}-match`, "Match", kindSelect)),
    ...node.children.map((child) => (child.type === "cond" ? renderCondition(child, node, depth) : renderGroup(child, node, depth))),
    el(
      "div",
      { class: "actions" },
      labelled(`n${node.id}-add`, "Add a condition", add),
      el("button", {
        type: "button",
        text: "Add a group",
        onclick: () => {
          node.children.push(group("or"));
          renderBuilder();
        },
      }),
      parent ? removeButton(parent, node) : null,
    ),
  );
  return box;
}

function renderCondition(node, parent, depth) {
  const spec = KINDS[node.kind];
  const box = el(
    "fieldset",
    { class: "condition", "data-node": node.id, "data-kind": node.kind },
    el("legend", { text: spec.label }),
    ...spec.fields.map((field) => fieldControl(node, field)),
  );
  if (spec.nested) {
    box.append(el("p", { class: "note", text: spec.nested === "who" ? "...who match (optional):" : "...or of an audience (optional):" }));
    box.append(renderGroup(node.sub, null, depth + 1));
  }
  box.append(removeButton(parent, node));
  return box;
}

function renderBuilder() {
  const builder = document.getElementById("builder");
  if (!builder) return; // another screen is up
  // Redrawn controls keep their ids (n<node>-<field>): the one that had the focus gets it back, so a
  // keyboard user is not thrown out when the tags arrive or a group changes.
  const focused = builder.contains(document.activeElement) ? document.activeElement.id : "";
  builder.replaceChildren(renderGroup(state.tree, null, 0));
  if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
}

export function render(main) {
  const purpose = el(
    "select",
    {
      onchange: (e) => {
        state.purpose = e.target.value;
        sizeSoon();
      },
    },
    el("option", { value: "MARKETING", text: "Marketing" }),
    el("option", { value: "PERSONALISED", text: "Personalised" }),
    el("option", { value: "ANALYSIS", text: "Analysis" }),
  );
  purpose.value = state.purpose;
  main.replaceChildren(
    el("h2", { text: "Audience builder" }),
    el("div", { class: "controls" }, labelled("purpose", "Purpose", purpose)),
    el("section", { id: "builder", "aria-label": "Audience definition" }),
    el("section", { id: "audience-size", class: "result", role: "status", "aria-live": "polite" }),
    el("details", {}, el("summary", { text: "Definition (AudienceInput, as sent to GraphQL)" }), el("pre", { id: "definition" })),
    el("section", { id: "explore", class: "panel", "aria-label": "Explore this audience" }),
  );
  if (session.key) explore.render(document.getElementById("explore"), () => ({ definition: definition(state.tree), purpose: state.purpose }));
  renderBuilder();
  loadTags();
  size();
}

