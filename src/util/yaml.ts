/**
 * YAML documents to values, with aliases bounded. An alias (`*a`) stands for
 * what its anchor (`&a`) holds; nested ones multiply, so a few hundred bytes
 * of `a: &a [x, x, …]`, `b: &b [*a, *a, …]`, … stand for billions of values
 * (the "billion laughs"), and whatever walks the result (validation, JSON)
 * never ends. Estate files and policy files are both read through here, with
 * the yaml library's own default bound (which policy files always had): the
 * aliases of a document may stand for at most MAX_YAML_ALIAS_EXPANSIONS
 * values, so a file grows at most about that many times when its aliases are
 * written out. A file that shares a few blocks by alias stays below it.
 */
import type { Document } from 'yaml';
import { ConfixError } from '../errors.js';

/** The yaml library's maxAliasCount: how many values the aliases of one document may stand for, anchors nested in anchors multiplied. */
export const MAX_YAML_ALIAS_EXPANSIONS = 100;

/** A document whose aliases were refused: names the file and says why. */
export class YamlAliasError extends ConfixError {
  constructor(
    readonly source: string,
    readonly reason: string,
  ) {
    super('InvalidYaml', 'invalid', `${source}: ${reason}`);
  }
}

/**
 * The document's value, aliases resolved; throws YamlAliasError (naming
 * `source`) when they would stand for more than MAX_YAML_ALIAS_EXPANSIONS
 * values, or name an anchor that is not set before them.
 */
export function yamlToJS(doc: Document.Parsed | Document, source: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_YAML_ALIAS_EXPANSIONS });
  } catch (err) {
    if (!(err instanceof ReferenceError)) throw err;
    if (/excessive alias count/i.test(err.message))
      throw new YamlAliasError(
        source,
        `too many YAML aliases: they would stand for more than ${MAX_YAML_ALIAS_EXPANSIONS} values (aliases of aliases multiply, as in an alias bomb); write the repeated parts out or use fewer aliases`,
      );
    throw new YamlAliasError(source, err.message.split('\n')[0] ?? err.message);
  }
}
