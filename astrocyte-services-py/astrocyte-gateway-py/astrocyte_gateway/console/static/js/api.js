// Calls to the gateway with the pasted credential (kept in sessionStorage: gone with the tab).

const TOKEN_KEY = "astrocyte.console.token";

/** The gateway's root: the console lives at <root>/ui/, the API at <root>/v1/. */
const ROOT = location.pathname.replace(/\/ui(\/.*)?$/, "");

export const credential = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (token) => sessionStorage.setItem(TOKEN_KEY, token.trim()),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** A failed call: ``status`` and the RFC 9457 problem document the gateway sent (when any). */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

export async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  const token = credential.get();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(ROOT + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
  });
  if (!response.ok) {
    let problem = null;
    try {
      problem = await response.json();
    } catch {
      problem = null;
    }
    const error = new ApiError(response.status, problem);
    if (response.status === 401) window.dispatchEvent(new CustomEvent("console:unauthorized", { detail: error }));
    throw error;
  }
  return response.status === 204 ? null : response.json();
}

export const enc = encodeURIComponent;
