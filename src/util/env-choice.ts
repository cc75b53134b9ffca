/**
 * A setting from the environment that names one of a few choices: unset or empty gives the
 * default; a value `parse` does not accept is refused with a warning that lists the choices, and
 * the default is used (a setting we do not understand is never silently ignored).
 */
import { consola } from "consola";

export function envChoice<T>(name: string, parse: (text: string) => T | null, fallback: T, choices: string, env = process.env): T {
  const text = env[name];
  if (text === undefined || text === "") return fallback;
  const choice = parse(text);
  if (choice === null) {
    consola.warn(`${name}=${text}: expected ${choices}; using ${String(fallback)}`);
    return fallback;
  }
  return choice;
}

/** Parser for a plain on/off setting. */
export function parseOnOff(text: string): "on" | "off" | null {
  return text === "on" || text === "off" ? text : null;
}
