/**
 * The controller's side of network rules: reading the `rules` of a POST body or of a stored
 * network record into the VL2 rule model, and the JSON it stores. The JSON <-> rule mapping
 * itself (and its 1.14 rendering) lives in vl2/rules-json.ts; here are only the table limits and
 * FieldErrors naming the field, which the API turns into HTTP 400s.
 *
 * A POST is read strictly (see RuleJsonReading): an IP match without "/bits" is refused because
 * zerotier-one reads it as /0, a rule matching everything. A stored record (possibly a controller.d
 * moved over from zerotier-one) is read as 1.14 reads it, bare IPs included.
 */

import type { JsonObject, JsonValue } from "../util/json.ts";
import { type Rule } from "../vl2/rules.ts";
import { RULE_JSON_TYPES, ruleFromJson, ruleToJson } from "../vl2/rules-json.ts";
import { FieldError, isJsonObject, readBool } from "./json-fields.ts";

/** "post": strict, for API input; "stored": as zerotier-one reads its own records. */
export type RuleSource = "post" | "stored";

/** Read one rule object. Throws FieldError naming `field`. */
export function parseRule(v: JsonValue, field: string, source: RuleSource = "post"): Rule {
  if (!isJsonObject(v)) throw new FieldError(`${field} must be an object`);
  if (typeof v.type !== "string") throw new FieldError(`${field}.type must be a string`);
  if (!RULE_JSON_TYPES.has(v.type)) throw new FieldError(`${field}.type "${v.type}" is not a known rule type`);
  for (const k of ["not", "or"]) if (v[k] !== undefined && v[k] !== null) readBool(v[k], `${field}.${k}`);
  const r = ruleFromJson(v, { strict: source === "post", path: field });
  if (!r.ok) throw new FieldError(r.error);
  return r.value;
}

/** Read an array of rules; `max` is the reference's table limit. */
export function parseRules(v: JsonValue | undefined, field: string, max: number, source: RuleSource = "post"): Rule[] {
  if (!Array.isArray(v)) throw new FieldError(`${field} must be an array`);
  if (v.length > max) throw new FieldError(`${field} may hold at most ${max} rules`);
  return v.map((r, i) => parseRule(r, `${field}[${i}]`, source));
}

/**
 * Rules as stored in a network record: the reference's _renderRule form, except that actions
 * also carry "not"/"or" (1.14 omits them there). That is the form of the default rule the
 * reference writes for a new network (DB::initNetwork), so a GET-modify-POST of such a network
 * stores exactly what it read; both forms read back to the same rule.
 */
export function storedRulesJson(rules: readonly Rule[]): JsonObject[] {
  const out: JsonObject[] = [];
  for (const r of rules) {
    const j = ruleToJson(r);
    if (j !== null) out.push({ ...j, not: r.not, or: r.or });
  }
  return out;
}
