// The cookie helper sources' logins share: a login answer's Set-Cookie headers → the `Cookie` header
// to send back (SMC's JSESSIONID, a generic websocket login's session cookie).

/** `name=value` pairs of the Set-Cookie headers kept by `want` (a cookie name, or '*' for all), joined for a Cookie header. */
export function cookiesFrom(setCookie: readonly string[], want = '*'): string | undefined {
  const pairs = setCookie
    .map((c) => c.split(';', 1)[0]!.trim())
    .filter((p) => p.includes('=') && (want === '*' || p.slice(0, p.indexOf('=')) === want));
  return pairs.length ? pairs.join('; ') : undefined;
}

/** The values of a Cookie header's pairs: each is a secret to scrub. */
export function cookieValues(cookie: string): string[] {
  return cookie.split('; ').map((pair) => pair.slice(pair.indexOf('=') + 1)).filter(Boolean);
}
