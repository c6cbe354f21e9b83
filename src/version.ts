import { readFileSync } from 'node:fs';

// Read once from package.json so `ws2otel version` and the instrumentation scope never disagree with the release.
const pkgUrl = new URL('../../package.json', import.meta.url);
export const VERSION: string = (JSON.parse(readFileSync(pkgUrl, 'utf8')) as { version: string }).version;
