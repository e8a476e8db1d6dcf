// Live (api/console.py): a saved audience's members entering and leaving as events arrive, from the
// subscription audienceMembershipChanged over server-sent events (POST /graphql/stream, graphql-sse's
// distinct connections: one request per subscription, the key in its Authorization header). Entries are
// shown as the caller's role may list members: the API leaves out users the purpose may not use.

import { GRAPHQL, ask, messages, mayRead, session, viewer } from "./api.js";
import { countText, el, errors, labelled, note, profileLink, when } from "./dom.js";

const SAVED_QUERY = "query ConsoleLiveSaved { savedAudiences { id name purpose } }";
const SIZE_QUERY = `query ConsoleLiveSize($id: ID!) {
  changeCursor savedAudience(id: $id) { name audience { count { value fewerThan exact } } }
}`;
// From the cursor read with the size: nothing is lost while the stream connects.
const MEMBERSHIP = `subscription ConsoleLive($id: ID!, $after: String) {
  audienceMembershipChanged(audienceId: $id, after: $after) { cursor userId change at cause causeIds }
}`;
const SHOWN = 200; // latest changes kept on the page

let watching = null; // the AbortController of the open stream, closed when the screen changes

export function stop() {
  if (watching) watching.abort();
  watching = null;
}

export async function render(main, [audienceId = ""]) {
  stop();
  const select = el("select", {}, el("option", { value: "", text: "choose a saved audience..." }));
  main.replaceChildren(
    el("h2", { text: "Live" }),
    el(
      "form",
      {
        class: "controls",
        onsubmit: (e) => {
          e.preventDefault();
          if (select.value) location.hash = `#/live/${encodeURIComponent(select.value)}`;
        },
      },
      labelled("live-audience", "Saved audience", select),
      el("button", { type: "submit", text: "Watch" }),
    ),
    el("div", { id: "live", "aria-live": "polite" }),
  );
  const box = document.getElementById("live");
  if (!session.key) return box.replaceChildren(note("Type your API key above to watch an audience."));
  const answer = await ask(SAVED_QUERY);
  for (const s of (answer.data && answer.data.savedAudiences) || []) {
    select.append(el("option", { value: s.id, text: `${s.name} (${s.id}, ${s.purpose.toLowerCase()})` }));
  }
  select.value = audienceId;
  if (answer.errors) return box.replaceChildren(...errors(messages(answer)));
  if (audienceId) watch(box, audienceId);
  else box.replaceChildren(note("Choose a saved audience (the builder saves them) to watch its members come and go."));
}

async function watch(box, audienceId) {
  const who = await viewer();
  const people = mayRead(who, "Query.user");
  const counts = { ENTERED: 0, EXITED: 0 };
  const size = el("strong", { "data-testid": "live-size", text: "-" });
  const tally = el("span", { "data-testid": "live-tally", text: "0 entered, 0 left" });
  const status = el("span", { class: "note", role: "status", text: "Connecting..." });
  const rows = el("tbody");
  box.replaceChildren(
    el("p", {}, "Members now: ", size, " · since this page opened: ", tally, " · ", status),
    el(
      "table",
      { "data-testid": "live-changes" },
      el("caption", { text: "Newest first" }),
      el("thead", {}, el("tr", {}, ...["At", "User", "Change", "Cause"].map((c) => el("th", { scope: "col", text: c })))),
      rows,
    ),
  );
  const refreshSize = async () => {
    const found = await ask(SIZE_QUERY, { id: audienceId });
    const saved = found.data && found.data.savedAudience;
    size.textContent = saved ? countText(saved.audience.count) : messages(found).join("; ") || "unknown audience";
    return found.data ? found.data.changeCursor : null;
  };
  const after = await refreshSize();
  const shown = (change) => {
    counts[change.change] = (counts[change.change] || 0) + 1;
    tally.textContent = `${counts.ENTERED} entered, ${counts.EXITED} left`;
    const row = el(
      "tr",
      { "data-change": change.change.toLowerCase() },
      el("td", { text: when(change.at) }),
      el("td", {}, people ? profileLink(change.userId) : change.userId),
      el("td", { text: change.change === "ENTERED" ? "entered" : "left" }),
      el("td", { text: [change.cause, ...change.causeIds].join(" ") }),
    );
    rows.prepend(row);
    while (rows.children.length > SHOWN) rows.lastChild.remove();
  };
  stop();
  const controller = new AbortController();
  watching = controller;
  try {
    await stream(MEMBERSHIP, { id: audienceId, after }, controller.signal, {
      open: () => (status.textContent = "Live."),
      next: (payload) => {
        if (payload.errors) box.append(...errors(payload.errors.map((e) => e.message)));
        const change = payload.data && payload.data.audienceMembershipChanged;
        if (change) {
          shown(change);
          refreshSize();
        }
      },
    });
    if (!controller.signal.aborted) status.textContent = "The stream ended.";
  } catch (error) {
    if (!controller.signal.aborted) status.textContent = `Disconnected: ${error.message}`;
  }
}

// One subscription as server-sent events: `open` when the server answers, `next` per event's payload.
async function stream(query, variables, signal, on) {
  const response = await fetch(`${GRAPHQL}/stream`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream", authorization: `Bearer ${session.key}` },
    body: JSON.stringify({ query, variables }),
    signal,
  });
  if (!response.ok) {
    let message = `HTTP ${response.status}`;
    try {
      message = (await response.json()).errors[0].message;
    } catch {
      // not JSON: the status says it
    }
    throw new Error(message);
  }
  on.open();
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let carriage = ""; // a CR ending a chunk may be the first half of a CRLF split across chunks
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    let text = carriage + value;
    carriage = text.endsWith("\r") ? "\r" : "";
    if (carriage) text = text.slice(0, -1);
    buffer += text.replace(/\r\n?/g, "\n"); // lines may end in CRLF, LF or CR (the SSE format)
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const fields = { event: "", data: [] };
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) continue; // a heartbeat
        const at = line.indexOf(":");
        const name = at < 0 ? line : line.slice(0, at);
        const text = at < 0 ? "" : line.slice(at + 1).replace(/^ /, "");
        if (name === "event") fields.event = text;
        else if (name === "data") fields.data.push(text);
      }
      if (fields.event === "next" && fields.data.length) on.next(JSON.parse(fields.data.join("\n")));
      if (fields.event === "complete") return;
    }
  }
}
