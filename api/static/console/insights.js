// Insights (api/console.py): influencers, communities, bought-together pairs with lift, channel
// attribution (acquisition to conversion, with referral chains) and the analytics run history.

import { ask, mayRead, messages, session, viewer } from "./api.js";
import { bar, el, errors, note, number, profileLink, section, table, when } from "./dom.js";

const PAIR_MIN_ORDERS = 3; // a lift over fewer shared orders is noise
const INFLUENCERS = "influencers(first: 10) { id city influence { score rank degree reach2 } community { communityId } }";
// The influencers are people: asked only of roles that may list them (the rest see a note).
const insightsQuery = (people) => `query ConsoleInsights {
  ${people ? INFLUENCERS : ""}
  social: communities(kind: SOCIAL, first: 10) { communityId size topCity topTags topCategories }
  product: communities(kind: PRODUCT, first: 10) { communityId size topCategories }
  boughtTogether(first: 10, minCount: ${PAIR_MIN_ORDERS}) { count confidence lift first { sku name } second { sku name } }
  channelStats { channelId kind acquiredUsers buyers conversionRate revenue firstTouchRevenue lastTouchRevenue referralRevenue runId computedAt }
  analyticsRuns(first: 10) { runId kind status startedAt seconds counts error }
}`;

export async function render(main) {
  const box = el("div", { id: "insights" });
  main.replaceChildren(el("h2", { text: "Insights" }), box);
  if (!session.key) return box.replaceChildren(note("Type your API key above to see the insights."));
  box.replaceChildren(note("Loading..."));
  const who = await viewer();
  if (who && who.error) return box.replaceChildren(...errors([who.error]));
  const people = mayRead(who, "Query.influencers");
  const answer = await ask(insightsQuery(people));
  if (!answer.data) return box.replaceChildren(...errors(messages(answer)));
  const d = answer.data;
  box.replaceChildren(
    ...errors(messages(answer)),
    people ? influencers(d.influencers) : section("Influencers", note(`The ${who.role} role may not list people.`)),
    communities(d.social, d.product),
    pairs(d.boughtTogether),
    channels(d.channelStats),
    runs(d.analyticsRuns),
  );
}

function influencers(users) {
  const rows = users.map((u) => [
    u.influence ? u.influence.rank : "-", profileLink(u.id), u.city, number(u.influence && u.influence.score, 5),
    u.influence ? u.influence.degree : "-", u.influence ? u.influence.reach2 : "-", u.community ? u.community.communityId : "-",
  ]);
  return section("Influencers", table("Top 10 by PageRank", ["Rank", "User", "City", "Score", "Ties", "Reach in 2 hops", "Community"], rows));
}

function communities(social, product) {
  const largest = Math.max(1, ...social.map((c) => c.size || 0));
  return section(
    "Communities",
    table(
      "Social communities, largest first",
      ["Community", "Size", "", "Top city", "Top tags", "Top categories"],
      social.map((c) => [c.communityId, c.size, bar(c.size || 0, largest, `${c.size} users`), c.topCity, c.topTags.join(", ") || "-", c.topCategories.join(", ") || "-"]),
    ),
    table(
      "Co-purchase (product) communities, largest first",
      ["Community", "Products", "Top categories"],
      product.map((c) => [c.communityId, c.size, c.topCategories.join(", ") || "-"]),
    ),
  );
}

function pairs(found) {
  const name = (p) => p.name || p.sku;
  return section(
    "Bought together",
    found.length
      ? table(
          `Strongest pairs by lift (bought together in at least ${PAIR_MIN_ORDERS} orders)`,
          ["Product", "With", "Orders", "Confidence", "Lift"],
          found.map((p) => [name(p.first), name(p.second), p.count, `${Math.round(100 * p.confidence)}%`, number(p.lift)]),
        )
      : note("No pairs yet: run `persona analyze copurchase`."),
  );
}

function channels(stats) {
  if (!stats.length) return section("Channel attribution", note("No attribution yet: run `persona analyze attribution`."));
  const largest = Math.max(1, ...stats.map((s) => s.revenue));
  return section(
    "Channel attribution",
    table(
      `From acquisition to conversion; run ${stats[0].runId || "-"}, ${when(stats[0].computedAt)}`,
      ["Channel", "Kind", "Acquired", "Buyers", "Conversion", "Revenue", "", "First touch", "Last touch", "Via referrals"],
      stats.map((s) => [
        s.channelId, s.kind, s.acquiredUsers, s.buyers, `${number(100 * s.conversionRate, 1)}%`, number(s.revenue),
        bar(s.revenue, largest, `${number(s.revenue)} revenue`), number(s.firstTouchRevenue), number(s.lastTouchRevenue), number(s.referralRevenue),
      ]),
    ),
  );
}

function runs(found) {
  const summary = (counts) =>
    Object.entries(counts || {}).slice(0, 4).map(([k, v]) => `${k} ${typeof v === "number" ? number(v) : JSON.stringify(v)}`).join(", ");
  return section(
    "Analytics runs",
    table(
      "Newest first",
      ["Kind", "Status", "Started", "Seconds", "Counts", "Run"],
      found.map((r) => [r.kind, r.error ? `${r.status}: ${r.error}` : r.status, when(r.startedAt), number(r.seconds, 1), summary(r.counts), r.runId]),
    ),
  );
}
