/** A Kubernetes namespace name (RFC 1123 label): nothing in it can act as a wildcard or a path separator. */
export const KUBERNETES_NAMESPACE = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
