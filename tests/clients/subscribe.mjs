// The stock graphql-ws client: connect with a token, subscribe, print every event
// as one JSON line on stdout, exit when the server completes the subscription.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, token, query, variables] = process.argv.slice(2);
const print = (event) => console.log(JSON.stringify(event));

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  lazy: false,
  retryAttempts: 0,
  connectionParams: { Authorization: `Bearer ${token}` },
  on: {
    connected: () => print({ event: 'connected' }),
    closed: (event) => print({ event: 'closed', code: event.code, reason: event.reason }),
  },
});

client.subscribe(
  { query, variables: JSON.parse(variables) },
  {
    next: (value) => print({ event: 'next', value }),
    error: (error) => {
      print({ event: 'error', error: String(error?.message ?? error?.reason ?? JSON.stringify(error)) });
      client.dispose();
      process.exit(1);
    },
    complete: () => {
      print({ event: 'complete' });
      client.dispose();
      process.exit(0);
    },
  },
);
setTimeout(() => { print({ event: 'timeout' }); process.exit(2); }, 60_000);
