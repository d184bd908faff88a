// The benchmark's peer: PostGraphile v4 over the bench database, one process per core
// (node's cluster module, as the app runs uvicorn workers). Run by bench/run.py:
//   NODE_PATH=bench/.node/node_modules DATABASE_URL=… PORT=… WORKERS=2 node bench/postgraphile/server.js
const cluster = require("cluster");
const http = require("http");

const workers = Number(process.env.WORKERS || 2);
const port = Number(process.env.PORT || 8103);

if (cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on("exit", (worker, code) => {
    if (code !== 0) console.error(`worker ${worker.process.pid} exited with ${code}`);
  });
  process.on("SIGTERM", () => {
    for (const id in cluster.workers) cluster.workers[id].kill("SIGTERM");
    process.exit(0);
  });
} else {
  const { postgraphile } = require("postgraphile");
  const ConnectionFilterPlugin = require("postgraphile-plugin-connection-filter");
  const PgAggregatesPlugin = require("@graphile/pg-aggregates").default;
  const middleware = postgraphile(process.env.DATABASE_URL, "public", {
    appendPlugins: [ConnectionFilterPlugin, PgAggregatesPlugin],
    disableQueryLog: true,
    graphiql: false,
    ignoreRBAC: true,
    disableDefaultMutations: true,
    setofFunctionsContainNulls: false,
    retryOnInitFail: false,
    watchPg: false,
    extendedErrors: [],
  });
  http.createServer(middleware).listen(port, "127.0.0.1");
}
