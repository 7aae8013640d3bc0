/** Field types the database engine's paths share, beyond core/fields.ts. */
import { z } from 'zod';

/**
 * Vault's TypeStringSlice: a list of strings, or one string taken as a one-element list (not split on commas:
 * SQL statements contain commas). An empty string is an empty list.
 */
export const statementList = () =>
  z.preprocess((v) => (typeof v === 'string' ? (v.trim() === '' ? [] : [v]) : v === null ? [] : v), z.array(z.string()));

