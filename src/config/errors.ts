/** A configuration problem; `message` names the key path, e.g. `sources[0].channels: must be a non-empty list`. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}
