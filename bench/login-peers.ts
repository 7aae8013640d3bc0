/**
 * The peers of bench/login, in their own process so that they share no event loop with coffer or the load
 * generator: the local Kubernetes TokenReview endpoint and the OIDC/JWKS issuer of the tests (both HTTPS with a
 * test CA). Writes what the benchmark needs (URLs, CAs, signed tokens) to BENCH_PEERS_FILE (mode 0600), then
 * prints `Listener: URL` for spawnListening.
 */
import { writeFileSync } from 'node:fs';
import { startTokenReviewServer } from '../test/helpers/k8s-tokenreview.js';
import { startOidcProvider } from '../test/helpers/oidc-provider.js';

export interface LoginPeers {
  k8s: { url: string; caPem: string; reviewerJwt: string; loginJwt: string };
  idp: { issuer: string; jwksUrl: string; caPem: string; loginJwt: string };
}

const file = process.env.BENCH_PEERS_FILE;
if (!file) throw new Error('BENCH_PEERS_FILE is required');

const k8s = await startTokenReviewServer();
k8s.delegators.add('kube-system:coffer-reviewer');
const idp = await startOidcProvider();
const hour = Math.floor(Date.now() / 1000) + 3600;
const peers: LoginPeers = {
  k8s: {
    url: k8s.url,
    caPem: k8s.caPem,
    reviewerJwt: await k8s.issue({ namespace: 'kube-system', name: 'coffer-reviewer' }),
    loginJwt: await k8s.issue({ namespace: 'production', name: 'my-api' }),
  },
  idp: { issuer: idp.issuer, jwksUrl: idp.jwksUrl, caPem: idp.caPem, loginJwt: await idp.sign({ sub: 'bench', aud: 'coffer', project_path: 'team/app', exp: hour }) },
};
// The reviews list of the TokenReview server would grow by one entry per login for the whole run.
setInterval(() => k8s.reviews.splice(0), 1000).unref();
writeFileSync(file, JSON.stringify(peers), { mode: 0o600 });
process.stdout.write(`Listener: ${k8s.url}\n`);
const stop = () => void Promise.all([k8s.close(), idp.close()]).then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
