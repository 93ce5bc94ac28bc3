// The admin API from the browser. The admin key lives in sessionStorage (gone when the tab closes) and travels only
// as a bearer token, never in a URL.
const KEY = 'relay.adminKey';

export const session = {
  get key() { return sessionStorage.getItem(KEY); },
  signIn(key) { sessionStorage.setItem(KEY, key); },
  signOut() { sessionStorage.removeItem(KEY); },
};

export class ApiError extends Error {
  constructor(status, message, param) {
    super(message);
    this.status = status;
    this.param = param;
  }
}

/** Calls /api/admin/{path}; resolves to the JSON body (null for 204), rejects with an ApiError in the API's words. */
export async function api(path, { method = 'GET', body, key = session.key } = {}) {
  const response = await fetch(`/api/admin/${path}`, {
    method,
    headers: { authorization: `Bearer ${key ?? ''}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
  });
  if (response.status === 204) {
    return null;
  }
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON: reported below */ }
  if (!response.ok) {
    const error = json?.error;
    throw new ApiError(response.status, error?.message ?? `${response.status} ${response.statusText}`, error?.param);
  }
  return json;
}

export const when = (iso) => (iso ? new Date(iso).toLocaleString() : '—');
export const number = (n, digits = 0) => (n === null || n === undefined ? '—' : Number(n).toLocaleString(undefined, { maximumFractionDigits: digits }));
