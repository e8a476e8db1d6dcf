// Talking to the GraphQL API (the console uses nothing else), and the tab's key and viewer.

const root = document.getElementById("console");
export const GRAPHQL = root.dataset.graphql || "/graphql";
export const VENDOR = root.dataset.vendor || "/console/vendor";
const KEY_STORE = "persona-console-key";

// The key the user typed (kept in this tab's sessionStorage only) and who it says the caller is.
export const session = { key: sessionStorage.getItem(KEY_STORE) || "", viewer: null };

const VIEWER_QUERY = "query ConsoleViewer { viewer { subject role mayNotRead maskedAttributes } }";

export function useKey(key) {
  session.key = key;
  session.viewer = null;
  sessionStorage.setItem(KEY_STORE, key);
}

// POST one operation; network and HTTP failures come back as GraphQL-shaped errors.
export async function ask(query, variables = {}) {
  let response;
  try {
    response = await fetch(GRAPHQL, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", authorization: `Bearer ${session.key}` },
      body: JSON.stringify({ query, variables }),
    });
  } catch (error) {
    return { errors: [{ message: `The API did not answer: ${error.message}` }] };
  }
  let body;
  try {
    body = await response.json();
  } catch {
    return { errors: [{ message: `HTTP ${response.status}` }] };
  }
  if (!response.ok && !body.errors) body.errors = [{ message: `HTTP ${response.status}` }];
  return body;
}

export function messages(answer) {
  return (answer.errors || []).map((e) => e.message);
}

// Who the key belongs to and what its role may not read (Query.viewer), asked once per key.
export async function viewer() {
  if (!session.key) return null;
  if (!session.viewer) {
    const answer = await ask(VIEWER_QUERY);
    if (answer.errors || !answer.data) return { error: messages(answer).join("; ") || "no answer" };
    session.viewer = answer.data.viewer;
  }
  return session.viewer;
}

// Whether the viewer's role may select Type.field (Query.viewer lists what it may not).
export function mayRead(who, typeField) {
  return !!who && !who.error && !who.mayNotRead.includes(typeField);
}
