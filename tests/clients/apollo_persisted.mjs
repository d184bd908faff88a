// Apollo Client with its persisted-queries link (automatic persisted queries): two clients,
// each with a fresh cache, run the same query; a recording fetch notes what each POST carried.
// Args: url token
import { createHash } from 'node:crypto';
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client/core/index.js';
import { createPersistedQueryLink } from '@apollo/client/link/persisted-queries/index.js';

const [url, token] = process.argv.slice(2);
const QUERY = gql`query Accounts { viewer { personalAccounts { id number debt { total } } } }`;

function client(sent) {
  const recording = async (input, init) => {
    const body = JSON.parse(init.body);
    sent.push(body.query ? 'hash+query' : 'hash');
    return fetch(input, init);
  };
  const persisted = createPersistedQueryLink({ sha256: (q) => createHash('sha256').update(q).digest('hex') });
  return new ApolloClient({
    link: persisted.concat(new HttpLink({ uri: url, headers: { Authorization: `Bearer ${token}` }, fetch: recording })),
    cache: new InMemoryCache({ typePolicies: { Debt: { merge: true } } }),
  });
}

const first = [], second = [];
const a = await client(first).query({ query: QUERY });
const b = await client(second).query({ query: QUERY });
console.log(JSON.stringify({
  first, second,
  same: JSON.stringify(a.data) === JSON.stringify(b.data),
  number: a.data.viewer.personalAccounts[0].number,
}));
