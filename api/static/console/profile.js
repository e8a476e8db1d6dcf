// A customer's profile (api/console.py): attributes (masked by role), tags with tier, source, evidence
// and expiry, scores with their run and time, orders, channels, identities as the role may see them,
// and the neighbourhood drawn as a graph (Cytoscape.js, served by this API from /console/vendor/).
// A user node of the drawing opens that user's profile.

import { VENDOR, ask, mayRead, messages, session, viewer } from "./api.js";
import { el, errors, labelled, note, number, profileLink, section, table, when } from "./dom.js";

const ATTRIBUTES = [
  ["customerId", "Customer id"], ["gender", "Gender"], ["birthYear", "Birth year"], ["ageBand", "Age band"],
  ["occupation", "Occupation"], ["education", "Education"], ["incomeBand", "Income band"], ["city", "City"],
  ["region", "Region"], ["country", "Country"], ["marketingConsent", "Marketing consent"],
  ["personalizationOptOut", "Opted out of personalisation"], ["lifecycle", "Lifecycle stage"],
];
const NEIGHBOURS = 200; // users drawn around the centre, at most
const KIND_COLOURS = {
  User: "#2f6fb0", Tag: "#b5651d", Channel: "#5b8c2a", Persona: "#8e44ad", Community: "#c0392b", Product: "#16806f",
};
const EDGE_COLOURS = { FRIEND_OF: "#2f6fb0", FOLLOWS: "#7aa6d6", REFERRED: "#e67e22" };

let cytoscape = null; // the library, imported the first time a drawing is needed

function profileQuery(who) {
  const attributes = ATTRIBUTES.map(([field]) => field).filter((f) => mayRead(who, `User.${f}`));
  const optional = [
    mayRead(who, "User.identities") ? "identities { kind value }" : "",
    mayRead(who, "User.neighborhood")
      ? `neighborhood(depth: 1, limit: ${NEIGHBOURS + 1}) { center truncated nodes { id label key caption } edges { source target type } }`
      : "",
  ];
  return `query ConsoleProfile($id: ID!) { user(id: $id) {
    id ${attributes.join(" ")}
    rfm { recency frequency monetary score runId computedAt }
    influence { score rank degree reach2 runId computedAt }
    community { communityId size topCity runId computedAt }
    persona { personaId name motto runId computedAt }
    tags(includeExpired: true) { tagId name tier weight source ruleId assignedAt expiresAt evidence }
    channels { channelId name kind acquired acquiredAt orders }
    orders(first: 10) { totalCount edges { node { orderId orderedAt channelId total lines { sku name quantity unitPrice } } } }
    ${optional.join("\n    ")}
  } }`;
}

// The profile query as the current key's role would send it (bench/console.py times it as a baseline).
export async function profileQueryFor() {
  return profileQuery(await viewer());
}

export function render(main, [userId = ""]) {
  const input = el("input", { type: "text", value: userId, autocomplete: "off" });
  main.replaceChildren(
    el("h2", { text: "Profile" }),
    el(
      "form",
      {
        class: "controls",
        onsubmit: (e) => {
          e.preventDefault();
          if (input.value.trim()) location.hash = `#/profile/${encodeURIComponent(input.value.trim())}`;
        },
      },
      labelled("profile-user", "User id", input),
      el("button", { type: "submit", text: "Open" }),
    ),
    el("div", { id: "profile", "aria-live": "polite" }),
  );
  if (userId) load(userId);
}

async function load(userId) {
  const box = document.getElementById("profile");
  if (!session.key) return box.replaceChildren(note("Type your API key above to open a profile."));
  box.replaceChildren(note("Loading..."));
  const who = await viewer();
  if (who && who.error) return box.replaceChildren(...errors([who.error]));
  if (!mayRead(who, "Query.user")) {
    return box.replaceChildren(
      note(`The ${who.role} role may not look people up: marketers reach people through audiences.`),
    );
  }
  const answer = await ask(profileQuery(who), { id: userId });
  if (document.getElementById("profile") !== box) return; // another screen or user since
  const user = answer.data && answer.data.user;
  if (!user) {
    return box.replaceChildren(...errors(messages(answer)), answer.errors ? "" : note(`No user has the id ${userId}.`));
  }
  box.replaceChildren(
    el("h3", { class: "profile-title", text: `User ${user.id}` }),
    ...errors(messages(answer)),
    el(
      "div",
      { class: "profile-grid" },
      attributesPanel(user, who),
      scoresPanel(user),
      identitiesPanel(user, who),
      channelsPanel(user),
    ),
    tagsPanel(user),
    ordersPanel(user),
    neighbourhoodPanel(user, who),
  );
  if (user.neighborhood) draw(user.neighborhood);
}

function masked(who) {
  return el("span", { class: "masked", text: `masked for the ${who.role} role` });
}

function attributesPanel(user, who) {
  const rows = ATTRIBUTES.map(([field, title]) => {
    const value = !mayRead(who, `User.${field}`) ? masked(who) : user[field] === null ? "-" : String(user[field]);
    return [title, value];
  });
  return section("Attributes", table(null, ["Attribute", "Value"], rows, { "data-testid": "attributes" }));
}

function scoresPanel(user) {
  const run = (s) => (s ? `${s.runId || "-"}, ${when(s.computedAt)}` : "-");
  const rows = [
    ["RFM", user.rfm ? `${user.rfm.score || "-"} (R ${user.rfm.recency}, F ${user.rfm.frequency}, M ${user.rfm.monetary})` : "-", run(user.rfm)],
    ["Influence", user.influence ? `rank ${user.influence.rank ?? "-"}, score ${number(user.influence.score, 5)}, ${user.influence.degree ?? 0} ties` : "-", run(user.influence)],
    ["Community", user.community ? `${user.community.communityId} (${user.community.size ?? "?"} users)` : "-", run(user.community)],
    ["Persona", user.persona ? `${user.persona.name}: "${user.persona.motto || ""}"` : "-", run(user.persona)],
  ];
  return section("Scores", table(null, ["Score", "Value", "Run, computed at"], rows));
}

function identitiesPanel(user, who) {
  if (!mayRead(who, "User.identities")) return section("Identities", el("p", {}, masked(who)));
  if (!user.identities.length) return section("Identities", note("None."));
  return section("Identities", table(null, ["Kind", "Value"], user.identities.map((i) => [i.kind, i.value])));
}

function channelsPanel(user) {
  const rows = user.channels.map((c) => [c.name || c.channelId, c.kind, c.acquired ? `yes, ${when(c.acquiredAt)}` : "no", c.orders]);
  return section("Channels", rows.length ? table(null, ["Channel", "Kind", "Acquired here", "Orders"], rows) : note("None."));
}

function tagsPanel(user) {
  const rows = user.tags.map((t) => [
    t.name || t.tagId, t.tier || "-", number(t.weight), t.source + (t.ruleId ? ` (${t.ruleId})` : ""),
    t.evidence.join("; ") || "-", when(t.assignedAt), t.expiresAt ? when(t.expiresAt) : "never",
  ]);
  const body = rows.length
    ? table(null, ["Tag", "Tier", "Weight", "Source", "Evidence", "Assigned", "Expires"], rows, { "data-testid": "tags" })
    : note("No tags.");
  return section("Tags", body);
}

function ordersPanel(user) {
  const orders = user.orders.edges.map((e) => e.node);
  const rows = orders.map((o) => [
    o.orderId, when(o.orderedAt), o.channelId || "-", number(o.total),
    o.lines.map((l) => `${l.quantity} x ${l.name || l.sku}`).join(", "),
  ]);
  const title = `Orders (${orders.length} of ${user.orders.totalCount}, newest first)`;
  return section(title, rows.length ? table(null, ["Order", "At", "Channel", "Total", "Lines"], rows) : note("No orders."));
}

function neighbourhoodPanel(user, who) {
  if (!user.neighborhood) return section("Neighbourhood", el("p", {}, masked(who)));
  const hood = user.neighborhood;
  const users = hood.nodes.filter((n) => n.label === "User").length - 1;
  const legend = el(
    "ul",
    { class: "legend" },
    ...Object.entries(KIND_COLOURS).map(([kind, colour]) => {
      const swatch = el("span", { class: "swatch" });
      swatch.style.background = colour;
      return el("li", {}, swatch, kind);
    }),
  );
  // The same nodes as a list, for screen readers and keyboards: users open their profile.
  const byKind = {};
  for (const n of hood.nodes) if (n.id !== hood.center) (byKind[n.label] ||= []).push(n);
  const list = el(
    "details",
    {},
    el("summary", { text: "The neighbourhood as a list" }),
    ...Object.entries(byKind).map(([kind, nodes]) =>
      el("p", {}, el("strong", { text: `${kind}: ` }), ...nodes.flatMap((n, i) => [
        i ? ", " : "",
        kind === "User" ? profileLink(n.key, `${n.key} (${n.caption})`) : `${n.caption}`,
      ])),
    ),
  );
  return section(
    "Neighbourhood",
    note(`${users} users within one social hop${hood.truncated ? ` (the first ${NEIGHBOURS} drawn)` : ""}, with the user's tags, channel, persona, community and most bought products. Click a user to open their profile.`),
    legend,
    el("div", { id: "neighbourhood", class: "graph", role: "img", "aria-label": `Graph of the neighbourhood of user ${user.id}` }),
    list,
  );
}

async function draw(hood) {
  const container = document.getElementById("neighbourhood");
  if (!cytoscape) {
    try {
      cytoscape = (await import(`${VENDOR}/cytoscape.esm.min.js`)).default;
    } catch {
      container.replaceChildren(note("Cytoscape.js is not installed on this server: run `make install` to draw the graph."));
      return;
    }
  }
  const started = performance.now();
  const elements = [
    ...hood.nodes.map((n) => ({ data: { id: n.id, kind: n.label, key: n.key, caption: n.id === hood.center ? n.key : n.caption, centre: n.id === hood.center } })),
    ...hood.edges.map((e, i) => ({ data: { id: `e${i}`, source: e.source, target: e.target, type: e.type } })),
  ];
  const cy = cytoscape({
    container,
    elements,
    style: [
      { selector: "node", style: { "background-color": (n) => KIND_COLOURS[n.data("kind")] || "#777", label: "data(caption)", "font-size": 9, color: "#222", width: 14, height: 14 } },
      { selector: "node[?centre]", style: { width: 28, height: 28, "font-size": 12, "font-weight": "bold", "border-width": 3, "border-color": "#111" } },
      { selector: "node[kind = 'User']", style: { shape: "ellipse" } },
      { selector: "node[kind != 'User']", style: { shape: "round-rectangle" } },
      { selector: "edge", style: { width: 1, "line-color": (e) => EDGE_COLOURS[e.data("type")] || "#bbb", "curve-style": "haystack", opacity: 0.8 } },
    ],
    layout: {
      name: "concentric",
      concentric: (n) => (n.data("centre") ? 3 : n.data("kind") === "User" ? 1 : 2),
      levelWidth: () => 1,
      minNodeSpacing: 6,
      animate: false,
    },
    wheelSensitivity: 0.3,
  });
  cy.on("tap", "node[kind = 'User']", (event) => {
    const key = event.target.data("key");
    if (!event.target.data("centre")) location.hash = `#/profile/${encodeURIComponent(key)}`;
  });
  container.cy = cy; // for the browser tests, as Cytoscape's own demos keep `cy` at hand
  container.dataset.drawnMs = String(Math.round(performance.now() - started));
}
