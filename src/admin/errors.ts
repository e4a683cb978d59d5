// The admin API's errors, named like OAuth's (RFC 6749 §5.2, RFC 6750 §3.1) where one fits.
// One handler (router.ts) turns each into its JSON response; anything else is a server_error, logged.
import type { FieldError } from '../clients/registration.ts';

export class ApiError extends Error {
  readonly status: number;
  readonly error: string;
  readonly errors?: FieldError[];
  readonly headers: Record<string, string>;
  constructor(status: number, error: string, description: string, extra: { errors?: FieldError[]; headers?: Record<string, string> } = {}) {
    super(description);
    this.status = status;
    this.error = error;
    this.errors = extra.errors;
    this.headers = extra.headers ?? {};
  }
}

export class InvalidClientMetadata extends ApiError {
  constructor(errors: FieldError[]) {
    super(400, 'invalid_client_metadata', `${errors.length} problem${errors.length === 1 ? '' : 's'} with the registration`, { errors });
  }
}

export class InvalidRequest extends ApiError {
  constructor(description: string, errors?: FieldError[]) { super(400, 'invalid_request', description, { errors }); }
}

// RFC 6750 §3: the challenge names the error so that clients can tell "get a new token" from "ask for more".
export class InvalidToken extends ApiError {
  constructor(description: string) {
    super(401, 'invalid_token', description, { headers: { 'WWW-Authenticate': `Bearer realm="yihao-admin", error="invalid_token", error_description="${description}"` } });
  }
}

export class MissingToken extends ApiError {
  constructor() {
    // RFC 6750 §3.1 allows leaving the code out when no token was sent; naming it gives clients one code
    // for "get a token" (docs/admin-api.md).
    super(401, 'invalid_token', 'a bearer access token is required', { headers: { 'WWW-Authenticate': 'Bearer realm="yihao-admin", error="invalid_token", error_description="a bearer access token is required"' } });
  }
}

export class InsufficientScope extends ApiError {
  constructor(description: string, scope: string) {
    super(403, 'insufficient_scope', description, { headers: { 'WWW-Authenticate': `Bearer realm="yihao-admin", error="insufficient_scope", scope="${scope}", error_description="${description}"` } });
  }
}

export class NotFound extends ApiError {
  constructor(description = 'no such client') { super(404, 'not_found', description); }
}

export class Conflict extends ApiError {
  constructor(description: string) { super(409, 'conflict', description); }
}
