/**
 * Stage "envelope": a handler's answer, or a failure, in Vault's wire shape.
 */
import { StorageUnavailableError } from '../../storage/types.js';
import type { Operation, Response } from '../../sdk/backend.js';
import { CofferError, loggableMessage } from '../../sdk/errors.js';
import type { CoreLogger, CoreResponse } from './types.js';

export function envelope(response: Response | null, requestId: string, mountType: string, operation: Operation): CoreResponse {
  if (response?.raw) return { status: response.raw.status, contentType: response.raw.contentType, raw: response.raw.body };
  if (!hasContent(response)) {
    if (operation === 'read' || operation === 'list') return { status: 404, body: { errors: [] } };
    return { status: 204 };
  }
  return {
    status: response.status ?? 200,
    body: {
      ...(response.legacyTopLevel ? response.data : {}),
      request_id: requestId,
      lease_id: response.lease?.id ?? '',
      renewable: response.lease?.renewable ?? response.secret?.renewable ?? false,
      lease_duration: response.lease?.duration ?? response.secret?.ttl ?? 0,
      data: response.data ?? null,
      wrap_info: response.wrapInfo ?? null,
      warnings: response.warnings?.length ? response.warnings : null,
      auth: response.auth ?? null,
      mount_type: mountType,
    },
  };
}

/** Whether a handler's answer has a body (else it is a 204, or a 404 for a read); only such answers are wrapped. */
export function hasContent(response: Response | null): response is Response {
  return !!response && !!(response.raw || response.data || response.auth || response.warnings?.length || response.secret || response.lease || response.wrapInfo);
}

/** A failure as Vault's error envelope; anything but a CofferError is logged and answered as a bare 500. */
export function errorResponse(err: unknown, logger: CoreLogger): CoreResponse {
  if (err instanceof CofferError) {
    return { status: err.status, body: err.body ? { ...err.body, errors: err.errors } : { errors: err.errors } };
  }
  if (err instanceof StorageUnavailableError) {
    logger.warn(err.message);
    return { status: 503, body: { errors: [err.message] } };
  }
  logger.error(`internal error: ${loggableMessage(err)}`);
  return { status: 500, body: { errors: ['internal error'] } };
}
