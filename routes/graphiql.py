"""GraphiQL served from the app's own files, so it works with no CDN.

The assets (GraphiQL 3 and React 18 UMD builds) are copied from the npm
registry at build time by `make assets` into static/graphiql/.
"""

from __future__ import annotations

from pathlib import Path

GRAPHIQL_ASSETS = Path(__file__).resolve().parent / "static" / "graphiql"
ASSET_FILES = ("react.production.min.js", "react-dom.production.min.js", "graphiql.min.js", "graphiql.min.css")

_PAGE = """<!doctype html>
<html lang="uk">
<head>
  <meta charset="utf-8">
  <title>UENS Personal Cabinet · GraphiQL</title>
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/static/graphiql/graphiql.min.css">
  <style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script src="/static/graphiql/react.production.min.js"></script>
  <script src="/static/graphiql/react-dom.production.min.js"></script>
  <script src="/static/graphiql/graphiql.min.js"></script>
  <script>
    // The Headers tab takes {"Authorization": "Bearer <accessToken>"}; it is kept in
    // the browser's storage. #query=…&headers=… (URL-encoded) prefill the editors: in the
    // fragment, because a GET /graphql?query=… is a GraphQL request, not this page.
    const params = new URLSearchParams(window.location.hash.slice(1) || window.location.search);
    const fetcher = GraphiQL.createFetcher({ url: window.location.pathname });
    const root = ReactDOM.createRoot(document.getElementById('graphiql'));
    root.render(React.createElement(GraphiQL, {
      fetcher,
      defaultEditorToolsVisibility: 'headers',
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
      query: params.get('query') || undefined,
      headers: params.get('headers') || undefined,
      defaultQuery: '# Sign in with tokenCreate, then put {"Authorization": "Bearer <accessToken>"} in Headers.\\n{ viewer { login fullName } }\\n',
    }));
  </script>
</body>
</html>
"""


def graphiql_page() -> str:
    return _PAGE
