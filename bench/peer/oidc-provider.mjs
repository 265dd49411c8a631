// The peer of the token-endpoint benchmark: node-oidc-provider (npm
// `oidc-provider`) with one confidential client, the client_credentials grant
// and opaque access tokens, kept in the library's default in-memory adapter.
//
//   node bench/peer/oidc-provider.mjs <port>
//
// Started by bench/harness.py from target/bench-npm (where bench/run.sh
// installs the package). Prints "listening on <port>" when ready.
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.resolve('target/bench-npm/package.json'));
const { default: Provider } = await import(require.resolve('oidc-provider'));

const port = Number(process.argv[2] || 3000);
const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: 'bench',
    client_secret: 'bench-secret-of-the-peer-benchmark',
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    token_endpoint_auth_method: 'client_secret_post',
  }],
  features: {
    clientCredentials: { enabled: true },
    devInteractions: { enabled: false },
  },
  scopes: ['api'],
});
// No request logging: the benchmark measures the token endpoint.
provider.on('server_error', (ctx, err) => console.error(err));
provider.listen(port, '127.0.0.1', () => console.log(`listening on ${port}`));
