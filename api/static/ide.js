// personagraph's GraphiQL page (api/ide.py serves it with the config block this reads). GraphiQL and
// React come from /graphiql/vendor/, served by the API itself: the page loads nothing from elsewhere.
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("persona-ide-config").textContent);
  var params = new URLSearchParams(window.location.search);
  var endpoint = window.location.origin + window.location.pathname;
  // A shared link or a reload: GraphiQL's `query` (or strawberry's `q`) and `variables` parameters.
  var shared = params.get("query") || params.get("q");
  var initialQuery = shared || config.query;
  var initialVariables = params.get("variables") || (shared ? undefined : config.variables);

  function credentialOf(headers) {
    // The Authorization (or X-API-Key) value of the Headers pane; "" while it is still the template.
    if (typeof headers === "string") {
      try {
        headers = JSON.parse(headers || "{}");
      } catch (e) {
        return "";
      }
    }
    var value = "";
    if (headers && typeof headers === "object") {
      Object.keys(headers).forEach(function (name) {
        var lower = name.toLowerCase();
        if (lower === "authorization" || lower === "x-api-key") {
          value = String(headers[name]).trim();
        }
      });
    }
    return value.indexOf(config.placeholder) >= 0 ? "" : value;
  }

  var base = GraphiQL.createFetcher({ url: endpoint });

  function fetcherFor(credential) {
    // Without a key nothing is sent (each refusal counts against this address's budget of bad
    // credentials): the result pane says where the key goes instead.
    return function (graphQLParams, options) {
      var headers = options && options.headers;
      if (!(headers ? credentialOf(headers) : credential)) {
        return Promise.resolve({ errors: [{ message: config.keyHint }] });
      }
      return base(graphQLParams, options);
    };
  }

  function remember(name, value) {
    // Keep the query and variables in the address, so a reload or a shared link opens them again
    // (the example stays out of it: it is what the page opens with anyway).
    params.delete("q");
    if (value && value !== config[name]) {
      params.set(name, value);
    } else {
      params.delete(name);
    }
    var search = params.toString();
    window.history.replaceState(null, "", window.location.pathname + (search ? "?" + search : ""));
  }

  function Page() {
    var state = React.useState("");
    var credential = state[0];
    var setCredential = state[1];
    var pending = React.useRef(null);
    // A new fetcher when the key changes makes GraphiQL fetch the schema again (docs, completion).
    var fetcher = React.useMemo(
      function () {
        return fetcherFor(credential);
      },
      [credential],
    );
    function onEditHeaders(text) {
      window.clearTimeout(pending.current);
      pending.current = window.setTimeout(function () {
        setCredential(credentialOf(text));
      }, 600);
    }
    return React.createElement(GraphiQL, {
      fetcher: fetcher,
      query: initialQuery,
      variables: initialVariables,
      headers: config.headers,
      defaultEditorToolsVisibility: "headers",
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
      onEditQuery: function (value) {
        remember("query", value);
      },
      onEditVariables: function (value) {
        remember("variables", value);
      },
      onEditHeaders: onEditHeaders,
    });
  }

  ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(Page));
})();
