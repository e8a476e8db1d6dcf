// Personas (api/console.py): the last persona run's personas as cards, each with its name, a motto in
// the customer's voice, its size, key traits and typical channels and categories.

import { ask, messages, session } from "./api.js";
import { el, errors, note, when } from "./dom.js";

const PERSONAS_QUERY = `query ConsolePersonas { personas {
  personaId name motto description size traits topCategories topChannels runId computedAt
} }`;

export async function render(main) {
  const box = el("div", { id: "personas", class: "cards" });
  main.replaceChildren(el("h2", { text: "Personas" }), box);
  if (!session.key) return box.replaceChildren(note("Type your API key above to see the personas."));
  box.replaceChildren(note("Loading..."));
  const answer = await ask(PERSONAS_QUERY);
  const found = (answer.data && answer.data.personas) || [];
  if (answer.errors) return box.replaceChildren(...errors(messages(answer)));
  if (!found.length) return box.replaceChildren(note("No personas yet: run `persona analyze personas`."));
  const total = found.reduce((sum, p) => sum + p.size, 0);
  box.replaceChildren(
    ...found.map((p) => card(p, total)),
    note(`From run ${found[0].runId || "-"}, ${when(found[0].computedAt)}.`),
  );
}

function card(p, total) {
  const share = total ? ` (${Math.round((100 * p.size) / total)}%)` : "";
  const list = (title, items) =>
    el("div", {}, el("h4", { text: title }), items.length ? el("ul", {}, ...items.map((i) => el("li", { text: i }))) : note("-"));
  return el(
    "article",
    { class: "persona-card", "data-persona": p.personaId, "aria-labelledby": `persona-${p.personaId}` },
    el("h3", { id: `persona-${p.personaId}`, text: p.name }),
    el("blockquote", { class: "motto", text: p.motto ? `"${p.motto}"` : "" }),
    el("p", { class: "size" }, el("strong", { text: p.size.toLocaleString("en") }), ` customers${share}`),
    list("Key traits", p.traits),
    el("div", { class: "two" }, list("Typical channels", p.topChannels), list("Top categories", p.topCategories)),
  );
}
