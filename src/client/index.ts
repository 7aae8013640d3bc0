export { CofferClient, type ClientOptions, type Envelope, type AuthInfo, type SealStatus, type RequestOptions } from './client.js';
export { CofferApiError, CofferConnectionError } from './errors.js';
export { optionsFromEnv, readTokenHelper, writeTokenHelper, eraseTokenHelper, tokenHelperPath } from './env.js';
