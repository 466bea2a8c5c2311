/**
 * Dotted paths (`smtp.tls.ca`) into plain settings objects, shared by the store and the CLI.
 * Only own properties are read or written: a key such as `__proto__` or `constructor` becomes an
 * own property at worst, never a way into a prototype.
 */

/** A plain JSON object. */
export type Obj = Record<string, unknown>;

/** True for a non-null object that is not an array. */
export const isObject = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

/** JSON text with object keys sorted: two values are the same settings when this is (key order aside); undefined for undefined. */
export function canonical(v: unknown): string | undefined {
  return JSON.stringify(v, (_k, value) => (isObject(value) ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1))) : value));
}

/** The value at a dotted path, own properties only; undefined when any step is missing. */
export function getPath(o: unknown, key: string): unknown {
  let node = o;
  for (const k of key.split('.')) {
    if (!isObject(node) || !Object.hasOwn(node, k)) return undefined;
    node = node[k];
  }
  return node;
}

/** Defines an own, ordinary data property (an assignment to `__proto__` would change the prototype instead). */
function define(o: Obj, k: string, value: unknown): void {
  Object.defineProperty(o, k, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Sets a dotted path, creating the missing groups on the way; `undefined` deletes the key (and
 * creates nothing).
 */
export function setPath(o: Obj, key: string, value: unknown): void {
  const keys = key.split('.');
  let node = o;
  for (const k of keys.slice(0, -1)) {
    const next = Object.hasOwn(node, k) ? node[k] : undefined;
    if (!isObject(next)) {
      if (value === undefined) return;
      define(node, k, {});
    }
    node = node[k] as Obj;
  }
  const last = keys[keys.length - 1];
  if (value === undefined) {
    if (Object.hasOwn(node, last)) delete node[last];
  } else define(node, last, value);
}
