/**
 * What the request pipeline works with: the logical request the HTTP layer hands over, the answer it gets back,
 * and the parts of the core the stages use (`PipelineHost`, which `Core` is).
 */
import type { StorageView } from '../../storage/view.js';
import type { AuditBroker } from '../audit/broker.js';
import type { Backend, Operation, SystemView } from '../../sdk/backend.js';
import type { Barrier } from '../barrier.js';
import type { LeaseManager } from '../leases/manager.js';
import type { LockoutStanzas, UserLockout } from '../login/lockout.js';
import type { LoginRateLimiter } from '../login/ratelimit.js';
import type { MountEntry } from '../mounts.js';
import type { PolicyStore } from '../policies.js';
import type { RouteMatch } from '../router.js';
import type { TokenStore } from '../tokens/store.js';
import type { ResponseWrapper } from '../wrapping/wrap.js';

export interface CoreResponse {
  status: number;
  body?: unknown;
  /** Set for raw (non-JSON) bodies. */
  contentType?: string;
  raw?: Buffer | string;
  /** HTTP reason phrase instead of the standard one (ESO shows only the status line of a failed call). */
  reason?: string;
  /** Extra response headers (a 401's WWW-Authenticate). */
  headers?: Record<string, string>;
}

export interface CoreLogger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/** The parts of the core the pipeline stages use. */
export interface PipelineHost {
  readonly sealed: boolean;
  readonly sys: Backend;
  readonly barrier: Barrier;
  readonly mounts: {
    resolve(path: string): { mount: RoutedMount; rel: string } | null;
    byUuid(uuid: string): { backend: Backend } | undefined;
  };
  readonly tokens: TokenStore;
  readonly policies: PolicyStore;
  readonly audit: AuditBroker | null;
  readonly wrapping: ResponseWrapper;
  readonly leases: LeaseManager;
  readonly loginLimiter: LoginRateLimiter;
  readonly userLockout: UserLockout;
  readonly lockoutStanzas: LockoutStanzas;
  readonly logger: CoreLogger;
  systemView(mount: MountEntry): SystemView;
}

/**
 * The request in the core's terms, as the HTTP layer (src/server/logical-request.ts) hands it over: a normalised
 * path and an operation, before any mount is known.
 */
export interface LogicalRequest {
  path: string;
  operation: Operation;
  /** The path the ACL and the mount table see: a list targets the folder, so it ends in `/`. */
  routePath: string;
  /** Seconds of response wrapping the client asked for (0: none). */
  wrapTTL: number;
  /** The token the client sent, if any. */
  clientToken: string | null;
  /**
   * The request's data (query parameters or JSON body). Read when the pipeline needs it, so that a malformed
   * body is reported after the checks that come first (sealed, unknown path, token), as before.
   */
  data(): Record<string, unknown>;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  remoteAddr: string;
  /**
   * The Kubernetes namespace an integration acts for (set only by the ESO routes, never from a `/v1/` request);
   * fills `{{kubernetes.namespace}}` in templated policy paths.
   */
  kubernetesNamespace?: string;
}

/** The mount a request goes to, as the stages need it. */
export interface RoutedMount {
  entry: MountEntry;
  backend: Backend;
  view: StorageView;
}

/** Where a request goes: its mount, the path within it and the engine's declaration that matched. */
export interface Route {
  mount: RoutedMount;
  rel: string;
  match: RouteMatch;
  /** Served without a token (the path is declared `unauthenticated`). */
  unauthenticated: boolean;
  /** An unauthenticated path of an auth mount: a login, subject to the rate limit and the user lockout. */
  login: boolean;
}
