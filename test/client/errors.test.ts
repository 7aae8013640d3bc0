/** Transport failures are described by what happened, not by a numeric legacy code. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CofferConnectionError } from '../../src/client/errors.js';

test('connection errors name the system error code, or say that the request timed out', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  assert.equal(new CofferConnectionError('http://127.0.0.1:1', refused).message, 'cannot reach the server at http://127.0.0.1:1 (ECONNREFUSED)');
  const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
  assert.equal(timeout.code, 23); // the legacy number that used to end up in the message
  assert.equal(new CofferConnectionError('http://h:8200', timeout).message, 'cannot reach the server at http://h:8200 (timed out)');
  assert.equal(new CofferConnectionError('http://h:8200', new Error('x')).message, 'cannot reach the server at http://h:8200');
});
