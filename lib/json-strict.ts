// JSON for untrusted model headers. JSON.parse is exact and fast, but it silently keeps the
// last of two equal keys, and safetensors forbids duplicates: two readers of the same file
// could then see different tensors. So after JSON.parse accepts the text, one linear scan
// checks every object for duplicate keys and the nesting for a sane depth.

/** A JSON value, as JSON.parse returns it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export const MAX_JSON_DEPTH = 64;

/** Why `text` (already accepted by JSON.parse) is not acceptable, or null. */
function scan(text: string, maxDepth: number): string | null {
  // One entry per open container: the keys seen so far for an object, null for an array.
  const stack: (Set<string> | null)[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i += 2;
        else if (d === 0x22) break;
        else i++;
      }
      const end = ++i; // one past the closing quote
      const top = stack[stack.length - 1];
      if (top) {
        // A string directly inside an object is a key when a colon follows it.
        let j = i;
        while (j < n && (text.charCodeAt(j) === 0x20 || text.charCodeAt(j) === 0x0a || text.charCodeAt(j) === 0x0d || text.charCodeAt(j) === 0x09)) j++;
        if (text.charCodeAt(j) === 0x3a /* : */) {
          const key = JSON.parse(text.slice(start, end)) as string;
          if (top.has(key)) return `duplicate key ${JSON.stringify(key.length > 60 ? key.slice(0, 60) + '...' : key)}`;
          top.add(key);
        }
      }
      continue;
    }
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      stack.push(c === 0x7b ? new Set() : null);
      if (stack.length > maxDepth) return `nesting deeper than ${maxDepth} levels`;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    }
    i++;
  }
  return null;
}

/**
 * Parses `text` as JSON, refusing duplicate keys and nesting deeper than `maxDepth`.
 * Returns the value, or an Error saying what is wrong (the caller wraps it in its own error).
 */
export function parseStrictJson(text: string, maxDepth = MAX_JSON_DEPTH): { value: JsonValue } | { error: string } {
  let value: JsonValue;
  try {
    value = JSON.parse(text) as JsonValue;
  } catch (e) {
    return { error: (e as Error).message };
  }
  const problem = scan(text, maxDepth);
  return problem ? { error: problem } : { value };
}

/**
 * Why `value` is not a plain JSON value (finite numbers, no undefined, functions, bigints,
 * class instances or cycles), or null. `where` names it in the message.
 */
export function jsonProblem(value: unknown, where: string): string | null {
  const seen = new Set<object>();
  const stack: [unknown, string, number][] = [[value, where, 1]];
  while (stack.length > 0) {
    const [v, at, depth] = stack.pop()!;
    if (depth > MAX_JSON_DEPTH) return `${at} nests deeper than ${MAX_JSON_DEPTH} levels`;
    if (v === null || typeof v === 'string' || typeof v === 'boolean') continue;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return `${at} is ${v}; JSON numbers must be finite`;
      continue;
    }
    if (typeof v !== 'object') return `${at} is a ${typeof v}, not a JSON value`;
    if (seen.has(v)) return `${at} is a circular reference`;
    seen.add(v);
    if (Array.isArray(v)) {
      v.forEach((e, i) => stack.push([e, `${at}[${i}]`, depth + 1]));
    } else {
      const proto = Object.getPrototypeOf(v) as unknown;
      if (proto !== Object.prototype && proto !== null) return `${at} is not a plain object`;
      for (const [k, e] of Object.entries(v)) stack.push([e, `${at}.${k}`, depth + 1]);
    }
  }
  return null;
}
