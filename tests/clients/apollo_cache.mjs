// Apollo Client's cache (no React): the main screen, then a query that selects only
// the debt, then the main screen read back from the cache. Prints what Apollo warned.
// Args: url token mainScreen debtOnly variablesJSON policy(on|off)
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client/core/index.js';
import { loadDevMessages, loadErrorMessages } from '@apollo/client/dev/index.js';

loadDevMessages(); // the warnings' text, not a link to it
loadErrorMessages();

const [url, token, mainScreen, debtOnly, variables, policy] = process.argv.slice(2);
const warnings = [];
for (const level of ['warn', 'error']) {
  const original = console[level];
  console[level] = (...args) => { warnings.push(args.map(String).join(' ')); original.apply(console, ['[apollo]', ...args]); };
}

// The typePolicies the README gives: Debt is a value of its personal account, merged in place.
const typePolicies = policy === 'on' ? { Debt: { merge: true } } : {};
const client = new ApolloClient({
  link: new HttpLink({ uri: url, headers: { Authorization: `Bearer ${token}` } }),
  cache: new InMemoryCache({ typePolicies }),
});
const vars = JSON.parse(variables);
const first = await client.query({ query: gql(mainScreen), variables: vars });
await client.query({ query: gql(debtOnly), fetchPolicy: 'network-only' });
const back = client.readQuery({ query: gql(mainScreen), variables: vars });
console.log(JSON.stringify({
  warnings,
  readBack: back !== null,
  same: JSON.stringify(back) === JSON.stringify(first.data),
}));
