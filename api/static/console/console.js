// personagraph console (api/console.py): screens over the public GraphQL API, one ES module each, no
// framework and no build step. This module draws the frame (title, screens, the key) and shows the
// screen the address names: #/audience, #/profile/<user id>, #/personas, #/insights, #/live/<audience id>.

import { session, useKey, viewer } from "./api.js";
import * as builder from "./builder.js";
import { el, labelled } from "./dom.js";
import * as insights from "./insights.js";
import * as live from "./live.js";
import * as personas from "./personas.js";
import * as profile from "./profile.js";

const root = document.getElementById("console");
const SCREENS = [
  { path: "audience", title: "Audience builder", module: builder },
  { path: "profile", title: "Profile", module: profile },
  { path: "personas", title: "Personas", module: personas },
  { path: "insights", title: "Insights", module: insights },
  { path: "live", title: "Live", module: live },
];

function route() {
  const [path, ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  const screen = SCREENS.find((s) => s.path === path) || SCREENS[0];
  return { screen, params: rest.map(decodeURIComponent) };
}

function show() {
  const { screen, params } = route();
  for (const link of document.querySelectorAll("nav a")) {
    if (link.dataset.screen === screen.path) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${screen.title} - personagraph console`;
  live.stop(); // a live stream ends when its screen does
  screen.module.render(document.getElementById("screen"), params);
}

async function showViewer() {
  const status = document.getElementById("key-status");
  if (!session.key) {
    status.textContent = "No key.";
    return;
  }
  const who = await viewer();
  if (!who || who.error) status.textContent = `Key in use for this tab. The API refused it: ${who ? who.error : ""}`;
  else status.textContent = `Key in use for this tab. Signed in as ${who.subject} (${who.role}).`;
}

function renderShell() {
  const keyInput = el("input", { type: "password", autocomplete: "off", value: session.key });
  const keyForm = el(
    "form",
    {
      class: "key",
      onsubmit: async (e) => {
        e.preventDefault();
        useKey(keyInput.value.trim());
        await showViewer();
        show();
      },
    },
    labelled("api-key", "API key", keyInput),
    el("button", { type: "submit", text: "Use key" }),
    el("span", { id: "key-status", role: "status" }),
  );
  const nav = el(
    "nav",
    { "aria-label": "Screens" },
    el("ul", {}, ...SCREENS.map((s) => el("li", {}, el("a", { href: `#/${s.path}`, "data-screen": s.path, text: s.title })))),
  );
  root.replaceChildren(el("header", {}, el("h1", { text: "personagraph console" }), nav, keyForm), el("main", { id: "screen" }));
}

renderShell();
window.addEventListener("hashchange", show);
showViewer();
show();
