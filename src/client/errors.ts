/** Errors raised by the client: the server's answer (status, path, its `errors` list) or a transport failure. */
export class CofferApiError extends Error {
  constructor(
    readonly status: number,
    readonly method: string,
    readonly path: string,
    readonly errors: string[],
    /** The parsed body, when the server sent JSON (KV v2 answers 404 with metadata for deleted versions). */
    readonly body?: unknown,
  ) {
    super(
      `Error making API request.\n\nURL: ${method} ${path}\nCode: ${status}. Errors:\n\n${errors.length ? errors.map((e) => `* ${e}`).join('\n') : '* (no message)'}`,
    );
    this.name = 'CofferApiError';
  }
}

export class CofferConnectionError extends Error {
  constructor(readonly address: string, override readonly cause: unknown) {
    // A DOMException (AbortSignal.timeout) carries a numeric legacy `code`; its name says what happened.
    const raw = (cause as { code?: unknown; name?: string })?.code;
    const code = typeof raw === 'string' ? raw : (cause as { name?: string })?.name === 'TimeoutError' ? 'timed out' : undefined;
    super(`cannot reach the server at ${address}${code ? ` (${code})` : ''}`);
    this.name = 'CofferConnectionError';
  }
}
