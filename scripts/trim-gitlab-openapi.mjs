#!/usr/bin/env node
// Trims GitLab's OpenAPI description (`doc/api/openapi/openapi_v3.yaml` in gitlabhq/gitlabhq,
// ~3.9 MB) to the operations revertbot uses, for the fake GitLab's contract check
// (testkit/tests/gitlab_contract.rs), and writes it as JSON.
//
// Usage: node scripts/trim-gitlab-openapi.mjs openapi_v3.yaml testkit/openapi/gitlab-v4.trimmed.json
//
// The input is GitLab's whole file or an excerpt of it in the same layout
// (testkit/openapi/openapi_v3.excerpt.yaml). Keeps the listed paths and methods, plus every
// component they reference (transitively). Drops what Prism does not need to validate traffic:
// operation summaries, descriptions and tags, parameter and schema descriptions and examples,
// `x-gitlab-*` vendor keys. A property *named* `description` or `example` (under `properties`) is
// kept, and so is a response's `description` (OpenAPI requires it). Schemas are otherwise left as
// GitLab publishes them: this is a contract check, not a rewrite, except for the documented
// corrections below, each one a place where the description (generated from Grape's `desc`/`params`
// and grape-entity's `documentation`) says something GitLab's own answers contradict:
//
// - LIST_AS_ARRAY: list operations whose 200 is declared as one entity although GitLab answers an
//   array (the generator drops `is_array: true` from `success`): the merge request's notes and the
//   project's labels. Their 200 schema is wrapped in `{type: array, items: ...}`.
// - ARRAY_PROPERTIES: properties declared as one entity (`$ref`) that GitLab sends as an array of
//   them (grape-entity `expose :assignees, using: UserBasic` over a collection): a merge request's
//   `assignees` and `reviewers` (`[]` when there are none).
// - NULLABLE: properties GitLab sends as `null` when unset (grape-entity serialises a nil attribute
//   as null; the generator never marks a response property nullable): a merge request's
//   `merged_by`, `closed_at`, `milestone`, `head_pipeline`..., a regular note's `type`, a label's
//   `description`... A typed one gets `nullable: true`; a `$ref` one becomes
//   `{"anyOf": [{"$ref": ...}, {"type": "null"}]}`.
// - INTEGER_PROPERTIES: properties typed `string` (the generator's default for an `expose` with
//   no documented type) that GitLab sends as integers: a project's `permissions.project_access`
//   / `group_access` `access_level` and `notification_level` (`{"access_level": 30, ...}`).
// - ID_ANY_OF: the project path parameter `id`, declared `oneOf: [string, integer]` (an id or a
//   URL-encoded path). Prism coerces path parameters, so a numeric id (`/projects/42`) matches both
//   branches and `oneOf` rejects it, although GitLab accepts it; as `anyOf` it accepts exactly the
//   same values (a string or an integer) and numeric ids pass.
//
// Each correction names its schema and property, and the script fails if one no longer matches the
// input, so a newer description that fixes it is noticed.
//
// YAML is read with js-yaml, which Prism already brings into node_modules (package-lock.json).
//
// To check a new route, add it to OPERATIONS (and to testkit/src/fake_gitlab/).

import { readFileSync, writeFileSync, mkdirSync, renameSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// GitLab's spellings: the notes routes are generic over the noteable (`{noteable_id}`).
const OPERATIONS = {
  "/api/v4/projects/{id}": ["get"],
  "/api/v4/projects/{id}/merge_requests": ["get", "post"],
  "/api/v4/projects/{id}/merge_requests/{merge_request_iid}": ["get", "put"],
  "/api/v4/projects/{id}/merge_requests/{merge_request_iid}/merge": ["put"],
  "/api/v4/projects/{id}/merge_requests/{noteable_id}/notes": ["get", "post"],
  "/api/v4/projects/{id}/labels": ["get", "post"],
  "/api/v4/users": ["get"],
};

const LIST_AS_ARRAY = [
  ["/api/v4/projects/{id}/merge_requests/{noteable_id}/notes", "get", "200"],
  ["/api/v4/projects/{id}/labels", "get", "200"],
];

const ARRAY_PROPERTIES = {
  APIEntitiesMergeRequestBasic: ["assignees", "reviewers"],
  APIEntitiesMergeRequest: ["assignees", "reviewers"],
};

// `null` in GitLab's answers when unset (an open, unmerged merge request without milestone,
// pipeline or description; a note that is not a diff or discussion note; a label without
// description or priority; a project without description, README or avatar, in a top-level group).
const MR_NULLABLE = [
  "description",
  "merged_by",
  "merge_user",
  "merged_at",
  "closed_by",
  "closed_at",
  "assignee",
  "milestone",
  "merge_after",
  "merge_commit_sha",
  "squash_commit_sha",
  "discussion_locked",
  "should_remove_source_branch",
];
const NULLABLE = {
  APIEntitiesMergeRequestBasic: MR_NULLABLE,
  APIEntitiesMergeRequest: [
    ...MR_NULLABLE,
    "latest_build_started_at",
    "latest_build_finished_at",
    "first_deployed_to_production_at",
    "pipeline",
    "head_pipeline",
    "merge_error",
  ],
  APIEntitiesIssuableTimeStats: ["human_time_estimate", "human_total_time_spent"],
  APIEntitiesNote: ["type"],
  APIEntitiesProjectLabel: ["description", "priority"],
  APIEntitiesProjectsWithAccessAndCatalogSetting: ["description", "readme_url", "avatar_url"],
  APIEntitiesNamespaceBasic: ["parent_id", "avatar_url"],
};

const INTEGER_PROPERTIES = {
  APIEntitiesProjectAccess: ["access_level", "notification_level"],
  APIEntitiesGroupAccess: ["access_level", "notification_level"],
};

// `permissions.group_access` is null for a project that is not in a group the caller belongs to.
const NULLABLE_NESTED = {
  APIEntitiesProjectsWithAccessAndCatalogSetting: [["permissions", "group_access"]],
};

const [input, out] = process.argv.slice(2);
if (!input || !out) {
  console.error("usage: node scripts/trim-gitlab-openapi.mjs openapi_v3.yaml OUT.json");
  process.exit(2);
}

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
let yaml;
try {
  yaml = createRequire(join(root, "package.json"))("js-yaml");
} catch (e) {
  console.error(`cannot load js-yaml (${e.message}): run \`npm ci\` first (scripts/test does)`);
  process.exit(1);
}
const text = readFileSync(input, "utf8");
const spec = (yaml.safeLoad ?? yaml.load)(text);

const DROP_EVERYWHERE = new Set(["summary", "tags", "example", "examples"]);
function strip(node, parentKey) {
  if (Array.isArray(node)) {
    for (const item of node) strip(item, undefined);
    return node;
  }
  if (node === null || typeof node !== "object") return node;
  const isProperties = parentKey === "properties";
  const isResponse = /^\d{3}$|^default$/.test(parentKey ?? "");
  for (const key of Object.keys(node)) {
    if (!isProperties) {
      if (DROP_EVERYWHERE.has(key) || key.startsWith("x-gitlab")) {
        delete node[key];
        continue;
      }
      if (key === "description" && !isResponse && typeof node[key] === "string") {
        delete node[key];
        continue;
      }
    }
    strip(node[key], key);
  }
  return node;
}

const paths = {};
const missing = [];
for (const [path, methods] of Object.entries(OPERATIONS)) {
  const item = spec.paths?.[path];
  if (!item) {
    missing.push(`${path} (${methods.join(", ")})`);
    continue;
  }
  const kept = {};
  if (item.parameters) kept.parameters = item.parameters;
  for (const m of methods) {
    if (item[m]) kept[m] = item[m];
    else missing.push(`${m.toUpperCase()} ${path}`);
  }
  paths[path] = strip(structuredClone(kept), undefined);
}

const components = {};
const pending = [];
function collectRefs(node) {
  if (Array.isArray(node)) return node.forEach(collectRefs);
  if (node === null || typeof node !== "object") return;
  if (typeof node.$ref === "string") pending.push(node.$ref);
  for (const v of Object.values(node)) collectRefs(v);
}
collectRefs(paths);
const seen = new Set();
const dangling = [];
while (pending.length) {
  const ref = pending.pop();
  if (seen.has(ref)) continue;
  seen.add(ref);
  const m = /^#\/components\/([^/]+)\/([^/]+)$/.exec(ref);
  if (!m) throw new Error(`unsupported $ref ${ref}`);
  const [, kind, name] = m;
  const target = spec.components?.[kind]?.[name];
  if (target === undefined) {
    dangling.push(ref);
    continue;
  }
  const copy = strip(structuredClone(target), undefined);
  (components[kind] ??= {})[name] = copy;
  collectRefs(copy);
}
if (missing.length) console.error(`not in the description (left out of the check):\n  ${missing.join("\n  ")}`);
if (dangling.length) {
  console.error(`referenced but not in the input (add them to the excerpt):\n  ${dangling.sort().join("\n  ")}`);
  process.exit(1);
}

// -- the documented corrections (see the top of this file) --------------------------------------

function nullable(where, schema) {
  if (schema.$ref) {
    const { $ref, ...rest } = schema;
    return { ...rest, anyOf: [{ $ref }, { type: "null" }] };
  }
  if (!schema.type) throw new Error(`${where} has neither a type nor a $ref`);
  return { ...schema, nullable: true };
}
for (const [path, item] of Object.entries(paths)) {
  for (const op of [item, ...Object.values(item)]) {
    for (const prm of op?.parameters ?? []) {
      const one = prm.schema?.oneOf;
      if (prm.in !== "path" || prm.name !== "id" || !one) continue;
      const types = one.map((s) => s.type).sort().join(",");
      if (types !== "integer,string" || one.some((s) => Object.keys(s).length !== 1)) {
        throw new Error(`ID_ANY_OF: ${path} id is not oneOf [string, integer]`);
      }
      prm.schema = { anyOf: one };
    }
  }
}
for (const [path, method, status] of LIST_AS_ARRAY) {
  const media = paths[path]?.[method]?.responses?.[status]?.content?.["application/json"];
  if (!media) continue; // reported as missing above
  if (!media.schema?.$ref) throw new Error(`LIST_AS_ARRAY: ${method} ${path} ${status} is not one $ref (fixed upstream?)`);
  media.schema = { type: "array", items: media.schema };
}
const schemas = components.schemas ?? {};
function props(table, name) {
  const s = schemas[name];
  if (!s?.properties) throw new Error(`${table}: schema ${name} is not kept`);
  return s.properties;
}
for (const [name, fields] of Object.entries(ARRAY_PROPERTIES)) {
  const p = props("ARRAY_PROPERTIES", name);
  for (const f of fields) {
    if (!p[f]?.$ref) throw new Error(`ARRAY_PROPERTIES: ${name}.${f} is not one $ref (fixed upstream?)`);
    p[f] = { type: "array", items: p[f] };
  }
}
for (const [name, fields] of Object.entries(NULLABLE)) {
  const p = props("NULLABLE", name);
  for (const f of fields) {
    if (!p[f]) throw new Error(`NULLABLE: ${name}.${f} is not in the description`);
    p[f] = nullable(`NULLABLE: ${name}.${f}`, p[f]);
  }
}
for (const [name, chains] of Object.entries(NULLABLE_NESTED)) {
  const p = props("NULLABLE_NESTED", name);
  for (const [outer, inner] of chains) {
    const q = p[outer]?.properties;
    if (!q?.[inner]) throw new Error(`NULLABLE_NESTED: ${name}.${outer}.${inner} is not in the description`);
    q[inner] = nullable(`NULLABLE_NESTED: ${name}.${outer}.${inner}`, q[inner]);
  }
}
for (const [name, fields] of Object.entries(INTEGER_PROPERTIES)) {
  const p = props("INTEGER_PROPERTIES", name);
  for (const f of fields) {
    if (p[f]?.type !== "string") throw new Error(`INTEGER_PROPERTIES: ${name}.${f} is not a string (fixed upstream?)`);
    p[f] = { ...p[f], type: "integer" };
  }
}

const trimmed = {
  openapi: spec.openapi,
  info: {
    title: spec.info?.title,
    version: spec.info?.version,
    license: spec.info?.license,
    description: `${spec.info?.description ?? ""}\n\nTrimmed by revertbot's scripts/trim-gitlab-openapi.mjs to the operations its fake GitLab serves; lists GitLab answers as arrays, properties it sends as arrays, null or integers corrected, and the project id's oneOf made anyOf for Prism's coercion (LIST_AS_ARRAY, ARRAY_PROPERTIES, NULLABLE, INTEGER_PROPERTIES, ID_ANY_OF in the script).`,
  },
  servers: spec.servers,
  paths,
  components,
};

mkdirSync(dirname(out), { recursive: true });
const tmp = `${out}.tmp-${process.pid}`;
writeFileSync(tmp, JSON.stringify(trimmed, null, 1) + "\n");
renameSync(tmp, out);
const count = Object.values(paths).reduce((n, item) => n + Object.keys(item).filter((k) => k !== "parameters").length, 0);
const kinds = Object.entries(components).map(([k, v]) => `${Object.keys(v).length} ${k}`).join(", ");
console.error(`wrote ${out}: ${count} operations, ${kinds || "no components"}`);
